/* Mini-batches over a set of rows of a dataset. The batcher allocates its index buffers once, at
 * init; each call to gx_batcher_next gathers rows into buffers the caller allocated once (X [B, d],
 * y [B]), so the training loop allocates nothing.
 *
 * Order: with an rng (a GX_STREAM_DATA stream owned by the caller; several batchers may share it,
 * the draws then interleave in call order, which is deterministic) the rows are reshuffled at the
 * start of every epoch; with rng NULL they come in the order given, every epoch.
 *
 * Modes, for a set of m rows and batch size B:
 *   GX_BATCH_DROP_LAST  floor(m / B) full batches per epoch; the m mod B rows left over at the end of
 *                       the epoch's order are skipped (different rows each epoch when shuffled).
 *                       m < B is an error.
 *   GX_BATCH_WRAP       ceil(m / B) full batches per epoch; the last one is completed with rows
 *                       from the start of the same epoch's order (cycling again if m < B).
 *   GX_BATCH_PARTIAL    ceil(m / B) batches; the last one is short (evaluation: each row once).
 *   GX_BATCH_INFINITE   an endless stream of full batches through consecutive reshuffled epochs;
 *                       a batch may end one epoch and begin the next. Every row appears exactly
 *                       once per epoch of the stream. For a small labelled set drawn alongside a
 *                       large unlabelled one.
 */
#ifndef GX_BATCH_H
#define GX_BATCH_H

#include <stdint.h>

#include "core/rng.h"
#include "data/dataset.h"

typedef enum {
    GX_BATCH_DROP_LAST,
    GX_BATCH_WRAP,
    GX_BATCH_PARTIAL,
    GX_BATCH_INFINITE,
} gx_batch_mode;

typedef struct gx_batcher {
    const gx_dataset *ds;
    gx_rng *rng;         /* NULL: no shuffling */
    gx_batch_mode mode;
    int64_t batch_size;
    int64_t m;           /* rows in the set */
    int64_t *order;      /* [m] this epoch's order */
    int64_t *last;       /* [batch_size] rows of the last batch */
    int64_t last_n;      /* rows in the last batch */
    int64_t pos;         /* next position in order */
    int64_t epoch;       /* epochs completed (INFINITE: epochs started after the first) */
    int64_t batch;       /* batches returned in the current epoch (not used by INFINITE) */
} gx_batcher;

/* idx[0..m-1] (copied; NULL means all rows of ds) must hold distinct rows of ds; batch_size >= 1.
 * ds must outlive the batcher and keep its x and y. */
int gx_batcher_init(gx_batcher *b, const gx_dataset *ds, const int64_t *idx, int64_t m,
                    int64_t batch_size, gx_batch_mode mode, gx_rng *rng, gx_error *err);
void gx_batcher_free(gx_batcher *b);

/* Gathers the next batch: the rows into X [batch_size, d] (may be NULL) and their labels into y
 * [batch_size] (may be NULL; GX_UNLABELLED when the dataset has no labels). Returns the number of
 * rows filled: batch_size, or fewer for the last batch in PARTIAL mode; 0 when the epoch is over
 * (then the next call starts the next epoch, reshuffled). INFINITE never returns 0. The rows of
 * the batch are in gx_batcher_rows. */
int64_t gx_batcher_next(gx_batcher *b, float *X, int32_t *y);

/* The dataset rows of the last batch (last_n of them). */
static inline const int64_t *gx_batcher_rows(const gx_batcher *b) { return b->last; }

/* Batches per epoch (INFINITE: ceil(m / B), the batches it takes to see each row about once). */
int64_t gx_batcher_batches_per_epoch(const gx_batcher *b);

/* Starts a new epoch now (the rest of the current one is skipped), reshuffling when shuffled. */
void gx_batcher_restart(gx_batcher *b);

/* Checkpoints: the position of a batcher is its order (b->order [m]) and cursor {pos, epoch,
 * batch}. gx_batcher_cursor reads the cursor; gx_batcher_set_state puts a saved position back into
 * a batcher made by gx_batcher_init over the same rows: order must be a permutation of the rows the
 * batcher holds (m of them), 0 <= pos <= m, epoch and batch >= 0; otherwise an error naming `what`
 * and b is untouched. */
void gx_batcher_cursor(const gx_batcher *b, int64_t cursor[3]);
int gx_batcher_set_state(gx_batcher *b, const int64_t *order, int64_t m, const int64_t cursor[3],
                         const char *what, gx_error *err);

#endif
