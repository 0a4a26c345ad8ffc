#include "models/ssdgm.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/losses.h"
#include "core/noise.h"
#include "data/augment.h"

void gx_ssdgm_config_default(gx_ssdgm_config *c, gx_preset preset, int n_classes) {
    memset(c, 0, sizeof *c);
    c->preset = preset;
    c->n_classes = n_classes;
    for (int d = 0; d < GX_MAX_DOMAINS; d++) c->dom[d].share = -1;
    c->z_dim = 50;
    c->n_enc = 2;
    c->enc[0] = c->enc[1] = 500;
    c->n_dec = 2;
    c->dec[0] = c->dec[1] = 500;
    c->act = GX_ACT_SOFTPLUS;
    c->batchnorm = preset != GX_PRESET_M2;
    c->lat_y = preset == GX_PRESET_M2;
    c->prior_scale = preset == GX_PRESET_DVT ? 3.0f : 0.0f;
    c->adversarial = preset == GX_PRESET_DANN;
}

int gx_preset_parse(const char *s, gx_preset *out) {
    if (!strcmp(s, "m2")) *out = GX_PRESET_M2;
    else if (!strcmp(s, "dvt")) *out = GX_PRESET_DVT;
    else if (!strcmp(s, "mlp")) *out = GX_PRESET_MLP;
    else if (!strcmp(s, "dann")) *out = GX_PRESET_DANN;
    else return -1;
    return 0;
}

const char *gx_preset_name(gx_preset p) {
    return p == GX_PRESET_M2 ? "m2" : p == GX_PRESET_DVT ? "dvt" : p == GX_PRESET_DANN ? "dann" : "mlp";
}

static int generative(gx_preset p) { return p == GX_PRESET_M2 || p == GX_PRESET_DVT; }

int gx_ssdgm_is_generative(const gx_ssdgm *m) { return generative(m->cfg.preset); }

static int check_config(const gx_ssdgm_config *c, gx_error *err) {
    if (c->n_domains < 1 || c->n_domains > GX_MAX_DOMAINS)
        return gx_fail(err, "model: %d domains (expected 1 to %d)", c->n_domains, GX_MAX_DOMAINS);
    if ((c->preset == GX_PRESET_DANN || c->adversarial) && c->n_domains < 2)
        return gx_fail(err, "model: %s needs two domains or more (got %d)",
                       c->preset == GX_PRESET_DANN ? "preset dann" : "a domain classifier",
                       c->n_domains);
    if (c->preset == GX_PRESET_DANN && !c->adversarial)
        return gx_fail(err, "model: preset dann has a domain classifier (adversarial)");
    if (c->adversarial && c->preset == GX_PRESET_M2)
        return gx_fail(err, "model: m2 has one domain: no domain classifier");
    if (c->preset == GX_PRESET_M2 && c->n_domains != 1)
        return gx_fail(err, "model: preset m2 takes exactly one domain (got %d); use dvt",
                       c->n_domains);
    if (c->n_classes < 2 || c->n_classes > GX_MAX_CLASSES)
        return gx_fail(err, "model: %d classes (expected 2 to %d)", c->n_classes, GX_MAX_CLASSES);
    if (c->z_dim < 1) return gx_fail(err, "model: latent size %d (expected >= 1)", c->z_dim);
    if (c->preset == GX_PRESET_M2 && !c->lat_y)
        return gx_fail(err, "model: preset m2 needs q(z|x,y) (lat_y); a y-free latent head is for dvt");
    if (c->n_enc < 2 || c->n_enc > GX_MAX_HIDDEN)
        return gx_fail(err, "model: %d encoder layers (expected 2 to %d: a domain input layer and "
                            "a shared trunk)", c->n_enc, GX_MAX_HIDDEN);
    if (c->n_dec < 1 || c->n_dec > GX_MAX_HIDDEN)
        return gx_fail(err, "model: %d decoder layers (expected 1 to %d)", c->n_dec, GX_MAX_HIDDEN);
    for (int i = 0; i < c->n_enc; i++)
        if (c->enc[i] < 1) return gx_fail(err, "model: encoder width %d", c->enc[i]);
    for (int i = 0; i < c->n_dec; i++)
        if (c->dec[i] < 1) return gx_fail(err, "model: decoder width %d", c->dec[i]);
    for (int d = 0; d < c->n_domains; d++) {
        if (c->dom[d].n_in < 1)
            return gx_fail(err, "model: domain %d has %d inputs", d, c->dom[d].n_in);
        int s = c->dom[d].share;
        if (s >= 0 && (s >= d || c->dom[s].share >= 0))
            return gx_fail(err, "model: domain %s can share the blocks of an earlier domain that has "
                                "its own", c->dom[d].name);
        if (s >= 0 && (c->dom[s].n_in != c->dom[d].n_in || c->dom[s].lik != c->dom[d].lik))
            return gx_fail(err, "model: domain %s shares the blocks of %s but has %d inputs and a %s "
                                "likelihood where %s has %d and %s", c->dom[d].name, c->dom[s].name,
                           c->dom[d].n_in, c->dom[d].lik ? "Gaussian" : "Bernoulli",
                           c->dom[s].name, c->dom[s].n_in, c->dom[s].lik ? "Gaussian" : "Bernoulli");
        for (int e = 0; e < d; e++)
            if (!strcmp(c->dom[d].name, c->dom[e].name))
                return gx_fail(err, "model: two domains named '%s'", c->dom[d].name);
    }
    return 0;
}

int gx_ssdgm_create(gx_ssdgm *m, const gx_ssdgm_config *cfg, gx_rng *init_rng, gx_error *err) {
    return gx_ssdgm_create_at_most(m, cfg, SIZE_MAX, init_rng, err);
}

int gx_ssdgm_create_at_most(gx_ssdgm *m, const gx_ssdgm_config *cfg, size_t max_params,
                            gx_rng *init_rng, gx_error *err) {
    memset(m, 0, sizeof *m);
    gx_params_init(&m->params);
    if (check_config(cfg, err)) return -1;
    m->cfg = *cfg;
    const gx_ssdgm_config *c = &m->cfg;
    gx_params *p = &m->params;
    int K = c->n_classes, Z = c->z_dim, H = c->enc[c->n_enc - 1], D = c->n_domains;
    char name[GX_PARAM_NAME_MAX];
    if ((m->group_shared = gx_params_group(p, "shared", err)) < 0) goto fail;
    if ((m->group_stats = gx_params_group(p, "stats", err)) < 0) goto fail;
    p->groups[m->group_stats].frozen = true;
    for (int d = 0; d < D; d++) {
        snprintf(name, sizeof name, "domain.%s", c->dom[d].name);
        if ((m->group_dom[d] = gx_params_group(p, name, err)) < 0) goto fail;
    }
    int bn = c->batchnorm ? 1 : 0;
    /* encoder: domain input blocks (a block shared by several domains keeps statistics for each,
     * slot = domain index), then the shared trunk */
    for (int d = 0; d < D; d++) {
        int shared = 0;
        for (int e = 0; e < D; e++) shared |= c->dom[e].share == d;
        m->in_slot[d] = c->dom[d].share >= 0 || shared ? d : 0;
        if (c->dom[d].share >= 0) continue;
        int sizes[2] = {c->dom[d].n_in, c->enc[0]};
        snprintf(name, sizeof name, "enc.in.%s", c->dom[d].name);
        if (gx_dense_declare(&m->enc_in[d], p, name, 1, sizes, 0, c->act, c->act,
                             bn ? (shared ? D : 1) : 0, m->group_dom[d], m->group_stats, err))
            goto fail;
    }
    for (int d = 0; d < D; d++)
        if (c->dom[d].share >= 0) m->enc_in[d] = m->enc_in[c->dom[d].share];
    if (gx_dense_declare(&m->enc_trunk, p, "enc.trunk", c->n_enc - 1, c->enc, 0, c->act, c->act,
                         bn ? D : 0, m->group_shared, m->group_stats, err)) goto fail;
    /* heads on h: classifier, and q(z | h, y) */
    {
        int sizes[3] = {H, c->cls_hidden, K}, n = c->cls_hidden > 0 ? 2 : 1;
        if (n == 1) sizes[1] = K;
        if (gx_dense_declare(&m->cls, p, "cls", n, sizes, 0, c->act, GX_ACT_IDENTITY, 0,
                             m->group_shared, m->group_stats, err)) goto fail;
    }
    int gen = generative(c->preset);
    if (c->adversarial) {
        int sizes[3] = {H, GX_DANN_HIDDEN, D};
        if (gx_dense_declare(&m->disc, p, "disc", 2, sizes, 0, c->act, GX_ACT_IDENTITY, 0,
                             m->group_shared, m->group_stats, err)) goto fail;
    }
    if (gen) {
        int sizes[3] = {H, c->lat_hidden, 2 * Z}, n = c->lat_hidden > 0 ? 2 : 1;
        if (n == 1) sizes[1] = 2 * Z;
        if (gx_dense_declare(&m->lat, p, "lat", n, sizes, c->lat_y ? K : 0, c->act, GX_ACT_IDENTITY, 0,
                             m->group_shared, m->group_stats, err)) goto fail;
    }
    /* decoder: shared trunk from z ([z ; y] for m2), then domain output heads */
    if (gen) {
        int sizes[GX_MAX_HIDDEN + 1] = {Z};
        for (int i = 0; i < c->n_dec; i++) sizes[i + 1] = c->dec[i];
        if (gx_dense_declare(&m->dec_trunk, p, "dec.trunk", c->n_dec, sizes,
                             c->preset == GX_PRESET_M2 ? K : 0, c->act, c->act, 0, m->group_shared,
                             m->group_stats, err)) goto fail;
    }
    for (int d = 0; d < D; d++) {
        int64_t kshape[1] = {K};
        snprintf(name, sizeof name, "prior.log_pi.%s", c->dom[d].name);
        if ((m->log_pi[d] = gx_params_add(p, name, 1, kshape, m->group_stats, err)) < 0) goto fail;
        int s = c->dom[d].share;
        m->out_logvar[d] = -1;
        if (!gen) continue;
        if (s >= 0) {
            m->dec_out[d] = m->dec_out[s];
            m->out_logvar[d] = m->out_logvar[s];
            continue;
        }
        int sizes[2] = {c->dec[c->n_dec - 1], c->dom[d].n_in};
        snprintf(name, sizeof name, "dec.out.%s", c->dom[d].name);
        if (gx_dense_declare(&m->dec_out[d], p, name, 1, sizes, 0, c->act, GX_ACT_IDENTITY, 0,
                             m->group_dom[d], m->group_stats, err)) goto fail;
        if (c->dom[d].lik == GX_LIK_GAUSSIAN) {
            int64_t shape[1] = {c->dom[d].n_in};
            snprintf(name, sizeof name, "dec.out.%s.logvar", c->dom[d].name);
            if ((m->out_logvar[d] = gx_params_add(p, name, 1, shape, m->group_dom[d], err)) < 0)
                goto fail;
        }
    }
    m->prior_mu = m->prior_logvar = -1;
    if (c->preset == GX_PRESET_DVT) {
        int64_t shape[2] = {K, Z};
        if ((m->prior_mu = gx_params_add(p, "prior.mu", 2, shape, m->group_shared, err)) < 0)
            goto fail;
        if ((m->prior_logvar = gx_params_add(p, "prior.logvar", 2, shape, m->group_shared, err)) < 0)
            goto fail;
    }
    if (gx_params_count(p, false) > max_params) {
        gx_fail(err, "model: the configuration describes %zu parameters but only %zu values are "
                     "given", gx_params_count(p, false), max_params);
        goto fail;
    }
    if (gx_params_finalize(p, err)) goto fail;

    /* initial values (all tensors start at zero) */
    for (int d = 0; d < D; d++)
        if (c->dom[d].share < 0) gx_dense_init(&m->enc_in[d], p, init_rng);
    gx_dense_init(&m->enc_trunk, p, init_rng);
    gx_dense_init(&m->cls, p, init_rng);
    if (c->adversarial) gx_dense_init(&m->disc, p, init_rng);
    if (gen) {
        gx_dense_init(&m->lat, p, init_rng);
        gx_dense_init(&m->dec_trunk, p, init_rng);
    }
    for (int d = 0; d < D; d++) {
        if (gen && c->dom[d].share < 0) gx_dense_init(&m->dec_out[d], p, init_rng);
        float *lp = gx_params_value(p, m->log_pi[d]);
        for (int k = 0; k < K; k++) lp[k] = -logf((float)K);
    }
    if (c->preset == GX_PRESET_DVT)
        gx_rng_normal_fill(init_rng, gx_params_value(p, m->prior_mu), (size_t)K * Z, 0.0f,
                           c->prior_scale);
    return 0;
fail:
    gx_params_free(p);
    return -1;
}

void gx_ssdgm_free(gx_ssdgm *m) { gx_params_free(&m->params); }

static int max_inputs(const gx_ssdgm_config *c) {
    int n = 0;
    for (int d = 0; d < c->n_domains; d++)
        if (c->dom[d].n_in > n) n = c->dom[d].n_in;
    return n;
}

int gx_ssdgm_ws_alloc(gx_ssdgm_ws *ws, const gx_ssdgm *m, int max_l, int max_u, gx_error *err) {
    memset(ws, 0, sizeof *ws);
    const gx_ssdgm_config *c = &m->cfg;
    int K = c->n_classes, Z = c->z_dim, nmax = max_inputs(c);
    if (max_l < 0 || max_u < 0 || max_l + max_u < 1)
        return gx_fail(err, "workspace: batch sizes %d + %d", max_l, max_u);
    ws->max_l = max_l;
    ws->max_u = max_u;
    int N = max_l + max_u, R = max_l + K * max_u, gen = gx_ssdgm_is_generative(m);
    for (int d = 0; d < c->n_domains; d++) {
        if (gx_dense_ws_alloc(&ws->enc_in[d], &m->enc_in[d], N, N, err)) goto fail;
        if (gen && gx_dense_ws_alloc(&ws->dec_out[d], &m->dec_out[d], R, R, err)) goto fail;
    }
    if (gx_dense_ws_alloc(&ws->enc_trunk, &m->enc_trunk, N, N, err) ||
        gx_dense_ws_alloc(&ws->cls, &m->cls, N, N, err) ||
        (gen && gx_dense_ws_alloc(&ws->lat, &m->lat, R, N, err)) ||
        (gen && gx_dense_ws_alloc(&ws->dec_trunk, &m->dec_trunk, R, R, err)))
        goto fail;
    if (c->adversarial) {
        const int H = c->enc[c->n_enc - 1], D = c->n_domains;
        if (gx_dense_ws_alloc(&ws->disc, &m->disc, N, N, err) ||
            !(ws->dh_disc = gx_malloc((size_t)N * H * sizeof(float), "domain gradient", err)) ||
            !(ws->lpd = gx_malloc((size_t)N * D * sizeof(float), "domain posteriors", err)) ||
            !(ws->pd = gx_malloc((size_t)N * D * sizeof(float), "domain posteriors", err)))
            goto fail;
    }
    size_t nz = (size_t)R * Z;
    int scratch = nmax > R ? nmax : R;
    if (K > scratch) scratch = K;
    if (!(ws->xin = gx_malloc_aligned((size_t)N * nmax * sizeof(float), "inputs", err)) ||
        !(ws->xtr = gx_malloc_aligned((size_t)N * nmax * sizeof(float), "augmented inputs", err)) ||
        !(ws->src = gx_malloc((size_t)R * sizeof(int32_t), "branch rows", err)) ||
        !(ws->ybr = gx_malloc((size_t)R * sizeof(int32_t), "branch labels", err)) ||
        !(ws->lp = gx_malloc((size_t)N * K * sizeof(float), "log q(y|x)", err)) ||
        !(ws->p = gx_malloc((size_t)N * K * sizeof(float), "q(y|x)", err)) ||
        !(ws->dlogits = gx_malloc((size_t)N * K * sizeof(float), "classifier gradient", err)) ||
        !(ws->mu = gx_malloc(nz * sizeof(float), "latent means", err)) ||
        !(ws->lv = gx_malloc(nz * sizeof(float), "latent log-variances", err)) ||
        !(ws->eps = gx_malloc(nz * sizeof(float), "latent noise", err)) ||
        !(ws->z = gx_malloc(nz * sizeof(float), "latent samples", err)) ||
        !(ws->dmu = gx_malloc(nz * sizeof(float), "latent gradients", err)) ||
        !(ws->dlv = gx_malloc(nz * sizeof(float), "latent gradients", err)) ||
        !(ws->dz = gx_malloc(nz * sizeof(float), "latent gradients", err)) ||
        !(ws->kl = gx_malloc((size_t)R * sizeof(float), "KL terms", err)) ||
        !(ws->rec = gx_malloc((size_t)R * sizeof(float), "reconstruction terms", err)) ||
        !(ws->elbo = gx_malloc((size_t)R * sizeof(float), "bounds", err)) ||
        !(ws->g = gx_malloc((size_t)R * sizeof(float), "bound gradients", err)) ||
        !(ws->tmp = gx_malloc((size_t)R * sizeof(float), "scratch", err)) ||
        !(ws->klk = gx_malloc((size_t)N * K * sizeof(float), "KL per component", err)) ||
        !(ws->gkl = gx_malloc((size_t)N * K * sizeof(float), "KL gradients", err)) ||
        !(ws->dstat = gx_malloc((size_t)scratch * sizeof(float), "scratch", err)))
        goto fail;
    return 0;
fail:
    gx_ssdgm_ws_free(ws);
    return -1;
}

void gx_ssdgm_ws_free(gx_ssdgm_ws *ws) {
    for (int d = 0; d < GX_MAX_DOMAINS; d++) {
        if (ws->enc_in[d].l[0].Z) gx_dense_ws_free(&ws->enc_in[d]);
        if (ws->dec_out[d].l[0].Z) gx_dense_ws_free(&ws->dec_out[d]);
    }
    gx_dense_ws *blocks[] = {&ws->enc_trunk, &ws->cls, &ws->lat, &ws->dec_trunk, &ws->disc};
    for (size_t i = 0; i < sizeof blocks / sizeof *blocks; i++)
        if (blocks[i]->l[0].Z) gx_dense_ws_free(blocks[i]);
    void *bufs[] = {ws->xin, ws->xtr, ws->src, ws->ybr, ws->lp, ws->p, ws->dlogits, ws->mu,
                    ws->lv, ws->eps, ws->z, ws->dmu, ws->dlv, ws->dz, ws->kl, ws->rec, ws->elbo,
                    ws->g, ws->tmp, ws->dstat, ws->klk, ws->gkl, ws->dh_disc, ws->lpd, ws->pd};
    for (size_t i = 0; i < sizeof bufs / sizeof *bufs; i++) free(bufs[i]);
    memset(ws, 0, sizeof *ws);
}

/* Encoder and classifier in train or eval mode for N rows already in ws->xin; leaves h in the
 * trunk's output and log q(y|x), q(y|x) in ws->lp, ws->p. */
static void encode(gx_ssdgm *m, gx_ssdgm_ws *ws, int d, int N, int train, float momentum) {
    const gx_params *p = &m->params;
    gx_dense_forward(&m->enc_in[d], p, &ws->enc_in[d], ws->xin, N, NULL, NULL, N, train,
                     m->in_slot[d], momentum);
    gx_dense_forward(&m->enc_trunk, p, &ws->enc_trunk, gx_dense_out(&m->enc_in[d], &ws->enc_in[d]),
                     N, NULL, NULL, N, train, d, momentum);
    float *h = gx_dense_out(&m->enc_trunk, &ws->enc_trunk);
    gx_dense_forward(&m->cls, p, &ws->cls, h, N, NULL, NULL, N, train, 0, momentum);
    gx_log_softmax_forward(ws->lp, ws->p, gx_dense_out(&m->cls, &ws->cls), N, m->cfg.n_classes);
}

/* Splits the latent head's output [R, 2Z] into mu and logvar [R, Z]. */
static void split_latent(const float *out, float *mu, float *lv, int R, int Z) {
    for (int r = 0; r < R; r++) {
        memcpy(mu + (size_t)r * Z, out + (size_t)r * 2 * Z, (size_t)Z * sizeof *mu);
        memcpy(lv + (size_t)r * Z, out + (size_t)r * 2 * Z + Z, (size_t)Z * sizeof *lv);
    }
}

static void join_latent(float *out, const float *mu, const float *lv, int R, int Z) {
    for (int r = 0; r < R; r++) {
        memcpy(out + (size_t)r * 2 * Z, mu + (size_t)r * Z, (size_t)Z * sizeof *mu);
        memcpy(out + (size_t)r * 2 * Z + Z, lv + (size_t)r * Z, (size_t)Z * sizeof *lv);
    }
}

/* KL(q(z|x,y_r) || p(z|y_r)) for every branch row, and its backward (forward when g is NULL). */
static void kl_rows(gx_ssdgm *m, gx_ssdgm_ws *ws, int nl, int nu, const float *g) {
    const gx_ssdgm_config *c = &m->cfg;
    int K = c->n_classes, Z = c->z_dim, R = nl + K * nu;
    gx_params *p = &m->params;
    if (c->preset == GX_PRESET_M2) {
        if (!g) gx_kl_diag_forward(ws->kl, ws->mu, ws->lv, NULL, NULL, 0, R, Z);
        else gx_kl_diag_backward(ws->dmu, ws->dlv, NULL, NULL, g, ws->mu, ws->lv, NULL, NULL, 0, R, Z);
        return;
    }
    const float *pm = gx_params_value(p, m->prior_mu), *pv = gx_params_value(p, m->prior_logvar);
    float *dpm = gx_params_gradient(p, m->prior_mu), *dpv = gx_params_gradient(p, m->prior_logvar);
    /* labelled rows: each its own component; unlabelled: block k uses component k */
    for (int r = 0; r < nl; r++) {
        size_t o = (size_t)r * Z, k = (size_t)ws->ybr[r] * Z;
        if (!g) gx_kl_diag_forward(ws->kl + r, ws->mu + o, ws->lv + o, pm + k, pv + k, 0, 1, Z);
        else gx_kl_diag_backward(ws->dmu + o, ws->dlv + o, dpm + k, dpv + k, g + r, ws->mu + o,
                                 ws->lv + o, pm + k, pv + k, 0, 1, Z);
    }
    for (int k = 0; k < K && nu > 0; k++) {
        size_t r0 = (size_t)nl + (size_t)k * nu, o = r0 * Z, kk = (size_t)k * Z;
        if (!g) gx_kl_diag_forward(ws->kl + r0, ws->mu + o, ws->lv + o, pm + kk, pv + kk, 0, nu, Z);
        else gx_kl_diag_backward(ws->dmu + o, ws->dlv + o, dpm + kk, dpv + kk, g + r0, ws->mu + o,
                                 ws->lv + o, pm + kk, pv + kk, 0, nu, Z);
    }
}

/* log p(x | z, y) of every branch (q(z|x,y) heads): ws->rec [R] from the decoder's output [R, n]
 * (g NULL), or its backward with d loss / d rec = g [R] added into the decoder's dout. Branch r's
 * input is row src[r] of ws->xin: the labelled rows are rows 0..nl-1, and class block k of the
 * unlabelled branches is rows nl..nl+nu-1 again, so each block is computed against the rows in
 * place (never copied K times). */
static void branch_loglik(gx_ssdgm *m, gx_ssdgm_ws *ws, int d, int nl, int nu, const float *g) {
    const gx_ssdgm_config *c = &m->cfg;
    gx_params *p = &m->params;
    int K = c->n_classes, n = c->dom[d].n_in;
    const float *out = gx_dense_out(&m->dec_out[d], &ws->dec_out[d]);
    float *dout = gx_dense_dout(&m->dec_out[d], &ws->dec_out[d]);
    const float *olv = m->out_logvar[d] >= 0 ? gx_params_value(p, m->out_logvar[d]) : NULL;
    float *dlv = m->out_logvar[d] >= 0 ? gx_params_gradient(p, m->out_logvar[d]) : NULL;
    for (int blk = -1; blk < K; blk++) {
        int r0 = blk < 0 ? 0 : nl + blk * nu, rows = blk < 0 ? nl : nu;
        const float *x = ws->xin + (size_t)(blk < 0 ? 0 : nl) * n;
        size_t o = (size_t)r0 * n;
        if (rows == 0) continue;
        if (c->dom[d].lik == GX_LIK_BERNOULLI) {
            if (!g) gx_bernoulli_loglik_forward(ws->rec + r0, x, out + o, rows, n);
            else gx_bernoulli_loglik_backward(dout + o, g + r0, x, out + o, rows, n);
        } else {
            if (!g) gx_gaussian_loglik_forward(ws->rec + r0, x, out + o, olv, 0, rows, n);
            else gx_gaussian_loglik_backward(dout + o, dlv, g + r0, x, out + o, olv, 0, rows, n);
        }
    }
}

/* ---- the K-class branches: every labelled row once, every unlabelled row once per class ----
 * Branch r uses input row ws->src[r] and class ws->ybr[r]; labelled rows come first, then class
 * block k of the unlabelled rows. Each forward fills ws->elbo[R]; each backward takes ws->g[R]
 * (d loss / d bound) and adds into the parameters' gradients and into dh [N, H]. */

/* q(z|x,y): each branch has its own latent and decoder pass (the GEMM on h is shared). */
static void branches_forward_y(gx_ssdgm *m, gx_ssdgm_ws *ws, int d, int nl, int nu,
                               const gx_ssdgm_hyper *h, gx_rng *rng) {
    const gx_ssdgm_config *c = &m->cfg;
    gx_params *p = &m->params;
    int K = c->n_classes, Z = c->z_dim, N = nl + nu, R = nl + K * nu;
    float *hid = gx_dense_out(&m->enc_trunk, &ws->enc_trunk);
    gx_dense_forward(&m->lat, p, &ws->lat, hid, N, ws->src, ws->ybr, R, 1, 0, 0);
    split_latent(gx_dense_out(&m->lat, &ws->lat), ws->mu, ws->lv, R, Z);
    gx_normal_noise(rng, ws->eps, R, Z);
    gx_reparam_forward(ws->z, ws->mu, ws->lv, ws->eps, R * Z);
    kl_rows(m, ws, nl, nu, NULL);
    const int32_t *dec_y = c->preset == GX_PRESET_M2 ? ws->ybr : NULL;
    gx_dense_forward(&m->dec_trunk, p, &ws->dec_trunk, ws->z, R, NULL, dec_y, R, 1, 0, 0);
    gx_dense_forward(&m->dec_out[d], p, &ws->dec_out[d], gx_dense_out(&m->dec_trunk, &ws->dec_trunk),
                     R, NULL, NULL, R, 1, 0, 0);
    branch_loglik(m, ws, d, nl, nu, NULL);
    const float *log_pi = gx_params_value(p, m->log_pi[d]);
    for (int r = 0; r < R; r++) ws->elbo[r] = ws->rec[r] - h->beta * ws->kl[r] + log_pi[ws->ybr[r]];
}

static void branches_backward_y(gx_ssdgm *m, gx_ssdgm_ws *ws, int d, int nl, int nu,
                                const gx_ssdgm_hyper *h, float *dh) {
    const gx_ssdgm_config *c = &m->cfg;
    gx_params *p = &m->params;
    int K = c->n_classes, Z = c->z_dim, n = c->dom[d].n_in, N = nl + nu, R = nl + K * nu;
    float *dout = gx_dense_dout(&m->dec_out[d], &ws->dec_out[d]);
    memset(dout, 0, (size_t)R * n * sizeof(float));
    branch_loglik(m, ws, d, nl, nu, ws->g);
    float *ddec = gx_dense_dout(&m->dec_trunk, &ws->dec_trunk);
    memset(ddec, 0, (size_t)R * gx_dense_out_size(&m->dec_trunk) * sizeof(float));
    gx_dense_backward(&m->dec_out[d], p, &ws->dec_out[d], ddec,
                      gx_dense_out(&m->dec_trunk, &ws->dec_trunk), R, NULL, NULL, R);
    memset(ws->dz, 0, (size_t)R * Z * sizeof(float));
    const int32_t *dec_y = c->preset == GX_PRESET_M2 ? ws->ybr : NULL;
    gx_dense_backward(&m->dec_trunk, p, &ws->dec_trunk, ws->dz, ws->z, R, NULL, dec_y, R);
    memset(ws->dmu, 0, (size_t)R * Z * sizeof(float));
    memset(ws->dlv, 0, (size_t)R * Z * sizeof(float));
    gx_reparam_backward(ws->dmu, ws->dlv, ws->dz, ws->lv, ws->eps, R * Z);
    for (int r = 0; r < R; r++) ws->tmp[r] = -h->beta * ws->g[r];
    kl_rows(m, ws, nl, nu, ws->tmp);
    join_latent(gx_dense_dout(&m->lat, &ws->lat), ws->dmu, ws->dlv, R, Z);
    gx_dense_backward(&m->lat, p, &ws->lat, dh, gx_dense_out(&m->enc_trunk, &ws->enc_trunk), N,
                      ws->src, ws->ybr, R);
}

/* q(z|x): one latent and decoder pass per input row; the bound of branch (row, k) is
 * rec[row] - beta KL(q(z|x_row) || p(z|k)) + log pi_k, with the KL of every row to every
 * component in ws->klk [K, N]. */
static void branches_forward_shared(gx_ssdgm *m, gx_ssdgm_ws *ws, int d, int nl, int nu,
                                    const gx_ssdgm_hyper *h, gx_rng *rng) {
    const gx_ssdgm_config *c = &m->cfg;
    gx_params *p = &m->params;
    int K = c->n_classes, Z = c->z_dim, n = c->dom[d].n_in, N = nl + nu, R = nl + K * nu;
    float *hid = gx_dense_out(&m->enc_trunk, &ws->enc_trunk);
    gx_dense_forward(&m->lat, p, &ws->lat, hid, N, NULL, NULL, N, 1, 0, 0);
    split_latent(gx_dense_out(&m->lat, &ws->lat), ws->mu, ws->lv, N, Z);
    gx_normal_noise(rng, ws->eps, N, Z);
    gx_reparam_forward(ws->z, ws->mu, ws->lv, ws->eps, N * Z);
    const float *pm = gx_params_value(p, m->prior_mu), *pv = gx_params_value(p, m->prior_logvar);
    for (int k = 0; k < K; k++)
        gx_kl_diag_forward(ws->klk + (size_t)k * N, ws->mu, ws->lv, pm + (size_t)k * Z,
                           pv + (size_t)k * Z, 0, N, Z);
    gx_dense_forward(&m->dec_trunk, p, &ws->dec_trunk, ws->z, N, NULL, NULL, N, 1, 0, 0);
    gx_dense_forward(&m->dec_out[d], p, &ws->dec_out[d], gx_dense_out(&m->dec_trunk, &ws->dec_trunk),
                     N, NULL, NULL, N, 1, 0, 0);
    float *out = gx_dense_out(&m->dec_out[d], &ws->dec_out[d]);
    const float *olv = m->out_logvar[d] >= 0 ? gx_params_value(p, m->out_logvar[d]) : NULL;
    if (c->dom[d].lik == GX_LIK_BERNOULLI) gx_bernoulli_loglik_forward(ws->rec, ws->xin, out, N, n);
    else gx_gaussian_loglik_forward(ws->rec, ws->xin, out, olv, 0, N, n);
    const float *log_pi = gx_params_value(p, m->log_pi[d]);
    for (int r = 0; r < R; r++) {
        int row = ws->src[r], k = ws->ybr[r];
        ws->kl[r] = ws->klk[(size_t)k * N + row];
        ws->elbo[r] = ws->rec[row] - h->beta * ws->kl[r] + log_pi[k];
    }
}

static void branches_backward_shared(gx_ssdgm *m, gx_ssdgm_ws *ws, int d, int nl, int nu,
                                     const gx_ssdgm_hyper *h, float *dh) {
    const gx_ssdgm_config *c = &m->cfg;
    gx_params *p = &m->params;
    int K = c->n_classes, Z = c->z_dim, n = c->dom[d].n_in, N = nl + nu, R = nl + K * nu;
    /* gather the branches' gradients per row (reconstruction) and per (component, row) (KL) */
    float *grec = ws->tmp;
    memset(grec, 0, (size_t)N * sizeof(float));
    memset(ws->gkl, 0, (size_t)K * N * sizeof(float));
    for (int r = 0; r < R; r++) {
        int row = ws->src[r], k = ws->ybr[r];
        grec[row] += ws->g[r];
        ws->gkl[(size_t)k * N + row] += -h->beta * ws->g[r];
    }
    float *out = gx_dense_out(&m->dec_out[d], &ws->dec_out[d]);
    const float *olv = m->out_logvar[d] >= 0 ? gx_params_value(p, m->out_logvar[d]) : NULL;
    float *dout = gx_dense_dout(&m->dec_out[d], &ws->dec_out[d]);
    memset(dout, 0, (size_t)N * n * sizeof(float));
    if (c->dom[d].lik == GX_LIK_BERNOULLI)
        gx_bernoulli_loglik_backward(dout, grec, ws->xin, out, N, n);
    else
        gx_gaussian_loglik_backward(dout, gx_params_gradient(p, m->out_logvar[d]), grec, ws->xin,
                                    out, olv, 0, N, n);
    float *ddec = gx_dense_dout(&m->dec_trunk, &ws->dec_trunk);
    memset(ddec, 0, (size_t)N * gx_dense_out_size(&m->dec_trunk) * sizeof(float));
    gx_dense_backward(&m->dec_out[d], p, &ws->dec_out[d], ddec,
                      gx_dense_out(&m->dec_trunk, &ws->dec_trunk), N, NULL, NULL, N);
    memset(ws->dz, 0, (size_t)N * Z * sizeof(float));
    gx_dense_backward(&m->dec_trunk, p, &ws->dec_trunk, ws->dz, ws->z, N, NULL, NULL, N);
    memset(ws->dmu, 0, (size_t)N * Z * sizeof(float));
    memset(ws->dlv, 0, (size_t)N * Z * sizeof(float));
    gx_reparam_backward(ws->dmu, ws->dlv, ws->dz, ws->lv, ws->eps, N * Z);
    const float *pm = gx_params_value(p, m->prior_mu), *pv = gx_params_value(p, m->prior_logvar);
    float *dpm = gx_params_gradient(p, m->prior_mu), *dpv = gx_params_gradient(p, m->prior_logvar);
    for (int k = 0; k < K; k++) {
        size_t kz = (size_t)k * Z;
        gx_kl_diag_backward(ws->dmu, ws->dlv, dpm + kz, dpv + kz, ws->gkl + (size_t)k * N, ws->mu,
                            ws->lv, pm + kz, pv + kz, 0, N, Z);
    }
    join_latent(gx_dense_dout(&m->lat, &ws->lat), ws->dmu, ws->dlv, N, Z);
    gx_dense_backward(&m->lat, p, &ws->lat, dh, gx_dense_out(&m->enc_trunk, &ws->enc_trunk), N,
                      NULL, NULL, N);
}

static int can_translate(const gx_ssdgm_config *c, int d, const gx_ssdgm_hyper *h) {
    const gx_domain_config *dc = &c->dom[d];
    return h->aug_shift > 0 && h->aug_rng && dc->height > 0 && dc->width > 0 && dc->channels > 0 &&
           dc->height * dc->width * dc->channels == dc->n_in;
}

/* The classifier alone on the n rows in ws->xin (encoded here in training mode, batch-norm
 * running statistics updated with `momentum`): loss sum_i w[i] CE(q(y|x_i), target[i]) (rows of
 * weight 0 skipped), its gradient added into the parameters. Returns the sum of the unweighted
 * cross-entropies of the rows with w > 0. */
static double classifier_loss_and_grad(gx_ssdgm *m, gx_ssdgm_ws *ws, int d, int n,
                                       const int32_t *target, const float *w, float momentum,
                                       double *loss) {
    gx_params *p = &m->params;
    const int K = m->cfg.n_classes;
    encode(m, ws, d, n, 1, momentum);
    double ce_sum = 0;
    memset(ws->dlogits, 0, (size_t)n * K * sizeof(float));
    for (int i = 0; i < n; i++) {
        if (w[i] == 0) continue;
        const double ce = -ws->lp[(size_t)i * K + target[i]];
        ce_sum += ce;
        *loss += w[i] * ce;
        const float *pr = ws->p + (size_t)i * K;
        float *dl = ws->dlogits + (size_t)i * K;
        for (int k = 0; k < K; k++) dl[k] = w[i] * (pr[k] - (k == target[i]));
    }
    float *dh = gx_dense_dout(&m->enc_trunk, &ws->enc_trunk);
    float *hid = gx_dense_out(&m->enc_trunk, &ws->enc_trunk);
    memset(dh, 0, (size_t)n * gx_dense_out_size(&m->enc_trunk) * sizeof(float));
    memcpy(gx_dense_dout(&m->cls, &ws->cls), ws->dlogits, (size_t)n * K * sizeof(float));
    gx_dense_backward(&m->cls, p, &ws->cls, dh, hid, n, NULL, NULL, n);
    float *din = gx_dense_dout(&m->enc_in[d], &ws->enc_in[d]);
    memset(din, 0, (size_t)n * gx_dense_out_size(&m->enc_in[d]) * sizeof(float));
    gx_dense_backward(&m->enc_trunk, p, &ws->enc_trunk, din,
                      gx_dense_out(&m->enc_in[d], &ws->enc_in[d]), n, NULL, NULL, n);
    gx_dense_backward(&m->enc_in[d], p, &ws->enc_in[d], NULL, ws->xin, n, NULL, NULL, n);
    return ce_sum;
}

/* dann: the domain classifier on h of domain d's N rows (the encoder's main pass), its loss and
 * its gradient; the encoder's share, reversed (times -dann_lambda), is added into dh [N, h]. */
static void domain_adversarial_loss_and_grad(gx_ssdgm *m, gx_ssdgm_ws *ws, int d, int N,
                                             const gx_ssdgm_hyper *h, float *dh,
                                             gx_ssdgm_stats *st) {
    const int D = m->cfg.n_domains, H = gx_dense_out_size(&m->enc_trunk);
    const float *hid = gx_dense_out(&m->enc_trunk, &ws->enc_trunk);
    gx_dense_forward(&m->disc, &m->params, &ws->disc, hid, N, NULL, NULL, N, 1, 0, 0.0f);
    gx_log_softmax_forward(ws->lpd, ws->pd, gx_dense_out(&m->disc, &ws->disc), N, D);
    const float w = h->dann_weight / N;
    float *dl = gx_dense_dout(&m->disc, &ws->disc);
    double ce = 0;
    for (int r = 0; r < N; r++) {
        ce -= ws->lpd[(size_t)r * D + d];
        for (int e = 0; e < D; e++)
            dl[(size_t)r * D + e] = w * (ws->pd[(size_t)r * D + e] - (e == d));
    }
    st->loss += w * ce;
    st->domain_ce += ce / N / D;
    memset(ws->dh_disc, 0, (size_t)N * H * sizeof(float));
    gx_dense_backward(&m->disc, &m->params, &ws->disc, ws->dh_disc, hid, N, NULL, NULL, N);
    for (size_t i = 0; i < (size_t)N * H; i++) dh[i] -= h->dann_lambda * ws->dh_disc[i];
}

/* The synthetic rows of h (domain d = h->syn_domain): the classifier learns their labels. Runs
 * after the domain's other passes, reusing the workspace. */
static void synthetic_loss_and_grad(gx_ssdgm *m, gx_ssdgm_ws *ws, int d, const gx_ssdgm_hyper *h,
                                    gx_ssdgm_stats *st) {
    memcpy(ws->xin, h->syn_x, (size_t)h->syn_n * m->cfg.dom[d].n_in * sizeof(float));
    double loss = 0;
    /* (momentum 0: the running statistics stay those of real rows) */
    st->syn_ce += classifier_loss_and_grad(m, ws, d, h->syn_n, h->syn_y, h->syn_w, 0.0f, &loss);
    st->loss += loss;
}

/* The consistency term: targets from the main pass's q(y|x) of the unlabelled rows (xin rows
 * nl..nl+nu-1), predictions on translated copies. Runs after the main backward pass, reusing the
 * workspace; adds its loss into st and its gradient into the parameters. */
static void confidence_loss_and_grad(gx_ssdgm *m, gx_ssdgm_ws *ws, int d, int nl, int nu,
                                     const gx_ssdgm_hyper *h, gx_ssdgm_stats *st) {
    const gx_ssdgm_config *c = &m->cfg;
    int K = c->n_classes, n = c->dom[d].n_in;
    int32_t *target = ws->ybr;
    float *mask = ws->tmp;
    int count = 0;
    for (int i = 0; i < nu; i++) {
        const float *pr = ws->p + (size_t)(nl + i) * K;
        int best = 0;
        for (int k = 1; k < K; k++) if (pr[k] > pr[best]) best = k;
        target[i] = best;
        mask[i] = pr[best] >= h->conf_tau ? 1.0f : 0.0f;
        count += mask[i] > 0;
    }
    st->n_conf += count;
    if (!count) return;
    const float *xu = ws->xin + (size_t)nl * n;
    if (can_translate(c, d, h)) {
        const gx_domain_config *dc = &c->dom[d];
        gx_random_translate(ws->xtr, xu, nu, dc->height, dc->width, dc->channels, h->aug_shift,
                            h->aug_rng);
        if (h->cutout > 0)
            gx_random_cutout(ws->xtr, nu, dc->height, dc->width, dc->channels, h->cutout,
                             h->aug_rng);
        memcpy(ws->xin, ws->xtr, (size_t)nu * n * sizeof(float));
    } else {
        memmove(ws->xin, xu, (size_t)nu * n * sizeof(float));
    }
    const float scale = h->conf_weight / nu;
    for (int i = 0; i < nu; i++) mask[i] *= scale;
    double loss = 0;
    st->conf_ce += classifier_loss_and_grad(m, ws, d, nu, target, mask, h->bn_momentum, &loss);
    st->loss += loss;
}

static int domain_loss_and_grad(gx_ssdgm *m, gx_ssdgm_ws *ws, int d, const gx_ssdgm_batch *b,
                                const gx_ssdgm_hyper *h, gx_rng *rng, gx_ssdgm_stats *st,
                                gx_error *err) {
    const gx_ssdgm_config *c = &m->cfg;
    gx_params *p = &m->params;
    int K = c->n_classes, n = c->dom[d].n_in, gen = gx_ssdgm_is_generative(m);
    int nl = b->nl, nu = b->nu, N = nl + nu;
    if (N == 0) return 0;
    if (nl > ws->max_l || nu > ws->max_u)
        return gx_fail(err, "domain %s: batch %d + %d exceeds the workspace (%d + %d)",
                       c->dom[d].name, nl, nu, ws->max_l, ws->max_u);
    for (int r = 0; r < nl; r++)
        if (b->yl[r] < 0 || b->yl[r] >= K)
            return gx_fail(err, "domain %s: label %d outside the %d classes", c->dom[d].name,
                           b->yl[r], K);
    if (nl) memcpy(ws->xin, b->xl, (size_t)nl * n * sizeof(float));
    if (nu) memcpy(ws->xin + (size_t)nl * n, b->xu, (size_t)nu * n * sizeof(float));
    if (h->augment_labelled && nl && can_translate(c, d, h)) {
        const gx_domain_config *dc = &c->dom[d];
        gx_random_translate(ws->xtr, ws->xin, nl, dc->height, dc->width, dc->channels,
                            h->aug_shift, h->aug_rng);
        memcpy(ws->xin, ws->xtr, (size_t)nl * n * sizeof(float));
    }

    /* ---- forward: encoder, classifier, then the bound of every (row, class) branch ---- */
    encode(m, ws, d, N, 1, h->bn_momentum);
    for (int r = 0; r < nl; r++) ws->src[r] = r, ws->ybr[r] = b->yl[r];
    for (int k = 0; k < K; k++)
        for (int i = 0; i < nu; i++) {
            int r = nl + k * nu + i;
            ws->src[r] = nl + i;
            ws->ybr[r] = k;
        }
    if (!gen) { /* mlp: no bound, the labelled rows' loss is the cross-entropy alone */
        memset(ws->elbo, 0, (size_t)nl * sizeof(float));
        memset(ws->kl, 0, (size_t)nl * sizeof(float));
    } else if (c->lat_y) {
        branches_forward_y(m, ws, d, nl, nu, h, rng);
    } else {
        branches_forward_shared(m, ws, d, nl, nu, h, rng);
    }

    /* ---- loss, and its gradient w.r.t. each branch's bound (g) and the classifier logits ---- */
    double loss = 0;
    const float *cw = h->class_weight[d];
    float alpha = gen ? h->alpha : 1.0f; /* mlp: the mean cross-entropy alone */
    memset(ws->dlogits, 0, (size_t)N * K * sizeof(float));
    for (int r = 0; r < nl; r++) {
        int y = ws->ybr[r];
        float w = cw ? cw[y] : 1.0f;
        float ce = -ws->lp[(size_t)r * K + y];
        loss += w * (-ws->elbo[r] + alpha * ce) / nl;
        ws->g[r] = -w / nl;
        float *dl = ws->dlogits + (size_t)r * K;
        const float *pr = ws->p + (size_t)r * K;
        for (int k = 0; k < K; k++) dl[k] = alpha * w / nl * (pr[k] - (k == y));
        st->elbo_l += ws->elbo[r];
        st->ce += ce;
        st->kl += ws->kl[r];
        int best = 0;
        for (int k = 1; k < K; k++) if (pr[k] > pr[best]) best = k;
        st->correct_l += best == y;
    }
    for (int i = 0; i < nu && gen; i++) {
        int row = nl + i;
        const float *pr = ws->p + (size_t)row * K, *lpr = ws->lp + (size_t)row * K;
        double lbar = 0, ent = 0;
        for (int k = 0; k < K; k++) {
            lbar += (double)pr[k] * ws->elbo[nl + k * nu + i];
            ent -= (double)pr[k] * lpr[k];
        }
        double u = lbar + ent;
        loss += -u / nu;
        st->elbo_u += u;
        float *dl = ws->dlogits + (size_t)row * K;
        for (int k = 0; k < K; k++) {
            double lk = ws->elbo[nl + k * nu + i];
            ws->g[nl + k * nu + i] = -pr[k] / nu;
            dl[k] = (float)(-(pr[k] * (lk - lbar) - pr[k] * (lpr[k] + ent)) / nu);
        }
    }
    st->n_l += nl;
    st->n_u += nu;
    st->loss += loss;
    if (!isfinite(loss))
        return gx_fail(err, "domain %s: the loss is not finite (labelled %d, unlabelled %d rows)",
                       c->dom[d].name, nl, nu);

    /* ---- backward ---- */
    float *dh = gx_dense_dout(&m->enc_trunk, &ws->enc_trunk);
    memset(dh, 0, (size_t)N * gx_dense_out_size(&m->enc_trunk) * sizeof(float));
    if (gen && c->lat_y) branches_backward_y(m, ws, d, nl, nu, h, dh);
    else if (gen) branches_backward_shared(m, ws, d, nl, nu, h, dh);
    float *hid = gx_dense_out(&m->enc_trunk, &ws->enc_trunk);
    memcpy(gx_dense_dout(&m->cls, &ws->cls), ws->dlogits, (size_t)N * K * sizeof(float));
    gx_dense_backward(&m->cls, p, &ws->cls, dh, hid, N, NULL, NULL, N);
    if (c->adversarial && h->dann_weight > 0)
        domain_adversarial_loss_and_grad(m, ws, d, N, h, dh, st);
    float *din = gx_dense_dout(&m->enc_in[d], &ws->enc_in[d]);
    memset(din, 0, (size_t)N * gx_dense_out_size(&m->enc_in[d]) * sizeof(float));
    gx_dense_backward(&m->enc_trunk, p, &ws->enc_trunk, din,
                      gx_dense_out(&m->enc_in[d], &ws->enc_in[d]), N, NULL, NULL, N);
    gx_dense_backward(&m->enc_in[d], p, &ws->enc_in[d], NULL, ws->xin, N, NULL, NULL, N);
    if (h->conf_weight > 0 && nu > 0) confidence_loss_and_grad(m, ws, d, nl, nu, h, st);
    if (h->syn_n > 0 && h->syn_domain == d) synthetic_loss_and_grad(m, ws, d, h, st);
    return 0;
}

int gx_ssdgm_loss_and_grad(gx_ssdgm *m, gx_ssdgm_ws *ws, const gx_ssdgm_batch *batches,
                           const gx_ssdgm_hyper *h, gx_rng *rng, gx_ssdgm_stats *st, gx_error *err) {
    memset(st, 0, sizeof *st);
    if (h->syn_n > 0) {
        if (h->syn_domain < 0 || h->syn_domain >= m->cfg.n_domains ||
            h->syn_n > ws->max_l + ws->max_u)
            return gx_fail(err, "synthetic rows: %d rows of domain %d do not fit the model and "
                                "workspace", h->syn_n, h->syn_domain);
        for (int r = 0; r < h->syn_n; r++)
            if (h->syn_y[r] < 0 || h->syn_y[r] >= m->cfg.n_classes)
                return gx_fail(err, "synthetic rows: label %d outside the %d classes", h->syn_y[r],
                               m->cfg.n_classes);
    }
    for (int d = 0; d < m->cfg.n_domains; d++)
        if (domain_loss_and_grad(m, ws, d, &batches[d], h, rng, st, err)) return -1;
    if (st->n_l) {
        st->elbo_l /= st->n_l;
        st->ce /= st->n_l;
        st->kl /= st->n_l;
    }
    if (st->n_u) st->elbo_u /= st->n_u;
    if (st->n_conf) st->conf_ce /= st->n_conf;
    if (h->syn_n > 0) st->syn_ce /= h->syn_n;
    return 0;
}

void gx_ssdgm_predict(gx_ssdgm *m, gx_ssdgm_ws *ws, int d, const float *X, int64_t n, float *P,
                      float *MU) {
    const gx_ssdgm_config *c = &m->cfg;
    int K = c->n_classes, Z = c->z_dim, nin = c->dom[d].n_in, chunk = ws->max_l + ws->max_u;
    for (int64_t start = 0; start < n; start += chunk) {
        int rows = (int)(n - start < chunk ? n - start : chunk);
        memcpy(ws->xin, X + start * nin, (size_t)rows * nin * sizeof(float));
        encode(m, ws, d, rows, 0, 0);
        memcpy(P + start * K, ws->p, (size_t)rows * K * sizeof(float));
        if (!MU || !gx_ssdgm_is_generative(m)) continue;
        for (int r = 0; r < rows; r++) {
            const float *pr = ws->p + (size_t)r * K;
            int best = 0;
            for (int k = 1; k < K; k++) if (pr[k] > pr[best]) best = k;
            ws->ybr[r] = best;
        }
        gx_dense_forward(&m->lat, &m->params, &ws->lat, gx_dense_out(&m->enc_trunk, &ws->enc_trunk),
                         rows, NULL, m->cfg.lat_y ? ws->ybr : NULL, rows, 0, 0, 0);
        const float *out = gx_dense_out(&m->lat, &ws->lat);
        for (int r = 0; r < rows; r++)
            memcpy(MU + (start + r) * Z, out + (size_t)r * 2 * Z, (size_t)Z * sizeof(float));
    }
}

/* z [Z] ~ p(z | y): the mixture component y (dvt) or N(0, I) (m2); Z normals from rng. */
static void draw_latent(const gx_ssdgm *m, int y, gx_rng *rng, float *z) {
    int Z = m->cfg.z_dim;
    const float *pm = NULL, *pv = NULL;
    if (m->cfg.preset == GX_PRESET_DVT) {
        pm = gx_params_value(&m->params, m->prior_mu) + (size_t)y * Z;
        pv = gx_params_value(&m->params, m->prior_logvar) + (size_t)y * Z;
    }
    for (int j = 0; j < Z; j++) {
        float e = gx_rng_normal(rng);
        z[j] = pm ? pm[j] + expf(0.5f * pv[j]) * e : e;
    }
}

/* OUT [n, n_d] = the likelihood mean of domain d for the latents ws->z [n, Z]; the m2 decoder also
 * takes the labels ws->ybr, or the soft labels soft [n, K] when given. */
static void decode_latent(gx_ssdgm *m, gx_ssdgm_ws *ws, int d, int n, const float *soft, float *OUT) {
    const gx_ssdgm_config *c = &m->cfg;
    gx_params *p = &m->params;
    int nin = c->dom[d].n_in;
    if (c->preset == GX_PRESET_M2 && soft)
        gx_dense_forward_soft(&m->dec_trunk, p, &ws->dec_trunk, ws->z, soft, n, 0, 0, 0);
    else
        gx_dense_forward(&m->dec_trunk, p, &ws->dec_trunk, ws->z, n, NULL,
                         c->preset == GX_PRESET_M2 ? ws->ybr : NULL, n, 0, 0, 0);
    gx_dense_forward(&m->dec_out[d], p, &ws->dec_out[d], gx_dense_out(&m->dec_trunk, &ws->dec_trunk),
                     n, NULL, NULL, n, 0, 0, 0);
    const float *out = gx_dense_out(&m->dec_out[d], &ws->dec_out[d]);
    for (size_t i = 0; i < (size_t)n * nin; i++)
        OUT[i] = c->dom[d].lik == GX_LIK_BERNOULLI ? gx_sigmoid(out[i]) : out[i];
}

void gx_ssdgm_generate(gx_ssdgm *m, gx_ssdgm_ws *ws, int d, int n, int label, const float *soft,
                       gx_rng *rng, float *OUT) {
    int K = m->cfg.n_classes;
    for (int r = 0; r < n; r++) {
        int y = label >= 0 ? label : gx_rng_categorical(rng, soft + (size_t)r * K, K);
        ws->ybr[r] = y;
        draw_latent(m, y, rng, ws->z + (size_t)r * m->cfg.z_dim);
    }
    decode_latent(m, ws, d, n, NULL, OUT);
}

void gx_ssdgm_generate_rows(gx_ssdgm *m, gx_ssdgm_ws *ws, int d, int n, const int32_t *y,
                            const float *soft, gx_rng *rng, float *OUT) {
    for (int r = 0; r < n; r++) {
        ws->ybr[r] = y[r];
        draw_latent(m, y[r], rng, ws->z + (size_t)r * m->cfg.z_dim);
    }
    decode_latent(m, ws, d, n, soft, OUT);
}

void gx_ssdgm_translate(gx_ssdgm *m, gx_ssdgm_ws *ws, int from, int to, const float *X, int n,
                        const int32_t *y, float *OUT) {
    const int K = m->cfg.n_classes, Z = m->cfg.z_dim;
    memcpy(ws->xin, X, (size_t)n * m->cfg.dom[from].n_in * sizeof(float));
    encode(m, ws, from, n, 0, 0);
    for (int r = 0; r < n; r++) {
        const float *pr = ws->p + (size_t)r * K;
        int best = 0;
        for (int k = 1; k < K; k++) if (pr[k] > pr[best]) best = k;
        ws->ybr[r] = y ? y[r] : best;
    }
    gx_dense_forward(&m->lat, &m->params, &ws->lat, gx_dense_out(&m->enc_trunk, &ws->enc_trunk), n,
                     NULL, m->cfg.lat_y ? ws->ybr : NULL, n, 0, 0, 0);
    const float *out = gx_dense_out(&m->lat, &ws->lat);
    for (int r = 0; r < n; r++)
        memcpy(ws->z + (size_t)r * Z, out + (size_t)r * 2 * Z, (size_t)Z * sizeof(float));
    decode_latent(m, ws, to, n, NULL, OUT);
}

void gx_ssdgm_set_class_prior(gx_ssdgm *m, int d, const double *prob) {
    float *lp = gx_params_value(&m->params, m->log_pi[d]);
    for (int k = 0; k < m->cfg.n_classes; k++) lp[k] = (float)log(prob[k] > 1e-12 ? prob[k] : 1e-12);
}

double gx_ssdgm_step_macs(const gx_ssdgm *m, int d, int nl, int nu, double *unshared) {
    int N = nl + nu, R = m->cfg.lat_y ? nl + m->cfg.n_classes * nu : N, gen = gx_ssdgm_is_generative(m);
    const gx_dense_block *blk[6] = {&m->enc_in[d], &m->enc_trunk, &m->cls, &m->lat, &m->dec_trunk,
                                    &m->dec_out[d]};
    int src[6] = {N, N, N, N, R, R}, rows[6] = {N, N, N, R, R, R};
    double f = 0, u = 0;
    for (int i = 0; i < (gen ? 6 : 3); i++) {
        double ui;
        f += gx_dense_macs_train(blk[i], src[i], rows[i], i > 0, &ui);
        u += ui;
    }
    if (unshared) *unshared = u;
    return f;
}
