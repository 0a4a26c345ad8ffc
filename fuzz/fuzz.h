/* Helpers shared by the libFuzzer targets (fuzz/fuzz_*.c): the readers take paths, so each input
 * is written to files in a scratch folder made once per process; an input for two files carries
 * the length of the first part in front of it; and the checks every reader must pass on any
 * input (docs/RELIABILITY.md, "Fuzzing"). */
#ifndef GX_FUZZ_H
#define GX_FUZZ_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "core/error.h"
#include "data/dataset.h"

static char fuzz_dir_path[512];

static inline void fuzz_dir_remove(void) {
    char cmd[600];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", fuzz_dir_path);
    if (system(cmd) != 0) fprintf(stderr, "fuzz: could not remove %s\n", fuzz_dir_path);
}

/* The scratch folder, removed at exit: FUZZ_TMPDIR/genxfer-fuzz-XXXXXX, by default in /dev/shm
 * (memory): on a disk, rewriting the same small files thousands of times a second waits for the
 * disk (ext4 flushes a truncated file's data when it is closed). */
static inline const char *fuzz_dir(void) {
    if (!fuzz_dir_path[0]) {
        const char *t = getenv("FUZZ_TMPDIR");
        struct stat st;
        if (!t || !*t) t = stat("/dev/shm", &st) == 0 && S_ISDIR(st.st_mode) ? "/dev/shm" : "/tmp";
        snprintf(fuzz_dir_path, sizeof fuzz_dir_path, "%s/genxfer-fuzz-XXXXXX", t);
        if (!mkdtemp(fuzz_dir_path)) {
            perror("fuzz: mkdtemp");
            abort();
        }
        atexit(fuzz_dir_remove);
    }
    return fuzz_dir_path;
}

/* Writes data to the scratch file `name` and returns its path (buf). */
static inline const char *fuzz_file(char *buf, size_t n, const char *name, const uint8_t *data,
                             size_t size) {
    snprintf(buf, n, "%s/%s", fuzz_dir(), name);
    FILE *f = fopen(buf, "wb");
    if (!f || (size && fwrite(data, 1, size, f) != size) || fclose(f) != 0) {
        perror(buf);
        abort();
    }
    return buf;
}

/* Takes the next part of the input: a 2-byte little-endian length L, then L bytes (fewer when the
 * input ends first). With last set, the part is simply the rest of the input. */
static inline void fuzz_part(const uint8_t **p, size_t *left, int last, const uint8_t **part,
                      size_t *len) {
    size_t n = *left;
    if (!last) {
        n = 0;
        if (*left >= 2) {
            n = (size_t)(*p)[0] | (size_t)(*p)[1] << 8;
            *p += 2;
            *left -= 2;
        } else {
            *p += *left;
            *left = 0;
        }
        if (n > *left) n = *left;
    }
    *part = *p;
    *len = n;
    *p += n;
    *left -= n;
}

/* A reader's error: a non-empty message on one line. */
static inline void fuzz_check_error(const gx_error *err) {
    if (!err->msg[0] || strchr(err->msg, '\n')) {
        fprintf(stderr, "fuzz: bad error message: \"%s\"\n", err->msg);
        abort();
    }
}

/* A dataset a reader returned: its sizes and labels agree (or, after a failure, it is empty). */
static inline void fuzz_check_dataset(const gx_dataset *ds, int ok) {
    int bad;
    if (!ok) {
        bad = ds->n != 0 || ds->x || ds->y || ds->class_names || ds->ids || ds->feature_names;
    } else {
        bad = ds->n <= 0 || ds->d <= 0 || !ds->x || ds->n_classes < 0;
        for (int64_t i = 0; !bad && ds->y && i < ds->n; i++)
            bad = ds->y[i] != GX_UNLABELLED && (ds->y[i] < 0 || ds->y[i] >= ds->n_classes);
        if (!bad && ds->height)
            bad = (int64_t)ds->height * ds->width * ds->channels != ds->d;
    }
    if (bad) {
        fprintf(stderr, "fuzz: inconsistent dataset after %s: n=%lld d=%lld classes=%d\n",
                ok ? "success" : "failure", (long long)ds->n, (long long)ds->d, ds->n_classes);
        abort();
    }
}

#endif
