/* PP: pre-training on fresh pseudo samples of the source generator, then a new head. */
#include "transfer/pp.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "data/splits.h"

void gx_pp_config_default(gx_pp_config *c) {
    c->samples = 10000;
    c->epochs = 10;
}

typedef struct pp_fill {
    gx_generator *g;
    gx_dataset *ds; /* [samples, d] the pseudo samples the loop trains on */
    gx_rng rng;
} pp_fill;

/* epoch_start: the epoch's samples, in chunks of the generator's batch size (the first epoch's
 * are drawn before the loop, which checks the labels). */
static int fill(void *ctx, int epoch, gx_error *err) {
    (void)err;
    pp_fill *f = ctx;
    if (epoch == 1) return 0;
    for (int64_t s = 0; s < f->ds->n; s += f->g->max_n) {
        int n = (int)(f->ds->n - s < f->g->max_n ? f->ds->n - s : f->g->max_n);
        gx_generator_sample_uniform(f->g, n, &f->rng, f->ds->y + s, f->ds->x + s * f->ds->d);
    }
    return 0;
}

int gx_pp_pretrain(gx_classifier *m, gx_generator *g, const gx_pp_config *pc,
                   const gx_cls_train_config *tc, gx_rng *init, gx_cls_train_result *res,
                   gx_error *err) {
    const int d = gx_classifier_in_size(m);
    if (g->n_in != d)
        return gx_fail(err, "PP: the source generator makes %d features per example, the network "
                            "takes %d", g->n_in, d);
    if (pc->samples < 1 || pc->epochs < 1)
        return gx_fail(err, "PP: samples and epochs must be positive");
    gx_dataset ds;
    gx_dataset_init(&ds);
    int64_t *all = NULL;
    int rc = -1;
    if (gx_classifier_replace_head(m, g->n_classes, init, err) ||
        gx_dataset_alloc(&ds, pc->samples, d, 1, err) || gx_index_range(ds.n, &all, err))
        goto done;
    if (m->image) ds.height = m->in_h, ds.width = m->in_w, ds.channels = m->in_c;
    snprintf(ds.source, sizeof ds.source, "PP pseudo samples");
    pp_fill f;
    f.g = g;
    f.ds = &ds;
    gx_rng_init(&f.rng, tc->seed, GX_STREAM_PSEUDO);
    gx_cls_train_config c = *tc;
    c.epochs = pc->epochs;
    c.epoch_start = fill;
    c.extra_loss = NULL;
    c.hook_ctx = &f;
    fill(&f, 0, err);
    if (gx_cls_train(m, &ds, all, ds.n, NULL, 0, &c, res, err)) goto done;
    rc = 0;
done:
    gx_dataset_free(&ds);
    free(all);
    return rc;
}
