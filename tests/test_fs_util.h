/* Assertions and file-system helpers shared by the tests (include after cmocka.h). */
#ifndef GX_TEST_FS_UTIL_H
#define GX_TEST_FS_UTIL_H

#include <dirent.h>
#include <math.h>
#include <string.h>
#include <sys/stat.h>

#include "test_util.h"

/* Fails the test unless the error message msg contains sub. */
#define assert_msg_contains(msg, sub)                                                  \
    do {                                                                               \
        if (!strstr((msg), (sub))) {                                                   \
            print_error("message \"%s\" does not contain \"%s\"\n", (msg), (sub));     \
            fail();                                                                    \
        }                                                                              \
    } while (0)

/* |a - b| <= tol, failing on NaN too (needs <math.h>). */
#define assert_near(a, b, tol)                                                                   \
    do {                                                                                         \
        double a_ = (a), b_ = (b), t_ = (tol);                                                   \
        if (!(fabs(a_ - b_) <= t_))                                                              \
            fail_msg("%s = %.9g, expected %.9g (tol %g)", #a, a_, b_, t_);                       \
    } while (0)

/* A fresh directory under the scratch directory for one test. */
static inline const char *fresh_dir(char *buf, size_t n, const char *name) {
    test_path(buf, n, name);
    mkdir(buf, 0777);
    return buf;
}

/* Number of entries of dir other than "." and ".." (temporary files are dot files). */
static inline int count_entries(const char *dir) {
    DIR *d = opendir(dir);
    assert_non_null(d);
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d)))
        if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0) n++;
    closedir(d);
    return n;
}

#endif
