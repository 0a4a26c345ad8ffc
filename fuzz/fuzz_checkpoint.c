/* libFuzzer target: the checkpoint reader of `genxfer train --resume`: gx_ckpt_read
 * (src/models/checkpoint.c: format, the progress JSON and its consistency, every parameter, the
 * optimiser's moments and the best values by name and shape, the generator states, each
 * batcher's order and cursor, the tensor count) on a tiny run set up as a fresh one
 * (fuzz/fuzz_ckpt.h), and the command's own reading of the checkpoint's metadata, load_resume in
 * src/cli/cmd_train.c (train.args, a JSON array replayed through the option parser; train.cwd,
 * train.threads, train.data with the data fingerprints, train.log). load_resume is static, so
 * this file includes cmd_train.c; the fuzz library's copy of it is then never linked in.
 * Input: a mode byte, then
 *   mode 0: the checkpoint file, read by gx_ckpt_read
 *   mode 1: the progress JSON alone; the harness writes a checkpoint of the fresh run with it
 *   mode 2: the checkpoint file, read by load_resume
 *   mode 3: train.args, train.threads, train.data and train.log separated by NUL bytes (fewer
 *           parts: those keys are missing); the harness writes them into a checkpoint, with
 *           train.cwd the scratch folder, for load_resume
 * The seeds (fuzz/seeds.c) are checkpoints of that run written by gx_ckpt_write. */
#include <fcntl.h>
#include <sanitizer/common_interface_defs.h>

#include "cli/cmd_train.c"
#include "fuzz.h"
#include "fuzz_ckpt.h"

static int home_fd = -1, out_fd = -1, err_fd = -1, null_fd = -1;

/* The option parser reports bad command lines on stderr (and --help on stdout): both go to
 * /dev/null while load_resume runs; sanitizer reports keep the real stderr. */
int LLVMFuzzerInitialize(int *argc, char ***argv) {
    (void)argc, (void)argv;
    home_fd = open(".", O_RDONLY | O_DIRECTORY);
    out_fd = dup(1);
    err_fd = dup(2);
    null_fd = open("/dev/null", O_WRONLY);
    if (home_fd < 0 || out_fd < 0 || err_fd < 0 || null_fd < 0) abort();
    __sanitizer_set_report_fd((void *)(intptr_t)err_fd);
    return 0;
}

static void check(int bad, const char *what) {
    if (bad) {
        dprintf(err_fd, "fuzz: %s\n", what);
        abort();
    }
}

/* mode 0 and 1 */
static void read_checkpoint(const char *path) {
    ckpt_run r;
    ckpt_run_make(&r);
    gx_error err = {{0}};
    if (gx_ckpt_read(path, &r.st, &err) != 0) {
        fuzz_check_error(&err);
    } else {
        /* what the trainer goes on with: the counters of a run of this shape, batchers at a
         * position inside their rows */
        const gx_ckpt_progress *p = &r.st.prog;
        check(p->epochs != CKPT_EPOCHS || p->steps_per_epoch != CKPT_STEPS || p->epoch < 1 ||
                  p->epoch > CKPT_EPOCHS + 1 || p->in_epoch < 0 || p->in_epoch >= CKPT_STEPS ||
                  p->step != (p->epoch - 1) * CKPT_STEPS + p->in_epoch,
              "inconsistent progress after a successful read");
        const gx_batcher *b[2] = {&r.lab, &r.unl};
        for (int i = 0; i < 2; i++) {
            check(b[i]->pos < 0 || b[i]->pos > b[i]->m || b[i]->epoch < 0,
                  "batcher cursor out of range after a successful read");
            for (int64_t j = 0; j < b[i]->m; j++)
                check(b[i]->order[j] < 0 || b[i]->order[j] >= CKPT_ROWS, "batcher order");
        }
    }
    ckpt_run_free(&r);
}

/* mode 2 and 3 */
static void resume(void) {
    train_opts o;
    memset(&o, 0, sizeof o);
    o.resume = fuzz_dir();
    o.quiet = 1;
    o.ckpt_every = -1;
    run_meta meta;
    memset(&meta, 0, sizeof meta);
    char **argv = NULL, *log = NULL;
    static char dir[PATH_MAX];
    gx_error err = {{0}};
    fflush(stdout);
    dup2(null_fd, 1);
    dup2(null_fd, 2);
    int rc = load_resume(&o, &meta, &argv, &log, dir, sizeof dir, &err);
    fflush(stdout);
    fflush(stderr);
    dup2(out_fd, 1);
    dup2(err_fd, 2);
    if (fchdir(home_fd) != 0) abort(); /* it goes to the run's working folder */
    if (rc != 0) {
        fuzz_check_error(&err);
    } else {
        check(o.n_domains < 1 || o.n_domains > GX_MAX_DOMAINS || !log || o.threads < 1 ||
                  o.threads > 1024 || o.resume != dir || o.out != dir || !o.quiet,
              "inconsistent options after a successful load_resume");
    }
    for (int d = 0; d < o.n_domains; d++) gx_dataset_free(&o.dom[d].ds);
    cJSON_Delete(meta.args);
    free(argv);
    free(log);
}

/* Writes the fresh run's checkpoint with this progress JSON; -1 when the writer refuses it. */
static int progress_file(const char *path, const uint8_t *json, size_t size) {
    char *text = malloc(size + 1);
    if (!text) abort();
    memcpy(text, json, size);
    text[size] = '\0';
    ckpt_run r;
    ckpt_run_make(&r);
    gx_error err;
    int rc = gx_ckpt_write(path, &r.st, NULL, NULL, &err);
    ckpt_run_free(&r);
    if (rc != 0) abort();
    /* gx_ckpt_write makes the progress itself: put the input's in its place */
    gx_st_file *f;
    gx_st_writer *w = gx_st_writer_new(&err);
    if (!w || gx_st_open(path, &f, &err)) abort();
    for (size_t i = 0; i < gx_st_count(f); i++) {
        const gx_st_tensor *t = gx_st_tensor_at(f, i);
        gx_st_writer_add(w, t->name, t->dtype, t->ndim, t->shape, t->data, &err);
    }
    gx_st_writer_meta(w, "format", GX_CKPT_FORMAT, &err);
    gx_st_writer_meta(w, "format_version", GX_CKPT_FORMAT_VERSION, &err);
    rc = gx_st_writer_meta(w, "progress", text, &err);
    if (rc == 0 && gx_st_write(w, path, &err) != 0) abort();
    gx_st_writer_free(w);
    gx_st_close(f);
    free(text);
    return rc;
}

/* Writes a checkpoint whose train.* metadata are the input's NUL-separated parts. */
static int meta_file(const char *path, const uint8_t *data, size_t size) {
    static const char *const keys[4] = {"train.args", "train.threads", "train.data", "train.log"};
    char *text = malloc(size + 1);
    gx_error err;
    gx_st_writer *w = gx_st_writer_new(&err);
    if (!text || !w) abort();
    memcpy(text, data, size);
    text[size] = '\0';
    gx_st_writer_meta(w, "format", GX_CKPT_FORMAT, &err);
    gx_st_writer_meta(w, "format_version", GX_CKPT_FORMAT_VERSION, &err);
    gx_st_writer_meta(w, "train.cwd", fuzz_dir(), &err);
    int rc = 0;
    const char *part = text, *end = text + size;
    for (int k = 0; k < 4 && rc == 0 && part <= end; k++) {
        rc = gx_st_writer_meta(w, keys[k], part, &err);
        part += strlen(part) + 1;
    }
    if (rc == 0 && gx_st_write(w, path, &err) != 0) abort();
    gx_st_writer_free(w);
    free(text);
    return rc;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size < 1) return 0;
    char path[600];
    int mode = data[0] & 3;
    snprintf(path, sizeof path, "%s/%s", fuzz_dir(), GX_CKPT_FILE);
    if (mode == 0 || mode == 2) fuzz_file(path, sizeof path, GX_CKPT_FILE, data + 1, size - 1);
    else if ((mode == 1 ? progress_file : meta_file)(path, data + 1, size - 1) != 0) return 0;
    if (mode < 2) read_checkpoint(path);
    else resume();
    return 0;
}
