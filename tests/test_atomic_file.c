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
#include "io/run_lock.h"
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

/* A symbolic link stays a link and its target gets the new contents; a dangling one creates its
 * target; a directory is an error; nothing temporary is left. */
static void test_symlink_written_through(void **state) {
    (void)state;
    char dir[600], link[700], target[700], buf[256];
    fresh_dir(dir, sizeof dir, "symlink");
    snprintf(target, sizeof target, "%s/real.csv", dir);
    snprintf(link, sizeof link, "%s/link.csv", dir);
    test_write_text(target, "old\n");
    assert_int_equal(symlink("real.csv", link), 0);
    gx_error err = {{0}};
    assert_int_equal(gx_atomic_write_file(link, "new\n", 4, &err), 0);
    struct stat st;
    assert_int_equal(lstat(link, &st), 0);
    assert_true(S_ISLNK(st.st_mode));
    assert_int_equal(slurp(target, buf, sizeof buf), 4);
    assert_string_equal(buf, "new\n");
    assert_int_equal(count_entries(dir), 2);
    snprintf(link, sizeof link, "%s/dangling.csv", dir);
    assert_int_equal(symlink("later.csv", link), 0);
    assert_int_equal(gx_atomic_write_file(link, "x\n", 2, &err), 0);
    snprintf(target, sizeof target, "%s/later.csv", dir);
    assert_int_equal(slurp(target, buf, sizeof buf), 2);
    assert_int_equal(lstat(link, &st), 0);
    assert_true(S_ISLNK(st.st_mode));
    gx_atomic_file *af;
    assert_int_equal(gx_atomic_open(dir, &af, &err), -1);
    assert_msg_contains(err.msg, "is a directory");
}

/* A FIFO is written into, not replaced: its reader gets the data. */
static void test_fifo_written_through(void **state) {
    (void)state;
    char dir[600], fifo[700], got[700], buf[256];
    fresh_dir(dir, sizeof dir, "fifo");
    snprintf(fifo, sizeof fifo, "%s/pipe", dir);
    snprintf(got, sizeof got, "%s/got", dir);
    assert_int_equal(mkfifo(fifo, 0600), 0);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) { /* the reader */
        FILE *in = fopen(fifo, "rb"), *out = fopen(got, "wb");
        if (!in || !out) _exit(1);
        size_t n = fread(buf, 1, sizeof buf, in);
        fwrite(buf, 1, n, out);
        fclose(out);
        _exit(0);
    }
    gx_error err = {{0}};
    assert_int_equal(gx_atomic_write_file(fifo, "through\n", 8, &err), 0);
    int status;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    struct stat st;
    assert_int_equal(lstat(fifo, &st), 0);
    assert_true(S_ISFIFO(st.st_mode));
    assert_int_equal(slurp(got, buf, sizeof buf), 8);
    assert_string_equal(buf, "through\n");
}

/* "-" is standard output (left open). */
static void test_dash_is_stdout(void **state) {
    (void)state;
    char dir[600], path[700], buf[256];
    fresh_dir(dir, sizeof dir, "dash");
    snprintf(path, sizeof path, "%s/captured", dir);
    fflush(stdout);
    int saved = dup(STDOUT_FILENO);
    FILE *cap = fopen(path, "wb");
    assert_non_null(cap);
    assert_true(dup2(fileno(cap), STDOUT_FILENO) >= 0);
    gx_error err = {{0}};
    int rc = gx_atomic_write_file("-", "to stdout\n", 10, &err);
    fflush(stdout);
    dup2(saved, STDOUT_FILENO);
    close(saved);
    fclose(cap);
    assert_int_equal(rc, 0);
    assert_int_equal(slurp(path, buf, sizeof buf), 10);
    assert_string_equal(buf, "to stdout\n");
    assert_int_equal(access("-", F_OK), -1); /* no file named "-" */
}

/* The run folder's lock: a second holder fails with one line naming the pid; after release it is
 * taken again; taking it removes the stale temporary files of atomic writes, and nothing else. */
static void test_run_lock(void **state) {
    (void)state;
    char dir[600], path[700];
    fresh_dir(dir, sizeof dir, "lock");
    const char *names[] = {".model.safetensors.tmp.Ab3xZ9", "keep.tmp.Ab3xZ9", ".x.tmp.abc",
                           ".metrics.json.tmp.q1w2e3"};
    for (int i = 0; i < 4; i++) {
        snprintf(path, sizeof path, "%s/%s", dir, names[i]);
        test_write_text(path, "partial");
    }
    gx_run_lock a, b;
    gx_error err = {{0}};
    assert_int_equal(gx_run_lock_take(dir, &a, &err), 0);
    assert_int_equal(a.removed_tmp, 2);
    snprintf(path, sizeof path, "%s/keep.tmp.Ab3xZ9", dir);
    assert_int_equal(access(path, F_OK), 0);
    snprintf(path, sizeof path, "%s/.x.tmp.abc", dir);
    assert_int_equal(access(path, F_OK), 0);
    snprintf(path, sizeof path, "%s/.model.safetensors.tmp.Ab3xZ9", dir);
    assert_int_equal(access(path, F_OK), -1);
    assert_int_equal(gx_run_lock_take(dir, &b, &err), -1);
    assert_null(strchr(err.msg, '\n'));
    char pid[32];
    snprintf(pid, sizeof pid, "(pid %ld)", (long)getpid());
    assert_msg_contains(err.msg, "another genxfer run");
    assert_msg_contains(err.msg, pid);
    gx_run_lock_release(&a);
    gx_run_lock_release(&a); /* twice: a no-op */
    assert_int_equal(gx_run_lock_take(dir, &b, &err), 0);
    gx_run_lock_release(&b);
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
        cmocka_unit_test(test_symlink_written_through),
        cmocka_unit_test(test_fifo_written_through),
        cmocka_unit_test(test_dash_is_stdout),
        cmocka_unit_test(test_run_lock),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
