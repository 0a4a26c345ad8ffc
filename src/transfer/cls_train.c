/* The supervised training loop of a classifier: batch, augment, step, log, select. */
#include "transfer/cls_train.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/metrics.h"
#include "data/augment.h"
#include "data/batch.h"

void gx_cls_train_config_default(gx_cls_train_config *c) {
    memset(c, 0, sizeof *c);
    c->epochs = 100;
    c->batch = 64;
    c->lr = 1e-3f;
    c->opt = GX_OPT_ADAM;
    c->sched = GX_SCHED_COSINE;
    c->weight_decay = 5e-4f;
    c->aug_shift = 2;
    c->val_every = 1;
    c->seed = 1;
}

static double clock_seconds(clockid_t id) {
    struct timespec t;
    clock_gettime(id, &t);
    return t.tv_sec + t.tv_nsec * 1e-9;
}
static double now_seconds(void) { return clock_seconds(CLOCK_MONOTONIC); }

double gx_cls_accuracy(gx_classifier *m, gx_classifier_ws *ws, const gx_dataset *ds,
                       const int64_t *idx, int64_t n, float *X, float *P) {
    const int K = m->n_classes;
    int64_t correct = 0;
    for (int64_t s = 0; s < n; s += ws->max_batch) {
        int rows = (int)(n - s < ws->max_batch ? n - s : ws->max_batch);
        for (int r = 0; r < rows; r++) {
            int64_t row = idx ? idx[s + r] : s + r;
            memcpy(X + (size_t)r * ds->d, ds->x + row * ds->d, (size_t)ds->d * sizeof *X);
        }
        gx_classifier_predict(m, ws, X, rows, P);
        gx_argmax_rows(P, rows, K, ws->pred);
        for (int r = 0; r < rows; r++) correct += ws->pred[r] == ds->y[idx ? idx[s + r] : s + r];
    }
    return n ? (double)correct / (double)n : 0;
}

int gx_cls_train(gx_classifier *m, const gx_dataset *ds, const int64_t *lab, int64_t n_lab,
                 const int64_t *val, int64_t n_val, const gx_cls_train_config *tc,
                 gx_cls_train_result *res, gx_error *err) {
    memset(res, 0, sizeof *res);
    res->best_val_acc = -1;
    const int d = gx_classifier_in_size(m), K = m->n_classes;
    if (ds->d != d)
        return gx_fail(err, "training: the data have %lld features per example, the model takes %d",
                       (long long)ds->d, d);
    if (!ds->y) return gx_fail(err, "training: the data have no labels");
    if (n_lab < 1) return gx_fail(err, "training: no labelled examples");
    if (tc->epochs < 1 || tc->batch < 1 || !(tc->lr > 0))
        return gx_fail(err, "training: epochs, batch size and learning rate must be positive");
    for (int64_t i = 0; i < n_lab; i++)
        if (ds->y[lab[i]] < 0 || ds->y[lab[i]] >= K)
            return gx_fail(err, "training: row %lld has label %d (the model has %d classes)",
                           (long long)lab[i], ds->y[lab[i]], K);
    const int B = (int)(n_lab < tc->batch ? n_lab : tc->batch);
    const int augment = m->image && (tc->aug_shift > 0 || tc->aug_flip);
    const gx_augment_opts aug = {tc->aug_shift, tc->aug_flip != 0, 0, 0}; /* weak views only */
    gx_rng data_rng, noise_rng, aug_rng;
    gx_rng_init(&data_rng, tc->seed, GX_STREAM_DATA);
    gx_rng_init(&noise_rng, tc->seed, GX_STREAM_NOISE);
    gx_rng_init(&aug_rng, tc->seed, GX_STREAM_AUGMENT);
    gx_batcher batcher;
    gx_classifier_ws ws;
    memset(&ws, 0, sizeof ws);
    float *X = NULL, *Xa = NULL, *P = NULL, *best = NULL;
    int32_t *y = NULL;
    int rc = -1;
    if (gx_batcher_init(&batcher, ds, lab, n_lab, B, GX_BATCH_INFINITE, &data_rng, err))
        return -1;
    if (gx_classifier_ws_alloc(&ws, m, B, err)) goto done;
    X = gx_malloc((size_t)B * d * sizeof *X, "training batch", err);
    Xa = augment ? gx_malloc((size_t)B * d * sizeof *Xa, "augmented batch", err) : NULL;
    P = gx_malloc((size_t)B * K * sizeof *P, "class probabilities", err);
    y = gx_malloc((size_t)B * sizeof *y, "batch labels", err);
    best = n_val > 0 ? gx_malloc(m->params.total * sizeof *best, "best weights", err) : NULL;
    if (!X || (augment && !Xa) || !P || !y || (n_val > 0 && !best)) goto done;

    gx_optim opt;
    gx_optim_init(&opt, tc->opt);
    opt.weight_decay = tc->weight_decay;
    const long spe = (long)gx_batcher_batches_per_epoch(&batcher);
    gx_schedule sched = {tc->sched, tc->lr, 0.0f, 0, spe * tc->epochs};
    const double t0 = now_seconds(), c0 = clock_seconds(CLOCK_PROCESS_CPUTIME_ID);
    long step = 0;
    for (int epoch = 1; epoch <= tc->epochs; epoch++) {
        const double te = now_seconds();
        double loss_sum = 0;
        long correct = 0, seen = 0;
        float lr = tc->lr;
        if (tc->epoch_start && tc->epoch_start(tc->hook_ctx, epoch, err)) goto done;
        for (long s = 0; s < spe; s++, step++) {
            gx_batcher_next(&batcher, X, y);
            const float *in = X;
            if (augment) {
                gx_augment_weak(Xa, X, B, m->in_h, m->in_w, m->in_c, &aug, &aug_rng);
                in = Xa;
            }
            gx_params_zero_grad(&m->params);
            int ok = 0;
            double loss = tc->extra_loss ? tc->extra_loss(tc->hook_ctx, m) : 0;
            if (tc->logit_loss) {
                const float *L = gx_classifier_forward(m, &ws, in, B, 1, &noise_rng);
                loss += tc->logit_loss(tc->hook_ctx, in, y, L, B, K, ws.dlogits);
                gx_argmax_rows(L, B, K, ws.pred);
                for (int r = 0; r < B; r++) ok += ws.pred[r] == y[r];
                gx_classifier_backward(m, &ws, in, ws.dlogits, B, NULL);
            } else {
                loss += gx_classifier_ce_step(m, &ws, in, y, B, &noise_rng, &ok);
            }
            if (!isfinite(loss)) {
                gx_fail(err, "training: the loss is not finite at step %ld (epoch %d); try a lower "
                             "learning rate", step + 1, epoch);
                goto done;
            }
            lr = gx_schedule_lr(&sched, step);
            gx_optim_step(&opt, &m->params, lr);
            loss_sum += loss;
            correct += ok;
            seen += B;
        }
        gx_cls_epoch_log log = {epoch, step, loss_sum / spe, (double)correct / seen, -1, 0, lr, 0};
        const int val_now = epoch % (tc->val_every > 0 ? tc->val_every : 1) == 0 || epoch == tc->epochs;
        if (n_val > 0 && val_now) {
            log.val_acc = gx_cls_accuracy(m, &ws, ds, val, n_val, X, P);
            if (log.val_acc > res->best_val_acc) {
                log.is_best = 1;
                res->best_val_acc = log.val_acc;
                res->best_epoch = epoch;
                memcpy(best, m->params.data, m->params.total * sizeof *best);
            }
        } else if (n_val == 0) {
            res->best_epoch = epoch;
        }
        log.seconds = now_seconds() - te;
        if (tc->on_epoch) tc->on_epoch(tc->ctx, &log);
    }
    if (best) memcpy(m->params.data, best, m->params.total * sizeof *best);
    res->steps = step;
    res->seconds = now_seconds() - t0;
    res->cpu_seconds = clock_seconds(CLOCK_PROCESS_CPUTIME_ID) - c0;
    rc = 0;
done:
    gx_batcher_free(&batcher);
    gx_classifier_ws_free(&ws);
    free(X);
    free(Xa);
    free(P);
    free(y);
    free(best);
    return rc;
}
