#include "models/ssdgm_train.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

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

double gx_ssdgm_accuracy(gx_ssdgm *m, gx_ssdgm_ws *ws, int d, const gx_dataset *ds,
                         const int64_t *idx, int64_t n, float *buf) {
    int K = m->cfg.n_classes, chunk = ws->max_l + ws->max_u;
    float *X = buf, *P = buf + (size_t)chunk * ds->d;
    int64_t correct = 0;
    for (int64_t s = 0; s < n; s += chunk) {
        int rows = (int)(n - s < chunk ? n - s : chunk);
        gather(X, ds, idx, s, rows);
        gx_ssdgm_predict(m, ws, d, X, rows, P, NULL);
        for (int r = 0; r < rows; r++) {
            const float *pr = P + (size_t)r * K;
            int best = 0;
            for (int k = 1; k < K; k++) if (pr[k] > pr[best]) best = k;
            int64_t row = idx ? idx[s + r] : s + r;
            correct += best == ds->y[row];
        }
    }
    return n ? (double)correct / n : 0;
}

/* Mean q(y|x) over rows idx of ds -> prob[K]. */
static void mean_posterior(gx_ssdgm *m, gx_ssdgm_ws *ws, int d, const gx_dataset *ds,
                           const int64_t *idx, int64_t n, float *buf, double *prob) {
    int K = m->cfg.n_classes, chunk = ws->max_l + ws->max_u;
    float *X = buf, *P = buf + (size_t)chunk * ds->d;
    for (int k = 0; k < K; k++) prob[k] = 0;
    for (int64_t s = 0; s < n; s += chunk) {
        int rows = (int)(n - s < chunk ? n - s : chunk);
        gather(X, ds, idx, s, rows);
        gx_ssdgm_predict(m, ws, d, X, rows, P, NULL);
        for (int r = 0; r < rows; r++)
            for (int k = 0; k < K; k++) prob[k] += P[(size_t)r * K + k];
    }
    for (int k = 0; k < K; k++) prob[k] /= n;
}

typedef struct domain_state {
    gx_batcher lab, unl;
    int has_lab, has_unl;
    float *xl, *xu;
    int32_t *yl;
    float class_weight[GX_MAX_CLASSES];
} domain_state;

int gx_ssdgm_train(gx_ssdgm *m, const gx_ssdgm_domain_data *dd, const gx_ssdgm_train_config *tc,
                   gx_ssdgm_train_result *res, gx_error *err) {
    const gx_ssdgm_config *c = &m->cfg;
    int D = c->n_domains, K = c->n_classes, rc = -1;
    memset(res, 0, sizeof *res);
    domain_state st[GX_MAX_DOMAINS];
    memset(st, 0, sizeof st);
    gx_ssdgm_ws ws;
    memset(&ws, 0, sizeof ws);
    float *best = NULL, *buf = NULL;
    gx_rng data_rng, noise_rng, aug_rng;
    gx_rng_init(&data_rng, tc->seed, GX_STREAM_DATA);
    gx_rng_init(&noise_rng, tc->seed, GX_STREAM_NOISE);
    gx_rng_init(&aug_rng, tc->seed, GX_STREAM_AUGMENT);
    if (tc->epochs < 1 || tc->batch_l < 1 || tc->batch_u < 1 || !(tc->lr > 0))
        return gx_fail(err, "training: epochs, batch sizes and learning rate must be positive");

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
        /* a plain classifier (mlp) uses unlabelled rows only for the consistency term */
        s->has_unl = x->n_unl > 0 && (gx_ssdgm_is_generative(m) || tc->conf_weight > 0);
        int bl = s->has_lab ? (int)(x->n_lab < tc->batch_l ? x->n_lab : tc->batch_l) : 0;
        if (s->has_lab && gx_batcher_init(&s->lab, x->ds, x->lab, x->n_lab, bl, GX_BATCH_INFINITE,
                                          &data_rng, err)) goto done;
        if (s->has_unl && gx_batcher_init(&s->unl, x->ds, x->unl, x->n_unl, tc->batch_u,
                                          GX_BATCH_INFINITE, &data_rng, err)) goto done;
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

    gx_optim opt;
    gx_optim_init(&opt, tc->opt);
    gx_schedule sched = {tc->sched, tc->lr, 0.0f, 0, (long)tc->epochs * steps_per_epoch};
    gx_ssdgm_hyper hyper = {.alpha = tc->alpha, .beta = 1.0f, .bn_momentum = 0.1f,
                            .aug_shift = tc->aug_shift, .augment_labelled = tc->augment_labelled,
                            .cutout = tc->cutout,
                            .conf_weight = tc->conf_weight, .conf_tau = tc->conf_tau,
                            .aug_rng = &aug_rng};
    for (int d = 0; d < D; d++) hyper.class_weight[d] = tc->class_balance ? st[d].class_weight : NULL;
    gx_ssdgm_batch batches[GX_MAX_DOMAINS];
    double t0 = now_seconds();
    long step = 0, warmup = (long)(tc->kl_warmup_epochs * steps_per_epoch);
    res->best_selection = -1;
    for (int epoch = 1; epoch <= tc->epochs; epoch++) {
        double te = now_seconds();
        gx_epoch_log log = {.epoch = epoch};
        int64_t correct = 0, seen = 0, confident = 0, unlabelled = 0;
        for (long i = 0; i < steps_per_epoch; i++, step++) {
            for (int d = 0; d < D; d++) {
                domain_state *s = &st[d];
                int nl = s->has_lab ? (int)gx_batcher_next(&s->lab, s->xl, s->yl) : 0;
                int nu = s->has_unl ? (int)gx_batcher_next(&s->unl, s->xu, NULL) : 0;
                batches[d] = (gx_ssdgm_batch){s->xl, s->yl, nl, s->xu, nu};
            }
            hyper.beta = warmup > 0 && step < warmup ? (float)(step + 1) / warmup : 1.0f;
            gx_ssdgm_stats ss;
            gx_params_zero_grad(&m->params);
            if (gx_ssdgm_loss_and_grad(m, &ws, batches, &hyper, &noise_rng, &ss, err)) {
                gx_fail_prefix(err, "training stopped at epoch %d, step %ld", epoch, step + 1);
                goto done;
            }
            if (tc->clip > 0) gx_clip_grad_norm(&m->params, tc->clip);
            float lr = gx_schedule_lr(&sched, step);
            gx_optim_step(&opt, &m->params, lr);
            log.loss += ss.loss;
            log.elbo_l += ss.elbo_l;
            log.elbo_u += ss.elbo_u;
            log.ce += ss.ce;
            correct += ss.correct_l;
            seen += ss.n_l;
            confident += ss.n_conf;
            unlabelled += ss.n_u;
            log.lr = lr;
            if (tc->on_step) tc->on_step(tc->ctx, step + 1, steps_per_epoch, &ss);
        }
        log.step = step;
        log.loss /= steps_per_epoch;
        log.elbo_l /= steps_per_epoch;
        log.elbo_u /= steps_per_epoch;
        log.ce /= steps_per_epoch;
        log.train_acc = seen ? (double)correct / seen : -1;
        log.confident = unlabelled ? (double)confident / unlabelled : 0;
        log.beta = hyper.beta;
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
        if (!any_val || log.selection > res->best_selection) {
            res->best_selection = log.selection;
            res->best_epoch = epoch;
            memcpy(best, m->params.data, m->params.total * sizeof(float));
            log.is_best = 1;
        }
        log.seconds = now_seconds() - te;
        if (tc->on_epoch) tc->on_epoch(tc->ctx, &log);
    }
    memcpy(m->params.data, best, m->params.total * sizeof(float));
    res->steps = step;
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
    return rc;
}
