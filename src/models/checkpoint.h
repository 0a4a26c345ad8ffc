/* Training checkpoints: everything a run needs to continue exactly where it was, as one safetensors
 * file (written atomically: temporary file, fsync, rename, fsync of the folder). Tensors:
 *   NAME, optim.m.NAME, optim.v.NAME, best.NAME   (F32) every model parameter: its value, the
 *       optimiser's moments (SGD: momentum in m, v unused) and the best-so-far value that model
 *       selection keeps; the parameters include batch-norm statistics and class log-priors
 *   rng.data, rng.noise, rng.augment              (I64 [13]) generator states (gx_rng_get_state)
 *   batch.DOMAIN.labelled.order / .cursor         (I64 [m], [3]) each batcher's shuffled order and
 *   batch.DOMAIN.unlabelled.order / .cursor        its {pos, epoch, batch}
 * __metadata__: format "genxfer.checkpoint", format_version "1", progress (JSON: the counters and
 * sums of gx_ckpt_progress), plus what the caller adds (the command line, the log, ...).
 * The Python safetensors package and numpy read it like a model file. */
#ifndef GX_CHECKPOINT_H
#define GX_CHECKPOINT_H

#include <stdint.h>

#include "core/params.h"
#include "core/rng.h"
#include "data/batch.h"
#include "io/safetensors.h"
#include "models/dense.h"

#define GX_CKPT_FORMAT "genxfer.checkpoint"
#define GX_CKPT_FORMAT_VERSION "1"
#define GX_CKPT_FILE "checkpoint.safetensors"
#define GX_CKPT_MAX_BATCHERS (2 * GX_MAX_DOMAINS)

/* Where a run is: the trainer's loop counters. A checkpoint is taken after a step inside an epoch
 * (0 < in_epoch < steps_per_epoch) or after an epoch's end-of-epoch work (in_epoch == 0; epoch is
 * then the next one, epochs + 1 when training is complete). */
typedef struct gx_ckpt_progress {
    int64_t epochs, steps_per_epoch; /* of the run (checked on reading) */
    int64_t epoch;                   /* the epoch under way, 1-based */
    int64_t in_epoch;                /* its steps done */
    int64_t step;                    /* steps done in all = optimiser steps */
    int64_t best_epoch;              /* 0: none yet */
    double best_selection;           /* -1: none yet */
    double seconds;                  /* training time so far (earlier sessions included) */
    double sum[4];                   /* the epoch's sums so far: loss, elbo_l, elbo_u, ce */
    int64_t count[4];                /* correct, seen (labelled), confident, unlabelled */
} gx_ckpt_progress;

/* The state of a run, pointing into the trainer. */
typedef struct gx_ckpt_state {
    gx_params *params;                /* values and the optimiser's moments */
    float *best;                      /* [params->total] best-so-far values */
    gx_rng *rng[3];                   /* data, noise, augment */
    int n_batchers;
    gx_batcher *batcher[GX_CKPT_MAX_BATCHERS];
    char batcher_name[GX_CKPT_MAX_BATCHERS][96]; /* e.g. "mnist.labelled" */
    gx_ckpt_progress prog;
} gx_ckpt_state;

/* Adds the caller's metadata (e.g. the command line) to a checkpoint being written. */
typedef int (*gx_ckpt_meta_fn)(void *ctx, gx_st_writer *w, gx_error *err);

/* Writes s to path atomically; meta (may be NULL) adds metadata. An existing file at path is
 * replaced only by a complete new one. */
int gx_ckpt_write(const char *path, const gx_ckpt_state *s, gx_ckpt_meta_fn meta, void *ctx,
                  gx_error *err);

/* Opens a checkpoint and checks its format (caller closes it with gx_st_close). */
int gx_ckpt_open(const char *path, gx_st_file **out, gx_error *err);

/* Restores s from a checkpoint: s must be set up as for a fresh run of the same configuration
 * (same parameters, batchers over the same rows, generators seeded alike) with s->prog.epochs and
 * s->prog.steps_per_epoch set; everything read is checked against it, and any mismatch or
 * inconsistency is an error naming the file and the field. */
int gx_ckpt_read(const char *path, gx_ckpt_state *s, gx_error *err);

/* A 64-bit fingerprint (FNV-1a) of a dataset's contents: shape, values, labels and class names, so
 * that a resumed run can tell that its input changed. */
uint64_t gx_ckpt_data_hash(const gx_dataset *ds);

#endif
