/* Tests for io/atomic_file: commit, replace, abort, failures (missing or unwritable directory,
 * a write error mid-file), no temporary files left behind, permissions of the result. */
#include <dirent.h>
#include <errno.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>

#include <cmocka.h>

#include "io/atomic_file.h"
#include "test_fs_util.h"




/* Whole file into buf (NUL-terminated); returns the length or -1. */
static long slurp(const char *path, char *buf, size_t cap) {
    FILE *f = fopen(path, "rb");
    if (!f) return -1;
    size_t n = fread(buf, 1, cap - 1, f);
    fclose(f);
    buf[n] = '\0';
    return (long)n;
}

static void test_commit_writes_file(void **state) {
    (void)state;
    char dir[600], path[700], buf[256];
    fresh_dir(dir, sizeof dir, "commit");
    snprintf(path, sizeof path, "%s/out.csv", dir);
    gx_error err = {{0}};
    gx_atomic_file *af = NULL;
    assert_int_equal(gx_atomic_open(path, &af, &err), 0);
    assert_non_null(af);
    assert_string_equal(gx_atomic_path(af), path);
    /* The temporary file exists next to the target while writing; the target does not. */
    assert_int_equal(count_entries(dir), 1);
    assert_int_equal(access(path, F_OK), -1);
    assert_int_equal(gx_atomic_printf(af, &err, "x,%s\n", "y"), 0);
    assert_int_equal(gx_atomic_write(af, "1,2\n", 4, &err), 0);
    assert_int_equal(gx_atomic_write(af, NULL, 0, &err), 0);
    fprintf(gx_atomic_stream(af), "%d,%d\n", 3, 4);
    assert_int_equal(gx_atomic_commit(af, &err), 0);
    assert_int_equal(slurp(path, buf, sizeof buf), 12);
    assert_string_equal(buf, "x,y\n1,2\n3,4\n");
    assert_int_equal(count_entries(dir), 1); /* only the target: no temporary file left */
}

static void test_replace_and_mode(void **state) {
    (void)state;
    char dir[600], path[700], buf[256];
    fresh_dir(dir, sizeof dir, "replace");
    snprintf(path, sizeof path, "%s/metrics.json", dir);
    test_write_text(path, "old contents that are longer than the new ones\n");
    mode_t old_mask = umask(027);
    gx_error err = {{0}};
    int rc = gx_atomic_write_file(path, "{}\n", 3, &err);
    umask(old_mask);
    assert_int_equal(rc, 0);
    assert_int_equal(slurp(path, buf, sizeof buf), 3);
    assert_string_equal(buf, "{}\n");
    struct stat st;
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0640); /* 0666 & ~umask, not mkstemp's 0600 */
    assert_int_equal(count_entries(dir), 1);
}

static void test_abort_leaves_target_untouched(void **state) {
    (void)state;
    char dir[600], path[700], path2[700], buf[256];
    fresh_dir(dir, sizeof dir, "abort");
    snprintf(path, sizeof path, "%s/model.safetensors", dir);
    test_write_text(path, "precious");
    gx_error err = {{0}};
    gx_atomic_file *af = NULL;
    assert_int_equal(gx_atomic_open(path, &af, &err), 0);
    assert_int_equal(gx_atomic_printf(af, &err, "garbage %d", 42), 0);
    assert_int_equal(count_entries(dir), 2);
    gx_atomic_abort(af);
    assert_int_equal(slurp(path, buf, sizeof buf), 8);
    assert_string_equal(buf, "precious");
    assert_int_equal(count_entries(dir), 1);

    /* Aborting a new file leaves nothing at all. */
    snprintf(path2, sizeof path2, "%s/new.csv", dir);
    assert_int_equal(gx_atomic_open(path2, &af, &err), 0);
    gx_atomic_abort(af);
    assert_int_equal(access(path2, F_OK), -1);
    assert_int_equal(count_entries(dir), 1);
    gx_atomic_abort(NULL);
}

static void test_relative_path(void **state) {
    (void)state;
    char dir[600], cwd[1024], buf[64];
    fresh_dir(dir, sizeof dir, "relative");
    assert_non_null(getcwd(cwd, sizeof cwd));
    assert_int_equal(chdir(dir), 0);
    gx_error err = {{0}};
    int rc = gx_atomic_write_file("plain.txt", "abc", 3, &err);
    long n = slurp("plain.txt", buf, sizeof buf);
    assert_int_equal(chdir(cwd), 0);
    assert_int_equal(rc, 0);
    assert_int_equal(n, 3);
    assert_int_equal(count_entries(dir), 1);
}

static void test_missing_directory(void **state) {
    (void)state;
    char path[700];
    test_path(path, sizeof path, "no/such/dir/out.csv");
    gx_error err = {{0}};
    gx_atomic_file *af = (gx_atomic_file *)&err; /* must be reset to NULL */
    assert_int_equal(gx_atomic_open(path, &af, &err), -1);
    assert_null(af);
    assert_msg_contains(err.msg, path);
    assert_msg_contains(err.msg, strerror(ENOENT));
    assert_int_equal(gx_atomic_write_file(path, "x", 1, &err), -1);
    assert_msg_contains(err.msg, path);
}

static void test_not_a_file_name(void **state) {
    (void)state;
    char path[700];
    gx_error err = {{0}};
    gx_atomic_file *af;
    test_path(path, sizeof path, "trailing/");
    assert_int_equal(gx_atomic_open(path, &af, &err), -1);
    assert_msg_contains(err.msg, "not a file name");
    assert_int_equal(gx_atomic_open("", &af, &err), -1);
    assert_null(af);
}

static void test_unwritable_directory(void **state) {
    (void)state;
    if (geteuid() == 0) skip(); /* root writes anywhere */
    char dir[600], path[700], buf[64];
    fresh_dir(dir, sizeof dir, "readonly");
    snprintf(path, sizeof path, "%s/out.csv", dir);
    test_write_text(path, "keep");
    assert_int_equal(chmod(dir, 0555), 0);
    gx_error err = {{0}};
    gx_atomic_file *af;
    int rc = gx_atomic_open(path, &af, &err);
    chmod(dir, 0755);
    assert_int_equal(rc, -1);
    assert_msg_contains(err.msg, path);
    assert_msg_contains(err.msg, strerror(EACCES));
    assert_int_equal(slurp(path, buf, sizeof buf), 4);
    assert_string_equal(buf, "keep");
}

/* A write error in the middle of the file (the file-size limit stands in for a full disk): the
 * commit fails with the path and strerror, the old target stays, no temporary file is left. Runs
 * in a child process so that the limit does not touch the test log. */
static void test_write_error_mid_file(void **state) {
    (void)state;
    char dir[600], path[700], buf[64], msg[sizeof(gx_error)];
    fresh_dir(dir, sizeof dir, "fsize");
    snprintf(path, sizeof path, "%s/big.bin", dir);
    test_write_text(path, "old");
    char msg_path[700];
    snprintf(msg_path, sizeof msg_path, "%s/../fsize-msg.txt", dir);
    fflush(stdout);
    fflush(stderr);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        signal(SIGXFSZ, SIG_IGN);
        struct rlimit rl;
        getrlimit(RLIMIT_FSIZE, &rl);
        rl.rlim_cur = 16384;
        if (setrlimit(RLIMIT_FSIZE, &rl) != 0) _exit(10);
        static char block[65536];
        memset(block, 'z', sizeof block);
        gx_error e = {{0}};
        gx_atomic_file *af;
        if (gx_atomic_open(path, &af, &e) != 0) _exit(11);
        int failed_write = 0;
        for (int i = 0; i < 8; i++)
            if (gx_atomic_write(af, block, sizeof block, &e) != 0) failed_write = 1;
        int rc = gx_atomic_commit(af, &e);
        rl.rlim_cur = rl.rlim_max;
        setrlimit(RLIMIT_FSIZE, &rl);
        FILE *f = fopen(msg_path, "w");
        if (f) fputs(e.msg, f), fclose(f);
        _exit(rc == -1 && failed_write ? 0 : 12);
    }
    int status = 0;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 0);
    assert_true(slurp(msg_path, msg, sizeof msg) > 0);
    assert_msg_contains(msg, path);
    assert_msg_contains(msg, strerror(EFBIG));
    assert_int_equal(slurp(path, buf, sizeof buf), 3);
    assert_string_equal(buf, "old");
    assert_int_equal(count_entries(dir), 1);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_commit_writes_file),
        cmocka_unit_test(test_replace_and_mode),
        cmocka_unit_test(test_abort_leaves_target_untouched),
        cmocka_unit_test(test_relative_path),
        cmocka_unit_test(test_missing_directory),
        cmocka_unit_test(test_not_a_file_name),
        cmocka_unit_test(test_unwritable_directory),
        cmocka_unit_test(test_write_error_mid_file),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
