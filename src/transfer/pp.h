/* PP, pseudo pre-training (DESIGN.md, "PP and P-SSL"): the target network learns the K_s source
 * classes from pseudo samples x = G_s(z, y_s), y_s drawn uniformly, fresh samples every epoch; then
 * its K_s-way head is replaced with a new K_t-way one, ready for fine-tuning on the labelled target
 * data. The loop is transfer/cls_train.h's (same batches, optimiser, schedule, augmentation) with an
 * epoch_start hook that draws the epoch's samples into the rows it trains on. */
#ifndef GX_PP_H
#define GX_PP_H

#include "models/generator.h"
#include "transfer/cls_train.h"

typedef struct gx_pp_config {
    int64_t samples; /* pseudo samples per epoch [10000] */
    int epochs;      /* [10] */
} gx_pp_config;

void gx_pp_config_default(gx_pp_config *c);

/* Gives m a head of the K_s source classes (initialised with init) and pre-trains it on G_s's
 * samples with tc's options (its epochs replaced by pc->epochs, no validation); the caller then
 * replaces the head for the target classes (gx_classifier_replace_head with the same init). g's
 * domain must produce m's input (gx_generator_check_input) and its samples are in the data's units:
 * m must take unstandardised inputs. res: the pre-training's result. The result depends on the seed
 * and options, not on the target data, so one pre-trained network can serve several target runs. */
int gx_pp_pretrain(gx_classifier *m, gx_generator *g, const gx_pp_config *pc,
                   const gx_cls_train_config *tc, gx_rng *init, gx_cls_train_result *res,
                   gx_error *err);

#endif
