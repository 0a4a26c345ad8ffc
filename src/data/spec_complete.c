/* A spec given to eval or predict, completed with the options the model's training data were
 * read with (data/spec.h, gx_spec_complete). */
#include <stdio.h>
#include <string.h>

#include "data/spec.h"

/* What becomes of each training option. */
enum { TAKE, TAKE_WITH_LABELS, LEAVE };

/* The options that say what a row holds are taken from training; those about the labels only
 * when labels are wanted (eval); those about one file (its ids, its folder's files, its data set
 * and label file, a row limit) never. keep= and drop= give way to the stored column names. */
static int rule(const char *key) {
    static const char *const take[] = {"columns", "header", "sep", "diff", "log10", "scale",
                                       "image", "resize", "pad", "missing", "impute", "keep",
                                       "drop", NULL};
    static const char *const labels[] = {"label", "rename", "select", "classes", NULL};
    for (int i = 0; take[i]; i++)
        if (!strcmp(key, take[i])) return TAKE;
    for (int i = 0; labels[i]; i++)
        if (!strcmp(key, labels[i])) return TAKE_WITH_LABELS;
    return LEAVE;
}

/* The options of a spec: tokens after the first, "KEY=VALUE" with spaces around trimmed. */
typedef struct {
    char buf[2048];
    const char *head;     /* KIND:PATH or PATH */
    const char *key[64], *value[64];
    int n;
} spec_tokens;

static char *trim(char *s) {
    while (*s == ' ') s++;
    size_t n = strlen(s);
    while (n && s[n - 1] == ' ') s[--n] = '\0';
    return s;
}

static int split(const char *spec, spec_tokens *t, gx_error *err) {
    if (strlen(spec) >= sizeof t->buf) return gx_fail(err, "spec '%.60s...': too long", spec);
    strcpy(t->buf, spec);
    t->n = 0;
    char *save = NULL, *tok = strtok_r(t->buf, ",", &save);
    t->head = tok ? trim(tok) : "";
    while ((tok = strtok_r(NULL, ",", &save))) {
        if (t->n == 64) return gx_fail(err, "spec '%.60s...': too many options", spec);
        char *eq = strchr(tok, '=');
        if (eq) *eq = '\0';
        t->key[t->n] = trim(tok);
        t->value[t->n] = eq ? trim(eq + 1) : "";
        t->n++;
    }
    return 0;
}

/* Whether training's KEY applies to the spec given: by the rule, and, with the training columns'
 * names (by_name), not keep= or drop=, which give way to those names. */
static int taken(const char *key, int with_labels, int by_name) {
    const int r = rule(key);
    if (r == LEAVE || (r == TAKE_WITH_LABELS && !with_labels)) return 0;
    return !(by_name && (!strcmp(key, "keep") || !strcmp(key, "drop")));
}

/* ",KEY=VALUE" appended to out [n]. */
static int append(char *out, size_t n, const char *key, const char *value, const char *given,
                  gx_error *err) {
    const size_t have = strlen(out);
    if (snprintf(out + have, n - have, ",%s=%s", key, value) >= (int)(n - have))
        return gx_fail(err, "spec '%.60s...': too long with the training options", given);
    return 0;
}

static const char *find(const spec_tokens *t, const char *key) {
    for (int i = 0; i < t->n; i++)
        if (!strcmp(t->key[i], key)) return t->value[i];
    return NULL;
}

int gx_spec_complete(const char *given, const char *trained, const char *const *features,
                     int n_features, int with_labels, char *out, size_t n, gx_error *err) {
    if (snprintf(out, n, "%s", given) >= (int)n)
        return gx_fail(err, "spec '%.60s...': too long", given);
    if (!trained || !trained[0]) return 0;
    gx_spec gs, ts;
    if (gx_spec_parse(given, &gs, err)) return -1;
    if (gx_spec_parse(trained, &ts, err)) { /* an unreadable stored spec: use what was given */
        gx_spec_free(&gs);
        return 0;
    }
    const int same_kind = gs.kind == ts.kind;
    gx_spec_free(&gs);
    gx_spec_free(&ts);
    if (!same_kind) return 0; /* another kind of file: the count and names checks decide */
    spec_tokens g, t; /* (about 5 KB each, on the stack: the function stays reentrant) */
    if (split(given, &g, err) || split(trained, &t, err)) return -1;
    /* the stored names stand for keep= and drop=: the columns by name */
    char names[1024] = "";
    size_t len = 0;
    for (int j = 0; features && j < n_features; j++) {
        int w = snprintf(names + len, sizeof names - len, "%s%s", j ? "+" : "", features[j]);
        if (w < 0 || (size_t)w >= sizeof names - len) {
            names[0] = '\0';
            break;
        }
        len += (size_t)w;
    }
    const int by_name = names[0] != '\0';
    /* an option given must agree with training's */
    for (int i = 0; i < g.n; i++) {
        if (!taken(g.key[i], with_labels, by_name)) continue;
        const char *tv = find(&t, g.key[i]);
        if (!tv || strcmp(tv, g.value[i]))
            return gx_fail(err, "spec '%s': %s=%s, but the model's training data were read "
                                "%s%s%s%s ('%s'); leave the option out to read this file as the "
                                "training data were", given, g.key[i], g.value[i],
                           tv ? "with " : "without ", g.key[i], tv ? "=" : "", tv ? tv : "",
                           trained);
    }
    /* the training options the given spec lacks, then the columns by name */
    for (int i = 0; i < t.n; i++)
        if (taken(t.key[i], with_labels, by_name) && !find(&g, t.key[i]) &&
            append(out, n, t.key[i], t.value[i], given, err))
            return -1;
    if (by_name && !find(&g, "keep") && !find(&g, "drop") &&
        append(out, n, "keep", names, given, err))
        return -1;
    return 0;
}
