/* Data handling shared by the model commands: domain specs with their training options, class
 * matching by name, likelihood choice. */
#ifndef GX_CLI_DATA_H
#define GX_CLI_DATA_H

#include "core/rng.h"
#include "data/dataset.h"
#include "models/ssdgm.h"

/* A --domain argument: a dataset spec plus options that say how training uses it, stripped off
 * before the spec is loaded:
 *   name=NAME    the domain's name (default: the spec's kind, e.g. "mnist", or "d1", "d2", ...)
 *   k=K          labelled examples per class (default: all labels are used)
 *   val=V        labelled examples per class held out for model selection (default 0)
 *   lik=L        bernoulli, gaussian or auto (default: bernoulli when every value is in [0,1])
 *   share=NAME   same feature space as the earlier domain NAME: use its input and output blocks
 *   test=F       hold out a stratified fraction F (0 < F < 1, drawn with the seed) as the test set of
 *                the target domain, evaluated at the end like --test
 *   std=S        auto, yes or no: standardise every feature with this domain's own mean and
 *                standard deviation (over its training rows), stored with the model and applied
 *                again by eval/predict (auto: yes unless every value is in [0, 1]) */
typedef struct cli_domain {
    char name[GX_NAME_MAX];
    char spec[1024];    /* what is passed to gx_spec_load */
    long k;             /* -1: all */
    long val;
    char lik[16];
    char share[GX_NAME_MAX]; /* "" or the name of the domain whose blocks it uses */
    char std[8];        /* auto, yes or no */
    char std_from[512]; /* std-from=NAME:F+F: "" or the domain and features whose statistics
                           these features take */
    double test_frac;   /* 0: none */
    gx_dataset ds;
    float *impute;      /* [ds.d] the values impute= filled missing features with, or NULL */
} cli_domain;

int cli_domain_parse(const char *arg, int index, cli_domain *out, gx_error *err);

/* Whether the domain's features are to be standardised (std=auto|yes|no). */
int cli_wants_standardise(const cli_domain *dom);

/* Standardises dom->ds in place with its own statistics when cli_wants_standardise says so (and
 * test, which may be NULL, with the same statistics), and hands the statistics [d] to the caller
 * in *mean, *std (malloc'd); both NULL when not. With std-from=NAME:F+F the features F take the
 * statistics of domain NAME, one of the n_earlier domains doms (their statistics in means, stds,
 * NULL where a domain is not standardised). */
int cli_standardise_domain(cli_domain *dom, gx_dataset *test, float **mean, float **std,
                           const cli_domain *doms, float *const *means, float *const *stds,
                           int n_earlier, gx_error *err);

/* The domain's test= fraction: a stratified part of its rows, drawn with rng, moved out of x->ds
 * into *test (nothing without test=). An error when the command also has a --test spec
 * (have_test_spec). */
int cli_hold_out_test(cli_domain *x, int have_test_spec, gx_dataset *test, gx_rng *rng,
                      gx_error *err);

/* With several labelled domains, each must have rows of at least one class that another domain
 * also has (classes already matched by name); otherwise a one-line error naming the domain. */
int cli_check_shared_classes(const cli_domain *doms, int n, int n_classes, char **names,
                             gx_error *err);

/* bernoulli when every value of ds is in [0, 1], else gaussian; or as `lik` says. */
int cli_choose_likelihood(const gx_dataset *ds, const char *lik, gx_likelihood *out, gx_error *err);

#endif
