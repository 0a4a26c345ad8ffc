/* Tests for the dataset-spec options that make the star tables of different surveys line up:
 * rename= (with merging), CSV folders (files=), columns=, diff= and the order of keep=. Fixtures
 * are written to a scratch folder; the MACHO and EROS-1 tables are checked when the shared data
 * are present. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "data/readers.h"
#include "data/spec.h"
#include "test_fs_util.h"

/* Parses spec, expecting failure with a message containing each of the NULL-terminated parts. */
static void expect_parse_error(const char *spec, ...) {
    gx_spec s;
    gx_error err = {{0}};
    if (gx_spec_parse(spec, &s, &err) == 0) {
        gx_spec_free(&s);
        fail_msg("spec '%s' parsed, expected an error", spec);
    }
    va_list ap;
    va_start(ap, spec);
    for (const char *part; (part = va_arg(ap, const char *));) assert_msg_contains(err.msg, part);
    va_end(ap);
    assert_null(strchr(err.msg, '\n'));
}

/* Loads spec into ds, failing the test with the message when it does not load. */
static void load_ok(const char *spec, gx_dataset *ds) {
    gx_error err = {{0}};
    if (gx_spec_load(spec, ds, &err) != 0) fail_msg("%s", err.msg);
}

/* Loads spec expecting failure with a message containing want (and the spec). */
static void load_fails(const char *spec, const char *want) {
    gx_dataset ds;
    gx_dataset_init(&ds);
    gx_error err = {{0}};
    if (gx_spec_load(spec, &ds, &err) == 0) {
        gx_dataset_free(&ds);
        fail_msg("spec '%s' loaded, expected an error containing '%s'", spec, want);
    }
    assert_msg_contains(err.msg, "spec '");
    assert_msg_contains(err.msg, want);
    assert_null(strchr(err.msg, '\n'));
}

static const char *class_name(const gx_dataset *ds, int k) {
    static char buf[32];
    return gx_dataset_class_name(ds, k, buf, sizeof buf);
}

/* Checks the class names and per-class counts of ds against names[0..K-1] and counts[0..K-1]. */
static void expect_classes(const gx_dataset *ds, int K, const char *const *names,
                           const int64_t *counts) {
    assert_int_equal(ds->n_classes, K);
    int64_t got[64];
    assert_true(K <= 64);
    assert_int_equal(gx_dataset_class_counts(ds, got), 0);
    for (int k = 0; k < K; k++) {
        assert_string_equal(class_name(ds, k), names[k]);
        if (got[k] != counts[k]) fail_msg("class '%s': %lld rows, expected %lld", names[k],
                                          (long long)got[k], (long long)counts[k]);
    }
}

/* A folder "stars" of headerless files B.csv (2 rows), A.csv (1 row), C.csv (3 rows), plus a
 * text file and a sub-folder called D.csv, which are not tables. Returns its path. */
static const char *star_folder(void) {
    static char dir[600];
    char p[700];
    fresh_dir(dir, sizeof dir, "stars");
    snprintf(p, sizeof p, "%s/B.csv", dir);
    test_write_text(p, "20,2,200\n21,2,210\n");
    snprintf(p, sizeof p, "%s/A.csv", dir);
    test_write_text(p, "10,1,100\n");
    snprintf(p, sizeof p, "%s/C.csv", dir);
    test_write_text(p, "30,3,300\n31,3,310\n32,3,320\n");
    snprintf(p, sizeof p, "%s/notes.txt", dir);
    test_write_text(p, "not,a,table\n");
    snprintf(p, sizeof p, "%s/D.csv", dir);
    mkdir(p, 0777);
    return dir;
}

static void test_parse_star_options(void **state) {
    (void)state;
    gx_spec s;
    gx_error err = {{0}};
    assert_int_equal(gx_spec_parse("csv:dir,header=no,files=EB+CEPH.csv,columns=mag+color+period,"
                                   "rename= 1 : EB + longperiod_lc:LPV,"
                                   "diff=color:magnitude_b-magnitude_r+x:Unnamed: 0-c3",
                                   &s, &err), 0);
    assert_string_equal(s.files[0], "EB");
    assert_string_equal(s.files[1], "CEPH.csv");
    assert_null(s.files[2]);
    assert_string_equal(s.columns[2], "period");
    assert_string_equal(s.rename_from[0], "1");
    assert_string_equal(s.rename_to[0], "EB");
    assert_string_equal(s.rename_from[1], "longperiod_lc");
    assert_string_equal(s.rename_to[1], "LPV");
    assert_null(s.rename_from[2]);
    assert_int_equal(s.n_diffs, 2);
    assert_string_equal(s.diffs[0].name, "color");
    assert_string_equal(s.diffs[0].a, "magnitude_b");
    assert_string_equal(s.diffs[0].b, "magnitude_r");
    assert_string_equal(s.diffs[1].a, "Unnamed: 0");
    assert_string_equal(s.diffs[1].b, "c3");
    gx_spec_free(&s);
    /* rename applies to every kind. */
    assert_int_equal(gx_spec_parse("mnist:train,rename=1:one+7:one", &s, &err), 0);
    assert_string_equal(s.rename_to[1], "one");
    gx_spec_free(&s);
}

static void test_parse_star_options_bad(void **state) {
    (void)state;
    expect_parse_error("csv:x.csv,label=t,rename=1", "spec 'csv:x.csv,label=t,rename=1'",
                       "option 'rename': bad item '1'", "OLD:NEW", NULL);
    expect_parse_error("csv:x.csv,rename=:EB", "option 'rename': bad item ':EB'", NULL);
    expect_parse_error("csv:x.csv,rename=1:EB+2: ", "option 'rename': bad item '2:'", NULL);
    expect_parse_error("csv:x.csv,rename=1:EB++2:C", "option 'rename'", "empty item", NULL);
    expect_parse_error("csv:x.csv,rename=a:b+a:c", "option 'rename': class 'a' is renamed twice",
                       NULL);
    expect_parse_error("csv:x.csv,diff=color", "option 'diff': bad item 'color'", "NEW:A-B", NULL);
    expect_parse_error("csv:x.csv,diff=color:ab", "option 'diff': bad item 'color:ab'", NULL);
    expect_parse_error("csv:x.csv,diff=c:a-b-d", "option 'diff': bad item 'c:a-b-d'", "one '-'", NULL);
    expect_parse_error("csv:x.csv,diff=:a-b", "option 'diff': bad item ':a-b'", NULL);
    expect_parse_error("csv:x.csv,diff=c:-b", "option 'diff': bad item 'c:-b'", NULL);
    expect_parse_error("csv:d,files=a/b", "option 'files': bad item 'a/b'", "without '/'", NULL);
    expect_parse_error("csv:d,files=A+B+A.csv", "option 'files': 'A' is listed twice", NULL);
    expect_parse_error("csv:d,files=.csv", "option 'files': bad item '.csv'", NULL);
    expect_parse_error("mnist:train,columns=a", "option 'columns' does not apply to mnist", NULL);
    expect_parse_error("npy:x.npy,diff=c:a-b", "option 'diff' does not apply to npy", NULL);
    expect_parse_error("npy:x.npy,files=a", "option 'files' does not apply to npy", NULL);
    expect_parse_error("csv:x.csv,renmae=a:b", "unknown option 'renmae'", "did you mean 'rename'",
                       NULL);
}

static void test_help_lists_star_options(void **state) {
    (void)state;
    char path[600];
    test_path(path, sizeof path, "help-stars.txt");
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    gx_spec_print_help(f);
    fclose(f);
    FILE *g = fopen(path, "r");
    assert_non_null(g);
    char text[16384];
    size_t n = fread(text, 1, sizeof text - 1, g);
    text[n] = '\0';
    fclose(g);
    const char *parts[] = {"rename=OLD:NEW", "merged", "files=A+B", "*.csv", "columns=A+B",
                           "diff=NEW:A-B", "in this order", "csv:FOLDER", "order rename, select",
                           NULL};
    for (int i = 0; parts[i]; i++) assert_msg_contains(text, parts[i]);
}

static void test_folder_one_class_per_file(void **state) {
    (void)state;
    const char *dir = star_folder();
    char spec[1400];
    gx_dataset ds;
    gx_dataset_init(&ds);
    /* Every *.csv file, sorted by name; the text file and the sub-folder are left out. */
    snprintf(spec, sizeof spec, "csv:%s,header=no", dir);
    load_ok(spec, &ds);
    const char *abc[] = {"A", "B", "C"};
    expect_classes(&ds, 3, abc, (const int64_t[]){1, 2, 3});
    assert_int_equal(ds.d, 3);
    assert_true(ds.x[0] == 10.0f && ds.x[3] == 20.0f);
    assert_int_equal(ds.y[5], 2);
    assert_string_equal(ds.feature_names[0], "c0");
    /* files= picks and orders the files (".csv" may be written); rows come in that order. */
    snprintf(spec, sizeof spec, "csv:%s,header=no,files=C+A.csv,columns=mag+color+period", dir);
    load_ok(spec, &ds);
    const char *ca[] = {"C", "A"};
    expect_classes(&ds, 2, ca, (const int64_t[]){3, 1});
    assert_int_equal(ds.n, 4);
    assert_true(ds.x[0] == 30.0f && ds.x[9] == 10.0f);
    assert_string_equal(ds.feature_names[2], "period");
    /* With label=, the labels come from the column. */
    snprintf(spec, sizeof spec, "csv:%s,header=no,files=B+C,label=c1", dir);
    load_ok(spec, &ds);
    const char *c23[] = {"2", "3"};
    expect_classes(&ds, 2, c23, (const int64_t[]){2, 3});
    assert_int_equal(ds.d, 2);
    /* The other options apply as for one file. */
    snprintf(spec, sizeof spec, "csv:%s,header=no,columns=m+c+p,log10=p,select=C+B,limit=4", dir);
    load_ok(spec, &ds);
    const char *cb[] = {"C", "B"};
    expect_classes(&ds, 2, cb, (const int64_t[]){2, 2});
    assert_true(fabsf(ds.x[2] - log10f(200.0f)) < 1e-6f);
    gx_dataset_free(&ds);
}

static void test_folder_errors(void **state) {
    (void)state;
    const char *dir = star_folder();
    char spec[1400], p[700], want[800];
    snprintf(spec, sizeof spec, "csv:%s,header=no,files=A+Z", dir);
    snprintf(want, sizeof want, "%s/Z.csv: no such file", dir);
    load_fails(spec, want);
    load_fails(spec, "its .csv files are 'A', 'B', 'C'");
    snprintf(spec, sizeof spec, "csv:%s/A.csv,header=no,files=A", dir);
    load_fails(spec, "files= reads files of a folder");
    char empty[600];
    fresh_dir(empty, sizeof empty, "no-tables");
    snprintf(spec, sizeof spec, "csv:%s", empty);
    load_fails(spec, "the folder has no .csv files");
    snprintf(spec, sizeof spec, "csv:%s/nonexistent", empty);
    load_fails(spec, "nonexistent: cannot open CSV file");
    /* A file with another column count: named with its line. */
    snprintf(p, sizeof p, "%s/B.csv", dir);
    test_write_text(p, "20,2\n");
    snprintf(spec, sizeof spec, "csv:%s,header=no", dir);
    snprintf(want, sizeof want, "%s: line 1 has 2 fields; expected 3", p);
    load_fails(spec, want);
    /* With a header, the headers must agree. */
    char hdir[600];
    fresh_dir(hdir, sizeof hdir, "with-header");
    snprintf(p, sizeof p, "%s/a.csv", hdir);
    test_write_text(p, "mag,period\n1,2\n");
    snprintf(p, sizeof p, "%s/b.csv", hdir);
    test_write_text(p, "mag,freq\n1,2\n");
    snprintf(spec, sizeof spec, "csv:%s", hdir);
    load_fails(spec, "b.csv: line 1: column 1 is 'freq'; expected 'period'");
    snprintf(spec, sizeof spec, "csv:%s,files=a,columns=x", hdir);
    load_fails(spec, "1 column name given, but line 1 has 2 fields");
}

static void test_rename_merges_classes(void **state) {
    (void)state;
    const char *dir = star_folder();
    char spec[1400];
    gx_dataset ds;
    gx_dataset_init(&ds);
    /* A and C become X: one class at A's place; B keeps its place after it. */
    snprintf(spec, sizeof spec, "csv:%s,header=no,rename=C:X+A:X", dir);
    load_ok(spec, &ds);
    const char *xb[] = {"X", "B"};
    expect_classes(&ds, 2, xb, (const int64_t[]){4, 2});
    const int32_t want[] = {0, 1, 1, 0, 0, 0}; /* rows of A, B, B, C, C, C */
    for (int i = 0; i < 6; i++) assert_int_equal(ds.y[i], want[i]);
    /* select= sees the new names. */
    snprintf(spec, sizeof spec, "csv:%s,header=no,rename=A:X+C:X+B:Y,select=Y+X", dir);
    load_ok(spec, &ds);
    const char *yx[] = {"Y", "X"};
    expect_classes(&ds, 2, yx, (const int64_t[]){2, 4});
    /* Renaming to the name of another class merges with it too. */
    snprintf(spec, sizeof spec, "csv:%s,header=no,rename=C:A", dir);
    load_ok(spec, &ds);
    const char *ab[] = {"A", "B"};
    expect_classes(&ds, 2, ab, (const int64_t[]){4, 2});
    /* Unknown classes and unlabelled data. */
    snprintf(spec, sizeof spec, "csv:%s,header=no,rename=A:X+Q:Y", dir);
    load_fails(spec, "rename: no class 'Q' (classes: 'A', 'B', 'C')");
    snprintf(spec, sizeof spec, "csv:%s,header=no,select=X,rename=A:X", dir);
    load_ok(spec, &ds); /* rename comes first whatever the order written */
    assert_int_equal(ds.n, 1);
    char p[700];
    snprintf(p, sizeof p, "%s/A.csv", dir);
    snprintf(spec, sizeof spec, "csv:%s,header=no,rename=A:X", p);
    load_fails(spec, "rename= needs labels");
    gx_dataset_free(&ds);
}

static void test_rename_integer_labels(void **state) {
    (void)state;
    char p[600], spec[1400];
    test_path(p, sizeof p, "typed.csv");
    test_write_text(p, "v,type\n1,2.0\n2,1.0\n3,4.0\n4,2.0\n");
    gx_dataset ds;
    gx_dataset_init(&ds);
    /* Integral labels "1.0", "2.0", "4.0" are classes "1", "2", "4". */
    snprintf(spec, sizeof spec, "csv:%s,label=type,rename=1:EB+2:CEPH+4:LPV", p);
    load_ok(spec, &ds);
    const char *names[] = {"EB", "CEPH", "LPV"};
    expect_classes(&ds, 3, names, (const int64_t[]){1, 2, 1});
    assert_int_equal(ds.y[0], 1);
    snprintf(spec, sizeof spec, "csv:%s,label=type,rename=3:RRL", p);
    load_fails(spec, "rename: no class '3' (classes: '1', '2', '4')");
    gx_dataset_free(&ds);
}

static void test_diff_and_keep_order(void **state) {
    (void)state;
    char p[600], spec[1400];
    test_path(p, sizeof p, "survey.csv");
    test_write_text(p, "id,magnitude_b,magnitude_r,period,type\n"
                       "s1,19.5,18.5,10,1\n"
                       "s2,17.25,17,1000,2\n");
    gx_dataset ds;
    gx_dataset_init(&ds);
    /* The features in the order of keep=, including the diff column; log10 after diff. */
    snprintf(spec, sizeof spec, "csv:%s,label=type,id=id,diff=color:magnitude_b-magnitude_r,"
             "keep=magnitude_r+color+period,log10=period", p);
    load_ok(spec, &ds);
    assert_int_equal(ds.d, 3);
    assert_string_equal(ds.feature_names[0], "magnitude_r");
    assert_string_equal(ds.feature_names[1], "color");
    assert_string_equal(ds.feature_names[2], "period");
    const float want[] = {18.5f, 1.0f, 1.0f, 17.0f, 0.25f, 3.0f};
    for (int i = 0; i < 6; i++) assert_near(ds.x[i], want[i], 1e-6);
    /* Without keep=, diff columns follow the file's columns; scale applies to them too. */
    snprintf(spec, sizeof spec, "csv:%s,label=type,id=id,diff=color:magnitude_b-magnitude_r,"
             "scale=2", p);
    load_ok(spec, &ds);
    assert_int_equal(ds.d, 4);
    assert_string_equal(ds.feature_names[3], "color");
    assert_near(ds.x[3], 2.0, 1e-6);
    /* log10= of a diff column that is negative somewhere: named. */
    snprintf(spec, sizeof spec, "csv:%s,label=type,id=id,diff=c:magnitude_r-magnitude_b,log10=c", p);
    load_fails(spec, "column 'c'");
    snprintf(spec, sizeof spec, "csv:%s,label=type,id=id,diff=color:magnitude_b-magnitude_g", p);
    load_fails(spec, "diff column 'magnitude_g' not found");
    snprintf(spec, sizeof spec, "csv:%s,label=type,id=id,keep=color+period", p);
    load_fails(spec, "unknown column in the keep list: 'color'");
    gx_dataset_free(&ds);
}

/* The MACHO and EROS-1 tables as used for cross-survey transfer. */
/* log10= of a column with a value <= 0: an error, unless missing=drop, which drops that row. */
static void test_log10_nonpositive_rows(void **state) {
    (void)state;
    char p[600], spec[1400];
    test_path(p, sizeof p, "zero_period.csv");
    test_write_text(p, "period,amp,type\n10,1,a\n0,2,b\n100,3,a\n1000,0,b\n");
    gx_dataset ds;
    gx_dataset_init(&ds);
    snprintf(spec, sizeof spec, "csv:%s,label=type,log10=period", p);
    load_fails(spec, "period");
    snprintf(spec, sizeof spec, "csv:%s,label=type,log10=period,missing=drop", p);
    load_ok(spec, &ds);
    assert_int_equal(ds.n, 3);
    assert_near(ds.x[2], 2.0, 1e-6); /* row 3: log10(100) */
    snprintf(spec, sizeof spec, "csv:%s,label=type,log10=period+amp,missing=drop", p);
    load_ok(spec, &ds);
    assert_int_equal(ds.n, 2);
    assert_near(ds.x[3], log10(3.0), 1e-6);
    gx_dataset_free(&ds);
}

static void test_real_star_tables(void **state) {
    (void)state;
    const char *data = test_data_dir();
    char dir[600], spec[1600];
    if (!data) skip();
    snprintf(dir, sizeof dir, "%s/stars/macho", data);
    struct stat st;
    if (stat(dir, &st) != 0) skip();
    gx_dataset ds;
    gx_dataset_init(&ds);
    /* MACHO, four classes shared with EROS-1. The files have no header line: every line is a
     * star. */
    snprintf(spec, sizeof spec, "csv:%s,header=no,files=EB+CEPH+RRL+longperiod_lc,"
             "rename=longperiod_lc:LPV,columns=mag+color+period+amp,keep=mag+color+period,"
             "log10=period", dir);
    load_ok(spec, &ds);
    const char *four[] = {"EB", "CEPH", "RRL", "LPV"};
    expect_classes(&ds, 4, four, (const int64_t[]){255, 101, 610, 365});
    assert_int_equal(ds.d, 3);
    assert_string_equal(ds.feature_names[1], "color");
    assert_near(ds.x[2], log10(1.445754787433627975e+01), 1e-5); /* EB.csv, first line */
    /* All eight classes; the three non-variable files merged; lc_*.mjd files ignored. */
    snprintf(spec, sizeof spec, "csv:%s,header=no,rename=non_variables_1:non_variable+"
             "non_variables_2:non_variable+non_variables_3:non_variable", dir);
    load_ok(spec, &ds);
    const char *eight[] = {"Be_lc", "CEPH", "EB", "RRL", "longperiod_lc", "microlensing_lc",
                           "non_variable", "quasar_lc"};
    expect_classes(&ds, 8, eight,
                   (const int64_t[]){128, 101, 255, 610, 365, 582, 465 + 3508 + 517, 59});
    /* EROS-1: integer types renamed, colour computed, the shared features in MACHO's order. */
    snprintf(spec, sizeof spec, "csv:%s/stars/eros1/train.csv,label=type,id=Unnamed: 0,"
             "rename=1:EB+2:CEPH+3:RRL+4:LPV,diff=color:magnitude_b-magnitude_r,"
             "keep=magnitude_r+color+period,log10=period", data);
    load_ok(spec, &ds);
    expect_classes(&ds, 4, four, (const int64_t[]){339, 604, 1777, 192});
    assert_int_equal(ds.d, 3);
    assert_string_equal(ds.feature_names[0], "magnitude_r");
    assert_string_equal(ds.feature_names[1], "color");
    assert_string_equal(ds.ids[0], "135_9613");
    assert_near(ds.x[0], 18.8044, 1e-4);
    assert_near(ds.x[1], 19.1458 - 18.8044, 1e-5);
    assert_near(ds.x[2], log10(2.35495), 1e-6);
    gx_dataset_free(&ds);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse_star_options),
        cmocka_unit_test(test_parse_star_options_bad),
        cmocka_unit_test(test_help_lists_star_options),
        cmocka_unit_test(test_folder_one_class_per_file),
        cmocka_unit_test(test_folder_errors),
        cmocka_unit_test(test_rename_merges_classes),
        cmocka_unit_test(test_rename_integer_labels),
        cmocka_unit_test(test_diff_and_keep_order),
        cmocka_unit_test(test_log10_nonpositive_rows),
        cmocka_unit_test(test_real_star_tables),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
