#include "core/error.h"

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Messages are one line, also when they quote data holding line breaks (a quoted CSV field, an
 * .npy header key, a spec typed with a newline): those become spaces. */
static void one_line(char *s) {
    for (; *s; s++)
        if (*s == '\n' || *s == '\r') *s = ' ';
}

int gx_fail(gx_error *err, const char *fmt, ...) {
    if (err) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err->msg, sizeof err->msg, fmt, ap);
        va_end(ap);
        one_line(err->msg);
    }
    return -1;
}

int gx_fail_prefix(gx_error *err, const char *fmt, ...) {
    if (err) {
        char prefix[512], old[sizeof err->msg];
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(prefix, sizeof prefix, fmt, ap);
        va_end(ap);
        memcpy(old, err->msg, sizeof old);
        old[sizeof old - 1] = '\0';
        /* "prefix: old", cut to fit (the message's end matters less than its start) */
        size_t cap = sizeof err->msg - 1, n = strnlen(prefix, cap);
        memcpy(err->msg, prefix, n);
        if (n + 2 <= cap) memcpy(err->msg + n, ": ", 2), n += 2;
        size_t rest = strnlen(old, cap - n);
        memcpy(err->msg + n, old, rest);
        err->msg[n + rest] = '\0';
        one_line(err->msg);
    }
    return -1;
}

int gx_mul_size(size_t count, size_t size, size_t *out, const char *what, gx_error *err) {
    if (size != 0 && count > SIZE_MAX / size)
        return gx_fail(err, "size of %s overflows (%zu x %zu bytes)", what, count, size);
    *out = count * size;
    return 0;
}

void *gx_malloc(size_t n, const char *what, gx_error *err) {
    void *p = malloc(n ? n : 1);
    if (!p) gx_fail(err, "out of memory allocating %zu bytes for %s", n, what);
    return p;
}

void *gx_calloc(size_t count, size_t size, const char *what, gx_error *err) {
    size_t n;
    if (gx_mul_size(count, size, &n, what, err) != 0) return NULL;
    void *p = calloc(count ? count : 1, size ? size : 1);
    if (!p) gx_fail(err, "out of memory allocating %zu bytes for %s", n, what);
    return p;
}

void *gx_malloc_aligned(size_t n, const char *what, gx_error *err) {
    size_t rounded = (n + 63) & ~(size_t)63;
    if (rounded < n) {
        gx_fail(err, "size of %s overflows", what);
        return NULL;
    }
    void *p = aligned_alloc(64, rounded ? rounded : 64);
    if (!p) gx_fail(err, "out of memory allocating %zu bytes for %s", n, what);
    return p;
}
