/* KD, the knowledge-distillation baseline of E4 (DESIGN.md, "PP and P-SSL"): a copy of the source
 * classifier q(y|x) (its encoder and classifier path, with a new K_t-way head) is fine-tuned on
 * the labelled target data, then distilled into the target network with
 *     (1 - a) CE(s, y) + a T^2 KL(softmax(t / T) || softmax(s / T))
 * (s, t the student's and teacher's logits). The teacher is a gx_classifier (an MLP spec such as
 * "fc32-bn-softplus,fc16-bn-softplus,fc") built from the source model's layers, so fine-tuning and
 * distillation both run in transfer/cls_train.h's loop; the loss is its logit_loss hook. */
#ifndef GX_KD_H
#define GX_KD_H

#include "models/ssdgm_io.h"
#include "transfer/cls_train.h"

typedef struct gx_kd_config {
    float temp;  /* T [4] */
    float alpha; /* a [0.9] */
} gx_kd_config;

void gx_kd_config_default(gx_kd_config *c);

/* The batch mean of the KD loss of the student logits S [B, K] given the teacher logits T [B, K]
 * and labels y [B]; dS [B, K] receives its gradient with respect to S (T is a constant). P, PT:
 * [B, K] scratch. */
double gx_kd_loss(const float *S, const float *T, const int32_t *y, int B, int K,
                  const gx_kd_config *c, float *P, float *PT, float *dS);

/* The classifier path of domain d of the source model m (input block, trunk, classifier; batch
 * norm with the domain's running statistics) as a classifier t taking the domain's inputs in the
 * data's units, with a new head of n_classes outputs (initialised with init) in place of the
 * source classes' (n_classes 0: the source head kept, t is then C_s itself). An error when the domain is standardised (info) or its layers do not map. */
int gx_kd_teacher_from_source(gx_classifier *t, const gx_ssdgm *m, const gx_model_info *info,
                              int d, int n_classes, gx_rng *init, gx_error *err);

/* The hook's state: the fine-tuned teacher (borrowed) and its activations. */
typedef struct gx_kd {
    gx_kd_config cfg;
    gx_classifier *teacher;
    gx_classifier_ws ws;
    float *P, *PT; /* [batch, K] */
} gx_kd;

int gx_kd_init(gx_kd *k, gx_classifier *teacher, int batch, const gx_kd_config *cfg,
               gx_error *err);
void gx_kd_free(gx_kd *k);

/* cls_train.h's logit_loss hook (ctx: a gx_kd): the teacher's logits of X (evaluation mode), then
 * gx_kd_loss. */
double gx_kd_logit_loss(void *ctx, const float *X, const int32_t *y, const float *L, int B, int K,
                        float *dL);

#endif
