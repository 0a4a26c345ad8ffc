/* gx_model_train of the public API: the steps of `genxfer train` on the caller's datasets, in the
 * same order and with the same random streams, so that the same data, settings and seed give the
 * same model as the tool: classes matched by name, standardisation per domain, validation and
 * k-labels-per-class splits, the likelihood of each domain, then gx_ssdgm_train. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/api_internal.h"
#include "data/splits.h"
#include "data/transforms.h"
#include "models/ssdgm_train.h"

void gx_domain_init(gx_domain *dom, const char *name, const gx_data *data) {
    memset(dom, 0, sizeof *dom);
    dom->name = name;
    dom->data = data;
    dom->labels_per_class = -1;
    dom->standardise = -1;
}

void gx_train_options_init(gx_train_options *o) {
    memset(o, 0, sizeof *o);
    o->preset = "dvt";
    o->epochs = 10;
    o->batch = 100;
    o->batch_unlabelled = 100;
    o->lr = 1e-3;
    o->alpha = -1;
    o->prior = "labelled";
    o->z = 50;
    o->enc[0] = o->enc[1] = 500;
    o->dec[0] = o->dec[1] = 500;
    o->activation = "softplus";
    o->batchnorm = -1;
    o->seed = 1;
}

/* Everything a run allocates, released in one place. */
typedef struct run {
    int n_domains;
    char names[GX_MAX_DOMAINS][GX_NAME_MAX];
    gx_dataset ds[GX_MAX_DOMAINS];              /* the caller's data, copied */
    gx_split split_val[GX_MAX_DOMAINS], split_lab[GX_MAX_DOMAINS];
    int64_t *unl[GX_MAX_DOMAINS];
    char *class_names[GX_MAX_CLASSES];
    int n_classes;
} run;

static void run_free(run *r) {
    for (int d = 0; d < GX_MAX_DOMAINS; d++) {
        gx_dataset_free(&r->ds[d]);
        gx_split_free(&r->split_val[d]);
        gx_split_free(&r->split_lab[d]);
        free(r->unl[d]);
    }
    for (int k = 0; k < r->n_classes; k++) free(r->class_names[k]);
}

/* Widths up to the first 0 -> v[0..*n-1]. */
static int widths(const int *w, const char *what, int min, int *v, int *n, gx_error *err) {
    *n = 0;
    while (*n < GX_MAX_HIDDEN && w[*n] > 0) v[*n] = w[*n], (*n)++;
    for (int i = *n; i < GX_MAX_HIDDEN; i++)
        if (w[i] < 0) return gx_fail(err, "gx_model_train: %s width %d is negative", what, w[i]);
    if (*n < min)
        return gx_fail(err, "gx_model_train: %s needs at least %d widths (got %d)", what, min, *n);
    return 0;
}

/* The model configuration and training settings from the options (all but the data). */
static int read_options(const gx_train_options *o, int n_domains, gx_ssdgm_config *mc,
                        gx_ssdgm_train_config *tc, gx_error *err) {
    gx_preset preset;
    gx_act act;
    if (!o->preset || gx_preset_parse(o->preset, &preset))
        return gx_fail(err, "gx_model_train: unknown preset '%s' (expected m2, dvt or mlp)",
                       o->preset ? o->preset : "(null)");
    if (preset == GX_PRESET_M2 && n_domains > 1)
        return gx_fail(err, "gx_model_train: preset m2 takes one domain (got %d); use dvt",
                       n_domains);
    if (!o->activation || gx_act_parse(o->activation, &act) || act == GX_ACT_IDENTITY)
        return gx_fail(err, "gx_model_train: unknown activation '%s' (softplus, relu, "
                            "leaky_relu, tanh, sigmoid)", o->activation ? o->activation : "(null)");
    if (o->epochs < 1 || o->batch < 1 || o->batch_unlabelled < 1 || o->z < 1)
        return gx_fail(err, "gx_model_train: epochs, batch sizes and z must be >= 1 (got %d, %d, "
                            "%d, %d)", o->epochs, o->batch, o->batch_unlabelled, o->z);
    if (!(o->lr > 0 && o->lr <= 10) || !isfinite(o->alpha) || !(o->kl_warmup >= 0) ||
        o->cls_hidden < 0 || o->lat_hidden < 0)
        return gx_fail(err, "gx_model_train: lr must be in (0, 10], kl_warmup and the hidden "
                            "sizes >= 0, alpha finite");
    gx_ssdgm_config_default(mc, preset, 2);
    if (widths(o->enc, "enc", 2, mc->enc, &mc->n_enc, err) ||
        widths(o->dec, "dec", 1, mc->dec, &mc->n_dec, err))
        return -1;
    mc->z_dim = o->z;
    mc->act = act;
    mc->cls_hidden = o->cls_hidden;
    mc->lat_hidden = o->lat_hidden;
    if (o->batchnorm >= 0) mc->batchnorm = o->batchnorm > 0;

    gx_ssdgm_train_config_default(tc);
    tc->epochs = o->epochs;
    tc->batch_l = o->batch;
    tc->batch_u = o->batch_unlabelled;
    tc->lr = (float)o->lr;
    tc->kl_warmup_epochs = (float)o->kl_warmup;
    tc->class_balance = o->class_balance != 0;
    tc->seed = o->seed;
    const char *prior = o->prior ? o->prior : "labelled";
    if (!strcmp(prior, "labelled")) tc->prior = GX_PRIOR_LABELLED;
    else if (!strcmp(prior, "uniform")) tc->prior = GX_PRIOR_UNIFORM;
    else if (!strcmp(prior, "reestimate")) tc->prior = GX_PRIOR_REESTIMATE;
    else return gx_fail(err, "gx_model_train: unknown prior '%s' (labelled, uniform, reestimate)",
                        prior);
    return 0;
}

/* Copies domain d's data into r->ds[d] with its labels on the run's class list. */
static int take_domain(run *r, int d, const gx_domain *dom, gx_error *err) {
    char *name = r->names[d];
    if (dom->name) {
        if (!*dom->name || strlen(dom->name) >= GX_NAME_MAX || strpbrk(dom->name, " .,\"\\"))
            return gx_fail(err, "domain '%s': a name is 1 to %d characters without spaces, dots, "
                                "commas or quotes", dom->name, GX_NAME_MAX - 1);
        snprintf(name, GX_NAME_MAX, "%s", dom->name);
    } else {
        snprintf(name, GX_NAME_MAX, "d%d", d + 1);
    }
    for (int e = 0; e < d; e++)
        if (!strcmp(r->names[e], name)) return gx_fail(err, "two domains named '%s'", name);
    if (!dom->data) return gx_fail(err, "domain %s: no data", name);
    const gx_dataset *src = &dom->data->ds;
    if (dom->labels_per_class < -1 || dom->val_per_class < 0)
        return gx_fail(err, "domain %s: labels_per_class %lld, val_per_class %lld (expected >= -1 "
                            "and >= 0)", name, (long long)dom->labels_per_class,
                       (long long)dom->val_per_class);
    if (!src->y && (dom->labels_per_class != 0 || dom->val_per_class > 0))
        return gx_fail(err, "domain %s (%s): the data have no labels; set labels_per_class = 0 "
                            "(all unlabelled)", name, src->source);
    int64_t *all = NULL;
    if (gx_index_range(src->n, &all, err)) return -1;
    int rc = gx_dataset_subset(&r->ds[d], src, all, src->n, err);
    free(all);
    if (rc) return gx_fail_prefix(err, "domain %s", name);
    gx_dataset *ds = &r->ds[d];
    snprintf(ds->source, sizeof ds->source, "%s", src->source);
    if (!ds->y) return 0;
    if (gx_dataset_match_classes(ds, r->class_names, &r->n_classes, GX_MAX_CLASSES, 1, err))
        return gx_fail_prefix(err, "domain %s", name);
    return 0;
}

/* Standardises r->ds[d] with its own statistics when asked (or, on auto, unless every value is
 * in [0, 1]); the statistics go to info. */
static int standardise(run *r, int d, const gx_domain *dom, gx_model_info *info, gx_error *err) {
    if (dom->standardise == 0 ||
        (dom->standardise < 0 && gx_dataset_find_outside_unit(&r->ds[d]) < 0))
        return 0;
    gx_standardizer st;
    gx_standardizer_init(&st);
    if (gx_standardizer_fit(&st, &r->ds[d], NULL, r->ds[d].n, err) ||
        gx_standardizer_apply(&st, &r->ds[d], err)) {
        gx_standardizer_free(&st);
        return gx_fail_prefix(err, "domain %s: standardisation", r->names[d]);
    }
    info->prep_mean[d] = st.mean;
    info->prep_std[d] = st.std;
    return 0;
}

/* Validation rows per class first, then k labels per class; with k given every non-validation
 * row is unlabelled data too (the labelled ones included, as in Kingma et al.). */
static int split_domain(run *r, int d, const gx_domain *dom, gx_rng *rng,
                        gx_ssdgm_domain_data *dd, gx_error *err) {
    gx_dataset *ds = &r->ds[d];
    dd->ds = ds;
    const int64_t *rest = NULL;
    int64_t n_rest = ds->n, k = dom->labels_per_class;
    int64_t have[GX_MAX_CLASSES] = {0}, val_k[GX_MAX_CLASSES], lab_k[GX_MAX_CLASSES];
    if (ds->y) gx_dataset_class_counts(ds, have);
    for (int c = 0; c < r->n_classes; c++) {
        val_k[c] = have[c] ? dom->val_per_class : 0;
        lab_k[c] = have[c] ? k : 0;
    }
    if (dom->val_per_class > 0) {
        if (gx_split_counts(ds, NULL, ds->n, val_k, rng, &r->split_val[d], err))
            return gx_fail_prefix(err, "domain %s: validation split", r->names[d]);
        dd->val = r->split_val[d].take, dd->n_val = r->split_val[d].n_take;
        rest = r->split_val[d].rest, n_rest = r->split_val[d].n_rest;
    }
    if (gx_index_range(n_rest, &r->unl[d], err)) return -1;
    if (rest) memcpy(r->unl[d], rest, (size_t)n_rest * sizeof(int64_t));
    if (!ds->y || k == 0) {
        dd->unl = r->unl[d], dd->n_unl = n_rest;
    } else if (k < 0) {
        dd->lab = r->unl[d], dd->n_lab = n_rest; /* all labelled, none unlabelled */
    } else {
        if (gx_split_counts(ds, rest, n_rest, lab_k, rng, &r->split_lab[d], err))
            return gx_fail_prefix(err, "domain %s: %lld labels per class", r->names[d],
                                  (long long)k);
        dd->lab = r->split_lab[d].take, dd->n_lab = r->split_lab[d].n_take;
        dd->unl = r->unl[d], dd->n_unl = n_rest;
    }
    return 0;
}

/* Domain d's part of the model configuration: sizes, image shape, likelihood, shared blocks. */
static int configure_domain(const run *r, int d, const gx_domain *dom, gx_ssdgm_config *mc,
                            gx_error *err) {
    const gx_dataset *ds = &r->ds[d];
    gx_domain_config *dc = &mc->dom[d];
    snprintf(dc->name, sizeof dc->name, "%s", r->names[d]);
    if (ds->d > (1 << 24)) return gx_fail(err, "domain %s: %lld features", dc->name, (long long)ds->d);
    dc->n_in = (int)ds->d;
    dc->height = ds->height, dc->width = ds->width, dc->channels = ds->channels;
    const char *lik = dom->likelihood ? dom->likelihood : "auto";
    int unit = gx_dataset_find_outside_unit(ds) < 0;
    if (!strcmp(lik, "auto")) dc->lik = unit ? GX_LIK_BERNOULLI : GX_LIK_GAUSSIAN;
    else if (!strcmp(lik, "gaussian")) dc->lik = GX_LIK_GAUSSIAN;
    else if (!strcmp(lik, "bernoulli") && unit) dc->lik = GX_LIK_BERNOULLI;
    else if (!strcmp(lik, "bernoulli"))
        return gx_fail(err, "domain %s: likelihood bernoulli needs values in [0, 1] (after "
                            "standardisation; set standardise = 0)", dc->name);
    else
        return gx_fail(err, "domain %s: unknown likelihood '%s' (auto, bernoulli, gaussian)",
                       dc->name, lik);
    dc->share = -1;
    if (!dom->share) return 0;
    for (int e = 0; e < d; e++)
        if (!strcmp(r->names[e], dom->share)) dc->share = e;
    if (dc->share < 0)
        return gx_fail(err, "domain %s: share '%s' names no earlier domain", dc->name, dom->share);
    dc->lik = mc->dom[dc->share].lik; /* one block, one likelihood: the owner's */
    return 0;
}

static void print_epoch(void *ctx, const gx_epoch_log *l) {
    const gx_ssdgm_train_config *tc = ctx;
    fprintf(stderr, "epoch %3d/%d  loss %9.3f  ce %.4f  train accuracy %.2f%%", l->epoch,
            tc->epochs, l->loss, l->ce, 100 * l->train_acc);
    if (l->selection >= 0) fprintf(stderr, "  validation %.2f%%", 100 * l->selection);
    fprintf(stderr, "  %.1fs\n", l->seconds);
}

gx_model *gx_model_train(const gx_domain *domains, int n_domains, const gx_train_options *opt,
                         gx_error *err) {
    gx_train_options defaults;
    if (!opt) {
        gx_train_options_init(&defaults);
        opt = &defaults;
    }
    if (!domains || n_domains < 1 || n_domains > GX_MAX_DOMAINS) {
        gx_fail(err, "gx_model_train: %d domains (expected 1 to %d)", domains ? n_domains : 0,
                GX_MAX_DOMAINS);
        return NULL;
    }
    gx_ssdgm_config mc;
    gx_ssdgm_train_config tc;
    if (read_options(opt, n_domains, &mc, &tc, err)) return NULL;
    run *r = gx_calloc(1, sizeof *r, "the training run", err);
    gx_model *model = r ? gx_calloc(1, sizeof *model, "a model handle", err) : NULL;
    if (!model) {
        free(r);
        return NULL;
    }
    r->n_domains = n_domains;
    for (int d = 0; d < GX_MAX_DOMAINS; d++) {
        gx_dataset_init(&r->ds[d]);
        gx_split_init(&r->split_val[d]);
        gx_split_init(&r->split_lab[d]);
    }
    int model_made = 0;
    gx_ssdgm_domain_data dd[GX_MAX_DOMAINS];
    memset(dd, 0, sizeof dd);

    for (int d = 0; d < n_domains; d++)
        if (take_domain(r, d, &domains[d], err)) goto fail;
    if (r->n_classes < 2) {
        gx_fail(err, "gx_model_train: the domains' labels name %d class(es); at least 2 are needed",
                r->n_classes);
        goto fail;
    }
    gx_rng split_rng;
    gx_rng_init(&split_rng, tc.seed, GX_STREAM_SPLIT);
    for (int d = 0; d < n_domains; d++)
        if (standardise(r, d, &domains[d], &model->info, err)) goto fail;
    int64_t total_labelled = 0;
    for (int d = 0; d < n_domains; d++) {
        if (split_domain(r, d, &domains[d], &split_rng, &dd[d], err)) goto fail;
        total_labelled += dd[d].n_lab;
    }
    /* alpha: 0.1 x labelled rows (at least 1) unless given */
    tc.alpha = opt->alpha >= 0 ? (float)opt->alpha : 0.1f * (float)total_labelled;
    if (opt->alpha < 0 && tc.alpha < 1) tc.alpha = 1;
    tc.select_domain = dd[n_domains - 1].n_val ? n_domains - 1 : -1;
    if (opt->verbose) {
        tc.on_epoch = print_epoch;
        tc.ctx = &tc;
    }

    mc.n_classes = r->n_classes;
    mc.n_domains = n_domains;
    for (int d = 0; d < n_domains; d++) {
        if (configure_domain(r, d, &domains[d], &mc, err)) goto fail;
        if (domains[d].data->from_spec)
            snprintf(model->info.prep_spec[d], sizeof model->info.prep_spec[d], "%s",
                     r->ds[d].source);
        /* the column names travel with the model, as from genxfer train */
        if (gx_model_info_set_features(&model->info, d, &r->ds[d], NULL, err)) goto fail;
    }
    if (gx_ssdgm_train_check_memory(&mc, tc.batch_l, tc.batch_u, err)) goto fail;
    gx_rng init_rng;
    gx_rng_init(&init_rng, tc.seed, GX_STREAM_INIT);
    if (gx_ssdgm_create(&model->m, &mc, &init_rng, err)) goto fail;
    model_made = 1;
    if (gx_model_info_set_classes(&model->info, r->n_classes,
                                  (const char *const *)r->class_names, err))
        goto fail;
    if (opt->verbose)
        fprintf(stderr, "training %s: %d classes, %d domain(s), %lld parameters, alpha %g\n",
                gx_preset_name(mc.preset), r->n_classes, n_domains,
                (long long)gx_params_count(&model->m.params, true), tc.alpha);
    gx_ssdgm_train_result res;
    if (gx_ssdgm_train(&model->m, dd, &tc, &res, err)) goto fail;
    model->seed = tc.seed;
    model->best_epoch = res.best_epoch;
    run_free(r);
    free(r);
    return model;
fail:
    run_free(r);
    free(r);
    if (model_made) gx_ssdgm_free(&model->m);
    gx_model_info_free(&model->info);
    free(model);
    return NULL;
}
