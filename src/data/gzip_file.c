/* Whole gzip'd files read into memory for the readers that parse from a buffer (csv.c, npy.c). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "core/memory.h"
#include "data/readers_internal.h"

/* Decompressed into a buffer that grows as data arrive and is held to what deflate can expand the
 * file to (at most about 1032:1) and to the machine's memory, so that a small file cannot make
 * the reader allocate far beyond what it can hold. */
char *gx_read_gzip_whole(const char *path, uint64_t file_size, size_t *len, const char *what_file,
                         gx_error *err) {
    gzFile g = gzopen(path, "rb");
    if (!g) {
        gx_fail(err, "%s: cannot open gzip'd %s: %s", path, what_file, strerror(errno));
        return NULL;
    }
    const double limit = (double)file_size * GX_DEFLATE_MAX_RATIO + 1024.0;
    size_t cap = 1 << 16, n = 0;
    char *buf = gx_malloc(cap + 1, what_file, err);
    while (buf) {
        if (n == cap) {
            if ((double)n >= limit) {
                gx_fail(err, "%s: corrupt gzip data: it expands beyond what a gzip file of %llu "
                             "bytes can hold", path, (unsigned long long)file_size);
                break;
            }
            size_t ncap = 2 * cap;
            if ((double)ncap > limit) ncap = (size_t)limit + 1;
            char what[600];
            snprintf(what, sizeof what, "%s: the uncompressed %s", path, what_file);
            if (gx_check_memory((double)ncap, what, err)) break;
            char *nb = realloc(buf, ncap + 1);
            if (!nb) {
                gx_fail(err, "%s: out of memory decompressing the %s", path, what_file);
                break;
            }
            buf = nb;
            cap = ncap;
        }
        const unsigned want = cap - n > (1u << 30) ? 1u << 30 : (unsigned)(cap - n);
        const int got = gzread(g, buf + n, want);
        if (got < 0) {
            int code;
            const char *msg = gzerror(g, &code);
            gx_fail(err, "%s: corrupt gzip data (%s)", path, msg && *msg ? msg : "read error");
            break;
        }
        if (got == 0) { /* the end: a stream cut short is an error too */
            int code;
            const char *msg = gzerror(g, &code);
            if (code != Z_OK && code != Z_STREAM_END) {
                gx_fail(err, "%s: corrupt gzip data (%s)", path, msg && *msg ? msg : "truncated");
                break;
            }
            gzclose(g);
            buf[n] = '\0';
            *len = n;
            return buf;
        }
        n += (size_t)got;
    }
    gzclose(g);
    free(buf);
    return NULL;
}

