/* The architecture spec of a classifier (grammar in models/classifier.h): tokens to layers with
 * their input and output shapes. Every message names the token and its position. */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "models/classifier.h"

#define MAX_UNITS (1 << 20)    /* conv channels, fc units */
#define MAX_KERNEL 31
#define MAX_MAP ((int64_t)1 << 24) /* floats per example in one layer's output (64 MB) */

static const char *const EXPECTED =
    "expected conv<N>[k<K>], fc<N>, fc (the head, last), bn, pool, gap, drop<P> or an activation "
    "(relu, leaky_relu, tanh, sigmoid, softplus)";

/* Reads a decimal integer of 1 to 8 digits at *s (no sign); advances *s. -1 if none. */
static long read_uint(const char **s) {
    long v = 0;
    int n = 0;
    while (isdigit((unsigned char)**s) && n < 8) v = v * 10 + (*(*s)++ - '0'), n++;
    return n == 0 || isdigit((unsigned char)**s) ? -1 : v;
}

/* The layer a token names, without its shapes. 0, or -1 with the message. */
static int parse_token(gx_cls_layer *L, const char *tok, int pos, gx_error *err) {
    const char *s = tok;
    memset(L, 0, sizeof *L);
    snprintf(L->token, sizeof L->token, "%s", tok);
    if (!strncmp(s, "conv", 4)) {
        s += 4;
        long n = read_uint(&s), k = 3;
        if (n < 1 || n > MAX_UNITS)
            return gx_fail(err, "arch: '%s' (layer %d): expected conv<N> with N channels in [1, %d]",
                           tok, pos, MAX_UNITS);
        if (*s == 'k') {
            s++;
            k = read_uint(&s);
            if (k < 1 || k > MAX_KERNEL || k % 2 == 0)
                return gx_fail(err, "arch: '%s' (layer %d): expected an odd kernel size k1 to k%d "
                                    "(same padding)", tok, pos, MAX_KERNEL);
        }
        if (*s)
            return gx_fail(err, "arch: '%s' (layer %d): expected conv<N>[k<K>], e.g. conv32 or "
                                "conv32k5", tok, pos);
        L->kind = GX_CLS_CONV;
        L->oc = (int)n;
        L->k = (int)k;
    } else if (!strncmp(s, "fc", 2)) {
        s += 2;
        L->kind = GX_CLS_FC;
        if (*s) {
            long n = read_uint(&s);
            if (n < 1 || n > MAX_UNITS || *s)
                return gx_fail(err, "arch: '%s' (layer %d): expected fc<N> with N units in [1, %d], "
                                    "or fc for the head", tok, pos, MAX_UNITS);
            L->oc = (int)n;
        }
    } else if (!strncmp(s, "drop", 4)) {
        char *end;
        double p = strtod(s + 4, &end);
        if (end == s + 4 || *end || !(p >= 0 && p < 1) || !isdigit((unsigned char)s[4]))
            return gx_fail(err, "arch: '%s' (layer %d): expected drop<P> with P in [0, 1), e.g. "
                                "drop0.3", tok, pos);
        L->kind = GX_CLS_DROPOUT;
        L->p = (float)p;
    } else if (!strcmp(s, "bn")) {
        L->kind = GX_CLS_BN;
    } else if (!strcmp(s, "pool")) {
        L->kind = GX_CLS_MAXPOOL;
    } else if (!strcmp(s, "gap")) {
        L->kind = GX_CLS_GAP;
    } else if (strcmp(s, "identity") && gx_act_parse(s, &L->act) == 0) {
        L->kind = GX_CLS_ACT;
    } else {
        return gx_fail(err, "arch: '%s' (layer %d) is not a layer; %s", tok, pos, EXPECTED);
    }
    return 0;
}

/* Fills L's input shape from the current one and its output shape; checks that it fits. */
static int fit(gx_cls_layer *L, int pos, int last, int *h, int *w, int *c, int *image,
               int n_classes, gx_error *err) {
    L->h = *h, L->w = *w, L->c = *c;
    L->oh = *h, L->ow = *w;
    int needs_image = L->kind == GX_CLS_CONV || L->kind == GX_CLS_MAXPOOL || L->kind == GX_CLS_GAP;
    if (needs_image && !*image)
        return gx_fail(err, "arch: '%s' (layer %d) needs an image, but its input is a vector of %d "
                            "features (%s)", L->token, pos, *c,
                       pos == 1 ? "the data have no image shape" : "after fc or gap");
    switch (L->kind) {
    case GX_CLS_CONV: break;
    case GX_CLS_FC:
        if (!L->oc && !last)
            return gx_fail(err, "arch: '%s' (layer %d): a bare fc is the head and must be the "
                                "last layer; expected fc<N> here", L->token, pos);
        if (L->oc && last)
            return gx_fail(err, "arch: '%s' (layer %d): the last layer must be the head 'fc' "
                                "(its size is the number of classes, %d)", L->token, pos,
                           n_classes);
        if (!L->oc) L->oc = n_classes;
        L->oh = L->ow = 1;
        *image = 0;
        break;
    case GX_CLS_MAXPOOL:
        if (*h < 2 || *w < 2)
            return gx_fail(err, "arch: '%s' (layer %d) needs a map of at least 2x2, but its input "
                                "is %dx%dx%d (too many pools for this input size?)", L->token,
                           pos, *h, *w, *c);
        L->oh = *h / 2, L->ow = *w / 2, L->oc = *c;
        break;
    case GX_CLS_GAP:
        L->oh = L->ow = 1, L->oc = *c;
        *image = 0;
        break;
    default: L->oc = *c; break;
    }
    if (last && L->kind != GX_CLS_FC)
        return gx_fail(err, "arch: '%s' (layer %d): the last layer must be the head 'fc'", L->token,
                       pos);
    if ((int64_t)L->oh * L->ow * L->oc > MAX_MAP)
        return gx_fail(err, "arch: '%s' (layer %d): its output of %dx%dx%d values per example is "
                            "too large", L->token, pos, L->oh, L->ow, L->oc);
    *h = L->oh, *w = L->ow, *c = L->oc;
    return 0;
}

int gx_classifier_parse(gx_classifier *m, const char *arch, int h, int w, int c, int image,
                        int n_classes, gx_error *err) {
    memset(m, 0, sizeof *m);
    if (strlen(arch) >= sizeof m->arch)
        return gx_fail(err, "arch: longer than %zu characters", sizeof m->arch - 1);
    if (h < 1 || w < 1 || c < 1 || (int64_t)h * w * c > MAX_MAP)
        return gx_fail(err, "arch: input of %dx%dx%d values is not supported", h, w, c);
    if (n_classes < 2) return gx_fail(err, "arch: %d classes (at least 2 are needed)", n_classes);
    snprintf(m->arch, sizeof m->arch, "%s", arch);
    m->in_h = image ? h : 1, m->in_w = image ? w : 1, m->in_c = image ? c : h * w * c;
    m->image = image;
    m->n_classes = n_classes;
    m->bn_momentum = GX_CLS_BN_MOMENTUM;
    /* tokens: split at '-' and ',', spaces around them ignored */
    char buf[GX_CLS_ARCH_MAX], *toks[GX_CLS_MAX_LAYERS + 1];
    snprintf(buf, sizeof buf, "%s", arch);
    int n = 0;
    for (char *s = buf;; n++) {
        char *end = s + strcspn(s, "-,"), sep = *end;
        *end = '\0';
        while (isspace((unsigned char)*s)) s++;
        for (char *e = end; e > s && isspace((unsigned char)e[-1]);) *--e = '\0';
        if (n == GX_CLS_MAX_LAYERS)
            return gx_fail(err, "arch: more than %d layers", GX_CLS_MAX_LAYERS);
        if (!*s)
            return gx_fail(err, "arch: layer %d is empty; %s", n + 1, EXPECTED);
        toks[n] = s;
        if (!sep) break;
        s = end + 1;
    }
    m->n_layers = ++n;
    int ch = m->in_h, cw = m->in_w, cc = m->in_c, img = image;
    for (int i = 0; i < n; i++) {
        gx_cls_layer *L = &m->layer[i];
        if (parse_token(L, toks[i], i + 1, err) ||
            fit(L, i + 1, i == n - 1, &ch, &cw, &cc, &img, n_classes, err))
            return -1;
        L->weight_idx = L->bias_idx = L->mean_idx = L->var_idx = -1;
    }
    for (int i = 0; i < n; i++) {
        gx_cls_layer *L = &m->layer[i];
        int learned = L->kind == GX_CLS_CONV || L->kind == GX_CLS_FC;
        L->bias = learned && !(i + 1 < n && m->layer[i + 1].kind == GX_CLS_BN);
    }
    return 0;
}
