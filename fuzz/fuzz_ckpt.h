/* The training run that fuzz_checkpoint.c resumes and fuzz/seeds.c checkpoints: set up as
 * gx_ssdgm_train sets up a fresh run (src/models/ssdgm_train.c), but tiny: a DVT model of 3
 * classes on one domain "syn" of 4 features (batch norm on), 12 rows of which 6 labelled, the
 * three generators of seed 5, a labelled and an unlabelled batcher (GX_BATCH_INFINITE on the data
 * generator), and a run of 3 epochs of 2 steps. */
#ifndef GX_FUZZ_CKPT_H
#define GX_FUZZ_CKPT_H

#include "models/checkpoint.h"
#include "models/ssdgm.h"

enum { CKPT_ROWS = 12, CKPT_DIM = 4, CKPT_K = 3, CKPT_EPOCHS = 3, CKPT_STEPS = 2 };

typedef struct ckpt_run {
    gx_ssdgm m;
    gx_dataset ds;
    gx_rng rng[3];
    gx_batcher lab, unl;
    float *best;
    gx_ckpt_state st;
} ckpt_run;

static inline void ckpt_run_make(ckpt_run *r) {
    gx_error err;
    memset(r, 0, sizeof *r);
    gx_ssdgm_config c;
    gx_ssdgm_config_default(&c, GX_PRESET_DVT, CKPT_K);
    c.z_dim = 2;
    c.n_enc = 2, c.enc[0] = 6, c.enc[1] = 4;
    c.n_dec = 1, c.dec[0] = 4;
    c.n_domains = 1;
    strcpy(c.dom[0].name, "syn");
    c.dom[0].n_in = CKPT_DIM;
    c.dom[0].lik = GX_LIK_BERNOULLI;
    gx_rng init;
    gx_rng_init(&init, 5, GX_STREAM_INIT);
    gx_dataset_init(&r->ds);
    int64_t lab[6], unl[6];
    for (int i = 0; i < 6; i++) lab[i] = 2 * i, unl[i] = 2 * i + 1;
    if (gx_ssdgm_create(&r->m, &c, &init, &err) ||
        gx_dataset_alloc(&r->ds, CKPT_ROWS, CKPT_DIM, 1, &err)) {
        fprintf(stderr, "fuzz: %s\n", err.msg);
        abort();
    }
    r->ds.n_classes = CKPT_K;
    for (int i = 0; i < CKPT_ROWS; i++) {
        r->ds.y[i] = i % CKPT_K;
        for (int j = 0; j < CKPT_DIM; j++) r->ds.x[i * CKPT_DIM + j] = (float)((i + j) % 2);
    }
    gx_rng_init(&r->rng[0], 5, GX_STREAM_DATA);
    gx_rng_init(&r->rng[1], 5, GX_STREAM_NOISE);
    gx_rng_init(&r->rng[2], 5, GX_STREAM_AUGMENT);
    if (gx_batcher_init(&r->lab, &r->ds, lab, 6, 3, GX_BATCH_INFINITE, &r->rng[0], &err) ||
        gx_batcher_init(&r->unl, &r->ds, unl, 6, 4, GX_BATCH_INFINITE, &r->rng[0], &err) ||
        !(r->best = gx_malloc(r->m.params.total * sizeof(float), "best", &err))) {
        fprintf(stderr, "fuzz: %s\n", err.msg);
        abort();
    }
    memcpy(r->best, r->m.params.data, r->m.params.total * sizeof(float));
    gx_ckpt_state *s = &r->st;
    s->params = &r->m.params;
    s->best = r->best;
    for (int k = 0; k < 3; k++) s->rng[k] = &r->rng[k];
    s->n_batchers = 2;
    s->batcher[0] = &r->lab, s->batcher[1] = &r->unl;
    snprintf(s->batcher_name[0], sizeof s->batcher_name[0], "syn.labelled");
    snprintf(s->batcher_name[1], sizeof s->batcher_name[1], "syn.unlabelled");
    s->prog.epochs = CKPT_EPOCHS;
    s->prog.steps_per_epoch = CKPT_STEPS;
    s->prog.epoch = 1;
    s->prog.best_selection = -1;
}

static inline void ckpt_run_free(ckpt_run *r) {
    gx_batcher_free(&r->lab);
    gx_batcher_free(&r->unl);
    gx_ssdgm_free(&r->m);
    gx_dataset_free(&r->ds);
    free(r->best);
}

#endif
