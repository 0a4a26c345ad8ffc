/* Helpers shared by the tests: a scratch directory, the datasets folder, small file writers. */
#ifndef GX_TEST_UTIL_H
#define GX_TEST_UTIL_H

#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

/* The datasets folder (GENXFER_DATA, else ../shared/data), or NULL when absent. */
static inline const char *test_data_dir(void) {
    const char *d = getenv("GENXFER_DATA");
    struct stat st;
    if (d && *d && stat(d, &st) == 0) return d;
    if (stat("../shared/data", &st) == 0) return "../shared/data";
    return NULL;
}

static char test_tmpdir_path[512];

static inline void test_tmpdir_remove(void) {
    char cmd[600];
    if (getenv("GX_KEEP_TMP")) return;
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", test_tmpdir_path);
    if (system(cmd) != 0) fprintf(stderr, "could not remove %s\n", test_tmpdir_path);
}

/* A fresh scratch directory under $TMPDIR (or /tmp), made once per test program and removed at
 * exit (kept when GX_KEEP_TMP is set). */
static inline const char *test_tmpdir(void) {
    if (!test_tmpdir_path[0]) {
        const char *t = getenv("TMPDIR");
        snprintf(test_tmpdir_path, sizeof test_tmpdir_path, "%s/genxfer-test-XXXXXX",
                 t && *t ? t : "/tmp");
        if (!mkdtemp(test_tmpdir_path)) { perror("mkdtemp"); exit(1); }
        atexit(test_tmpdir_remove);
    }
    return test_tmpdir_path;
}

/* path of `name` in the scratch directory (a static buffer per call site is the caller's). */
static inline char *test_path(char *buf, size_t n, const char *name) {
    snprintf(buf, n, "%s/%s", test_tmpdir(), name);
    return buf;
}

static inline void test_write_file(const char *path, const void *data, size_t n) {
    FILE *f = fopen(path, "wb");
    if (!f || fwrite(data, 1, n, f) != n || fclose(f) != 0) { perror(path); exit(1); }
}

static inline void test_write_text(const char *path, const char *fmt, ...) {
    FILE *f = fopen(path, "w");
    if (!f) { perror(path); exit(1); }
    va_list ap;
    va_start(ap, fmt);
    vfprintf(f, fmt, ap);
    va_end(ap);
    if (fclose(f) != 0) { perror(path); exit(1); }
}

/* Runs a shell command and returns its exit status (or -1). Output goes to out_path if not NULL. */
static inline int test_run(const char *cmd, const char *out_path) {
    char full[4096];
    if (out_path) snprintf(full, sizeof full, "%s > '%s' 2>&1", cmd, out_path);
    else snprintf(full, sizeof full, "%s > /dev/null 2>&1", cmd);
    int rc = system(full);
    if (rc == -1) return -1;
    return WIFEXITED(rc) ? WEXITSTATUS(rc) : -1;
}

#endif
