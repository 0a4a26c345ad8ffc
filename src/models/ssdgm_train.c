#include "models/ssdgm_train.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/memory.h"
#include "core/prior_shift.h"
#include "data/batch.h"

void gx_ssdgm_train_config_default(gx_ssdgm_train_config *c) {
    memset(c, 0, sizeof *c);
    c->epochs = 10;
    c->batch_l = 100;
    c->batch_u = 100;
    c->lr = 1e-3f;
    c->opt = GX_OPT_ADAM;
    c->sched = GX_SCHED_CONSTANT;
    c->alpha = 10.0f;
    c->prior = GX_PRIOR_LABELLED;
    c->select_domain = -1;
    c->target_domain = -1;
    c->dann_weight = 1.0f;
    c->conf_tau = 0.95f;
    c->seed = 1;
}

static double now_seconds(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec + t.tv_nsec * 1e-9;
}

/* Gathers rows idx[start..start+rows) of ds into X. */
static void gather(float *X, const gx_dataset *ds, const int64_t *idx, int64_t start, int rows) {
    for (int r = 0; r < rows; r++) {
        int64_t row = idx ? idx[start + r] : start + r;
        memcpy(X + (size_t)r * ds->d, ds->x + row * ds->d, (size_t)ds->d * sizeof(float));
    }
}

/* q(y|x) of rows idx[0..n) of ds (all rows when idx is NULL) in domain d, chunk by chunk of the
 * workspace's size: fn gets each chunk's P [rows, K] and the position of its first row. buf is
 * scratch of (max_l + max_u) * (n_d + K) floats. */
typedef void (*posterior_fn)(void *ctx, const float *P, int64_t start, int rows);
static void for_each_posterior(gx_ssdgm *m, gx_ssdgm_ws *ws, int d, const gx_dataset *ds,
                               const int64_t *idx, int64_t n, float *buf, posterior_fn fn,
                               void *ctx) {
    const int chunk = ws->max_l + ws->max_u;
    float *X = buf, *P = buf + (size_t)chunk * ds->d;
    for (int64_t s = 0; s < n; s += chunk) {
        const int rows = (int)(n - s < chunk ? n - s : chunk);
        gather(X, ds, idx, s, rows);
        gx_ssdgm_predict(m, ws, d, X, rows, P, NULL);
        fn(ctx, P, s, rows);
    }
}

typedef struct posterior_sums {
    int K;
    const gx_dataset *ds;
    const int64_t *idx;
    int64_t correct;               /* rows whose argmax is their label */
    double mean[GX_MAX_CLASSES];   /* sum of q(y|x) */
    double entropy;                /* sum of H(q(y|x)) */
    float *all;                    /* when not NULL: every row's q(y|x), [n, K] */
} posterior_sums;

static void count_correct(void *ctx, const float *P, int64_t start, int rows) {
    posterior_sums *a = ctx;
    for (int r = 0; r < rows; r++) {
        const float *pr = P + (size_t)r * a->K;
        int best = 0;
        for (int k = 1; k < a->K; k++) if (pr[k] > pr[best]) best = k;
        const int64_t row = a->idx ? a->idx[start + r] : start + r;
        a->correct += best == a->ds->y[row];
    }
}

static void add_posteriors(void *ctx, const float *P, int64_t start, int rows) {
    posterior_sums *a = ctx;
    for (int r = 0; r < rows; r++)
        for (int k = 0; k < a->K; k++) {
            const double p = P[(size_t)r * a->K + k];
            a->mean[k] += p;
            if (p > 0) a->entropy -= p * log(p);
        }
    if (a->all) memcpy(a->all + start * a->K, P, (size_t)rows * a->K * sizeof(float));
}

double gx_ssdgm_accuracy(gx_ssdgm *m, gx_ssdgm_ws *ws, int d, const gx_dataset *ds,
                         const int64_t *idx, int64_t n, float *buf) {
    posterior_sums a = {.K = m->cfg.n_classes, .ds = ds, .idx = idx};
    for_each_posterior(m, ws, d, ds, idx, n, buf, count_correct, &a);
    return n ? (double)a.correct / n : 0;
}

/* Mean q(y|x) over rows idx of ds -> prob[K]. */
static void mean_posterior(gx_ssdgm *m, gx_ssdgm_ws *ws, int d, const gx_dataset *ds,
                           const int64_t *idx, int64_t n, float *buf, double *prob) {
    posterior_sums a = {.K = m->cfg.n_classes};
    for_each_posterior(m, ws, d, ds, idx, n, buf, add_posteriors, &a);
    for (int k = 0; k < a.K; k++) prob[k] = a.mean[k] / n;
}

int gx_ssdgm_label_shift(gx_ssdgm *m, const gx_ssdgm_domain_data *dd, int d, int class_balance,
                         double *prior, float *ratio, gx_error *err) {
    const gx_ssdgm_config *c = &m->cfg;
    const int K = c->n_classes;
    const gx_ssdgm_domain_data *x = &dd[d];
    if (x->n_unl < 1)
        return gx_fail(err, "label shift: domain %s has no unlabelled rows", c->dom[d].name);
    double train[GX_MAX_CLASSES], total = 0;
    for (int k = 0; k < K; k++) train[k] = 1.0; /* uniform when balanced, else +1 smoothing */
    for (int e = 0; !class_balance && e < c->n_domains; e++)
        for (int64_t i = 0; i < dd[e].n_lab; i++) {
            const int32_t y = dd[e].ds->y[dd[e].lab[i]];
            if (y >= 0 && y < K) train[y] += 1;
        }
    for (int k = 0; k < K; k++) total += train[k];
    for (int k = 0; k < K; k++) train[k] /= total;
    gx_ssdgm_ws ws;
    const int chunk = 500;
    if (gx_ssdgm_ws_alloc(&ws, m, chunk, 0, err)) return -1;
    float *P = gx_malloc((size_t)x->n_unl * K * sizeof(float), "posteriors", err);
    float *buf = gx_malloc((size_t)chunk * (c->dom[d].n_in + K) * sizeof(float), "rows", err);
    int rounds = -1;
    if (P && buf) {
        posterior_sums a = {.K = K, .all = P};
        for_each_posterior(m, &ws, d, x->ds, x->unl, x->n_unl, buf, add_posteriors, &a);
        rounds = gx_prior_shift_em(P, x->n_unl, K, train, prior, 1000, 1e-6);
        for (int k = 0; k < K; k++) {
            const double r = prior[k] / train[k];
            ratio[k] = (float)(r < 1e-3 ? 1e-3 : r > 1e3 ? 1e3 : r);
        }
    }
    free(P);
    free(buf);
    gx_ssdgm_ws_free(&ws);
    return rounds;
}

/* rows of the select domain that the information maximisation criterion scores */
#define IM_ROWS 10000

/* The information maximisation criterion over rows idx of ds in domain d: H(mean q(y|x)) minus
 * the mean of H(q(y|x)), in nats. */
static double info_max(gx_ssdgm *m, gx_ssdgm_ws *ws, int d, const gx_dataset *ds,
                       const int64_t *idx, int64_t n, float *buf) {
    posterior_sums a = {.K = m->cfg.n_classes};
    for_each_posterior(m, ws, d, ds, idx, n, buf, add_posteriors, &a);
    double h_mean = 0;
    for (int k = 0; k < a.K; k++) {
        const double p = a.mean[k] / n;
        if (p > 0) h_mean -= p * log(p);
    }
    return h_mean - a.entropy / n;
}

/* dvt --latent-prior standard: the mixture held at N(0, I) (values here, gradients each step) */
static void hold_standard_prior(gx_ssdgm *m, int values) {
    const size_t n = (size_t)m->cfg.n_classes * m->cfg.z_dim;
    float *mu = values ? gx_params_value(&m->params, m->prior_mu)
                       : gx_params_gradient(&m->params, m->prior_mu);
    float *lv = values ? gx_params_value(&m->params, m->prior_logvar)
                       : gx_params_gradient(&m->params, m->prior_logvar);
    memset(mu, 0, n * sizeof *mu);
    memset(lv, 0, n * sizeof *lv);
}

/* The step's synthetic labelled rows of domain t (see translate_weight, generate_weight) into
 * X [cap, n_t], y, w; returns their count. Uses the workspace, before the step's loss. */
static int make_synthetic(gx_ssdgm *m, gx_ssdgm_ws *ws, const gx_ssdgm_batch *batches, int t,
                          const gx_ssdgm_train_config *tc, long step, int cap, gx_rng *rng,
                          float *X, int32_t *y, float *w) {
    const int n_t = m->cfg.dom[t].n_in, K = m->cfg.n_classes;
    int n = 0;
    if (tc->translate_weight > 0) {
        for (int s = 0; s < m->cfg.n_domains && n < cap; s++) {
            if (s == t || batches[s].nl == 0) continue;
            const int take = batches[s].nl < cap - n ? batches[s].nl : cap - n;
            gx_ssdgm_translate(m, ws, s, t, batches[s].xl, take, batches[s].yl,
                               X + (size_t)n * n_t);
            memcpy(y + n, batches[s].yl, (size_t)take * sizeof *y);
            n += take;
        }
        for (int r = 0; r < n; r++) w[r] = tc->translate_weight * tc->alpha / n;
    }
    const int first = n;
    const int ng = tc->generate_weight > 0 ? (tc->batch_u < cap - n ? tc->batch_u : cap - n) : 0;
    if (ng > 0) {
        for (int r = 0; r < ng; r++) y[n + r] = (int32_t)(((long)step * ng + r) % K);
        gx_ssdgm_generate_rows(m, ws, t, ng, y + n, NULL, rng, X + (size_t)n * n_t);
        n += ng;
        for (int r = first; r < n; r++) w[r] = tc->generate_weight * tc->alpha / ng;
    }
    return n;
}

typedef struct domain_state {
    gx_batcher lab, unl;
    int has_lab, has_unl;
    float *xl, *xu;
    int32_t *yl;
    float class_weight[GX_MAX_CLASSES];
} domain_state;

/* ---- memory needed ---- */

typedef struct mem_count {
    double params, acts; /* floats */
} mem_count;

/* A dense block of widths sizes[0..n] (n_labels extra inputs to the first layer) on `rows` rows:
 * weights and biases; activations, pre-activations and their gradients. */
static void count_block(mem_count *mc, int n, const int *sizes, int n_labels, double rows) {
    for (int i = 0; i < n; i++) {
        double in = sizes[i] + (i == 0 ? n_labels : 0), out = sizes[i + 1];
        mc->params += out * in + 3 * out;
        mc->acts += 4 * rows * out;
    }
}

double gx_ssdgm_train_bytes(const gx_ssdgm_config *c, int batch_l, int batch_u) {
    int K = c->n_classes, Z = c->z_dim, H = c->enc[c->n_enc - 1];
    double N = (double)batch_l + batch_u, R = (double)batch_l + (double)K * batch_u, nmax = 0;
    int gen = c->preset == GX_PRESET_M2 || c->preset == GX_PRESET_DVT;
    mem_count mc = {0, 0};
    for (int d = 0; d < c->n_domains; d++) {
        int n_in = c->dom[d].n_in;
        if (n_in > nmax) nmax = n_in;
        if (c->dom[d].share >= 0) continue;
        int in[2] = {n_in, c->enc[0]}, out[2] = {c->dec[c->n_dec - 1], n_in};
        count_block(&mc, 1, in, 0, N);
        if (gen) count_block(&mc, 1, out, 0, R);
    }
    count_block(&mc, c->n_enc - 1, c->enc, 0, N);
    int cls[3] = {H, c->cls_hidden ? c->cls_hidden : K, K};
    count_block(&mc, c->cls_hidden ? 2 : 1, cls, 0, N);
    if (gen) {
        int lat[3] = {H, c->lat_hidden ? c->lat_hidden : 2 * Z, 2 * Z};
        count_block(&mc, c->lat_hidden ? 2 : 1, lat, c->lat_y ? K : 0, R);
        int dec[GX_MAX_HIDDEN + 1] = {Z};
        for (int i = 0; i < c->n_dec; i++) dec[i + 1] = c->dec[i];
        count_block(&mc, c->n_dec, dec, c->preset == GX_PRESET_M2 ? K : 0, R);
        mc.params += 2.0 * K * Z;
        mc.acts += 8 * R * Z + R * nmax;
    }
    mc.acts += N * nmax + 8 * N * K;
    /* values, gradients, two moments, the best copy; activations; batches */
    return 4.0 * (5 * mc.params + mc.acts + 2 * N * nmax);
}

int gx_ssdgm_train_check_memory(const gx_ssdgm_config *c, int batch_l, int batch_u, gx_error *err) {
    const double have = gx_machine_memory(), need = gx_ssdgm_train_bytes(c, batch_l, batch_u);
    if (have <= 0 || need <= have) return 0;
    char a[32], b[32];
    gx_human_bytes(a, sizeof a, need);
    gx_human_bytes(b, sizeof b, have);
    return gx_fail(err, "training this model would need about %s of memory (the layer widths, --z "
                        "and batch sizes), more than the %s this machine has (RAM and swap); use "
                        "smaller sizes", a, b);
}

/* ---- checkpoints ---- */

static int all_finite(const float *x, size_t n) {
    for (size_t i = 0; i < n; i++)
        if (!isfinite(x[i])) return 0;
    return 1;
}

/* Appends "; the last checkpoint (...) is kept" to a message that stops training. */
static int note_kept(gx_error *err, const gx_ssdgm_train_config *tc,
                     const gx_ssdgm_train_result *res) {
    if (!tc->ckpt_path || !err) return -1;
    size_t len = strlen(err->msg);
    if (res->ckpt_step >= 0)
        snprintf(err->msg + len, sizeof err->msg - len, "; the last checkpoint (step %ld) is kept in %s",
                 res->ckpt_step, tc->ckpt_path);
    else
        snprintf(err->msg + len, sizeof err->msg - len, "; no checkpoint was written yet");
    return -1;
}

/* Writes the checkpoint of the state cs, unless the weights have stopped being finite. */
static int checkpoint(const gx_ssdgm_train_config *tc, gx_ckpt_state *cs, double elapsed,
                      gx_ssdgm_train_result *res, gx_error *err) {
    if (!tc->ckpt_path) return 0;
    const gx_params *p = cs->params;
    long step = (long)cs->prog.step, epoch = (long)(cs->prog.in_epoch ? cs->prog.epoch : cs->prog.epoch - 1);
    if (!all_finite(p->data, p->total) || !all_finite(p->m, p->total) ||
        !all_finite(p->v, p->total)) {
        gx_fail(err, "training stopped after step %ld (epoch %ld): the weights are no longer "
                     "finite (try a smaller --lr, or --clip)", step, epoch);
        return note_kept(err, tc, res);
    }
    cs->prog.seconds = elapsed;
    if (gx_ckpt_write(tc->ckpt_path, cs, tc->ckpt_meta, tc->ctx, err)) {
        gx_fail_prefix(err, "training stopped after step %ld (epoch %ld): cannot write the "
                            "checkpoint", step, epoch);
        return note_kept(err, tc, res);
    }
    res->ckpt_step = step;
    res->ckpt_epoch = (int)epoch;
    return 0;
}

/* ---- training ---- */

int gx_ssdgm_train(gx_ssdgm *m, const gx_ssdgm_domain_data *dd, const gx_ssdgm_train_config *tc,
                   gx_ssdgm_train_result *res, gx_error *err) {
    const gx_ssdgm_config *c = &m->cfg;
    int D = c->n_domains, K = c->n_classes, rc = -1;
    memset(res, 0, sizeof *res);
    res->ckpt_step = -1;
    domain_state st[GX_MAX_DOMAINS];
    memset(st, 0, sizeof st);
    gx_ssdgm_ws ws;
    memset(&ws, 0, sizeof ws);
    float *best = NULL, *buf = NULL, *syn_x = NULL, *syn_w = NULL;
    int32_t *syn_y = NULL;
    gx_rng data_rng, noise_rng, aug_rng;
    gx_rng_init(&data_rng, tc->seed, GX_STREAM_DATA);
    gx_rng_init(&noise_rng, tc->seed, GX_STREAM_NOISE);
    gx_rng_init(&aug_rng, tc->seed, GX_STREAM_AUGMENT);
    if (tc->epochs < 1 || tc->batch_l < 1 || tc->batch_u < 1 || !(tc->lr > 0))
        return gx_fail(err, "training: epochs, batch sizes and learning rate must be positive");
    const int fixed_prior = tc->fixed_prior && m->prior_mu >= 0;
    if (tc->fixed_prior && !fixed_prior)
        return gx_fail(err, "training: a standard latent prior is a dvt option (m2's is already "
                            "N(0, I); mlp has no latent space)");
    if (tc->select == GX_SELECT_IM &&
        (tc->select_domain < 0 || tc->select_domain >= D || !dd[tc->select_domain].n_unl))
        return gx_fail(err, "training: selection by information maximisation needs unlabelled "
                            "rows in the target domain");
    const int target = tc->target_domain < 0 ? D - 1 : tc->target_domain;
    const int synthetic = tc->translate_weight > 0 || tc->generate_weight > 0;
    if (synthetic && (!gx_ssdgm_is_generative(m) || target >= D ||
                      (tc->translate_weight > 0 && m->cfg.preset != GX_PRESET_DVT)))
        return gx_fail(err, "training: translated rows need dvt, generated rows a generative "
                            "preset (m2 or dvt), and a target domain of the model");
    if (tc->monitor && (tc->monitor_domain < 0 || tc->monitor_domain >= D || !tc->monitor->y ||
                        tc->monitor->d != c->dom[tc->monitor_domain].n_in))
        return gx_fail(err, "training: the monitor set must be labelled rows of a domain's shape");
    gx_ckpt_state cs;
    memset(&cs, 0, sizeof cs);
    cs.params = &m->params;
    cs.rng[0] = &data_rng, cs.rng[1] = &noise_rng, cs.rng[2] = &aug_rng;

    /* batchers, batch buffers, class weights and priors per domain */
    long steps_per_epoch = 1;
    int nmax = 0, any_val = 0;
    for (int d = 0; d < D; d++) {
        const gx_ssdgm_domain_data *x = &dd[d];
        domain_state *s = &st[d];
        int n = c->dom[d].n_in;
        if (x->ds->d != n) {
            gx_fail(err, "domain %s: data has %lld features, the model expects %d", c->dom[d].name,
                    (long long)x->ds->d, n);
            goto done;
        }
        if (n > nmax) nmax = n;
        any_val |= x->n_val > 0;
        s->has_lab = x->n_lab > 0;
        /* a plain classifier (mlp) uses unlabelled rows only for the consistency term; dann for
         * its domain classifier too */
        s->has_unl = x->n_unl > 0 && (gx_ssdgm_is_generative(m) || tc->conf_weight > 0 ||
                                      (c->adversarial && tc->dann_weight > 0));
        int bl = s->has_lab ? (int)(x->n_lab < tc->batch_l ? x->n_lab : tc->batch_l) : 0;
        if (s->has_lab && gx_batcher_init(&s->lab, x->ds, x->lab, x->n_lab, bl, GX_BATCH_INFINITE,
                                          &data_rng, err)) goto done;
        if (s->has_unl && gx_batcher_init(&s->unl, x->ds, x->unl, x->n_unl, tc->batch_u,
                                          GX_BATCH_INFINITE, &data_rng, err)) goto done;
        for (int u = 0; u < 2; u++) {
            if (!(u ? s->has_unl : s->has_lab)) continue;
            cs.batcher[cs.n_batchers] = u ? &s->unl : &s->lab;
            snprintf(cs.batcher_name[cs.n_batchers++], sizeof cs.batcher_name[0], "%s.%s",
                     c->dom[d].name, u ? "unlabelled" : "labelled");
        }
        if (!(s->xl = gx_malloc((size_t)tc->batch_l * n * sizeof(float), "labelled batch", err)) ||
            !(s->yl = gx_malloc((size_t)tc->batch_l * sizeof(int32_t), "labels", err)) ||
            !(s->xu = gx_malloc((size_t)tc->batch_u * n * sizeof(float), "unlabelled batch", err)))
            goto done;
        long spe = s->has_unl ? (long)((x->n_unl + tc->batch_u - 1) / tc->batch_u)
                              : (long)((x->n_lab + tc->batch_l - 1) / tc->batch_l);
        if (spe > steps_per_epoch) steps_per_epoch = spe;
        /* class counts of the labelled rows: priors and balancing weights */
        double count[GX_MAX_CLASSES] = {0}, prob[GX_MAX_CLASSES];
        for (int64_t i = 0; i < x->n_lab; i++) {
            int32_t y = x->ds->y[x->lab[i]];
            if (y < 0 || y >= K) {
                gx_fail(err, "domain %s: row %lld has label %d outside the %d classes",
                        c->dom[d].name, (long long)x->lab[i], y, K);
                goto done;
            }
            count[y] += 1;
        }
        int present = 0;
        for (int k = 0; k < K; k++) present += count[k] > 0;
        for (int k = 0; k < K; k++) {
            prob[k] = tc->prior == GX_PRIOR_UNIFORM || !x->n_lab ? 1.0 / K
                                                                 : (count[k] + 1) / (x->n_lab + K);
            s->class_weight[k] = count[k] > 0 ? (float)(x->n_lab / (present * count[k])) : 0.0f;
        }
        gx_ssdgm_set_class_prior(m, d, prob);
    }
    if (gx_ssdgm_ws_alloc(&ws, m, tc->batch_l, tc->batch_u, err)) goto done;
    size_t chunk = (size_t)tc->batch_l + tc->batch_u;
    if (!(buf = gx_malloc(chunk * (nmax + K) * sizeof(float), "evaluation buffer", err)) ||
        !(best = gx_malloc(m->params.total * sizeof(float), "best weights", err)))
        goto done;
    if (fixed_prior) hold_standard_prior(m, 1);
    const int syn_cap = tc->batch_l + tc->batch_u; /* (the workspace's rows) */
    if (synthetic &&
        (!(syn_x = gx_malloc((size_t)syn_cap * c->dom[target].n_in * sizeof(float),
                             "synthetic rows", err)) ||
         !(syn_y = gx_malloc((size_t)syn_cap * sizeof(int32_t), "synthetic labels", err)) ||
         !(syn_w = gx_malloc((size_t)syn_cap * sizeof(float), "synthetic weights", err))))
        goto done;
    memcpy(best, m->params.data, m->params.total * sizeof(float));
    cs.best = best;

    /* the loop state: fresh, or from the checkpoint */
    gx_ckpt_progress *pg = &cs.prog;
    pg->epochs = tc->epochs;
    pg->steps_per_epoch = steps_per_epoch;
    pg->epoch = 1;
    pg->best_selection = -1;
    if (tc->resume_path) {
        if (gx_ckpt_read(tc->resume_path, &cs, err)) goto done;
        if (tc->ckpt_path && !strcmp(tc->ckpt_path, tc->resume_path)) {
            res->ckpt_step = (long)pg->step; /* the checkpoint in place is a good one */
            res->ckpt_epoch = (int)(pg->in_epoch ? pg->epoch : pg->epoch - 1);
        }
    }
    gx_optim opt;
    gx_optim_init(&opt, tc->opt);
    opt.step = (long)pg->step;
    long every = tc->ckpt_every < 0 ? steps_per_epoch : tc->ckpt_every;
    gx_schedule sched = {tc->sched, tc->lr, 0.0f, 0, (long)tc->epochs * steps_per_epoch};
    gx_ssdgm_hyper hyper = {.alpha = tc->alpha, .beta = 1.0f, .bn_momentum = 0.1f,
                            .aug_shift = tc->aug_shift, .augment_labelled = tc->augment_labelled,
                            .cutout = tc->cutout,
                            .conf_weight = tc->conf_weight, .conf_tau = tc->conf_tau,
                            .dann_weight = tc->dann_weight,
                            .aug_rng = &aug_rng};
    for (int d = 0; d < D; d++) hyper.class_weight[d] = tc->class_balance ? st[d].class_weight : NULL;
    gx_ssdgm_batch batches[GX_MAX_DOMAINS];
    double t0 = now_seconds() - pg->seconds;
    long warmup = (long)(tc->kl_warmup_epochs * steps_per_epoch);
    res->best_selection = pg->best_selection;
    res->best_epoch = (int)pg->best_epoch;
    while (pg->epoch <= tc->epochs) {
        double te = now_seconds();
        int stop = 0;
        while (pg->in_epoch < steps_per_epoch) {
            long step = (long)pg->step;
            for (int d = 0; d < D; d++) {
                domain_state *s = &st[d];
                int nl = s->has_lab ? (int)gx_batcher_next(&s->lab, s->xl, s->yl) : 0;
                int nu = s->has_unl ? (int)gx_batcher_next(&s->unl, s->xu, NULL) : 0;
                batches[d] = (gx_ssdgm_batch){s->xl, s->yl, nl, s->xu, nu};
            }
            hyper.beta = warmup > 0 && step < warmup ? (float)(step + 1) / warmup : 1.0f;
            /* dann: Ganin et al.'s schedule, lambda = 2 / (1 + exp(-10 p)) - 1 over the run */
            const double progress = (double)step / ((double)tc->epochs * steps_per_epoch);
            hyper.dann_lambda = (float)(2.0 / (1.0 + exp(-10.0 * progress)) - 1.0);
            if (synthetic) {
                hyper.syn_n = make_synthetic(m, &ws, batches, target, tc, step, syn_cap,
                                             &noise_rng, syn_x, syn_y, syn_w);
                hyper.syn_x = syn_x, hyper.syn_y = syn_y, hyper.syn_w = syn_w;
                hyper.syn_domain = target;
            }
            gx_ssdgm_stats ss;
            gx_params_zero_grad(&m->params);
            if (gx_ssdgm_loss_and_grad(m, &ws, batches, &hyper, &noise_rng, &ss, err)) {
                gx_fail_prefix(err, "training stopped at epoch %ld, step %ld", (long)pg->epoch,
                               step + 1);
                note_kept(err, tc, res);
                goto done;
            }
            if (fixed_prior) hold_standard_prior(m, 0);
            if (tc->clip > 0) gx_clip_grad_norm(&m->params, tc->clip);
            gx_optim_step(&opt, &m->params, gx_schedule_lr(&sched, step));
            pg->sum[0] += ss.loss;
            pg->sum[1] += ss.elbo_l;
            pg->sum[2] += ss.elbo_u;
            pg->sum[3] += ss.ce;
            pg->count[0] += ss.correct_l;
            pg->count[1] += ss.n_l;
            pg->count[2] += ss.n_conf;
            pg->count[3] += ss.n_u;
            pg->in_epoch++;
            pg->step++;
            if (tc->on_step) tc->on_step(tc->ctx, step + 1, steps_per_epoch, &ss);
            stop = tc->stop && *tc->stop;
            if (pg->in_epoch < steps_per_epoch && (stop || (every > 0 && pg->step % every == 0))) {
                if (checkpoint(tc, &cs, now_seconds() - t0, res, err)) goto done;
                if (stop) goto stopped;
            }
        }
        long last = (long)pg->step - 1; /* the epoch's last step */
        gx_epoch_log log = {.epoch = (int)pg->epoch, .step = (long)pg->step};
        log.loss = pg->sum[0] / steps_per_epoch;
        log.elbo_l = pg->sum[1] / steps_per_epoch;
        log.elbo_u = pg->sum[2] / steps_per_epoch;
        log.ce = pg->sum[3] / steps_per_epoch;
        log.train_acc = pg->count[1] ? (double)pg->count[0] / pg->count[1] : -1;
        log.confident = pg->count[3] ? (double)pg->count[2] / pg->count[3] : 0;
        log.lr = gx_schedule_lr(&sched, last);
        log.beta = warmup > 0 && last < warmup ? (float)(last + 1) / warmup : 1.0f;
        /* class priors re-estimated from q(y|x) over the unlabelled rows */
        if (tc->prior == GX_PRIOR_REESTIMATE)
            for (int d = 0; d < D; d++) {
                if (!dd[d].n_unl) continue;
                double prob[GX_MAX_CLASSES];
                mean_posterior(m, &ws, d, dd[d].ds, dd[d].unl, dd[d].n_unl, buf, prob);
                gx_ssdgm_set_class_prior(m, d, prob);
            }
        /* validation and model selection */
        double sum = 0;
        int nsel = 0;
        for (int d = 0; d < D; d++) {
            log.val_acc[d] = -1;
            if (!dd[d].n_val) continue;
            log.val_acc[d] = gx_ssdgm_accuracy(m, &ws, d, dd[d].ds, dd[d].val, dd[d].n_val, buf);
            if (tc->select_domain < 0 || tc->select_domain == d) sum += log.val_acc[d], nsel++;
        }
        log.selection = nsel ? sum / nsel : -1;
        log.im = -1;
        if (tc->select == GX_SELECT_IM) {
            /* (a fixed subset of the unlabelled rows bounds its cost on large domains) */
            const gx_ssdgm_domain_data *x = &dd[tc->select_domain];
            const int64_t n_im = x->n_unl < IM_ROWS ? x->n_unl : IM_ROWS;
            log.im = info_max(m, &ws, tc->select_domain, x->ds, x->unl, n_im, buf);
            log.selection = log.im;
        }
        log.monitor_acc = tc->monitor ? gx_ssdgm_accuracy(m, &ws, tc->monitor_domain, tc->monitor,
                                                          NULL, tc->monitor->n, buf)
                                      : -1;
        const int by_value = tc->select == GX_SELECT_IM || (tc->select == GX_SELECT_VAL && any_val);
        if (!by_value || log.selection > res->best_selection) {
            res->best_selection = log.selection;
            res->best_epoch = log.epoch;
            memcpy(best, m->params.data, m->params.total * sizeof(float));
            log.is_best = 1;
        }
        log.seconds = now_seconds() - te;
        if (tc->on_epoch) tc->on_epoch(tc->ctx, &log);
        /* the next epoch starts: this is a checkpoint's point too */
        pg->epoch++;
        pg->in_epoch = 0;
        memset(pg->sum, 0, sizeof pg->sum);
        memset(pg->count, 0, sizeof pg->count);
        pg->best_epoch = res->best_epoch;
        pg->best_selection = res->best_selection;
        stop = stop || (tc->stop && *tc->stop);
        if (pg->epoch <= tc->epochs && (stop || (every > 0 && pg->step % every == 0))) {
            if (checkpoint(tc, &cs, now_seconds() - t0, res, err)) goto done;
            if (stop) goto stopped;
        }
    }
    /* the end: the complete state, then the best weights into the model */
    if (checkpoint(tc, &cs, now_seconds() - t0, res, err)) goto done;
    memcpy(m->params.data, best, m->params.total * sizeof(float));
    res->steps = (long)pg->step;
    res->seconds = now_seconds() - t0;
    rc = 0;
    goto done;
stopped:
    res->stopped = 1;
    res->steps = (long)pg->step;
    res->seconds = now_seconds() - t0;
    rc = 0;
done:
    for (int d = 0; d < D; d++) {
        if (st[d].has_lab) gx_batcher_free(&st[d].lab);
        if (st[d].has_unl) gx_batcher_free(&st[d].unl);
        free(st[d].xl);
        free(st[d].yl);
        free(st[d].xu);
    }
    gx_ssdgm_ws_free(&ws);
    free(best);
    free(buf);
    free(syn_x);
    free(syn_y);
    free(syn_w);
    return rc;
}
