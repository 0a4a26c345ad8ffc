/* Crash-safe training with the genxfer tool: a run killed with SIGKILL or stopped by SIGINT resumes
 * from its checkpoint to the same model file, byte for byte, as an uninterrupted run; a deleted or
 * changed input, a full disk, an unwritable output folder, absurd sizes and a diverging loss end
 * with one error line and exit 1, the last checkpoint intact and no temporary file left; numpy
 * reads the checkpoint. The full-disk and read-only cases mount a small tmpfs in a private mount
 * namespace (root, as the tests run here); they are skipped where that is not allowed. */
#define _GNU_SOURCE
#include "test_cli_util.h"

#include <cJSON.h>
#include <errno.h>
#include <sched.h>
#include <signal.h>
#include <sys/mount.h>
#include <sys/wait.h>
#include <time.h>

#include "test_fs_util.h"
#include "test_toy_util.h"

#include "io/safetensors.h"
#include "models/checkpoint.h"

enum { N = 300, DIM = 6, K = 3, EPOCHS = 6 };

/* A small DVT model on N rows: 29 steps per epoch; checkpoints once per epoch by default. */
#define MODEL "--preset dvt --enc 16,8 --dec 8 --z 2 --batch 10 --batch-unlabelled 10 --threads 1 --quiet"

static char xp[600], yp[600], ref_dir[600];
static int scratch_mounted;

/* ---- a private tmpfs ---- */

/* 1 when this process has its own mount namespace (mounts made now vanish with it). */
static int private_mounts(void) {
    static int state;
    if (!state)
        state = unshare(CLONE_NEWNS) == 0 && mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) == 0
                    ? 1 : -1;
    return state > 0;
}

static int mount_tmpfs(const char *dir, long kbytes) {
    char opt[64];
    snprintf(opt, sizeof opt, "size=%ldk,mode=0755", kbytes);
    mkdir(dir, 0755);
    return mount("tmpfs", dir, "tmpfs", 0, opt);
}

/* The domain spec of data file x. */
static const char *domain(const char *x) {
    static char spec[1400];
    snprintf(spec, sizeof spec, "--domain 'npy:%s,labels=%s,k=10,val=5'", x, yp);
    return spec;
}

static void write_toy(const char *x_path, float shift) {
    static float x[N * DIM];
    static int32_t y[N];
    toy_make(x, y, N, DIM, K, 5.0f, 0, 21);
    x[7] += shift;
    toy_write_npy(x_path, yp, x, y, N, DIM);
}

/* The data, and the uninterrupted run the resumed ones are compared with. */
static int setup(void **state) {
    (void)state;
    /* the scratch folder in memory where allowed: the runs fsync every file they write, which
     * costs more than the training on a loaded disk (kills and signals do not need the disk) */
    if (private_mounts() && mount_tmpfs(test_tmpdir(), 128 * 1024) == 0) scratch_mounted = 1;
    test_path(yp, sizeof yp, "y.npy");
    write_toy(test_path(xp, sizeof xp, "x.npy"), 0);
    test_path(ref_dir, sizeof ref_dir, "ref");
    if (run("train " MODEL " %s --epochs %d --out '%s'", domain(xp), EPOCHS, ref_dir) != 0) {
        char *err = slurp(ERR);
        fprintf(stderr, "reference training failed: %s\n", err);
        free(err);
        return -1;
    }
    return 0;
}

static int teardown(void **state) {
    (void)state;
    if (scratch_mounted) umount2(test_tmpdir(), MNT_DETACH);
    return 0;
}

static char *file_in(char *buf, size_t n, const char *dir, const char *name) {
    snprintf(buf, n, "%s/%s", dir, name);
    return buf;
}

/* dir/model.safetensors is byte for byte the reference's. */
static void assert_same_model(const char *dir) {
    char a[700], b[700], cmd[1500];
    snprintf(cmd, sizeof cmd, "cmp '%s' '%s'", file_in(a, sizeof a, dir, "model.safetensors"),
             file_in(b, sizeof b, ref_dir, "model.safetensors"));
    assert_int_equal(test_run(cmd, NULL), 0);
}

/* Starts `genxfer ARGS` in the background (its own pid: sh execs it), output to OUT and ERR. */
static pid_t spawn(const char *fmt, ...) {
    char args[1800], cmd[3500];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(args, sizeof args, fmt, ap);
    va_end(ap);
    test_path(OUT, sizeof OUT, "stdout.txt");
    test_path(ERR, sizeof ERR, "stderr.txt");
    snprintf(cmd, sizeof cmd, "exec '%s' %s >'%s' 2>'%s'", bin(), args, OUT, ERR);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        execl("/bin/sh", "sh", "-c", cmd, (char *)NULL);
        _exit(127);
    }
    return pid;
}

/* Waits (up to 20 s) until path exists; fails if the process ended first. */
static void wait_for(const char *path, pid_t pid) {
    struct timespec ms = {0, 1000000};
    for (int i = 0; i < 20000; i++) {
        if (access(path, F_OK) == 0) return;
        int status;
        if (waitpid(pid, &status, WNOHANG) == pid) fail_msg("the run ended before %s appeared", path);
        nanosleep(&ms, NULL);
    }
    fail_msg("%s did not appear", path);
}

/* The checkpoint's progress field `key`. */
static long progress(const char *dir, const char *key) {
    char path[700];
    gx_error err;
    gx_st_file *f;
    assert_int_equal(gx_ckpt_open(file_in(path, sizeof path, dir, GX_CKPT_FILE), &f, &err), 0);
    cJSON *p = cJSON_Parse(gx_st_metadata(f, "progress"));
    assert_non_null(p);
    long v = (long)cJSON_GetObjectItem(p, key)->valuedouble;
    cJSON_Delete(p);
    gx_st_close(f);
    return v;
}

/* The names in dir, sorted, one per line (temporary files included: they are dot files). */
/* The names in dir but the run lock (io/run_lock.h), which every run folder has. */
static char *listing(const char *dir) {
    char cmd[800], out[600];
    snprintf(cmd, sizeof cmd, "ls -A -I .genxfer.lock '%s'", dir);
    assert_int_equal(test_run(cmd, test_path(out, sizeof out, "ls.txt")), 0);
    return slurp(out);
}

/* A checkpoint and the folder it is in are the same after a failed command as before. */
typedef struct snapshot {
    char *bytes, *names;
} snapshot;

static snapshot take(const char *dir) {
    char path[700];
    snapshot s = {slurp(file_in(path, sizeof path, dir, GX_CKPT_FILE)), listing(dir)};
    assert_true(strlen(s.names) > 0);
    return s;
}

static void assert_unchanged(const char *dir, snapshot *s) {
    snapshot now = take(dir);
    char path[700];
    FILE *f = fopen(file_in(path, sizeof path, dir, GX_CKPT_FILE), "rb");
    assert_non_null(f);
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fclose(f);
    assert_true(n > 1000);
    assert_memory_equal(now.bytes, s->bytes, (size_t)n);
    assert_string_equal(now.names, s->names);
    free(now.bytes);
    free(now.names);
    free(s->bytes);
    free(s->names);
}

/* Removes the last column (the epoch's seconds) of every line of a CSV text, in place. */
static void strip_seconds(char *text) {
    char *w = text;
    for (char *line = text; *line;) {
        size_t len = strcspn(line, "\n");
        char *comma = memrchr(line, ',', len);
        size_t keep = comma ? (size_t)(comma - line) : len;
        memmove(w, line, keep);
        w += keep;
        *w++ = '\n';
        line += len + (line[len] == '\n');
    }
    *w = '\0';
}

/* Killed with SIGKILL after its first checkpoint: resuming fails cleanly while an input is missing
 * or changed (the checkpoint untouched), then, with the input back, ends with the reference's
 * model file. */
static void test_sigkill_then_resume(void **s) {
    (void)s;
    char dir[600], away[600], ckpt[700];
    test_path(dir, sizeof dir, "killed");
    test_path(away, sizeof away, "x.npy.away");
    pid_t pid = spawn("train " MODEL " %s --epochs %d --out '%s'", domain(xp), EPOCHS, dir);
    wait_for(file_in(ckpt, sizeof ckpt, dir, GX_CKPT_FILE), pid);
    assert_int_equal(kill(pid, SIGKILL), 0);
    int status;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
    long epoch = progress(dir, "epoch");
    print_message("killed; checkpoint at epoch %ld of %d\n", epoch, EPOCHS);
    assert_true(epoch >= 2 && epoch <= EPOCHS); /* written, training not over */

    snapshot snap = take(dir);
    assert_int_equal(rename(xp, away), 0); /* the input deleted */
    assert_one_error_line(run("train --resume '%s' --quiet", dir), "x.npy");
    assert_unchanged(dir, &snap);
    write_toy(xp, 0.5f);                   /* the input changed */
    snap = take(dir);
    assert_one_error_line(run("train --resume '%s' --quiet", dir), "x.npy");
    char *err = slurp(ERR);
    assert_contains(err, "differ from those the run started with");
    free(err);
    assert_unchanged(dir, &snap);
    assert_int_equal(rename(away, xp), 0); /* back as it was */
    /* what a SIGKILL in the middle of a checkpoint write leaves: removed by the resume */
    char stale[700];
    FILE *sf = fopen(file_in(stale, sizeof stale, dir, ".checkpoint.safetensors.tmp.Zq81xP"), "w");
    assert_non_null(sf);
    fputs("half a checkpoint", sf);
    fclose(sf);
    assert_int_equal(run("train --resume '%s' --quiet", dir), 0);
    assert_int_equal(access(stale, F_OK), -1);
    assert_same_model(dir);
    char a[700], b[700];
    char *la = slurp(file_in(a, sizeof a, dir, "train_log.csv"));
    char *lb = slurp(file_in(b, sizeof b, ref_dir, "train_log.csv"));
    size_t lines = 0;
    for (char *p = la; *p; p++) lines += *p == '\n';
    assert_int_equal(lines, EPOCHS + 1); /* one line per epoch, none twice */
    strip_seconds(la);
    strip_seconds(lb);
    assert_string_equal(la, lb);         /* the same losses and accuracies */
    free(la);
    free(lb);
}

/* SIGINT: one line saying how to resume, exit 130, a checkpoint; the resumed run (with another
 * --checkpoint-every, which changes nothing) gives the reference's model file. */
static void test_sigint_then_resume(void **s) {
    (void)s;
    char dir[600], log[700];
    test_path(dir, sizeof dir, "interrupted");
    pid_t pid = spawn("train " MODEL " %s --epochs %d --checkpoint-every 0 --out '%s'", domain(xp),
                      EPOCHS, dir);
    wait_for(file_in(log, sizeof log, dir, "train_log.csv"), pid); /* epoch 1 is over */
    assert_int_equal(kill(pid, SIGINT), 0);
    int status;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 130);
    char *err = slurp(ERR);
    print_message("%s", err);
    assert_true(!strncmp(err, "genxfer: interrupted by SIGINT after step ", 42));
    assert_contains(err, "continue with: genxfer train --resume ");
    assert_true(strchr(err, '\n') == err + strlen(err) - 1); /* one line */
    free(err);
    long step = progress(dir, "step");
    assert_true(step >= 29 && step < 29 * EPOCHS);
    assert_int_equal(run("train --resume '%s' --checkpoint-every 5", dir), 0);
    assert_same_model(dir);
}

static void test_resume_refuses_options(void **s) {
    (void)s;
    assert_int_equal(run("train --resume '%s' --epochs 3", ref_dir), 2);
    char *err = slurp(ERR);
    assert_contains(err, "--epochs cannot be given with --resume");
    free(err);
    assert_int_equal(run("train --resume '%s' %s", ref_dir, domain(xp)), 2);
    assert_int_equal(run("train --resume '%s' --threads 2", ref_dir), 2);
    char missing[600];
    test_path(missing, sizeof missing, "no-such-run");
    assert_one_error_line(run("train --resume '%s'", missing), "no-such-run");
    /* a model file is not a checkpoint */
    char dir[600], cmd[1500];
    fresh_dir(dir, sizeof dir, "not-a-checkpoint");
    snprintf(cmd, sizeof cmd, "cp '%s/model.safetensors' '%s/%s'", ref_dir, dir, GX_CKPT_FILE);
    assert_int_equal(test_run(cmd, NULL), 0);
    assert_one_error_line(run("train --resume '%s'", dir), "not a genxfer training checkpoint");
}

#define BIG "--preset dvt --enc 64,32 --dec 32 --z 4 --batch 10 --batch-unlabelled 10 --threads 1 --quiet"

/* A full disk: a tmpfs with room for one checkpoint but not for the temporary copy of the next.
 * The second checkpoint fails: one line naming the file and ENOSPC, exit 1, the first checkpoint
 * intact, no temporary file. With room again, --resume finishes with the uninterrupted model. */
static void test_full_disk(void **s) {
    (void)s;
    if (!private_mounts()) {
        print_message("no private mount namespace (not root?): skipping\n");
        skip();
    }
    char ref[600], mnt[600], dir[700], path[800];
    test_path(ref, sizeof ref, "ref-big");
    assert_int_equal(run("train " BIG " %s --epochs 3 --out '%s'", domain(xp), ref), 0);
    FILE *f = fopen(file_in(path, sizeof path, ref, GX_CKPT_FILE), "rb");
    assert_non_null(f);
    fseek(f, 0, SEEK_END);
    long pages = (ftell(f) + 4095) / 4096;
    fclose(f);
    assert_true(pages >= 12);
    test_path(mnt, sizeof mnt, "full");
    assert_int_equal(mount_tmpfs(mnt, 4 * (pages + pages / 2 + 3)), 0);
    snprintf(dir, sizeof dir, "%s/run", mnt);
    int rc = run("train " BIG " %s --epochs 3 --out '%s'", domain(xp), dir);
    assert_one_error_line(rc, "checkpoint.safetensors");
    char *err = slurp(ERR);
    print_message("%s", err);
    assert_contains(err, "No space left on device");
    assert_contains(err, "the last checkpoint (step 29) is kept");
    free(err);
    assert_int_equal(progress(dir, "step"), 29);
    char *names = listing(dir);
    assert_string_equal(names, "checkpoint.safetensors\ntrain_log.csv\n");
    free(names);
    assert_int_equal(mount(NULL, mnt, NULL, MS_REMOUNT, "size=8m"), 0);
    assert_int_equal(run("train --resume '%s' --quiet", dir), 0);
    char a[900], b[900], cmd[2000];
    snprintf(cmd, sizeof cmd, "cmp '%s' '%s'", file_in(a, sizeof a, dir, "model.safetensors"),
             file_in(b, sizeof b, ref, "model.safetensors"));
    assert_int_equal(test_run(cmd, NULL), 0);
    assert_int_equal(umount2(mnt, MNT_DETACH), 0);
}

/* An output folder that cannot be written, as root: under /proc, under a regular file, on a
 * read-only file system (refused before any data are read; the checkpoint there untouched). */
static void test_unwritable_out(void **s) {
    (void)s;
    assert_one_error_line(run("train " MODEL " %s --out /proc/genxfer-test/run", domain(xp)),
                          "/proc/genxfer-test/run");
    char under[700];
    snprintf(under, sizeof under, "%s/sub", xp);
    assert_one_error_line(run("train " MODEL " %s --out '%s'", domain(xp), under), "x.npy/sub");
    if (!private_mounts()) {
        print_message("no private mount namespace (not root?): skipping the read-only case\n");
        return;
    }
    char mnt[600], dir[700];
    test_path(mnt, sizeof mnt, "ro");
    assert_int_equal(mount_tmpfs(mnt, 1024), 0);
    snprintf(dir, sizeof dir, "%s/run", mnt);
    assert_int_equal(run("train " MODEL " %s --epochs 1 --out '%s'", domain(xp), dir), 0);
    snapshot snap = take(dir);
    assert_int_equal(mount(NULL, mnt, NULL, MS_REMOUNT | MS_RDONLY, NULL), 0);
    assert_one_error_line(run("train --resume '%s' --quiet", dir), "checkpoint.safetensors");
    char *err = slurp(ERR);
    assert_contains(err, "Read-only file system");
    free(err);
    assert_unchanged(dir, &snap);
    char fresh[800];
    snprintf(fresh, sizeof fresh, "%s/other", mnt);
    assert_one_error_line(run("train " MODEL " %s --out '%s'", domain(xp), fresh), "other");
    assert_int_equal(umount2(mnt, MNT_DETACH), 0);
}

/* Widths that would need terabytes are refused before anything is allocated, naming the size. */
static void test_absurd_sizes(void **s) {
    (void)s;
    char dir[600];
    test_path(dir, sizeof dir, "huge");
    assert_one_error_line(run("train --preset dvt %s --enc 1000000,1000000 --dec 1000000 --z 4096 "
                              "--threads 1 --quiet --out '%s'", domain(xp), dir), "TB of memory");
}

/* A learning rate that makes the loss overflow: the message names the step, the checkpoint of the
 * step before is kept and holds finite values only. */
static void test_nonfinite_loss(void **s) {
    (void)s;
    char dir[600], path[700];
    test_path(dir, sizeof dir, "diverged");
    int rc = run("train " MODEL " %s --epochs 5 --lr 10 --checkpoint-every 1 --out '%s'", domain(xp), dir);
    assert_one_error_line(rc, "not finite");
    char *err = slurp(ERR);
    print_message("%s", err);
    long failed, kept;
    const char *at = strstr(err, ", step ");
    assert_non_null(at);
    failed = strtol(at + 7, NULL, 10);
    at = strstr(err, "the last checkpoint (step ");
    assert_non_null(at);
    kept = strtol(at + 26, NULL, 10);
    free(err);
    assert_true(kept >= 1 && kept == failed - 1);
    assert_int_equal(progress(dir, "step"), kept);
    gx_error e;
    gx_st_file *f;
    assert_int_equal(gx_st_open(file_in(path, sizeof path, dir, GX_CKPT_FILE), &f, &e), 0);
    for (size_t i = 0; i < gx_st_count(f); i++) {
        const gx_st_tensor *t = gx_st_tensor_at(f, i);
        if (t->dtype != GX_ST_F32) continue;
        for (size_t j = 0; j < t->numel; j++) assert_true(isfinite(((const float *)t->data)[j]));
    }
    gx_st_close(f);
}

/* numpy alone reads the checkpoint (safetensors layout): every tensor, the progress metadata, and
 * each batch order is a permutation of its rows. Skipped without a python3 that has numpy
 * ($GENXFER_PYTHON, else Debian's /usr/bin/python3, else python3 on the PATH; the script exits 77
 * where numpy is missing). */
static void test_numpy_reads_checkpoint(void **s) {
    (void)s;
    char script[600], path[700], out[600], cmd[2500];
    test_write_text(test_path(script, sizeof script, "read_ckpt.py"),
                    "import json, struct, sys\n"
                    "try:\n"
                    "    import numpy as np\n"
                    "except ImportError:\n"
                    "    sys.exit(77)\n"
                    "b = open(sys.argv[1], 'rb').read()\n"
                    "n = struct.unpack('<Q', b[:8])[0]\n"
                    "h = json.loads(b[8:8 + n])\n"
                    "meta = h.pop('__metadata__')\n"
                    "data = b[8 + n:]\n"
                    "types = {'F32': '<f4', 'I64': '<i8'}\n"
                    "t = {k: np.frombuffer(data[v['data_offsets'][0]:v['data_offsets'][1]],\n"
                    "     dtype=types[v['dtype']]).reshape(v['shape']) for k, v in h.items()}\n"
                    "perm = all(sorted(set(v.tolist())) == sorted(v.tolist()) for k, v in t.items()\n"
                    "           if k.endswith('.order'))\n"
                    "p = json.loads(meta['progress'])\n"
                    "print(meta['format'], len(t), p['step'], perm, t['rng.noise'].shape[0],\n"
                    "      bool(np.isfinite(t['best.prior.mu']).all()))\n");
    file_in(path, sizeof path, ref_dir, GX_CKPT_FILE);
    test_path(out, sizeof out, "py.txt");
    const char *env = getenv("GENXFER_PYTHON");
    const char *cands[] = {env && *env ? env : "/usr/bin/python3", "/usr/bin/python3", "python3"};
    int rc = 77;
    for (size_t i = 0; i < 3 && (rc == 77 || rc == 127); i++) {
        if (i == 1 && !strcmp(cands[0], cands[1])) continue;
        snprintf(cmd, sizeof cmd, "'%s' '%s' '%s'", cands[i], script, path);
        rc = test_run(cmd, out);
    }
    if (rc == 77 || rc == 127) {
        print_message("no python3 with numpy: skipping\n");
        skip();
    }
    assert_int_equal(rc, 0);
    char *text = slurp(out);
    gx_error e;
    gx_st_file *f;
    assert_int_equal(gx_st_open(path, &f, &e), 0);
    char want[200];
    snprintf(want, sizeof want, "genxfer.checkpoint %zu %d True 13 True\n", gx_st_count(f), 29 * EPOCHS);
    gx_st_close(f);
    assert_string_equal(text, want);
    free(text);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sigkill_then_resume),
        cmocka_unit_test(test_sigint_then_resume),
        cmocka_unit_test(test_resume_refuses_options),
        cmocka_unit_test(test_full_disk),
        cmocka_unit_test(test_unwritable_out),
        cmocka_unit_test(test_absurd_sizes),
        cmocka_unit_test(test_nonfinite_loss),
        cmocka_unit_test(test_numpy_reads_checkpoint),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
