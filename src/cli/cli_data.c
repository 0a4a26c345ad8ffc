#include "cli/cli_data.h"

#include "data/splits.h"
#include "data/transforms.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Keys this layer owns; the rest of the spec goes to gx_spec_load untouched. */
static int take_option(cli_domain *d, const char *key, const char *val, gx_error *err) {
    char *end;
    if (!strcmp(key, "name")) {
        if (!*val || strlen(val) >= sizeof d->name || strpbrk(val, " .,\"\\"))
            return gx_fail(err, "domain '%s': name=%s must be 1 to %zu characters without spaces, "
                                "dots, commas or quotes", d->spec, val, sizeof d->name - 1);
        snprintf(d->name, sizeof d->name, "%s", val);
    } else if (!strcmp(key, "k")) {
        if (!strcmp(val, "all")) {
            d->k = -1;
            return 0;
        }
        errno = 0;
        d->k = strtol(val, &end, 10);
        if (errno || *end || end == val || d->k < 0)
            return gx_fail(err, "domain '%s': k=%s is not a count of labels per class (or 'all')",
                           d->spec, val);
    } else if (!strcmp(key, "val")) {
        errno = 0;
        d->val = strtol(val, &end, 10);
        if (errno || *end || end == val || d->val < 0)
            return gx_fail(err, "domain '%s': val=%s is not a count per class", d->spec, val);
    } else if (!strcmp(key, "share")) {
        if (!*val || strlen(val) >= sizeof d->share)
            return gx_fail(err, "domain '%s': share=%s is not a domain name", d->spec, val);
        snprintf(d->share, sizeof d->share, "%s", val);
    } else if (!strcmp(key, "test")) {
        errno = 0;
        d->test_frac = strtod(val, &end);
        if (errno || *end || end == val || !(d->test_frac > 0 && d->test_frac < 1))
            return gx_fail(err, "domain '%s': test=%s is not a fraction between 0 and 1", d->spec,
                           val);
    } else if (!strcmp(key, "std")) {
        if (strcmp(val, "auto") && strcmp(val, "yes") && strcmp(val, "no"))
            return gx_fail(err, "domain '%s': std=%s (expected auto, yes or no)", d->spec, val);
        snprintf(d->std, sizeof d->std, "%s", val);
    } else if (!strcmp(key, "std-from")) {
        const char *colon = strchr(val, ':');
        if (!colon || colon == val || !colon[1] || strlen(val) >= sizeof d->std_from)
            return gx_fail(err, "domain '%s': std-from=%s (expected DOMAIN:FEATURE+FEATURE...)",
                           d->spec, val);
        snprintf(d->std_from, sizeof d->std_from, "%s", val);
    } else if (!strcmp(key, "lik")) {
        if (strcmp(val, "bernoulli") && strcmp(val, "gaussian") && strcmp(val, "auto"))
            return gx_fail(err, "domain '%s': lik=%s (expected bernoulli, gaussian or auto)",
                           d->spec, val);
        snprintf(d->lik, sizeof d->lik, "%s", val);
    } else {
        return 1; /* not ours */
    }
    return 0;
}

int cli_domain_parse(const char *arg, int index, cli_domain *out, gx_error *err) {
    memset(out, 0, sizeof *out);
    gx_dataset_init(&out->ds);
    out->k = -1;
    strcpy(out->lik, "auto");
    strcpy(out->std, "auto");
    if (strlen(arg) >= sizeof out->spec) return gx_fail(err, "domain spec too long: %.60s...", arg);
    snprintf(out->spec, sizeof out->spec, "%s", arg);
    char kept[1024] = "", buf[1024];
    snprintf(buf, sizeof buf, "%s", arg);
    char *save = NULL;
    int first = 1;
    for (char *tok = strtok_r(buf, ",", &save); tok; tok = strtok_r(NULL, ",", &save), first = 0) {
        char *eq = strchr(tok, '=');
        if (!first && eq) {
            *eq = '\0';
            int r = take_option(out, tok, eq + 1, err);
            if (r < 0) return -1;
            if (r == 0) continue;
            *eq = '=';
        }
        size_t l = strlen(kept);
        snprintf(kept + l, sizeof kept - l, "%s%s", l ? "," : "", tok);
    }
    snprintf(out->spec, sizeof out->spec, "%s", kept);
    if (!out->name[0]) {
        const char *colon = strchr(kept, ':');
        size_t n = colon ? (size_t)(colon - kept) : 0;
        if (n > 0 && n < sizeof out->name && !memchr(kept, '.', n)) {
            memcpy(out->name, kept, n);
            out->name[n] = '\0';
        } else {
            snprintf(out->name, sizeof out->name, "d%d", index + 1);
        }
    }
    return 0;
}

int cli_wants_standardise(const cli_domain *dom) {
    if (!strcmp(dom->std, "yes")) return 1;
    if (!strcmp(dom->std, "no")) return 0;
    return gx_dataset_find_outside_unit(&dom->ds) >= 0;
}

/* std-from=NAME:F+F: the features F of dom take the statistics of the earlier domain NAME. */
static int borrow_statistics(const cli_domain *dom, gx_standardizer *st, const cli_domain *doms,
                             float *const *means, float *const *stds, int n_earlier,
                             gx_error *err) {
    const char *colon = strchr(dom->std_from, ':');
    const int len = (int)(colon - dom->std_from);
    for (int e = 0; e < n_earlier; e++) {
        if ((int)strlen(doms[e].name) != len || strncmp(doms[e].name, dom->std_from, (size_t)len))
            continue;
        if (!means[e])
            return gx_fail(err, "std-from=%s: domain %s is not standardised (std=no, or values "
                                "in [0, 1])", dom->std_from, doms[e].name);
        const gx_standardizer src = {doms[e].ds.d, means[e], stds[e]};
        if (gx_standardizer_borrow(st, (const char *const *)dom->ds.feature_names, colon + 1,
                                   &src, (const char *const *)doms[e].ds.feature_names, err))
            return gx_fail_prefix(err, "std-from=%s", dom->std_from);
        return 0;
    }
    return gx_fail(err, "std-from=%s: no earlier domain is named '%.*s'", dom->std_from, len,
                   dom->std_from);
}

int cli_standardise_domain(cli_domain *dom, gx_dataset *test, float **mean, float **std,
                           const cli_domain *doms, float *const *means, float *const *stds,
                           int n_earlier, gx_error *err) {
    *mean = *std = NULL;
    if (!cli_wants_standardise(dom)) {
        if (dom->std_from[0])
            return gx_fail(err, "domain %s: std-from= needs a standardised domain (std=yes, or "
                                "values beyond [0, 1])", dom->name);
        return 0;
    }
    gx_standardizer st;
    gx_standardizer_init(&st);
    if (gx_standardizer_fit(&st, &dom->ds, NULL, dom->ds.n, err) ||
        (dom->std_from[0] &&
         borrow_statistics(dom, &st, doms, means, stds, n_earlier, err)) ||
        gx_standardizer_apply(&st, &dom->ds, err) ||
        (test && test->n > 0 && gx_standardizer_apply(&st, test, err))) {
        gx_standardizer_free(&st);
        return gx_fail_prefix(err, "domain %s: standardisation", dom->name);
    }
    *mean = st.mean;
    *std = st.std;
    return 0;
}

int cli_check_shared_classes(const cli_domain *doms, int n, int n_classes, char **names,
                             gx_error *err) {
    int64_t count[GX_MAX_DOMAINS][GX_MAX_CLASSES] = {{0}}; /* rows per class and domain */
    int labelled = 0;
    for (int d = 0; d < n; d++)
        if (doms[d].ds.y) gx_dataset_class_counts(&doms[d].ds, count[d]), labelled++;
    if (labelled < 2) return 0;
    for (int d = 0; d < n; d++) {
        if (!doms[d].ds.y) continue;
        int shared = 0;
        char own[512] = "";
        for (int k = 0; k < n_classes; k++) {
            if (!count[d][k]) continue;
            size_t l = strlen(own);
            snprintf(own + l, sizeof own - l, "%s%s", l ? ", " : "", names[k]);
            for (int e = 0; e < n; e++)
                shared |= e != d && doms[e].ds.y && count[e][k] > 0;
        }
        if (!shared)
            return gx_fail(err, "domain %s: none of its classes (%s) is a class of another domain; "
                                "match class names with rename= or select= in the spec",
                           doms[d].name, own[0] ? own : "no rows");
    }
    return 0;
}

int cli_choose_likelihood(const gx_dataset *ds, const char *lik, gx_likelihood *out, gx_error *err) {
    int64_t i = strcmp(lik, "gaussian") ? gx_dataset_find_outside_unit(ds) : 0;
    if (!strcmp(lik, "bernoulli") && i >= 0)
        return gx_fail(err, "%s: lik=bernoulli needs values in [0, 1], found %g in row %lld",
                       ds->source, ds->x[i], (long long)(i / ds->d));
    *out = !strcmp(lik, "gaussian") || i >= 0 ? GX_LIK_GAUSSIAN : GX_LIK_BERNOULLI;
    return 0;
}

int cli_hold_out_test(cli_domain *x, int have_test_spec, gx_dataset *test, gx_rng *rng,
                      gx_error *err) {
    if (x->test_frac <= 0) return 0;
    if (have_test_spec)
        return gx_fail(err, "domain %s: test=%g and --test both name a test set; give one",
                       x->name, x->test_frac);
    if (!x->ds.y) return gx_fail(err, "domain %s: test= needs labelled data", x->name);
    gx_split split;
    gx_split_init(&split);
    gx_dataset rest;
    gx_dataset_init(&rest);
    int rc = gx_split_fraction(&x->ds, NULL, x->ds.n, x->test_frac, rng, &split, err) ||
             gx_dataset_subset(test, &x->ds, split.take, split.n_take, err) ||
             gx_dataset_subset(&rest, &x->ds, split.rest, split.n_rest, err);
    gx_split_free(&split);
    if (rc) {
        gx_dataset_free(&rest);
        return gx_fail_prefix(err, "domain %s: test=%g", x->name, x->test_frac);
    }
    gx_dataset_free(&x->ds);
    x->ds = rest;
    return 0;
}
