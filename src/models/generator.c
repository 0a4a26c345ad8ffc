#include "models/generator.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const condition_names[] = {"soft", "argmax", "random"};

const char *gx_condition_name(gx_condition c) {
    return c >= GX_COND_SOFT && c <= GX_COND_RANDOM ? condition_names[c] : "?";
}

int gx_condition_parse(const char *s, gx_condition *out) {
    for (int i = 0; i < 3; i++)
        if (!strcmp(s, condition_names[i])) {
            *out = (gx_condition)i;
            return 0;
        }
    return -1;
}

int gx_generator_init(gx_generator *g, gx_ssdgm *m, const gx_model_info *info, int d, int max_n,
                      const char *what, gx_error *err) {
    memset(g, 0, sizeof *g);
    if (!gx_ssdgm_is_generative(m))
        return gx_fail(err, "%s: a %s model is a plain classifier and cannot generate (train m2 or "
                            "dvt)", what, gx_preset_name(m->cfg.preset));
    if (d < 0 || d >= m->cfg.n_domains)
        return gx_fail(err, "%s: no domain %d (the model has %d)", what, d, m->cfg.n_domains);
    if (max_n < 1) return gx_fail(err, "%s: batches of %d rows (expected >= 1)", what, max_n);
    g->m = m;
    g->d = d;
    g->n_classes = m->cfg.n_classes;
    g->n_in = m->cfg.dom[d].n_in;
    g->max_n = max_n;
    if (info && info->prep_mean[d]) {
        g->mean = info->prep_mean[d];
        g->std = info->prep_std[d];
    }
    if (gx_ssdgm_ws_alloc(&g->ws, m, 0, max_n, err) ||
        !(g->p = gx_malloc((size_t)max_n * g->n_classes * sizeof *g->p, "generator labels", err)) ||
        !(g->y = gx_malloc((size_t)max_n * sizeof *g->y, "generator classes", err)) ||
        (g->mean && !(g->x = gx_malloc((size_t)max_n * g->n_in * sizeof *g->x, "generator inputs",
                                       err)))) {
        gx_generator_free(g);
        return -1;
    }
    return 0;
}

void gx_generator_free(gx_generator *g) {
    gx_ssdgm_ws_free(&g->ws);
    free(g->x);
    free(g->p);
    free(g->y);
    memset(g, 0, sizeof *g);
}

/* "28x28x1 images (784 features)" or "784 features". */
static void describe(char *buf, size_t n, int64_t features, int h, int w, int c) {
    if (h > 0 && w > 0 && c > 0)
        snprintf(buf, n, "%dx%dx%d images (%lld features)", h, w, c, (long long)features);
    else
        snprintf(buf, n, "%lld features", (long long)features);
}

int gx_generator_check_input(const gx_generator *g, int64_t n_features, int h, int w, int c,
                             const char *what, gx_error *err) {
    const gx_domain_config *dc = &g->m->cfg.dom[g->d];
    int image = h > 0 && w > 0 && c > 0, model_image = dc->height > 0 && dc->width > 0;
    if (n_features == dc->n_in &&
        !(image && model_image && (h != dc->height || w != dc->width || c != dc->channels)))
        return 0;
    char have[96], want[96];
    describe(have, sizeof have, n_features, h, w, c);
    describe(want, sizeof want, dc->n_in, dc->height, dc->width, dc->channels);
    return gx_fail(err, "%s: %s, but domain %s of the source model takes %s", what, have, dc->name,
                   want);
}

void gx_generator_classify(gx_generator *g, const float *X, int n, float *P) {
    const float *in = X;
    if (g->mean) { /* the model's standardisation of its training data */
        for (int i = 0; i < n; i++)
            for (int j = 0; j < g->n_in; j++) {
                size_t at = (size_t)i * g->n_in + j;
                g->x[at] = (X[at] - g->mean[j]) / g->std[j];
            }
        in = g->x;
    }
    gx_ssdgm_predict(g->m, &g->ws, g->d, in, n, P, NULL);
}

void gx_generator_condition(gx_generator *g, const float *X, int n, gx_condition mode, float *P) {
    int K = g->n_classes;
    if (mode == GX_COND_RANDOM) {
        for (size_t i = 0; i < (size_t)n * K; i++) P[i] = 1.0f / (float)K;
        return;
    }
    gx_generator_classify(g, X, n, P);
    if (mode != GX_COND_ARGMAX) return;
    for (int i = 0; i < n; i++) {
        float *row = P + (size_t)i * K;
        int best = 0;
        for (int k = 1; k < K; k++)
            if (row[k] > row[best]) best = k;
        for (int k = 0; k < K; k++) row[k] = k == best ? 1.0f : 0.0f;
    }
}

void gx_generator_sample(gx_generator *g, const float *P, int n, int soft_decoder, gx_rng *rng,
                         int32_t *y, float *OUT) {
    int K = g->n_classes;
    for (int i = 0; i < n; i++) g->y[i] = gx_rng_categorical(rng, P + (size_t)i * K, K);
    gx_ssdgm_generate_rows(g->m, &g->ws, g->d, n, g->y, soft_decoder ? P : NULL, rng, OUT);
    if (g->mean) /* back to the data's units */
        for (int i = 0; i < n; i++)
            for (int j = 0; j < g->n_in; j++) {
                float *v = OUT + (size_t)i * g->n_in + j;
                *v = *v * g->std[j] + g->mean[j];
            }
    if (y) memcpy(y, g->y, (size_t)n * sizeof *y);
}

void gx_generator_sample_labels(gx_generator *g, const int32_t *y, int n, gx_rng *rng, float *OUT) {
    int K = g->n_classes;
    memset(g->p, 0, (size_t)n * K * sizeof *g->p);
    for (int i = 0; i < n; i++) g->p[(size_t)i * K + y[i]] = 1.0f;
    gx_generator_sample(g, g->p, n, 0, rng, NULL, OUT);
}

void gx_generator_sample_uniform(gx_generator *g, int n, gx_rng *rng, int32_t *y, float *OUT) {
    gx_generator_condition(g, NULL, n, GX_COND_RANDOM, g->p);
    gx_generator_sample(g, g->p, n, 0, rng, y, OUT);
}

void gx_generator_pseudo(gx_generator *g, const float *X, int n, gx_condition mode, gx_rng *rng,
                         float *P, int32_t *y, float *OUT) {
    float *p = P ? P : g->p;
    gx_generator_condition(g, X, n, mode, p);
    gx_generator_sample(g, p, n, mode == GX_COND_SOFT, rng, y, OUT);
}
