/* `make install` into a scratch prefix, then what a user does with it: pkg-config, the example
 * program built against the installed header and library (shared, then static), the shared
 * library's exports, DESTDIR staging and `make uninstall`.
 *
 * It installs the plain build (build/), never the sanitizer build, and does not rebuild it: when
 * build/ is not up to date (e.g. only `make SAN=1 test-san` was run) the tests are skipped with a
 * message. The nested make gets none of the outer make's flags (SAN=1, -j). */
#include "test_cli_util.h"

#include <ctype.h>

#include "test_fs_util.h"

#include "genxfer.h"

static char prefix[600], log_path[600];
static int ready;

/* Runs make at the project root with the plain build's settings; output to log_path. */
static int make(const char *fmt, ...) {
    char args[1500], cmd[2000];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(args, sizeof args, fmt, ap);
    va_end(ap);
    snprintf(cmd, sizeof cmd,
             "env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL -u MAKEOVERRIDES make --no-print-directory "
             "SAN= BUILD=build %s", args);
    return test_run(cmd, log_path);
}

static const char *cc(void) {
    const char *c = getenv("CC");
    return c && *c ? c : "cc";
}

static int setup(void **state) {
    (void)state;
    test_path(log_path, sizeof log_path, "make.log");
    if (make("-q build/libgenxfer.a build/libgenxfer.so.%s build/genxfer", GENXFER_VERSION) != 0) {
        fprintf(stderr, "test_install: the plain build (build/) is not up to date; run `make` "
                        "first. Skipping.\n");
        return 0;
    }
    test_path(prefix, sizeof prefix, "prefix");
    if (make("install PREFIX='%s'", prefix) != 0) {
        char *log = slurp(log_path);
        fprintf(stderr, "make install failed:\n%s\n", log);
        free(log);
        return 0;
    }
    ready = 1;
    return 0;
}

static void installed(const char *rel) {
    char path[800];
    struct stat st;
    snprintf(path, sizeof path, "%s/%s", prefix, rel);
    if (stat(path, &st) != 0 || !S_ISREG(st.st_mode)) fail_msg("not installed: %s", path);
}

static void test_installed_files(void **s) {
    (void)s;
    if (!ready) skip();
    installed("bin/genxfer");
    installed("lib/libgenxfer.a");
    installed("lib/libgenxfer.so");          /* symlinks to the versioned file */
    installed("lib/libgenxfer.so.0");
    installed("lib/libgenxfer.so." GENXFER_VERSION);
    installed("include/genxfer.h");
    installed("lib/pkgconfig/genxfer.pc");
    installed("share/man/man1/genxfer.1");
    char cmd[800], out[600];
    snprintf(cmd, sizeof cmd, "'%s/bin/genxfer' --version", prefix);
    assert_int_equal(test_run(cmd, test_path(out, sizeof out, "version.txt")), 0);
    char *text = slurp(out);
    assert_string_equal(text, "genxfer " GENXFER_VERSION "\n");
    free(text);
}

/* Output of `PKG_CONFIG_PATH=prefix/lib/pkgconfig pkg-config ARGS genxfer` (caller frees). */
static char *pkg_config(const char *args) {
    char cmd[1200], out[600];
    snprintf(cmd, sizeof cmd, "PKG_CONFIG_PATH='%s/lib/pkgconfig' pkg-config %s genxfer", prefix,
             args);
    int rc = test_run(cmd, test_path(out, sizeof out, "pkg-config.txt"));
    char *text = slurp(out);
    if (rc != 0) fail_msg("pkg-config %s failed: %s", args, text);
    return text;
}

static void test_pkg_config(void **s) {
    (void)s;
    if (!ready) skip();
    char *v = pkg_config("--modversion");
    assert_string_equal(v, GENXFER_VERSION "\n");
    free(v);
    char want[700];
    char *cflags = pkg_config("--cflags");
    snprintf(want, sizeof want, "-I%s/include", prefix);
    assert_contains(cflags, want);
    free(cflags);
    char *libs = pkg_config("--libs");
    snprintf(want, sizeof want, "-L%s/lib -lgenxfer", prefix);
    assert_contains(libs, want);
    free(libs);
    char *stat_libs = pkg_config("--static --libs");
    static const char *deps[] = {"-lopenblas", "-lhdf5", "-lcjson", "-lcairo", "-lz", "-lgomp",
                                 "-lm"};
    for (size_t i = 0; i < sizeof deps / sizeof *deps; i++) assert_contains(stat_libs, deps[i]);
    free(stat_libs);
}

/* The functions declared in the installed header: lines at column 0 that declare gx_NAME(. */
static int header_functions(char names[][64], int max) {
    char path[700];
    snprintf(path, sizeof path, "%s/include/genxfer.h", prefix);
    char *text = slurp(path);
    int n = 0;
    for (char *line = text; line && *line; line = strchr(line, '\n') ? strchr(line, '\n') + 1 : NULL) {
        if (!islower((unsigned char)*line) || !strncmp(line, "typedef", 7)) continue;
        char *paren = strchr(line, '('), *eol = strchr(line, '\n');
        if (!paren || (eol && paren > eol)) continue;
        char *start = paren;
        while (start > line && (isalnum((unsigned char)start[-1]) || start[-1] == '_')) start--;
        if (strncmp(start, "gx_", 3) || n == max) continue;
        snprintf(names[n++], 64, "%.*s", (int)(paren - start), start);
    }
    free(text);
    return n;
}

/* libgenxfer.so exports the header's functions, and nothing else. */
static void test_shared_library_exports(void **s) {
    (void)s;
    if (!ready) skip();
    static char names[64][64];
    int n = header_functions(names, 64);
    assert_true(n >= 20);
    char cmd[900], out[600];
    snprintf(cmd, sizeof cmd, "nm -D --defined-only '%s/lib/libgenxfer.so' | awk '$2 == \"T\" { print $3 }'",
             prefix);
    assert_int_equal(test_run(cmd, test_path(out, sizeof out, "nm.txt")), 0);
    char *text = slurp(out), *syms = malloc(strlen(text) + 2);
    assert_non_null(syms);
    sprintf(syms, "\n%s", text); /* every name between newlines */
    free(text);
    int exported = 0;
    for (char *p = syms + 1; *p; p++) exported += *p == '\n';
    for (int i = 0; i < n; i++) {
        char line[80];
        snprintf(line, sizeof line, "\n%.64s\n", names[i]);
        if (!strstr(syms, line))
            fail_msg("libgenxfer.so does not export %s (see src/api/libgenxfer.map)", names[i]);
    }
    if (exported != n) fail_msg("libgenxfer.so exports %d functions, the header declares %d:\n%s",
                                exported, n, syms);
    free(syms);
}

/* Builds examples/train_predict.c with these compile and link flags, runs it and checks its output. */
static void build_and_run_example(const char *exe_name, const char *link_flags, int shared) {
    char exe[600], out[600], cmd[3000];
    test_path(exe, sizeof exe, exe_name);
    snprintf(cmd, sizeof cmd,
             "export PKG_CONFIG_PATH='%s/lib/pkgconfig'; %s -std=c11 -Wall -Wextra -Werror "
             "-o '%s' examples/train_predict.c %s",
             prefix, cc(), exe, link_flags);
    test_path(out, sizeof out, "example.txt");
    if (test_run(cmd, out) != 0) {
        char *log = slurp(out);
        fail_msg("building the example failed: %s\n%s", cmd, log);
    }
    snprintf(cmd, sizeof cmd, "TMPDIR='%s' '%s'", test_tmpdir(), exe);
    int rc = test_run(cmd, out);
    char *text = slurp(out);
    if (rc != 0) fail_msg("the example failed (exit %d):\n%s", rc, text);
    assert_contains(text, "classes: red green blue");
    assert_contains(text, "reloaded dvt model: the same predictions");
    const char *acc = strstr(text, "accuracy ");
    assert_non_null(acc);
    double a = strtod(acc + 9, NULL);
    if (!(a > 0.6)) fail_msg("accuracy %g (chance is 1/3):\n%s", a, text);
    free(text);
    /* linked against the shared library, or not at all */
    snprintf(cmd, sizeof cmd, "readelf -d '%s' | grep -q 'libgenxfer\\.so\\.0'", exe);
    assert_int_equal(test_run(cmd, NULL), shared ? 0 : 1);
}

static void test_example_shared(void **s) {
    (void)s;
    if (!ready) skip();
    char flags[800];
    snprintf(flags, sizeof flags, "$(pkg-config --cflags --libs genxfer) -Wl,-rpath,'%s/lib'",
             prefix);
    build_and_run_example("train_predict", flags, 1);
}

/* Static: libgenxfer.a in place of -lgenxfer, the rest from pkg-config --static. */
static void test_example_static(void **s) {
    (void)s;
    if (!ready) skip();
    char flags[800];
    snprintf(flags, sizeof flags,
             "$(pkg-config --cflags genxfer) $(pkg-config --static --libs genxfer | "
             "sed 's|-lgenxfer|%s/lib/libgenxfer.a|')", prefix);
    build_and_run_example("train_predict_static", flags, 0);
}

/* DESTDIR stages the files under the final PREFIX, which is what genxfer.pc names; uninstall
 * with the same variables removes them all. */
static void test_destdir_and_uninstall(void **s) {
    (void)s;
    if (!ready) skip();
    char stage[600], pc[800], cmd[800], out[600];
    test_path(stage, sizeof stage, "stage");
    assert_int_equal(make("install DESTDIR='%s' PREFIX=/opt/genxfer", stage), 0);
    snprintf(pc, sizeof pc, "%s/opt/genxfer/lib/pkgconfig/genxfer.pc", stage);
    char *text = slurp(pc);
    assert_contains(text, "prefix=/opt/genxfer\n");
    assert_contains(text, "libdir=/opt/genxfer/lib\n");
    assert_null(strstr(text, stage));
    free(text);
    snprintf(cmd, sizeof cmd, "find '%s' ! -type d | wc -l", stage);
    assert_int_equal(test_run(cmd, test_path(out, sizeof out, "count.txt")), 0);
    text = slurp(out);
    assert_int_equal(atoi(text), 8); /* 6 files and 2 symlinks */
    free(text);
    assert_int_equal(make("uninstall DESTDIR='%s' PREFIX=/opt/genxfer", stage), 0);
    assert_int_equal(test_run(cmd, out), 0);
    text = slurp(out);
    assert_int_equal(atoi(text), 0);
    free(text);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_installed_files),
        cmocka_unit_test(test_pkg_config),
        cmocka_unit_test(test_shared_library_exports),
        cmocka_unit_test(test_example_shared),
        cmocka_unit_test(test_example_static),
        cmocka_unit_test(test_destdir_and_uninstall),
    };
    return cmocka_run_group_tests(tests, setup, NULL);
}
