/* Tests for io/report: metrics JSON parsed back with cJSON, the printed table, predictions CSV
 * (header, quoting, exact round trip of the probabilities), and failures: a missing directory,
 * a clash with the extra fields, a write error that must leave an existing file untouched. */
#include <dirent.h>
#include <errno.h>
#include <math.h>
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

#include "core/metrics.h"
#include "io/report.h"
#include "test_fs_util.h"




/* Whole file, NUL-terminated, malloc'd; NULL if it cannot be read. */
static char *slurp(const char *path, long *len) {
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *buf = malloc((size_t)n + 1);
    if (buf && fread(buf, 1, (size_t)n, f) != (size_t)n) {
        free(buf);
        buf = NULL;
    }
    fclose(f);
    if (buf) buf[n] = '\0';
    if (len) *len = n;
    return buf;
}

/* The metrics of test_metrics' hand-computed example (4 classes, class 3 absent). */
static void example_metrics(gx_class_metrics *m) {
    static const int32_t yt[] = {0, 0, 0, 1, 1, 2, 2, 0};
    static const int32_t yp[] = {0, 0, 1, 1, 0, 1, 0, 0};
    gx_error err = {{0}};
    assert_int_equal(gx_class_metrics_init(m, 4, &err), 0);
    assert_int_equal(gx_class_metrics_compute(m, yt, yp, 8, &err), 0);
}

static double num(const cJSON *obj, const char *key) {
    const cJSON *it = cJSON_GetObjectItemCaseSensitive(obj, key);
    assert_non_null(it);
    assert_true(cJSON_IsNumber(it));
    return it->valuedouble;
}

static void test_metrics_json_roundtrip(void **state) {
    (void)state;
    char dir[600], path[700];
    fresh_dir(dir, sizeof dir, "json");
    snprintf(path, sizeof path, "%s/metrics.json", dir);
    gx_class_metrics m;
    example_metrics(&m);
    const char *names[] = {"zero", "one, with comma", "two \"quoted\"", "three"};
    cJSON *extra = cJSON_CreateObject();
    cJSON_AddStringToObject(extra, "method", "pp+pssl");
    cJSON_AddNumberToObject(extra, "seed", 7);
    gx_error err = {{0}};
    assert_int_equal(gx_metrics_json_write(path, &m, names, extra, &err), 0);
    /* extra is the caller's, unchanged */
    assert_non_null(cJSON_GetObjectItemCaseSensitive(extra, "method"));
    cJSON_Delete(extra);

    char *text = slurp(path, NULL);
    assert_non_null(text);
    cJSON *root = cJSON_Parse(text);
    free(text);
    assert_non_null(root);
    assert_true(num(root, "accuracy") == 0.5);
    assert_true(num(root, "macro_f1") == m.macro_f1);
    assert_true(fabs(num(root, "macro_f1") - 16.0 / 45.0) < 1e-15);
    assert_true(num(root, "n") == 8);
    assert_true(num(root, "seed") == 7);
    assert_string_equal(cJSON_GetObjectItemCaseSensitive(root, "method")->valuestring, "pp+pssl");
    const cJSON *classes = cJSON_GetObjectItemCaseSensitive(root, "classes");
    assert_true(cJSON_IsArray(classes));
    assert_int_equal(cJSON_GetArraySize(classes), 4);
    for (int k = 0; k < 4; k++) {
        const cJSON *c = cJSON_GetArrayItem(classes, k);
        assert_string_equal(cJSON_GetObjectItemCaseSensitive(c, "name")->valuestring, names[k]);
        assert_true(num(c, "precision") == m.precision[k]);
        assert_true(num(c, "recall") == m.recall[k]);
        assert_true(num(c, "f1") == m.f1[k]);
        assert_true(num(c, "support") == (double)m.support[k]);
    }
    assert_true(num(cJSON_GetArrayItem(classes, 0), "precision") == 0.6);
    assert_true(num(cJSON_GetArrayItem(classes, 1), "f1") == 0.4);
    const cJSON *conf = cJSON_GetObjectItemCaseSensitive(root, "confusion");
    assert_int_equal(cJSON_GetArraySize(conf), 4);
    const int want[4][4] = {{3, 1, 0, 0}, {1, 1, 0, 0}, {1, 1, 0, 0}, {0, 0, 0, 0}};
    for (int i = 0; i < 4; i++) {
        const cJSON *row = cJSON_GetArrayItem(conf, i);
        assert_int_equal(cJSON_GetArraySize(row), 4);
        for (int j = 0; j < 4; j++)
            assert_true(cJSON_GetArrayItem(row, j)->valuedouble == want[i][j]);
    }
    cJSON_Delete(root);
    assert_int_equal(count_entries(dir), 1);
    gx_class_metrics_free(&m);
}

/* Without names the classes are "0", "1", ...; an extra key that clashes is an error and nothing
 * is written; extra must be an object. */
static void test_metrics_json_default_names_and_clash(void **state) {
    (void)state;
    char dir[600], path[700];
    fresh_dir(dir, sizeof dir, "json2");
    snprintf(path, sizeof path, "%s/m.json", dir);
    gx_class_metrics m;
    example_metrics(&m);
    gx_error err = {{0}};
    cJSON *obj = gx_metrics_json(&m, NULL, NULL, &err);
    assert_non_null(obj);
    const cJSON *classes = cJSON_GetObjectItemCaseSensitive(obj, "classes");
    assert_string_equal(cJSON_GetObjectItemCaseSensitive(cJSON_GetArrayItem(classes, 3), "name")
                            ->valuestring, "3");
    cJSON_Delete(obj);

    cJSON *extra = cJSON_CreateObject();
    cJSON_AddNumberToObject(extra, "accuracy", 1.0);
    assert_int_equal(gx_metrics_json_write(path, &m, NULL, extra, &err), -1);
    assert_msg_contains(err.msg, path);
    assert_msg_contains(err.msg, "\"accuracy\"");
    cJSON_Delete(extra);
    cJSON *arr = cJSON_CreateArray();
    assert_int_equal(gx_metrics_json_write(path, &m, NULL, arr, &err), -1);
    assert_msg_contains(err.msg, "object");
    cJSON_Delete(arr);
    assert_int_equal(count_entries(dir), 0);
    gx_class_metrics_free(&m);
}

static void test_json_write_file(void **state) {
    (void)state;
    char path[700];
    test_path(path, sizeof path, "plain.json");
    cJSON *o = cJSON_CreateObject();
    cJSON_AddNumberToObject(o, "third", 1.0 / 3.0);
    gx_error err = {{0}};
    assert_int_equal(gx_json_write_file(path, o, &err), 0);
    cJSON_Delete(o);
    long len;
    char *text = slurp(path, &len);
    assert_non_null(text);
    assert_true(len > 0 && text[len - 1] == '\n');
    cJSON *back = cJSON_Parse(text);
    assert_non_null(back);
    assert_true(num(back, "third") == 1.0 / 3.0); /* cJSON prints doubles that round-trip */
    cJSON_Delete(back);
    free(text);
}

static void test_missing_directory(void **state) {
    (void)state;
    char dir[600], path[800], missing[700];
    fresh_dir(dir, sizeof dir, "missing");
    snprintf(missing, sizeof missing, "%s/no-such-dir", dir);
    gx_class_metrics m;
    example_metrics(&m);
    gx_error err = {{0}};
    snprintf(path, sizeof path, "%s/metrics.json", missing);
    assert_int_equal(gx_metrics_json_write(path, &m, NULL, NULL, &err), -1);
    assert_msg_contains(err.msg, path);
    snprintf(path, sizeof path, "%s/predictions.csv", missing);
    const float P[] = {0.25f, 0.75f};
    memset(&err, 0, sizeof err);
    assert_int_equal(gx_predictions_csv_write(path, NULL, 1, P, 2, NULL, &err), -1);
    assert_msg_contains(err.msg, path);
    struct stat st;
    assert_int_equal(stat(missing, &st), -1);
    assert_int_equal(count_entries(dir), 0);
    gx_class_metrics_free(&m);
}

/* Splits the next CSV record at *p (RFC 4180: quoted fields, doubled quotes, newlines inside
 * quotes) into fields[] (each malloc'd). Returns the number of fields, 0 at the end of input. */
static int csv_record(const char **p, char **fields, int max_fields) {
    const char *s = *p;
    if (!*s) return 0;
    int nf = 0;
    for (;;) {
        char *out = malloc(strlen(s) + 1);
        size_t o = 0;
        if (*s == '"') {
            s++;
            for (;;) {
                if (!*s) fail_msg("unterminated quoted field");
                if (*s == '"') {
                    if (s[1] == '"') {
                        out[o++] = '"';
                        s += 2;
                        continue;
                    }
                    s++;
                    break;
                }
                out[o++] = *s++;
            }
        } else {
            while (*s && *s != ',' && *s != '\n') out[o++] = *s++;
        }
        out[o] = '\0';
        if (nf >= max_fields) fail_msg("too many fields");
        fields[nf++] = out;
        if (*s == ',') {
            s++;
            continue;
        }
        if (*s == '\n') s++;
        else if (*s) fail_msg("junk after a field: '%c'", *s);
        break;
    }
    *p = s;
    return nf;
}

static void free_fields(char **f, int n) {
    for (int i = 0; i < n; i++) free(f[i]);
}

static void test_predictions_csv(void **state) {
    (void)state;
    char dir[600], path[700];
    fresh_dir(dir, sizeof dir, "csv");
    snprintf(path, sizeof path, "%s/predictions.csv", dir);
    enum { N = 5, K = 3 };
    const float P[N * K] = {
        1.0f / 3.0f, 0.5f,        1.0f / 6.0f,        /* predicted 1 */
        0.9f,        1e-7f,       0.1f - 1e-7f,       /* 0 */
        0.1f,        0.2f,        0.7f,               /* 2 */
        0.3f,        0.3f,        0.4f,               /* 2 */
        0.5f,        0.5f,        1.401298464e-45f,   /* tie: 0; a denormal */
    };
    const int want_pred[N] = {1, 0, 2, 2, 0};
    const char *ids[N] = {"a", "b,c", "say \"hi\"", "line\nbreak", "e"};
    const char *names[K] = {"cat", "dog, big", "x\"y"};
    gx_error err = {{0}};
    assert_int_equal(gx_predictions_csv_write(path, ids, N, P, K, names, &err), 0);
    char *text = slurp(path, NULL);
    assert_non_null(text);
    const char *header = "id,predicted,p_cat,\"p_dog, big\",\"p_x\"\"y\"\n";
    assert_memory_equal(text, header, strlen(header));

    const char *p = text;
    char *f[16];
    int nf = csv_record(&p, f, 16);
    assert_int_equal(nf, 2 + K);
    assert_string_equal(f[3], "p_dog, big");
    assert_string_equal(f[4], "p_x\"y");
    free_fields(f, nf);
    int rows = 0;
    while ((nf = csv_record(&p, f, 16)) > 0) {
        assert_true(rows < N);
        assert_int_equal(nf, 2 + K);
        assert_string_equal(f[0], ids[rows]);
        assert_string_equal(f[1], names[want_pred[rows]]);
        for (int k = 0; k < K; k++) {
            char *end;
            float v = strtof(f[2 + k], &end);
            assert_true(*end == '\0');
            if (memcmp(&v, &P[rows * K + k], sizeof v) != 0)
                fail_msg("row %d col %d: '%s' reads back as %.9g, wrote %.9g", rows, k, f[2 + k],
                         (double)v, (double)P[rows * K + k]);
        }
        free_fields(f, nf);
        rows++;
    }
    assert_int_equal(rows, N);
    free(text);
    assert_int_equal(count_entries(dir), 1);
}

/* Latent codes: header id,z_0,..., ids quoted as in the predictions CSV (row numbers where an id
 * is missing), values that read back to the same floats; bad arguments write nothing. */
static void test_latent_csv(void **state) {
    (void)state;
    char dir[600], path[700];
    fresh_dir(dir, sizeof dir, "latent");
    snprintf(path, sizeof path, "%s/z.csv", dir);
    enum { N = 3, Z = 2 };
    const float MU[N * Z] = {-1.5f, 1.0f / 3.0f, 1e-30f, 12345.678f, 0.0f, -0.1f};
    const char *ids[N] = {"a,b", NULL, "c"};
    gx_error err = {{0}};
    assert_int_equal(gx_latent_csv_write(path, ids, N, MU, Z, &err), 0);
    char *text = slurp(path, NULL);
    assert_non_null(text);
    const char *p = text;
    char *f[8];
    int nf = csv_record(&p, f, 8);
    assert_int_equal(nf, 1 + Z);
    assert_string_equal(f[0], "id");
    assert_string_equal(f[1], "z_0");
    assert_string_equal(f[2], "z_1");
    free_fields(f, nf);
    const char *want_id[N] = {"a,b", "1", "c"};
    for (int i = 0; i < N; i++) {
        nf = csv_record(&p, f, 8);
        assert_int_equal(nf, 1 + Z);
        assert_string_equal(f[0], want_id[i]);
        for (int j = 0; j < Z; j++) {
            float v = strtof(f[1 + j], NULL);
            assert_memory_equal(&v, &MU[i * Z + j], sizeof v);
        }
        free_fields(f, nf);
    }
    assert_int_equal(csv_record(&p, f, 8), 0);
    free(text);
    char bad[700];
    snprintf(bad, sizeof bad, "%s/bad.csv", dir);
    assert_int_equal(gx_latent_csv_write(bad, NULL, 1, MU, 0, &err), -1);
    assert_int_equal(gx_latent_csv_write(bad, NULL, 2, NULL, Z, &err), -1);
    assert_int_equal(count_entries(dir), 1);
}

/* Without ids the id is the 0-based row number; without names classes are "0", "1", ...;
 * many random floats round-trip exactly. */
static void test_predictions_csv_row_numbers(void **state) {
    (void)state;
    char path[700];
    test_path(path, sizeof path, "rows.csv");
    enum { N = 200, K = 4 };
    static float P[N * K];
    uint32_t s = 12345;
    for (int i = 0; i < N * K; i++) {
        s = s * 1664525u + 1013904223u;
        P[i] = (float)(s >> 8) / 16777216.0f * (i % 3 == 0 ? 1e-3f : 1.0f);
    }
    gx_error err = {{0}};
    assert_int_equal(gx_predictions_csv_write(path, NULL, N, P, K, NULL, &err), 0);
    char *text = slurp(path, NULL);
    assert_non_null(text);
    const char *p = text;
    char *f[8];
    int nf = csv_record(&p, f, 8);
    assert_int_equal(nf, 6);
    assert_string_equal(f[2], "p_0");
    assert_string_equal(f[5], "p_3");
    free_fields(f, nf);
    int rows = 0;
    while ((nf = csv_record(&p, f, 8)) > 0) {
        char want[32];
        snprintf(want, sizeof want, "%d", rows);
        assert_string_equal(f[0], want);
        int32_t pred;
        gx_argmax_rows(P + rows * K, 1, K, &pred);
        snprintf(want, sizeof want, "%d", pred);
        assert_string_equal(f[1], want);
        for (int k = 0; k < K; k++) assert_true(strtof(f[2 + k], NULL) == P[rows * K + k]);
        free_fields(f, nf);
        rows++;
    }
    assert_int_equal(rows, N);
    free(text);

    /* n = 0: just the header */
    assert_int_equal(gx_predictions_csv_write(path, NULL, 0, NULL, 2, NULL, &err), 0);
    text = slurp(path, NULL);
    assert_string_equal(text, "id,predicted,p_0,p_1\n");
    free(text);
    /* bad arguments */
    assert_int_equal(gx_predictions_csv_write(path, NULL, 3, NULL, 2, NULL, &err), -1);
    assert_msg_contains(err.msg, path);
    assert_int_equal(gx_predictions_csv_write(path, NULL, 1, P, 0, NULL, &err), -1);
    assert_msg_contains(err.msg, path);
}

/* A write that fails part-way (file size limit) reports the path and leaves the previous file. */
static void test_failure_keeps_existing_file(void **state) {
    (void)state;
    char dir[600], csv[700], json[700], msg_path[700];
    fresh_dir(dir, sizeof dir, "keep");
    snprintf(csv, sizeof csv, "%s/predictions.csv", dir);
    snprintf(json, sizeof json, "%s/metrics.json", dir);
    snprintf(msg_path, sizeof msg_path, "%s/keep-msg.txt", test_tmpdir());
    test_write_text(csv, "old csv");
    test_write_text(json, "old json");
    fflush(stdout);
    fflush(stderr);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        signal(SIGXFSZ, SIG_IGN);
        enum { N = 2000, K = 30 };
        static float P[N * K];
        for (int i = 0; i < N * K; i++) P[i] = 1.0f / (float)(i % 97 + 3);
        static int32_t yt[N], yp[N];
        for (int i = 0; i < N; i++) yt[i] = i % K, yp[i] = (i * 7) % K;
        gx_class_metrics m;
        gx_error e1 = {{0}}, e2 = {{0}};
        if (gx_class_metrics_init(&m, K, &e1) != 0 ||
            gx_class_metrics_compute(&m, yt, yp, N, &e1) != 0)
            _exit(10);
        struct rlimit rl;
        getrlimit(RLIMIT_FSIZE, &rl);
        rl.rlim_cur = 4096;
        if (setrlimit(RLIMIT_FSIZE, &rl) != 0) _exit(11);
        int rc1 = gx_predictions_csv_write(csv, NULL, N, P, K, NULL, &e1);
        int rc2 = gx_metrics_json_write(json, &m, NULL, NULL, &e2);
        rl.rlim_cur = rl.rlim_max;
        setrlimit(RLIMIT_FSIZE, &rl);
        FILE *f = fopen(msg_path, "w");
        if (f) fprintf(f, "%s\n%s\n", e1.msg, e2.msg), fclose(f);
        gx_class_metrics_free(&m);
        _exit(rc1 == -1 && rc2 == -1 ? 0 : 12);
    }
    int status = 0;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 0);
    char *msg = slurp(msg_path, NULL);
    assert_non_null(msg);
    assert_msg_contains(msg, csv);
    assert_msg_contains(msg, json);
    free(msg);
    char *t = slurp(csv, NULL);
    assert_string_equal(t, "old csv");
    free(t);
    t = slurp(json, NULL);
    assert_string_equal(t, "old json");
    free(t);
    assert_int_equal(count_entries(dir), 2); /* no temporary files left */
}

static void test_metrics_print(void **state) {
    (void)state;
    gx_class_metrics m;
    example_metrics(&m);
    const char *names[] = {"zero", "one", "two", "a long class name"};
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    assert_non_null(f);
    gx_metrics_print(f, &m, names);
    fclose(f);
    assert_msg_contains(buf, "accuracy  0.5000");
    assert_msg_contains(buf, "macro F1  0.3556");
    assert_msg_contains(buf, "precision");
    assert_msg_contains(buf, "support");
    assert_msg_contains(buf, "a long class name");
    /* per-class rows: "one" has P 0.3333, R 0.5000, F1 0.4000, support 2 */
    assert_msg_contains(buf, "0.3333     0.5000     0.4000        2");
    /* the confusion block: header and the 4 rows have the same length (aligned columns) */
    const char *conf = strstr(buf, "true \\ pred");
    assert_non_null(conf);
    size_t w0 = strcspn(conf, "\n");
    const char *line = conf;
    for (int i = 0; i < 5; i++) {
        size_t w = strcspn(line, "\n");
        assert_int_equal(w, w0);
        line += w + 1;
    }
    assert_true(*line == '\0');
    /* the header row names every class as a column */
    char head[512];
    memcpy(head, conf, w0);
    head[w0] = '\0';
    for (int k = 0; k < 4; k++) assert_msg_contains(head, names[k]);
    free(buf);
    gx_class_metrics_free(&m);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_metrics_json_roundtrip),
        cmocka_unit_test(test_metrics_json_default_names_and_clash),
        cmocka_unit_test(test_json_write_file),
        cmocka_unit_test(test_missing_directory),
        cmocka_unit_test(test_predictions_csv),
        cmocka_unit_test(test_latent_csv),
        cmocka_unit_test(test_predictions_csv_row_numbers),
        cmocka_unit_test(test_failure_keeps_existing_file),
        cmocka_unit_test(test_metrics_print),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
