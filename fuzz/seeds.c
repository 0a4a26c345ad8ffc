/* Writes the seed corpora of the fuzz targets: `seeds DIR` makes DIR/<target>/ for every target
 * and fills it with small valid inputs in the target's input format (see each fuzz/fuzz_*.c),
 * made with genxfer's own writers (npy, safetensors, models) and zlib. The fuzzers start
 * from these, so that they reach the deep parts of each format quickly. */
#include <errno.h>
#include <sys/stat.h>
#include <zlib.h>

#include "core/rng.h"
#include "data/readers.h"
#include "fuzz.h"
#include "fuzz_ckpt.h"
#include "io/safetensors.h"
#include "models/classifier_io.h"
#include "models/ssdgm_io.h"

static const char *out_dir;

/* A growing byte buffer: one seed being put together. */
typedef struct seed {
    uint8_t b[1 << 16];
    size_t n;
} seed;

static void put(seed *s, const void *data, size_t n) {
    if (s->n + n > sizeof s->b) abort();
    memcpy(s->b + s->n, data, n);
    s->n += n;
}

static void put_byte(seed *s, int c) {
    uint8_t b = (uint8_t)c;
    put(s, &b, 1);
}

static void put_str(seed *s, const char *text) { put(s, text, strlen(text)); }

/* A part as fuzz_part reads it: 2-byte little-endian length, then the bytes. */
static void put_part(seed *s, const void *data, size_t n) {
    put_byte(s, (int)(n & 0xff));
    put_byte(s, (int)(n >> 8));
    put(s, data, n);
}

static void save(const char *target, const char *name, const seed *s) {
    char path[1200];
    snprintf(path, sizeof path, "%s/%s", out_dir, target);
    if (mkdir(path, 0755) != 0 && errno != EEXIST) abort();
    snprintf(path, sizeof path, "%s/%s/%s", out_dir, target, name);
    FILE *f = fopen(path, "wb");
    if (!f || fwrite(s->b, 1, s->n, f) != s->n || fclose(f) != 0) {
        perror(path);
        exit(1);
    }
}

/* Reads back a scratch file that a writer made. */
static void slurp(const char *path, seed *s) {
    s->n = 0;
    FILE *f = fopen(path, "rb");
    if (!f) abort();
    s->n = fread(s->b, 1, sizeof s->b, f);
    if (!feof(f) || ferror(f)) abort();
    fclose(f);
}

static void scratch(char *buf, size_t n, const char *name) {
    snprintf(buf, n, "%s/%s", fuzz_dir(), name);
}

/* ---- IDX ---- */

static size_t idx_bytes(uint8_t *buf, int ndim, const uint32_t *dims, const uint8_t *payload,
                        size_t npayload) {
    size_t n = 0;
    buf[n++] = 0;
    buf[n++] = 0;
    buf[n++] = 0x08;
    buf[n++] = (uint8_t)ndim;
    for (int i = 0; i < ndim; i++)
        for (int k = 3; k >= 0; k--) buf[n++] = (uint8_t)(dims[i] >> (8 * k));
    memcpy(buf + n, payload, npayload);
    return n + npayload;
}

static size_t gzip_bytes(uint8_t *out, size_t cap, const uint8_t *in, size_t n) {
    z_stream z;
    memset(&z, 0, sizeof z);
    if (deflateInit2(&z, 9, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK) abort();
    z.next_in = (Bytef *)in;
    z.avail_in = (uInt)n;
    z.next_out = out;
    z.avail_out = (uInt)cap;
    if (deflate(&z, Z_FINISH) != Z_STREAM_END) abort();
    size_t len = cap - z.avail_out;
    deflateEnd(&z);
    return len;
}

static void idx_seeds(void) {
    uint8_t pixels[3 * 2 * 2 * 3], labels[3] = {2, 0, 1}, img[128], lab[32], gz[256];
    for (size_t i = 0; i < sizeof pixels; i++) pixels[i] = (uint8_t)(i * 20);
    uint32_t d3[3] = {3, 2, 2}, d4[4] = {3, 2, 2, 3}, d2[2] = {3, 4}, d1[1] = {3};
    size_t nl = idx_bytes(lab, 1, d1, labels, 3);
    struct { const char *name; int ndim; const uint32_t *dims; size_t n; } kinds[] = {
        {"idx3", 3, d3, 12}, {"idx4", 4, d4, 36}, {"idx2", 2, d2, 12}};
    for (int k = 0; k < 3; k++) {
        size_t ni = idx_bytes(img, kinds[k].ndim, kinds[k].dims, pixels, kinds[k].n);
        char name[64];
        for (int with_labels = 0; with_labels < 2; with_labels++) {
            seed s = {.n = 0};
            put_byte(&s, with_labels | (with_labels ? 3 << 1 : 0));
            put_part(&s, img, ni);
            put(&s, lab, nl);
            snprintf(name, sizeof name, "%s%s", kinds[k].name, with_labels ? "_labels" : "");
            save("idx", name, &s);
            save("idx_gz", name, &s);
        }
        /* gzip'd files as they are on disk, for the plain target's gzip path */
        seed s = {.n = 0};
        put_byte(&s, 1);
        size_t ng = gzip_bytes(gz, sizeof gz, img, ni);
        put_part(&s, gz, ng);
        ng = gzip_bytes(gz, sizeof gz, lab, nl);
        put(&s, gz, ng);
        snprintf(name, sizeof name, "%s_gzip", kinds[k].name);
        save("idx", name, &s);
    }
}

/* ---- CSV ---- */

static void csv_seeds(void) {
    static const struct { int f0, f1; const char *a, *b; } seeds[] = {
        {1 | 16, 1 | 4, "a,b,label,id\n1,2,x,r1\n3.5,-4,y,r2\n", "a,b,label,id\n5,6,x,r3\n"},
        {1 | 8 | 128, 1 | 4 | 32, "a,b,label,id\r\n1,2,1,r1\r\nNA,4,2,r2\r\n7,1e3,1.0,\"r,3\"\r\n", ""},
        {1 | 64, 1, "\xEF\xBB\xBF" "a,b,label,id\n1,2,x,r1\n3,4,y,r2\n\n", ""},
        {0 | 2 | 16 | 32, 0, "1;2;3;4\n5;6;7;8\n", "9;10;11;12\n"},
        {4, 2 | 8 | 64 | 48, "1\t2\tcat\tr1\n3\t4\tdog\tr2\n", ""},
        {1 | 6, 1 | 16, "a b label id\n1 2 x r1\n", ""},
        {1, 0, "\"a\",\"b\"\n\"1\",\"2\"\"\"\n", ""},
    };
    for (size_t i = 0; i < sizeof seeds / sizeof seeds[0]; i++) {
        seed s = {.n = 0};
        put_byte(&s, seeds[i].f0);
        put_byte(&s, seeds[i].f1);
        put_part(&s, seeds[i].a, strlen(seeds[i].a));
        put_str(&s, seeds[i].b);
        char name[32];
        snprintf(name, sizeof name, "csv%zu", i);
        save("csv", name, &s);
    }
    /* a gzip'd first file, as it would be on disk, for the reader's gzip path */
    seed s = {.n = 0};
    uint8_t gz[512];
    put_byte(&s, seeds[0].f0);
    put_byte(&s, seeds[0].f1);
    size_t ng = gzip_bytes(gz, sizeof gz, (const uint8_t *)seeds[0].a, strlen(seeds[0].a));
    put_part(&s, gz, ng);
    put_str(&s, seeds[0].b);
    save("csv", "csv_gzip", &s);
}

/* ---- NPY ---- */

static size_t npy_file(seed *s, gx_npy_dtype dt, int ndim, const int64_t *shape, const void *v) {
    char path[600];
    gx_error err;
    scratch(path, sizeof path, "seed.npy");
    if (gx_npy_write(path, dt, ndim, shape, v, &err) != 0) {
        fprintf(stderr, "seeds: %s\n", err.msg);
        exit(1);
    }
    slurp(path, s);
    return s->n;
}

static void npy_seeds(void) {
    float xf[12] = {0, 0.5f, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10};
    double xd[6] = {1, 2, 3, 4, 5, 6};
    uint8_t xu[12] = {0, 255, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12};
    int64_t yl[3] = {0, 2, 1};
    int32_t yi[3] = {1, 1, 0};
    float yf[3] = {0, 1, 2};
    int64_t s32[2] = {3, 4}, s322[3] = {3, 2, 2}, s23[2] = {2, 3}, s3[1] = {3}, s31[2] = {3, 1};
    seed x, y, s;
    struct {
        const char *name;
        gx_npy_dtype xt; int xn; const int64_t *xs; const void *xv;
        gx_npy_dtype yt; int yn; const int64_t *ys; const void *yv;
    } seeds[] = {
        {"f32_i64", GX_NPY_F32, 2, s32, xf, GX_NPY_I64, 1, s3, yl},
        {"u8img_i32", GX_NPY_U8, 3, s322, xu, GX_NPY_I32, 2, s31, yi},
        {"f64_f32", GX_NPY_F64, 2, s23, xd, GX_NPY_F32, 1, s3, yf},
    };
    for (size_t i = 0; i < sizeof seeds / sizeof seeds[0]; i++) {
        npy_file(&x, seeds[i].xt, seeds[i].xn, seeds[i].xs, seeds[i].xv);
        npy_file(&y, seeds[i].yt, seeds[i].yn, seeds[i].ys, seeds[i].yv);
        s.n = 0;
        put_byte(&s, 1 | (i == 0 ? 3 << 1 : 0));
        put_part(&s, x.b, x.n);
        put(&s, y.b, y.n);
        save("npy", seeds[i].name, &s);
        if (i == 0) { /* the features file gzip'd, as np.save into gzip.open writes it */
            uint8_t gz[1024];
            const size_t ng = gzip_bytes(gz, sizeof gz, x.b, x.n);
            s.n = 0;
            put_byte(&s, 1 | 3 << 1);
            put_part(&s, gz, ng);
            put(&s, y.b, y.n);
            save("npy", "f32_i64_gzip", &s);
        }
    }
    /* format version 2.0 with a big-endian dtype, written by hand */
    const char *hdr = "{'descr': '>i4', 'fortran_order': False, 'shape': (2, 1), }\n";
    size_t hl = strlen(hdr);
    uint8_t body[128] = {0x93, 'N', 'U', 'M', 'P', 'Y', 2, 0, (uint8_t)hl, 0, 0, 0};
    uint8_t vals[8] = {0, 0, 0, 1, 0, 0, 0, 2};
    memcpy(body + 12, hdr, hl);
    memcpy(body + 12 + hl, vals, 8);
    s.n = 0;
    put_byte(&s, 0);
    put_part(&s, body, 12 + hl + 8);
    save("npy", "v2_bigendian", &s);
}

/* ---- HDF5: descriptions of files (fuzz_hdf5.c) ---- */

static void hdf5_seeds(void) {
    float xf[12] = {0, 0.25f, 0.5f, 1, 0, 0, 1, 1, 0.5f, 0.5f, 0, 1};
    double xd[12] = {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11}, yd[3] = {0, 2, 1};
    int32_t yi[3] = {1, 0, 1};
    uint8_t xu[12] = {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 255};
    uint64_t yu[3] = {2, 0, 1};
    /* flags; data: type, rank, dims, storage; labels: type, rank, dims, storage */
    static const uint8_t shapes[3][14] = {
        {1 | 2 << 1, 7, 2, 3, 4, 0, 3, 1, 3, 0},
        {1, 9, 3, 3, 2, 2, 3, 9, 2, 3, 1, 1},
        {1 | 3 << 1, 1, 2, 3, 4, 1, 6, 1, 3, 2},
    };
    static const size_t n_shape[3] = {10, 12, 10};
    const void *x[3] = {xf, xd, xu}, *y[3] = {yi, yd, yu};
    const size_t nx[3] = {sizeof xf, sizeof xd, sizeof xu}, ny[3] = {sizeof yi, sizeof yd, sizeof yu};
    for (int k = 0; k < 3; k++) {
        seed s = {.n = 0};
        put(&s, shapes[k], n_shape[k]);
        put(&s, x[k], nx[k]);
        put(&s, y[k], ny[k]);
        char name[32];
        snprintf(name, sizeof name, "h5_%d", k);
        save("hdf5", name, &s);
    }
}

/* ---- safetensors and models ---- */

static void safetensors_seeds(void) {
    float w[6] = {1, 2, 3, 4, 5, 6};
    int64_t big = 1234567890123, s23[2] = {2, 3}, s0[1] = {0};
    uint8_t none = 0;
    gx_error err;
    gx_st_writer *wr = gx_st_writer_new(&err);
    if (!wr) abort();
    gx_st_writer_add(wr, "enc.0.weight", GX_ST_F32, 2, s23, w, &err);
    gx_st_writer_add(wr, "step", GX_ST_I64, 0, NULL, &big, &err);
    gx_st_writer_add(wr, "empty", GX_ST_U8, 1, s0, &none, &err);
    gx_st_writer_meta(wr, "format", "pt", &err);
    gx_st_writer_meta(wr, "note", "caf\xC3\xA9", &err);
    char path[600];
    scratch(path, sizeof path, "seed.safetensors");
    if (gx_st_write(wr, path, &err) != 0) {
        fprintf(stderr, "seeds: %s\n", err.msg);
        exit(1);
    }
    gx_st_writer_free(wr);
    seed s;
    slurp(path, &s);
    save("safetensors", "three_tensors", &s);
}

static void model_seed(const char *name, gx_preset preset, int n_domains, int gaussian,
                       int with_prep) {
    gx_ssdgm_config c;
    gx_ssdgm_config_default(&c, preset, 3);
    c.n_domains = n_domains;
    c.z_dim = 2;
    c.enc[0] = 3, c.enc[1] = 2;
    c.n_dec = 1, c.dec[0] = 3;
    for (int d = 0; d < n_domains; d++) {
        snprintf(c.dom[d].name, sizeof c.dom[d].name, "d%d", d);
        c.dom[d].n_in = 4;
        c.dom[d].height = c.dom[d].width = 2;
        c.dom[d].channels = 1;
        c.dom[d].lik = gaussian && d == 1 ? GX_LIK_GAUSSIAN : GX_LIK_BERNOULLI;
    }
    if (n_domains > 2) c.dom[2].share = 0;
    gx_ssdgm m;
    gx_model_info info;
    gx_rng rng;
    gx_error err;
    memset(&info, 0, sizeof info);
    gx_rng_init(&rng, 1, GX_STREAM_INIT);
    const char *classes[3] = {"zero", "one", "two"};
    if (gx_ssdgm_create(&m, &c, &rng, &err) || gx_model_info_set_classes(&info, 3, classes, &err)) {
        fprintf(stderr, "seeds: %s\n", err.msg);
        exit(1);
    }
    if (with_prep) {
        info.prep_mean[0] = calloc(4, sizeof(float));
        info.prep_std[0] = calloc(4, sizeof(float));
        if (!info.prep_mean[0] || !info.prep_std[0]) abort();
        snprintf(info.prep_spec[0], sizeof info.prep_spec[0], "csv:train.csv,label=y");
        /* the column names and impute values a CSV-trained model keeps */
        char *names[4] = {"a", "b", "c", "d"};
        const float impute[4] = {0.5f, -1, 0, 2};
        gx_dataset cols;
        gx_dataset_init(&cols);
        cols.d = 4;
        cols.feature_names = names;
        if (gx_model_info_set_features(&info, 0, &cols, impute, &err)) abort();
    }
    const char *keys[1] = {"training"}, *values[1] = {"{\"epochs\": 1}"};
    char path[600];
    scratch(path, sizeof path, "seed_model.safetensors");
    if (gx_ssdgm_save(path, &m, &info, 1, keys, values, &err) != 0) {
        fprintf(stderr, "seeds: %s\n", err.msg);
        exit(1);
    }
    char *json = gx_ssdgm_config_to_json(&m.cfg);
    if (!json) abort();
    gx_ssdgm_free(&m);
    gx_model_info_free(&info);
    seed f, s = {.n = 0};
    slurp(path, &f);
    put_byte(&s, 0); /* mode: the file */
    put(&s, f.b, f.n);
    save("model", name, &s);
    s.n = 0;
    put_byte(&s, 1); /* mode: the config alone */
    put_str(&s, json);
    free(json);
    char cname[64];
    snprintf(cname, sizeof cname, "%s_config", name);
    save("model", cname, &s);
}

/* ---- classifiers ---- */

/* A classifier file as gx_classifier_save writes it (mode 0), and its config alone (mode 1). */
static void classifier_seed(const char *name, const char *arch, int h, int w, int c, int image,
                            int with_prep) {
    gx_classifier m;
    gx_model_info info;
    gx_rng rng;
    gx_error err;
    memset(&info, 0, sizeof info);
    gx_rng_init(&rng, 2, GX_STREAM_INIT);
    const char *classes[3] = {"cat", "dog", "bird"};
    if (gx_classifier_create(&m, arch, h, w, c, image, 3, &rng, &err) ||
        gx_model_info_set_classes(&info, 3, classes, &err)) {
        fprintf(stderr, "seeds: %s\n", err.msg);
        exit(1);
    }
    if (with_prep) {
        int n = gx_classifier_in_size(&m);
        info.prep_mean[0] = calloc((size_t)n, sizeof(float));
        info.prep_std[0] = malloc((size_t)n * sizeof(float));
        if (!info.prep_mean[0] || !info.prep_std[0]) abort();
        for (int i = 0; i < n; i++) info.prep_std[0][i] = 1;
        snprintf(info.prep_spec[0], sizeof info.prep_spec[0], "csv:train.csv,label=y");
    }
    const char *keys[1] = {"training"}, *values[1] = {"{\"epochs\": 1}"};
    char path[600];
    scratch(path, sizeof path, "seed_classifier.safetensors");
    if (gx_classifier_save(path, &m, &info, 1, keys, values, &err) != 0) {
        fprintf(stderr, "seeds: %s\n", err.msg);
        exit(1);
    }
    gx_classifier_free(&m);
    gx_model_info_free(&info);
    if (gx_classifier_load(path, &m, &info, &err) != 0) { /* the seed must be a good file */
        fprintf(stderr, "seeds: %s\n", err.msg);
        exit(1);
    }
    gx_classifier_free(&m);
    gx_model_info_free(&info);
    seed f, s = {.n = 0};
    slurp(path, &f);
    put_byte(&s, 0); /* mode: the file */
    put(&s, f.b, f.n);
    save("classifier", name, &s);
    gx_st_file *st;
    if (gx_st_open(path, &st, &err)) abort();
    s.n = 0;
    put_byte(&s, 1); /* mode: the config alone */
    put_str(&s, gx_st_metadata(st, "config"));
    gx_st_close(st);
    char cname[64];
    snprintf(cname, sizeof cname, "%s_config", name);
    save("classifier", cname, &s);
}

static void classifier_seeds(void) {
    classifier_seed("cnn", "conv4-bn-relu-pool,conv2k5-leaky_relu,fc8-relu-drop0.3,fc", 8, 8, 1,
                    1, 1);
    classifier_seed("cnn_gap", "conv3-bn-tanh-gap,fc", 6, 6, 3, 1, 0);
    classifier_seed("mlp", "fc6-sigmoid,fc5-bn-softplus,fc", 1, 1, 5, 0, 1);
}

/* ---- training checkpoints ---- */

/* What `genxfer train` adds to its checkpoints (src/cli/cmd_train.c, add_run_meta). */
static const char *const CKPT_META[5][2] = {
    {"train.args", "[\"--domain\",\"csv:syn.csv,label=y,k=2,val=0,name=syn\",\"--epochs\",\"3\","
                   "\"--batch\",\"3\",\"--batch-unlabelled\",\"4\",\"--seed\",\"5\",\"--out\","
                   "\"runs/syn\",\"--checkpoint-every\",\"1\"]"},
    {"train.threads", "1"},
    {"train.data", "[{\"name\":\"syn\",\"spec\":\"csv:syn.csv,label=y\",\"hash\":"
                   "\"8f3a2b1c0d9e8f7a\"}]"},
    {"train.log", "epoch,step,loss,val_acc\n1,2,3.25,0.5\n"},
    {"train.cwd", "."},
};

static int ckpt_meta_fn(void *ctx, gx_st_writer *w, gx_error *err) {
    (void)ctx;
    for (int i = 0; i < 5; i++) gx_st_writer_meta(w, CKPT_META[i][0], CKPT_META[i][1], err);
    gx_st_writer_meta(w, "config", "{}", err);
    gx_st_writer_meta(w, "class_names", "[\"0\",\"1\",\"2\"]", err);
    return 0;
}

/* A checkpoint of the run of fuzz_ckpt.h after `steps` steps (1: inside epoch 1, 2: at its end). */
static void ckpt_seed(const char *name, int steps) {
    ckpt_run r;
    ckpt_run_make(&r);
    for (int i = 0; i < steps; i++) { /* what a step draws */
        gx_batcher_next(&r.lab, NULL, NULL);
        gx_batcher_next(&r.unl, NULL, NULL);
        for (int k = 0; k < 5; k++) gx_rng_uniform(&r.rng[1]);
    }
    gx_ckpt_progress *p = &r.st.prog;
    p->step = steps;
    p->epoch = 1 + steps / CKPT_STEPS;
    p->in_epoch = steps % CKPT_STEPS;
    p->seconds = 0.25 * steps;
    if (p->in_epoch == 0) {
        p->best_epoch = 1;
        p->best_selection = 0.5;
    } else {
        p->sum[0] = 3.25, p->sum[1] = -2.5, p->sum[2] = -1.75, p->sum[3] = 0.5;
        p->count[0] = 2, p->count[1] = 3, p->count[2] = 1, p->count[3] = 4;
    }
    char path[600];
    gx_error err;
    scratch(path, sizeof path, "seed_checkpoint.safetensors");
    if (gx_ckpt_write(path, &r.st, ckpt_meta_fn, NULL, &err) != 0) {
        fprintf(stderr, "seeds: %s\n", err.msg);
        exit(1);
    }
    ckpt_run_free(&r);
    ckpt_run_make(&r); /* the seed must resume a fresh run */
    if (gx_ckpt_read(path, &r.st, &err) != 0) {
        fprintf(stderr, "seeds: %s\n", err.msg);
        exit(1);
    }
    ckpt_run_free(&r);
    seed f, s = {.n = 0};
    slurp(path, &f);
    char sname[64];
    for (int mode = 0; mode <= 2; mode += 2) { /* the file for gx_ckpt_read, for load_resume */
        s.n = 0;
        put_byte(&s, mode);
        put(&s, f.b, f.n);
        snprintf(sname, sizeof sname, "%s_%s", name, mode ? "resume" : "read");
        save("checkpoint", sname, &s);
    }
    gx_st_file *st;
    if (gx_st_open(path, &st, &err)) abort();
    s.n = 0;
    put_byte(&s, 1); /* the progress JSON alone */
    put_str(&s, gx_st_metadata(st, "progress"));
    gx_st_close(st);
    snprintf(sname, sizeof sname, "%s_progress", name);
    save("checkpoint", sname, &s);
}

static void ckpt_seeds(void) {
    ckpt_seed("mid_epoch", 1);
    ckpt_seed("epoch_end", 2);
    seed s = {.n = 0};
    put_byte(&s, 3); /* the train.* metadata, NUL-separated */
    for (int i = 0; i < 4; i++) {
        if (i) put_byte(&s, 0);
        put_str(&s, CKPT_META[i][1]);
    }
    save("checkpoint", "train_meta", &s);
}

/* ---- dataset specs ---- */

static void spec_seeds(void) {
    uint8_t img[64], lab[32], pixels[12] = {0, 10, 20, 30, 40, 50, 60, 70, 80, 90, 100, 255};
    uint8_t labels[3] = {1, 0, 1};
    uint32_t d3[3] = {3, 2, 2}, d1[1] = {3};
    size_t ni = idx_bytes(img, 3, d3, pixels, 12), nl = idx_bytes(lab, 1, d1, labels, 3);
    seed s;
    s.n = 0;
    put_str(&s, "idx:@/a.csv,labels=@/b.csv,classes=cat+dog,rename=cat:feline,select=dog+feline,"
                "limit=2,scale=1/255,resize=3x3,pad=1\n");
    put_part(&s, img, ni);
    put(&s, lab, nl);
    save("spec", "idx", &s);

    static const struct { const char *spec, *a, *b; } texts[] = {
        {"csv:@/a.csv,label=type,id=name,drop=b,log10=a,missing=drop",
         "name,a,b,type\nr1,10,2,x\nr2,100,4,y\nr3,-1,1,x\n", ""},
        {"csv:@/a.csv,header=no,columns=p+q+r,diff=d:p-q,keep=d+p,sep=;,image=1x2",
         "1;2;3\n4;5;6\n", ""},
        {"csv:@,files=a+b,rename=a:A,select=A+b", "u,v\n1,2\n", "u,v\n3,4\n"},
        {"csv:@,label=u,classes=1+3", "u,v\n1,2\n", "u,v\n3,4\n"},
        {"@/a.csv", "u,v\n1,2\n", ""},
        {"hdf5:@/a.csv,data=/train/data,labels=/train/target", "", ""},
        {"mnist:train,limit=10", "", ""},
        {"usps:test,resize=20x20,pad=4", "", ""},
    };
    for (size_t i = 0; i < sizeof texts / sizeof texts[0]; i++) {
        s.n = 0;
        put_str(&s, texts[i].spec);
        put_byte(&s, '\n');
        put_part(&s, texts[i].a, strlen(texts[i].a));
        put_str(&s, texts[i].b);
        char name[32];
        snprintf(name, sizeof name, "text%zu", i);
        save("spec", name, &s);
    }
    /* an npy file through the spec */
    float xf[6] = {1, 2, 3, 4, 5, 6};
    int64_t s23[2] = {2, 3};
    seed x;
    npy_file(&x, GX_NPY_F32, 2, s23, xf);
    s.n = 0;
    put_str(&s, "npy:@/a.csv,scale=2\n");
    put_part(&s, x.b, x.n);
    save("spec", "npy", &s);
}

/* ---- command lines ---- */

static void cli_seeds(void) {
    /* command index (fuzz_cli.c's table), then the arguments */
    static const struct { int cmd; const char *args[32]; } lines[] = {
        {0, {"--preset", "dvt", "--domain", "mnist:train,k=10,val=5,name=src", "--domain",
             "usps:train,resize=20x20,pad=4,k=0,share=src,lik=bernoulli,std=no,test=0.2",
             "--test", "usps:test", "--target", "usps", "--epochs", "4", "--batch", "100",
             "--lr", "1e-3", "--enc", "500,500", "--dec", "500", "--kl-warmup", "1", NULL}},
        {0, {"--preset", "m2", "--domain", "csv:x.csv,label=y", "--optimizer", "adamw",
             "--schedule", "cosine", "--prior", "uniform", "--class-balance", "--lat-y",
             "--no-batchnorm", "--activation", "relu", "--z", "8", "--seed", "3", "--out",
             "runs/x", "--quiet", NULL}},
        {0, {"--preset", "mlp", "--domain", "npy:x.npy,labels=y.npy", "--augment-shift", "2",
             "--augment-labelled", "--confidence-weight", "1000", "--confidence-tau", "0.9",
             "--cutout", "14", "--cls-hidden", "500", "--lat-hidden", "10", "--threads", "1",
             "--alpha", "0.5", "--clip", "5", "--prior-scale", "3", NULL}},
        {1, {"model.safetensors", "usps:test", "--domain", "usps", "--out", "m.json",
             "--threads", "1", NULL}},
        {2, {"model.safetensors", "csv:t.csv", "--out", "p.csv", NULL}},
        {3, {"model.safetensors", "--domain", "d0", "--per-class", "5", "--seed", "2", "--out",
             "s.png", NULL}},
        {4, {"model.safetensors", "--data", "mnist=mnist:test", "--data", "usps=usps:test",
             "--limit", "100", "--colour", "predicted", "--npy", "z.npy", "--title", "t",
             "--no-means", "--seed", "1", "--threads", "1", "--out", "l.png", NULL}},
        {5, {"runs/e1", "--out", "figs", "--title", "E1", NULL}},
        {6, {"--json", "--max-features", "5", "mnist:train", "csv:a.csv,label=y", NULL}},
        {7, {"--json", "model.safetensors", NULL}},
        {1, {"--help", NULL}},
    };
    for (size_t i = 0; i < sizeof lines / sizeof lines[0]; i++) {
        seed s = {.n = 0};
        put_byte(&s, lines[i].cmd);
        for (int a = 0; lines[i].args[a]; a++) {
            if (a) put_byte(&s, 0);
            put_str(&s, lines[i].args[a]);
        }
        char name[32];
        snprintf(name, sizeof name, "cli%zu", i);
        save("cli", name, &s);
    }
}

int main(int argc, char **argv) {
    if (argc != 2) {
        fprintf(stderr, "usage: seeds DIR  (writes DIR/<target>/ for every fuzz target)\n");
        return 2;
    }
    out_dir = argv[1];
    if (mkdir(out_dir, 0755) != 0 && errno != EEXIST) {
        perror(out_dir);
        return 1;
    }
    idx_seeds();
    csv_seeds();
    npy_seeds();
    hdf5_seeds();
    safetensors_seeds();
    model_seed("m2", GX_PRESET_M2, 1, 0, 1);
    model_seed("dvt_shared", GX_PRESET_DVT, 3, 1, 0);
    model_seed("mlp", GX_PRESET_MLP, 2, 0, 0);
    classifier_seeds();
    ckpt_seeds();
    spec_seeds();
    cli_seeds();
    return 0;
}
