/* Tests for io/safetensors: round trip of every dtype (scalars, empty tensors, a U8 tensor that
 * leaves the next F32 tensor unaligned in the file), the header checked independently of the
 * reader, foreign files (unpadded header), shape-checked loads, writer errors, and one malformed
 * file per validation rule; then every truncation and many byte flips of a valid file (no crash,
 * no leak under ASan). */
#include <cJSON.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "io/safetensors.h"
#include "test_util.h"

#define assert_msg_contains(msg, sub)                                                  \
    do {                                                                               \
        if (!strstr((msg), (sub))) {                                                   \
            print_error("message \"%s\" does not contain \"%s\"\n", (msg), (sub));     \
            fail();                                                                    \
        }                                                                              \
    } while (0)

/* ---- fixture: a file with one tensor of every kind ---- */

typedef struct fixture {
    float w[3 * 5];
    float bias[5];
    float scalar;
    float empty[1];
    int32_t labels[7];
    int64_t step[2];
    uint8_t mask[3];
    float after_u8[4];
} fixture;

typedef struct expect {
    const char *name;
    gx_st_dtype dtype;
    int ndim;
    int64_t shape[4];
    size_t nbytes;
} expect;

static const expect EXPECT[] = {
    {"enc.0.weight", GX_ST_F32, 2, {3, 5}, 60},
    {"enc.0.bias", GX_ST_F32, 1, {5}, 20},
    {"temperature", GX_ST_F32, 0, {0}, 4},
    {"empty", GX_ST_F32, 2, {0, 4}, 0},
    {"labels", GX_ST_I32, 1, {7}, 28},
    {"optim.step", GX_ST_I64, 1, {2}, 16},
    {"mask", GX_ST_U8, 1, {3}, 3},
    {"dec.out.weight", GX_ST_F32, 2, {2, 2}, 16},
};
#define N_EXPECT (sizeof EXPECT / sizeof EXPECT[0])

static const void *fixture_data(const fixture *fx, size_t i) {
    const void *p[] = {fx->w, fx->bias, &fx->scalar, fx->empty, fx->labels, fx->step, fx->mask,
                       fx->after_u8};
    return p[i];
}

static void fixture_init(fixture *fx) {
    memset(fx, 0, sizeof *fx);
    for (int i = 0; i < 15; i++) fx->w[i] = (float)i * 0.25f - 1.5f;
    fx->w[3] = -0.0f;
    fx->w[4] = 1e-42f; /* subnormal */
    fx->w[5] = INFINITY;
    uint32_t nan_bits = 0x7fc01234u; /* a NaN with a payload must survive bit for bit */
    memcpy(&fx->w[6], &nan_bits, 4);
    for (int i = 0; i < 5; i++) fx->bias[i] = 1.0f / (float)(i + 3);
    fx->scalar = 3.14159265f;
    for (int i = 0; i < 7; i++) fx->labels[i] = i * 1000003 - 2000000000;
    fx->step[0] = ((int64_t)1 << 40) + 3;
    fx->step[1] = -((int64_t)1 << 62);
    fx->mask[0] = 0, fx->mask[1] = 255, fx->mask[2] = 7;
    for (int i = 0; i < 4; i++) fx->after_u8[i] = (float)(i + 1) * 100.5f;
}

static const char *CONFIG_JSON = "{\"preset\": \"dvt\", \"latent\": 50, \"name\": \"caf\xc3\xa9\\n\"}";

static void write_fixture(const char *path, const fixture *fx) {
    gx_error err = {{0}};
    gx_st_writer *w = gx_st_writer_new(&err);
    assert_non_null(w);
    for (size_t i = 0; i < N_EXPECT; i++)
        assert_int_equal(gx_st_writer_add(w, EXPECT[i].name, EXPECT[i].dtype, EXPECT[i].ndim,
                                          EXPECT[i].shape, fixture_data(fx, i), &err), 0);
    assert_int_equal(gx_st_writer_meta(w, "format_version", "0", &err), 0);
    assert_int_equal(gx_st_writer_meta(w, "config", CONFIG_JSON, &err), 0);
    assert_int_equal(gx_st_writer_meta(w, "classes", "star,quasar,\"other\"", &err), 0);
    assert_int_equal(gx_st_writer_meta(w, "format_version", "1", &err), 0); /* replaces */
    if (gx_st_write(w, path, &err) != 0) {
        print_error("%s\n", err.msg);
        fail();
    }
    gx_st_writer_free(w);
}

static void test_round_trip(void **state) {
    (void)state;
    char path[700];
    test_path(path, sizeof path, "roundtrip.safetensors");
    fixture fx;
    fixture_init(&fx);
    write_fixture(path, &fx);

    gx_error err = {{0}};
    gx_st_file *f = NULL;
    if (gx_st_open(path, &f, &err) != 0) {
        print_error("%s\n", err.msg);
        fail();
    }
    assert_string_equal(gx_st_path(f), path);
    assert_int_equal(gx_st_count(f), N_EXPECT);
    for (size_t i = 0; i < N_EXPECT; i++) {
        const gx_st_tensor *t = gx_st_find(f, EXPECT[i].name);
        assert_non_null(t);
        assert_ptr_equal(t, gx_st_tensor_at(f, i)); /* iteration in the order written */
        assert_string_equal(t->name, EXPECT[i].name);
        assert_int_equal(t->dtype, EXPECT[i].dtype);
        assert_int_equal(t->ndim, EXPECT[i].ndim);
        for (int d = 0; d < t->ndim; d++) assert_int_equal(t->shape[d], EXPECT[i].shape[d]);
        assert_int_equal(t->nbytes, EXPECT[i].nbytes);
        assert_int_equal(t->numel * gx_st_dtype_size(t->dtype), t->nbytes);
        assert_non_null(t->data);
        assert_int_equal((uintptr_t)t->data % 64, 0);
        if (t->nbytes > 0) assert_memory_equal(t->data, fixture_data(&fx, i), t->nbytes);
    }
    assert_null(gx_st_tensor_at(f, N_EXPECT));
    assert_null(gx_st_find(f, "nope"));
    assert_null(gx_st_find(f, "__metadata__"));
    assert_int_equal(gx_st_find(f, "temperature")->numel, 1);
    assert_int_equal(gx_st_find(f, "empty")->numel, 0);
    /* F32 after an odd-sized U8 tensor: at an odd offset in the file, aligned in memory. */
    const float *a = gx_st_find(f, "dec.out.weight")->data;
    assert_true(a[3] == 402.0f);

    assert_int_equal(gx_st_metadata_count(f), 3);
    assert_string_equal(gx_st_metadata(f, "format_version"), "1");
    assert_string_equal(gx_st_metadata(f, "config"), CONFIG_JSON);
    assert_string_equal(gx_st_metadata(f, "classes"), "star,quasar,\"other\"");
    assert_null(gx_st_metadata(f, "missing"));
    const char *k, *v;
    gx_st_metadata_at(f, 0, &k, &v);
    assert_string_equal(k, "format_version");
    assert_string_equal(v, "1");
    gx_st_metadata_at(f, 2, &k, &v);
    assert_string_equal(k, "classes");
    gx_st_metadata_at(f, 3, &k, &v);
    assert_null(k);
    assert_null(v);
    gx_st_close(f);
    gx_st_close(NULL);
}

/* The file as written, parsed here without the library's reader. */
static void test_header_independent(void **state) {
    (void)state;
    char path[700];
    test_path(path, sizeof path, "independent.safetensors");
    fixture fx;
    fixture_init(&fx);
    write_fixture(path, &fx);

    static unsigned char buf[1 << 16];
    FILE *fp = fopen(path, "rb");
    assert_non_null(fp);
    size_t size = fread(buf, 1, sizeof buf, fp);
    fclose(fp);
    assert_true(size > 8 && size < sizeof buf);
    uint64_t hlen = 0;
    for (int i = 0; i < 8; i++) hlen |= (uint64_t)buf[i] << (8 * i);
    assert_true(hlen > 2 && hlen <= size - 8);
    assert_int_equal(hlen % 8, 0);
    char *text = malloc(hlen + 1);
    memcpy(text, buf + 8, hlen);
    text[hlen] = '\0';
    assert_int_equal(text[0], '{');
    size_t len = strlen(text);
    while (len > 0 && text[len - 1] == ' ') len--; /* padding is spaces only */
    assert_true(hlen - len < 8);
    assert_int_equal(text[len - 1], '}');

    cJSON *root = cJSON_Parse(text);
    assert_non_null(root);
    const cJSON *meta = cJSON_GetObjectItemCaseSensitive(root, "__metadata__");
    assert_true(cJSON_IsObject(meta));
    assert_string_equal(cJSON_GetObjectItemCaseSensitive(meta, "format_version")->valuestring, "1");
    assert_string_equal(cJSON_GetObjectItemCaseSensitive(meta, "config")->valuestring, CONFIG_JSON);
    assert_int_equal(cJSON_GetArraySize(root), (int)N_EXPECT + 1);

    uint64_t data_size = size - 8 - hlen, pos = 0;
    size_t i = 0;
    for (const cJSON *e = root->child; e; e = e->next) {
        if (strcmp(e->string, "__metadata__") == 0) continue;
        assert_true(i < N_EXPECT);
        assert_string_equal(e->string, EXPECT[i].name); /* in the order added */
        const char *dt[] = {"F32", "I32", "I64", "U8"};
        assert_string_equal(cJSON_GetObjectItemCaseSensitive(e, "dtype")->valuestring,
                            dt[EXPECT[i].dtype]);
        const cJSON *shape = cJSON_GetObjectItemCaseSensitive(e, "shape");
        assert_true(cJSON_IsArray(shape));
        assert_int_equal(cJSON_GetArraySize(shape), EXPECT[i].ndim);
        for (int d = 0; d < EXPECT[i].ndim; d++)
            assert_true(cJSON_GetArrayItem(shape, d)->valuedouble == (double)EXPECT[i].shape[d]);
        const cJSON *offs = cJSON_GetObjectItemCaseSensitive(e, "data_offsets");
        assert_int_equal(cJSON_GetArraySize(offs), 2);
        uint64_t b = (uint64_t)cJSON_GetArrayItem(offs, 0)->valuedouble;
        uint64_t en = (uint64_t)cJSON_GetArrayItem(offs, 1)->valuedouble;
        assert_int_equal(b, pos); /* contiguous from 0 */
        assert_int_equal(en - b, EXPECT[i].nbytes);
        assert_true(en <= data_size);
        if (en > b) assert_memory_equal(buf + 8 + hlen + b, fixture_data(&fx, i), en - b);
        pos = en;
        i++;
    }
    assert_int_equal(i, N_EXPECT);
    assert_int_equal(pos, data_size); /* no trailing bytes */
    cJSON_Delete(root);
    free(text);
}

/* ---- raw files for the reader ---- */

/* 8-byte length + header (hlen may lie when hlen_override != UINT64_MAX) + data. */
static void write_raw(const char *path, const char *header, size_t header_len, uint64_t hlen_override,
                      const void *data, size_t n_data) {
    uint64_t hlen = hlen_override != UINT64_MAX ? hlen_override : header_len;
    unsigned char *buf = malloc(8 + header_len + n_data + 1);
    for (int i = 0; i < 8; i++) buf[i] = (unsigned char)(hlen >> (8 * i));
    memcpy(buf + 8, header, header_len);
    if (n_data) memcpy(buf + 8 + header_len, data, n_data);
    test_write_file(path, buf, 8 + header_len + n_data);
    free(buf);
}

static void expect_open_fails(const char *path, const char *what) {
    gx_error err = {{0}};
    gx_st_file *f = (gx_st_file *)&err; /* must be reset to NULL */
    int rc = gx_st_open(path, &f, &err);
    if (rc == 0) {
        print_error("opening %s succeeded; expected an error containing \"%s\"\n", path, what);
        gx_st_close(f);
        fail();
    }
    assert_null(f);
    assert_msg_contains(err.msg, path);
    assert_msg_contains(err.msg, what);
    assert_null(strchr(err.msg, '\n'));
}

/* A header (and data_size zero bytes of data) that must be rejected with `what`. */
static void expect_header_fails(const char *header, size_t data_size, const char *what) {
    char path[700];
    test_path(path, sizeof path, "bad.safetensors");
    static const unsigned char zeros[256];
    assert_true(data_size <= sizeof zeros);
    write_raw(path, header, strlen(header), UINT64_MAX, zeros, data_size);
    expect_open_fails(path, what);
}

#define T(name, body) "\"" name "\":" body
#define F32(shape, b, e) "{\"dtype\":\"F32\",\"shape\":" shape ",\"data_offsets\":[" #b "," #e "]}"

static void test_malformed_headers(void **state) {
    (void)state;
    /* JSON and structure */
    expect_header_fails("{\"a\":", 0, "not valid JSON");
    expect_header_fails("", 0, "not valid JSON");
    expect_header_fails("[1,2]", 0, "not a JSON object");
    expect_header_fails("\"str\"", 0, "not a JSON object");
    expect_header_fails("{} x", 0, "unexpected text after the JSON header");
    expect_header_fails("{\"a\xff\":1}", 0, "not valid UTF-8");
    expect_header_fails("{\"\xc0\xaf\":1}", 0, "not valid UTF-8"); /* overlong '/' */
    expect_header_fails("{\"\xed\xa0\x80\":1}", 0, "not valid UTF-8"); /* surrogate */
    expect_header_fails("{" T("a", "5") "}", 0, "tensor 'a': entry is not an object");
    expect_header_fails("{" T("a", "[]") "}", 0, "tensor 'a': entry is not an object");
    /* dtype */
    expect_header_fails("{" T("a", "{\"dtype\":\"F16\",\"shape\":[2],\"data_offsets\":[0,4]}") "}",
                        4, "unknown or unsupported dtype 'F16'");
    expect_header_fails("{" T("a", "{\"dtype\":\"f32\",\"shape\":[1],\"data_offsets\":[0,4]}") "}",
                        4, "dtype 'f32'");
    expect_header_fails("{" T("a", "{\"dtype\":4,\"shape\":[1],\"data_offsets\":[0,4]}") "}", 4,
                        "dtype is not a string");
    expect_header_fails("{" T("a", "{\"shape\":[1],\"data_offsets\":[0,4]}") "}", 4,
                        "tensor 'a': missing \"dtype\"");
    expect_header_fails("{" T("a", "{\"dtype\":\"F32\",\"dtype\":\"F32\",\"shape\":[1],"
                                   "\"data_offsets\":[0,4]}") "}", 4, "duplicate key \"dtype\"");
    /* shape */
    expect_header_fails("{" T("a", "{\"dtype\":\"F32\",\"data_offsets\":[0,4]}") "}", 4,
                        "missing \"shape\"");
    expect_header_fails("{" T("a", F32("1", 0, 4)) "}", 4, "shape is not an array of non-negative integers");
    expect_header_fails("{" T("a", F32("[-1]", 0, 4)) "}", 4, "shape is not an array of non-negative integers");
    expect_header_fails("{" T("a", F32("[1.5]", 0, 4)) "}", 4, "shape is not an array of non-negative integers");
    expect_header_fails("{" T("a", F32("[\"1\"]", 0, 4)) "}", 4, "shape is not an array of non-negative integers");
    expect_header_fails("{" T("a", F32("[null]", 0, 4)) "}", 4, "shape is not an array of non-negative integers");
    expect_header_fails("{" T("a", F32("[1e300]", 0, 4)) "}", 4, "shape is not an array of non-negative integers");
    expect_header_fails("{" T("a", F32("[1,1,1,1,1,1,1,1,1]", 0, 4)) "}", 4, "9 dimensions");
    expect_header_fails("{" T("a", F32("[9007199254740992,9007199254740992]", 0, 4)) "}", 4,
                        "is too large");
    /* data_offsets */
    expect_header_fails("{" T("a", "{\"dtype\":\"F32\",\"shape\":[1]}") "}", 4, "missing \"data_offsets\"");
    expect_header_fails("{" T("a", "{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0]}") "}", 4,
                        "data_offsets is not a pair");
    expect_header_fails("{" T("a", "{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4,8]}") "}", 4,
                        "data_offsets is not a pair");
    expect_header_fails("{" T("a", "{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":{}}") "}", 4,
                        "data_offsets is not a pair");
    expect_header_fails("{" T("a", F32("[1]", -4, 0)) "}", 4, "data_offsets is not a pair");
    expect_header_fails("{" T("a", F32("[0]", 4, 0)) "}", 4, "begin > end");
    expect_header_fails("{" T("a", F32("[4]", 0, 16)) "}", 4, "out of range (the data section has 4 bytes)");
    expect_header_fails("{" T("a", F32("[2]", 0, 4)) "}", 4, "shape [2] of F32 needs 8 bytes");
    expect_header_fails("{" T("a", F32("[2,3]", 0, 20)) "}", 24, "hold 20 bytes but shape [2,3] of F32 needs 24 bytes");
    /* coverage of the data section */
    expect_header_fails("{" T("a", F32("[2]", 0, 8)) "," T("b", F32("[2]", 4, 12)) "}", 12,
                        "tensor 'b': data_offsets [4,12] overlap tensor 'a'");
    expect_header_fails("{" T("b", F32("[2]", 4, 12)) "," T("a", F32("[2]", 0, 8)) "}", 12, "overlap");
    expect_header_fails("{" T("a", F32("[1]", 0, 4)) "," T("b", F32("[1]", 8, 12)) "}", 12,
                        "gap of 4 bytes in the data section before tensor 'b'");
    expect_header_fails("{" T("a", F32("[1]", 4, 8)) "}", 8, "gap of 4 bytes");
    expect_header_fails("{" T("a", F32("[1]", 0, 4)) "}", 8, "4 trailing bytes after the data section");
    expect_header_fails("{}", 3, "3 trailing bytes");
    expect_header_fails("{" T("a", F32("[1]", 0, 4)) "," T("a", F32("[1]", 4, 8)) "}", 8,
                        "duplicate tensor name 'a'");
    /* metadata */
    expect_header_fails("{\"__metadata__\":{\"k\":1}}", 0, "__metadata__ value for key 'k' is not a string");
    expect_header_fails("{\"__metadata__\":{\"k\":null}}", 0, "not a string");
    expect_header_fails("{\"__metadata__\":[\"k\"]}", 0, "__metadata__ is not an object");
    expect_header_fails("{\"__metadata__\":{\"k\":\"1\",\"k\":\"2\"}}", 0, "duplicate __metadata__ key 'k'");
    expect_header_fails("{\"__metadata__\":{},\"__metadata__\":{}}", 0, "duplicate __metadata__");
}

static void test_malformed_files(void **state) {
    (void)state;
    char path[700], dir[700];
    test_path(path, sizeof path, "does-not-exist.safetensors");
    expect_open_fails(path, "No such file or directory");

    test_path(path, sizeof path, "short.safetensors");
    test_write_file(path, "", 0);
    expect_open_fails(path, "file too short (0 bytes)");
    test_write_file(path, "\x02\0\0\0\0", 5);
    expect_open_fails(path, "file too short (5 bytes)");

    test_path(path, sizeof path, "hlen.safetensors");
    write_raw(path, "{}", 2, 3, NULL, 0);
    expect_open_fails(path, "header length 3 exceeds the file size (10 bytes)");
    write_raw(path, "{}", 2, UINT64_MAX - 1, NULL, 0);
    expect_open_fails(path, "exceeds the limit");
    write_raw(path, "{}", 2, (uint64_t)100 * 1024 * 1024 + 1, NULL, 0);
    expect_open_fails(path, "header length 104857601 exceeds the limit");

    /* Not a safetensors file at all: a text file's first 8 bytes read as a huge length. */
    test_path(path, sizeof path, "README.md");
    test_write_file(path, "# genxfer\n\nTransfer learning", 29);
    expect_open_fails(path, "README.md: not a safetensors file");

    /* An embedded NUL in the header. */
    test_path(path, sizeof path, "hlen.safetensors");
    write_raw(path, "{}\0     ", 8, UINT64_MAX, NULL, 0);
    expect_open_fails(path, "not valid UTF-8");

    test_path(dir, sizeof dir, "a-directory");
    mkdir(dir, 0777);
    expect_open_fails(dir, "not a regular file");
}

/* A file as another writer might make it: header not padded, so that the F32 data starts at an
 * unaligned file offset, extra keys in an entry, whitespace padding of other kinds. */
static void test_foreign_file(void **state) {
    (void)state;
    char path[700];
    test_path(path, sizeof path, "foreign.safetensors");
    const char *header = "{ \"b\" : {\"data_offsets\":[1,9], \"shape\":[2], \"dtype\":\"F32\", "
                         "\"extra\": {\"x\": [1]}},\n \"a\":{\"dtype\":\"U8\",\"shape\":[],"
                         "\"data_offsets\":[0,1]}, \"e\":{\"dtype\":\"I64\",\"shape\":[0],"
                         "\"data_offsets\":[9,9]}}\n\t ";
    assert_true(strlen(header) % 4 != 0);
    unsigned char data[9] = {42};
    float fv[2] = {1.5f, -2.25f};
    memcpy(data + 1, fv, 8);
    write_raw(path, header, strlen(header), UINT64_MAX, data, sizeof data);
    gx_error err = {{0}};
    gx_st_file *f;
    if (gx_st_open(path, &f, &err) != 0) {
        print_error("%s\n", err.msg);
        fail();
    }
    assert_int_equal(gx_st_count(f), 3);
    assert_string_equal(gx_st_tensor_at(f, 0)->name, "a"); /* data-offset order */
    assert_string_equal(gx_st_tensor_at(f, 1)->name, "b");
    assert_string_equal(gx_st_tensor_at(f, 2)->name, "e");
    assert_int_equal(gx_st_metadata_count(f), 0);
    assert_null(gx_st_metadata(f, "x"));
    const gx_st_tensor *b = gx_st_find(f, "b");
    assert_int_equal((uintptr_t)b->data % 64, 0);
    assert_true(((const float *)b->data)[0] == 1.5f);
    assert_true(((const float *)b->data)[1] == -2.25f);
    assert_int_equal(*(const uint8_t *)gx_st_find(f, "a")->data, 42);
    assert_int_equal(gx_st_find(f, "a")->ndim, 0);
    float out[2] = {0};
    assert_int_equal(gx_st_read_f32(f, "b", 1, (int64_t[]){2}, out, &err), 0);
    assert_true(out[1] == -2.25f);
    gx_st_close(f);
}

static void test_empty_file(void **state) {
    (void)state;
    char path[700];
    test_path(path, sizeof path, "empty.safetensors");
    gx_error err = {{0}};
    gx_st_writer *w = gx_st_writer_new(&err);
    assert_int_equal(gx_st_write(w, path, &err), 0);
    gx_st_writer_free(w);
    gx_st_file *f;
    assert_int_equal(gx_st_open(path, &f, &err), 0);
    assert_int_equal(gx_st_count(f), 0);
    assert_int_equal(gx_st_metadata_count(f), 0);
    assert_null(gx_st_find(f, "a"));
    gx_st_close(f);
}

static void test_read_checked(void **state) {
    (void)state;
    char path[700];
    test_path(path, sizeof path, "checked.safetensors");
    fixture fx;
    fixture_init(&fx);
    write_fixture(path, &fx);
    gx_error err = {{0}};
    gx_st_file *f;
    assert_int_equal(gx_st_open(path, &f, &err), 0);

    float w[15];
    assert_int_equal(gx_st_read_f32(f, "enc.0.weight", 2, (int64_t[]){3, 5}, w, &err), 0);
    assert_memory_equal(w, fx.w, sizeof w);
    float s = 0;
    assert_int_equal(gx_st_read_f32(f, "temperature", 0, NULL, &s, &err), 0);
    assert_true(s == fx.scalar);
    int64_t step[2];
    assert_int_equal(gx_st_read(f, "optim.step", GX_ST_I64, 1, (int64_t[]){2}, step, &err), 0);
    assert_int_equal(step[0], fx.step[0]);
    assert_int_equal(step[1], fx.step[1]);
    assert_int_equal(gx_st_read_f32(f, "empty", 2, (int64_t[]){0, 4}, NULL, &err), 0);

    char want[900];
    assert_int_equal(gx_st_read_f32(f, "enc.0.weight", 2, (int64_t[]){3, 4}, w, &err), -1);
    snprintf(want, sizeof want, "%s: tensor 'enc.0.weight' has shape [3,5], expected [3,4]", path);
    assert_string_equal(err.msg, want);
    assert_int_equal(gx_st_read_f32(f, "enc.0.weight", 1, (int64_t[]){15}, w, &err), -1);
    assert_msg_contains(err.msg, "has shape [3,5], expected [15]");
    assert_int_equal(gx_st_read_f32(f, "temperature", 1, (int64_t[]){1}, w, &err), -1);
    assert_msg_contains(err.msg, "has shape [], expected [1]");
    assert_int_equal(gx_st_read_f32(f, "labels", 1, (int64_t[]){7}, w, &err), -1);
    snprintf(want, sizeof want, "%s: tensor 'labels' has dtype I32, expected F32", path);
    assert_string_equal(err.msg, want);
    assert_int_equal(gx_st_read_f32(f, "enc.1.weight", 2, (int64_t[]){3, 5}, w, &err), -1);
    snprintf(want, sizeof want, "%s: no tensor named 'enc.1.weight'", path);
    assert_string_equal(err.msg, want);
    gx_st_close(f);
}

static void test_writer_errors(void **state) {
    (void)state;
    char path[700];
    test_path(path, sizeof path, "writer-errors.safetensors");
    float x[4] = {1, 2, 3, 4};
    gx_error err = {{0}};

    /* A good file first: a failed write must leave it as it is. */
    gx_st_writer *w = gx_st_writer_new(&err);
    assert_int_equal(gx_st_writer_add(w, "x", GX_ST_F32, 1, (int64_t[]){4}, x, &err), 0);
    assert_int_equal(gx_st_write(w, path, &err), 0);
    assert_int_equal(gx_st_writer_add(w, "x", GX_ST_F32, 1, (int64_t[]){4}, x, &err), -1);
    assert_string_equal(err.msg, "duplicate tensor name 'x'");
    gx_st_writer_free(w);

    w = gx_st_writer_new(&err);
    assert_int_equal(gx_st_writer_add(w, "y", GX_ST_F32, 2, (int64_t[]){2, 2}, x, &err), 0);
    assert_int_equal(gx_st_writer_add(w, "neg", GX_ST_F32, 2, (int64_t[]){2, -2}, x, &err), -1);
    assert_string_equal(err.msg, "tensor 'neg': invalid shape [2,-2]");
    assert_int_equal(gx_st_writer_add(w, "__metadata__", GX_ST_F32, 1, (int64_t[]){1}, x, &err), -1);
    assert_msg_contains(err.msg, "reserved");
    assert_int_equal(gx_st_writer_add(w, "", GX_ST_F32, 1, (int64_t[]){1}, x, &err), -1);
    assert_msg_contains(err.msg, "empty");
    assert_int_equal(gx_st_writer_add(w, "bad\xff", GX_ST_F32, 1, (int64_t[]){1}, x, &err), -1);
    assert_msg_contains(err.msg, "UTF-8");
    assert_int_equal(gx_st_writer_add(w, "deep", GX_ST_F32, 9,
                                      (int64_t[]){1, 1, 1, 1, 1, 1, 1, 1, 1}, x, &err), -1);
    assert_msg_contains(err.msg, "9 dimensions");
    assert_int_equal(gx_st_writer_add(w, "nodata", GX_ST_F32, 1, (int64_t[]){2}, NULL, &err), -1);
    assert_msg_contains(err.msg, "no data");
    assert_int_equal(gx_st_writer_add(w, "dt", (gx_st_dtype)9, 1, (int64_t[]){2}, x, &err), -1);
    assert_msg_contains(err.msg, "unknown dtype");
    assert_int_equal(gx_st_writer_meta(w, "k", "bad\xc3", &err), -1);
    assert_msg_contains(err.msg, "not valid UTF-8");
    /* The first error is remembered and reported by gx_st_write, which writes nothing. */
    assert_int_equal(gx_st_write(w, path, &err), -1);
    char want[900];
    snprintf(want, sizeof want, "%s: tensor 'neg': invalid shape [2,-2]", path);
    assert_string_equal(err.msg, want);
    gx_st_writer_free(w);
    gx_st_writer_free(NULL);

    gx_st_file *f;
    assert_int_equal(gx_st_open(path, &f, &err), 0);
    assert_int_equal(gx_st_count(f), 1);
    assert_non_null(gx_st_find(f, "x"));
    gx_st_close(f);

    /* Unwritable destination: the message names the path. */
    char bad[800];
    test_path(bad, sizeof bad, "missing-dir/m.safetensors");
    w = gx_st_writer_new(&err);
    assert_int_equal(gx_st_write(w, bad, &err), -1);
    assert_msg_contains(err.msg, bad);
    assert_msg_contains(err.msg, "No such file or directory");
    gx_st_writer_free(w);
}

/* Every truncation and many single-byte changes of a valid file: open either succeeds with a
 * consistent file or fails with a message; never a crash, a hang or a leak. */
static void test_corruptions(void **state) {
    (void)state;
    char src[700], path[700];
    test_path(src, sizeof src, "fuzz-src.safetensors");
    test_path(path, sizeof path, "fuzz.safetensors");
    fixture fx;
    fixture_init(&fx);
    write_fixture(src, &fx);
    static unsigned char buf[1 << 16];
    FILE *fp = fopen(src, "rb");
    size_t size = fread(buf, 1, sizeof buf, fp);
    fclose(fp);
    uint64_t hlen = 0;
    for (int i = 0; i < 8; i++) hlen |= (uint64_t)buf[i] << (8 * i);

    size_t opened = 0, failed = 0;
    gx_error err;
    gx_st_file *f;
    for (size_t n = 0; n < size; n++) {
        test_write_file(path, buf, n);
        assert_int_equal(gx_st_open(path, &f, &err), -1); /* every proper prefix is invalid */
        assert_msg_contains(err.msg, path);
        failed++;
    }
    static const unsigned char repl[] = {'0', '9', '"', ',', ']', '}', '[', ' ', 0, 0x80, 0xff, 'x'};
    for (size_t pos = 0; pos < 8 + hlen; pos++) {
        for (size_t r = 0; r < sizeof repl; r++) {
            if (buf[pos] == repl[r]) continue;
            unsigned char saved = buf[pos];
            buf[pos] = repl[r];
            test_write_file(path, buf, size);
            buf[pos] = saved;
            memset(&err, 0, sizeof err);
            if (gx_st_open(path, &f, &err) == 0) {
                /* Accepted: everything it reports must be consistent. */
                size_t total = 0;
                for (size_t i = 0; i < gx_st_count(f); i++) {
                    const gx_st_tensor *t = gx_st_tensor_at(f, i);
                    assert_ptr_equal(gx_st_find(f, t->name), t);
                    assert_int_equal(t->numel * gx_st_dtype_size(t->dtype), t->nbytes);
                    total += t->nbytes;
                }
                assert_int_equal(total, size - 8 - hlen);
                gx_st_close(f);
                opened++;
            } else {
                assert_true(err.msg[0] != '\0');
                assert_msg_contains(err.msg, path);
                failed++;
            }
        }
    }
    assert_true(failed > size);
    assert_true(opened > 0); /* e.g. digits changed inside metadata strings */
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_round_trip),
        cmocka_unit_test(test_header_independent),
        cmocka_unit_test(test_malformed_headers),
        cmocka_unit_test(test_malformed_files),
        cmocka_unit_test(test_foreign_file),
        cmocka_unit_test(test_empty_file),
        cmocka_unit_test(test_read_checked),
        cmocka_unit_test(test_writer_errors),
        cmocka_unit_test(test_corruptions),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
