/* Helpers for the tests that run the genxfer binary ($GENXFER_BIN, else build/genxfer). */
#ifndef GX_TEST_CLI_UTIL_H
#define GX_TEST_CLI_UTIL_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "test_util.h"

/* ---- helpers ------------------------------------------------------------------------------- */

static inline const char *bin(void) {
    const char *b = getenv("GENXFER_BIN");
    return b && *b ? b : "build/genxfer";
}

static char OUT[600], ERR[600];

/* Runs `genxfer ARGS` (ARGS already shell-quoted), stdout to OUT and stderr to ERR; exit status. */
static inline int run(const char *fmt, ...) {
    char args[1800], cmd[3500]; /* test_run adds a redirection within its 4096 bytes */
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(args, sizeof args, fmt, ap);
    va_end(ap);
    assert_true(n >= 0 && (size_t)n < sizeof args);
    test_path(OUT, sizeof OUT, "stdout.txt");
    test_path(ERR, sizeof ERR, "stderr.txt");
    n = snprintf(cmd, sizeof cmd, "{ '%s' %s >'%s' 2>'%s'; }", bin(), args, OUT, ERR);
    assert_true(n >= 0 && (size_t)n < sizeof cmd);
    return test_run(cmd, NULL);
}

/* The whole file as a string (caller frees); "" for a missing file. */
static inline char *slurp(const char *path) {
    FILE *f = fopen(path, "rb");
    char *buf = NULL;
    size_t len = 0, cap = 0;
    if (f) {
        char chunk[4096];
        size_t got;
        while ((got = fread(chunk, 1, sizeof chunk, f)) > 0) {
            if (len + got + 1 > cap) {
                cap = (len + got + 1) * 2;
                buf = realloc(buf, cap);
                assert_non_null(buf);
            }
            memcpy(buf + len, chunk, got);
            len += got;
        }
        fclose(f);
    }
    if (!buf) {
        buf = malloc(1);
        assert_non_null(buf);
    }
    buf[len] = '\0';
    return buf;
}

#define assert_contains(hay, needle)                                                               \
    do {                                                                                           \
        if (!strstr((hay), (needle))) {                                                            \
            print_error("output does not contain \"%s\":\n%s\n", (needle), (hay));                 \
            fail();                                                                                \
        }                                                                                          \
    } while (0)

/* A tiny DVT model of the domain `spec` (name=fashion), trained for one epoch into the scratch
 * folder's "source": for the tests that need a source model, not a good one. Its path goes to
 * model [n]; -1 after printing why training failed. */
static inline int train_tiny_source(const char *spec, char *model, size_t n) {
    char dir[600];
    test_path(dir, sizeof dir, "source");
    int rc = run("train --preset dvt --domain '%s,name=fashion' --epochs 1 --batch 50 "
                 "--enc 32,16 --dec 16,32 --z 4 --seed 2 --threads 1 --quiet --out '%s'", spec, dir);
    if (rc != 0) {
        char *err = slurp(ERR);
        fprintf(stderr, "training failed (exit %d): %s\n", rc, err);
        free(err);
        return -1;
    }
    snprintf(model, n, "%s/model.safetensors", dir);
    return 0;
}

/* The last run failed with exit 1 and exactly one stderr line "genxfer: error: ..." that names
 * `what` (the file); nothing went to stdout. */
static inline void assert_one_error_line(int rc, const char *what) {
    char *err = slurp(ERR), *out = slurp(OUT);
    size_t lines = 0;
    for (const char *p = err; *p; p++) lines += *p == '\n';
    /* The message of `genxfer data` starts with the spec, which holds the path: look for the name
     * after it, in the reader's own words. */
    const char *body = err;
    if (!strncmp(err, "genxfer: error: spec '", 22) && strchr(err + 22, '\''))
        body = strchr(err + 22, '\'') + 1;
    if (rc != 1 || lines != 1 || err[strlen(err) - 1] != '\n' ||
        strncmp(err, "genxfer: error: ", 16) != 0 || !strstr(body, what) || *out) {
        print_error("expected exit 1 and one error line naming %s; got exit %d, stderr:\n%s\nstdout:\n%s\n",
                    what, rc, err, out);
        free(err);
        free(out);
        fail();
    }
    free(err);
    free(out);
}

/* Checks the PNG signature and returns the IHDR width and height (big-endian, bytes 16..23). */
static inline void png_size(const char *path, int *width, int *height) {
    unsigned char b[24];
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    assert_int_equal(fread(b, 1, 24, f), 24);
    fclose(f);
    static const unsigned char sig[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};
    assert_memory_equal(b, sig, 8);
    assert_memory_equal(b + 12, "IHDR", 4);
    *width = (int)((uint32_t)b[16] << 24 | (uint32_t)b[17] << 16 | (uint32_t)b[18] << 8 | b[19]);
    *height = (int)((uint32_t)b[20] << 24 | (uint32_t)b[21] << 16 | (uint32_t)b[22] << 8 | b[23]);
}

#endif
