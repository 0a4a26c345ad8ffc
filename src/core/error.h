/* Error reporting for the library: functions return 0 on success and -1 on failure, with a
 * one-line message in a caller-supplied gx_error naming the file, line or field at fault.
 * The library never exits or aborts on bad input. */
#ifndef GX_ERROR_H
#define GX_ERROR_H

#include <stddef.h>

/* The same type as include/genxfer.h's (whichever header comes first defines it). */
#ifndef GX_ERROR_TYPE_DEFINED
#define GX_ERROR_TYPE_DEFINED
typedef struct gx_error {
    char msg[1024];
} gx_error;
#endif

/* Formats the message into err (when err is not NULL) and returns -1, so that callers can write
 * `return gx_fail(err, "%s: line %d: ...", path, line);`. */
int gx_fail(gx_error *err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Prefixes an existing message: "prefix: old message". Returns -1. */
int gx_fail_prefix(gx_error *err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Checked allocations: on failure set err ("out of memory allocating N bytes for WHAT") and return
 * NULL. Sizes are checked for overflow. gx_malloc_aligned returns 64-byte aligned memory that is
 * released with free(). */
void *gx_malloc(size_t n, const char *what, gx_error *err);
void *gx_calloc(size_t count, size_t size, const char *what, gx_error *err);
void *gx_malloc_aligned(size_t n, const char *what, gx_error *err);

/* count * size without overflow; returns -1 (and sets err) when it would overflow. */
int gx_mul_size(size_t count, size_t size, size_t *out, const char *what, gx_error *err);

#endif
