/* Tests for the CSV reader: quoting, line endings, BOM, blank lines, column choices, label
 * mappings, missing values, every kind of malformed file, and the real star tables when
 * ../shared/data is present. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <zlib.h>

#include "data/readers.h"
#include "test_util.h"

#define assert_msg_contains(msg, sub)                                                  \
    do {                                                                               \
        if (!strstr((msg), (sub))) {                                                   \
            print_error("message \"%s\" does not contain \"%s\"\n", (msg), (sub));     \
            fail();                                                                    \
        }                                                                              \
    } while (0)

/* Writes text (exact bytes) to a scratch file and returns its path (static buffer). */
static const char *fixture(const char *name, const char *text) {
    static char path[600];
    test_path(path, sizeof path, name);
    test_write_file(path, text, strlen(text));
    return path;
}

static void read_ok(const char *path, const gx_csv_options *o, gx_dataset *ds, int64_t *dropped) {
    gx_error err = {{0}};
    if (gx_read_csv(path, o, ds, dropped, &err) != 0) {
        print_error("unexpected failure: %s\n", err.msg);
        fail();
    }
}

static void expect_fail(const char *path, const gx_csv_options *o, const char *want) {
    gx_dataset ds;
    gx_error err = {{0}};
    gx_dataset_init(&ds);
    assert_int_equal(gx_dataset_alloc(&ds, 2, 2, 1, &err), 0); /* freed by the reader */
    assert_int_equal(gx_read_csv(path, o, &ds, NULL, &err), -1);
    if (getenv("GX_TEST_VERBOSE")) fprintf(stderr, "  %s\n", err.msg);
    assert_msg_contains(err.msg, path);
    assert_msg_contains(err.msg, want);
    assert_null(strchr(err.msg, '\n'));
    assert_null(ds.x);
    assert_null(ds.y);
    assert_null(ds.feature_names);
    assert_int_equal(ds.n, 0);
}

/* A gzip'd CSV file reads as the plain one (detected by its magic bytes, whatever its name); a
 * truncated or corrupt stream is a one-line error. */
static void test_gzip(void **state) {
    (void)state;
    const char *text = "name,x,y,label\nvega,1.5,2,a\nsirius,-1,0.25,b\nrigel,3,4,a\n";
    const char *plain = fixture("g-plain.csv", text);
    char gz[600];
    test_path(gz, sizeof gz, "g-table.csv.gz");
    gzFile g = gzopen(gz, "wb9");
    assert_non_null(g);
    assert_int_equal(gzwrite(g, text, (unsigned)strlen(text)), (int)strlen(text));
    assert_int_equal(gzclose(g), Z_OK);
    gx_csv_options o;
    gx_csv_options_init(&o);
    o.label_column = "label";
    o.id_column = "name";
    gx_dataset a, b;
    gx_error err = {{0}};
    gx_dataset_init(&a);
    gx_dataset_init(&b);
    assert_int_equal(gx_read_csv(plain, &o, &a, NULL, &err), 0);
    assert_int_equal(gx_read_csv(gz, &o, &b, NULL, &err), 0);
    assert_int_equal(a.n, b.n);
    assert_int_equal(a.d, b.d);
    assert_memory_equal(a.x, b.x, (size_t)(a.n * a.d) * sizeof(float));
    assert_memory_equal(a.y, b.y, (size_t)a.n * sizeof(int32_t));
    assert_string_equal(b.ids[2], "rigel");
    gx_dataset_free(&a);
    gx_dataset_free(&b);
    /* cut short, and not gzip after its magic bytes */
    FILE *f = fopen(gz, "rb");
    assert_non_null(f);
    unsigned char buf[256];
    size_t n = fread(buf, 1, sizeof buf, f);
    fclose(f);
    char cut[600];
    test_path(cut, sizeof cut, "g-cut.csv.gz");
    test_write_file(cut, buf, n - 6);
    expect_fail(cut, &o, "corrupt gzip data");
    test_path(cut, sizeof cut, "g-bad.csv");
    test_write_file(cut, "\x1f\x8bnot deflate at all", 20);
    expect_fail(cut, &o, "corrupt gzip data");
}

static void test_basic_string_labels(void **state) {
    (void)state;
    const char *p = fixture("basic.csv", "id,a,b,kind\n"
                                         "s1,1.5,2,cat\n"
                                         "s2,-3,4e2,dog\n"
                                         "s3,0,  7 ,cat\n"
                                         "s4,1,1,bird\n");
    gx_csv_options o;
    gx_csv_options_init(&o);
    o.label_column = "kind";
    o.id_column = "id";
    gx_dataset ds;
    gx_dataset_init(&ds);
    read_ok(p, &o, &ds, NULL);
    assert_int_equal(ds.n, 4);
    assert_int_equal(ds.d, 2);
    assert_true(ds.x[0] == 1.5f && ds.x[1] == 2.0f && ds.x[3] == 400.0f && ds.x[5] == 7.0f);
    assert_string_equal(ds.feature_names[0], "a");
    assert_string_equal(ds.feature_names[1], "b");
    assert_string_equal(ds.ids[1], "s2");
    /* Text labels: classes in order of first appearance. */
    assert_int_equal(ds.n_classes, 3);
    assert_string_equal(ds.class_names[0], "cat");
    assert_string_equal(ds.class_names[1], "dog");
    assert_string_equal(ds.class_names[2], "bird");
    assert_int_equal(ds.y[0], 0);
    assert_int_equal(ds.y[1], 1);
    assert_int_equal(ds.y[2], 0);
    assert_int_equal(ds.y[3], 2);
    assert_string_equal(ds.source, p);
    assert_int_equal(ds.height, 0);
    gx_dataset_free(&ds);
}

static void test_quotes_crlf_bom_blank_lines(void **state) {
    (void)state;
    const char *p = fixture("quoted.csv", "\xEF\xBB\xBF"
                                          "\"name, with comma\",\"x\",y\r\n"
                                          "\r\n"
                                          "\"he said \"\"hi\"\"\",\"1.25\",2\r\n"
                                          "\n"
                                          "\"two\nlines\",3,\"4\"\r\n"
                                          "plain,5,6"); /* no final newline */
    gx_csv_options o;
    gx_csv_options_init(&o);
    o.id_column = "name, with comma";
    gx_dataset ds;
    gx_dataset_init(&ds);
    read_ok(p, &o, &ds, NULL);
    assert_int_equal(ds.n, 3);
    assert_int_equal(ds.d, 2);
    assert_string_equal(ds.feature_names[0], "x");
    assert_string_equal(ds.ids[0], "he said \"hi\"");
    assert_string_equal(ds.ids[1], "two\nlines");
    assert_string_equal(ds.ids[2], "plain");
    assert_true(ds.x[0] == 1.25f && ds.x[3] == 4.0f && ds.x[5] == 6.0f);
    assert_null(ds.y);
    gx_dataset_free(&ds);
    /* Line numbers count physical lines: the ragged row after the two-line field is line 8. */
    p = fixture("quoted-ragged.csv", "id,x\n"
                                     "\"a\nb\nc\",1\n"
                                     "\n"
                                     "d,2\n"
                                     "\"e\",3\n"
                                     "f,4,5\n");
    gx_csv_options_init(&o);
    o.id_column = "id";
    expect_fail(p, &o, "line 8 has 3 fields; expected 2 (as in the header)");
}

static void test_integer_labels(void **state) {
    (void)state;
    /* 1..4 written as floats: classes 0..3 named "1".."4", sorted numerically. */
    const char *p = fixture("ints.csv", "f,type\n0.5,3.0\n1,1.0\n2,4.0\n3,2.0\n4,3\n5,10\n");
    gx_csv_options o;
    gx_csv_options_init(&o);
    o.label_column = "type";
    gx_dataset ds;
    gx_dataset_init(&ds);
    read_ok(p, &o, &ds, NULL);
    assert_int_equal(ds.n_classes, 5);
    const char *names[5] = {"1", "2", "3", "4", "10"};
    for (int k = 0; k < 5; k++) assert_string_equal(ds.class_names[k], names[k]);
    int32_t want[6] = {2, 0, 3, 1, 2, 4};
    for (int i = 0; i < 6; i++) assert_int_equal(ds.y[i], want[i]);
    /* 0-based labels stay as they are; the label column by index. */
    p = fixture("zero.csv", "a,b,c\n1,2,0\n3,4,2\n5,6,1\n");
    o.label_column = "2";
    read_ok(p, &o, &ds, NULL);
    assert_int_equal(ds.d, 2);
    assert_int_equal(ds.y[1], 2);
    assert_string_equal(ds.class_names[2], "2");
    /* Negative integers are names like any other. */
    p = fixture("neg.csv", "a,b\n1,-1\n2,1\n");
    o.label_column = "b";
    read_ok(p, &o, &ds, NULL);
    assert_string_equal(ds.class_names[0], "-1");
    assert_int_equal(ds.y[1], 1);
    gx_dataset_free(&ds);
}

static void test_label_classes_list(void **state) {
    (void)state;
    const char *p = fixture("given.csv", "x,lab\n1,b\n2,a\n3,b\n4,NA\n5,\n");
    gx_csv_options o;
    gx_csv_options_init(&o);
    o.label_column = "lab";
    const char *classes[] = {"a", "b", "c", NULL};
    o.label_classes = classes;
    gx_dataset ds;
    gx_dataset_init(&ds);
    read_ok(p, &o, &ds, NULL);
    assert_int_equal(ds.n, 5);
    assert_int_equal(ds.n_classes, 3);
    assert_string_equal(ds.class_names[2], "c");
    assert_int_equal(ds.y[0], 1);
    assert_int_equal(ds.y[1], 0);
    /* Missing labels: unlabelled rows. */
    assert_int_equal(ds.y[3], GX_UNLABELLED);
    assert_int_equal(ds.y[4], GX_UNLABELLED);
    int64_t counts[3];
    assert_int_equal(gx_dataset_class_counts(&ds, counts), 2);
    /* Numeric labels match numeric class names by value. */
    p = fixture("given-num.csv", "x,type\n1,3.0\n2,1.0\n");
    const char *num[] = {"1", "2", "3", "4", NULL};
    o.label_column = "type";
    o.label_classes = num;
    read_ok(p, &o, &ds, NULL);
    assert_int_equal(ds.n_classes, 4);
    assert_int_equal(ds.y[0], 2);
    assert_int_equal(ds.y[1], 0);
    gx_dataset_free(&ds);
    /* A value outside the list. */
    p = fixture("given-bad.csv", "x,lab\n1,a\n2,zebra\n");
    o.label_column = "lab";
    o.label_classes = classes;
    expect_fail(p, &o, "line 3, column 'lab': label 'zebra' is not one of the 3 classes given");
}

static void test_keep_drop(void **state) {
    (void)state;
    const char *p = fixture("cols.csv", "a,b,c,d,label\n1,2,3,4,x\n5,6,7,8,y\n");
    gx_csv_options o;
    gx_csv_options_init(&o);
    o.label_column = "label";
    const char *keep[] = {"d", "b", NULL};
    o.keep = keep;
    gx_dataset ds;
    gx_dataset_init(&ds);
    read_ok(p, &o, &ds, NULL);
    assert_int_equal(ds.d, 2);
    assert_string_equal(ds.feature_names[0], "d"); /* the order of keep, not the file's */
    assert_string_equal(ds.feature_names[1], "b");
    assert_true(ds.x[0] == 4.0f && ds.x[1] == 2.0f && ds.x[2] == 8.0f && ds.x[3] == 6.0f);
    o.keep = NULL;
    const char *drop[] = {"a", "c", NULL};
    o.drop = drop;
    read_ok(p, &o, &ds, NULL);
    assert_int_equal(ds.d, 2);
    assert_string_equal(ds.feature_names[0], "b");
    gx_dataset_free(&ds);

    const char *bad_keep[] = {"a", "nope", "zilch", NULL};
    o.drop = NULL;
    o.keep = bad_keep;
    expect_fail(p, &o, "unknown columns in the keep list: 'nope', 'zilch'");
    o.keep = NULL;
    const char *bad_drop[] = {"q", NULL};
    o.drop = bad_drop;
    expect_fail(p, &o, "unknown column in the drop list: 'q'");
    o.drop = NULL;
    const char *keep_twice[] = {"b", "d", "1", NULL}; /* column 1 is b */
    o.keep = keep_twice;
    expect_fail(p, &o, "column 'b' is in the keep list twice");
    const char *keep_label[] = {"a", "label", NULL};
    o.keep = keep_label;
    expect_fail(p, &o, "column 'label' is the label column and cannot be kept");
    o.keep = NULL;
    const char *drop_all[] = {"a", "b", "c", "d", NULL};
    o.drop = drop_all;
    expect_fail(p, &o, "no feature columns left");
    o.drop = NULL;
    o.label_column = "klass";
    expect_fail(p, &o, "label column 'klass' not found; the columns are 'a', 'b', 'c', 'd', 'label'");
    o.label_column = "7";
    expect_fail(p, &o, "label column '7' not found");
    o.label_column = "label";
    o.id_column = "label";
    expect_fail(p, &o, "cannot be both the label and the id");
    const char *dup = fixture("dup.csv", "a,a,b\n1,2,3\n");
    gx_csv_options_init(&o);
    o.label_column = "a";
    expect_fail(dup, &o, "label column 'a' is ambiguous");
}

static void test_missing_values(void **state) {
    (void)state;
    const char *p = fixture("missing.csv", "a,b,c\n1,2,x\n,3,y\n4,NA,z\n5,nan,y\n6,null,x\n"
                                           "7,NaN,y\n8,abc,z\n9,inf,z\n10,1e40,z\n11,12,y\n");
    gx_csv_options o;
    gx_csv_options_init(&o);
    o.label_column = "c";
    expect_fail(p, &o, "line 3, column 'a': missing value ''; expected a number");
    /* Drop: every bad row goes, the rest stay. */
    o.missing = GX_MISSING_DROP;
    gx_dataset ds;
    gx_dataset_init(&ds);
    int64_t dropped = -1;
    read_ok(p, &o, &ds, &dropped);
    assert_int_equal(dropped, 8);
    assert_int_equal(ds.n, 2);
    assert_true(ds.x[0] == 1.0f && ds.x[2] == 11.0f && ds.x[3] == 12.0f);
    assert_int_equal(ds.n_classes, 2); /* "z" only appeared on dropped rows */
    assert_string_equal(ds.class_names[1], "y");
    gx_dataset_free(&ds);
    /* Each kind as an error. */
    o.missing = GX_MISSING_ERROR;
    o.label_column = NULL;
    p = fixture("m-na.csv", "a,b\n1,2\n3,NA\n");
    expect_fail(p, &o, "line 3, column 'b': missing value 'NA'");
    p = fixture("m-nan.csv", "a,b\n1,2\n\n3,4\nnan,5\n");
    expect_fail(p, &o, "line 5, column 'a': missing value 'nan'");
    p = fixture("m-text.csv", "a,b\n1,2\n3,4x\n");
    expect_fail(p, &o, "line 3, column 'b': '4x' is not a number");
    p = fixture("m-inf.csv", "a,b\n1,-inf\n");
    expect_fail(p, &o, "line 2, column 'b': non-finite value '-inf'");
    p = fixture("m-range.csv", "a,b\n1,1e39\n");
    expect_fail(p, &o, "line 2, column 'b': '1e39' is out of float32 range");
    p = fixture("m-range2.csv", "a,b\n1,1e999\n");
    expect_fail(p, &o, "'1e999' is out of float32 range");
    /* decimal only, and no nonzero value read as 0 (issue 20) */
    p = fixture("m-hex.csv", "a,b\n1,2\n-0x10,4\n");
    expect_fail(p, &o, "line 3, column 'a': '-0x10' is not a decimal number (hexadecimal is not read)");
    p = fixture("m-under.csv", "a,b\n1,1e-50\n");
    expect_fail(p, &o, "line 2, column 'b': '1e-50' is below float32's smallest value");
    p = fixture("m-zeros.csv", "a,b\n0.000e-999,-0\n1.5e-40,0e5\n");
    {
        gx_dataset zd;
        gx_error err = {{0}};
        gx_dataset_init(&zd);
        assert_int_equal(gx_read_csv(p, &o, &zd, NULL, &err), 0); /* zeros, and a subnormal, read */
        assert_true(zd.x[0] == 0.0f && zd.x[1] == 0.0f && zd.x[2] > 0.0f && zd.x[3] == 0.0f);
        gx_dataset_free(&zd);
    }
    p = fixture("m-textcol.csv", "name,b\nvega,1\n");
    expect_fail(p, &o, "line 2, column 'name': 'vega' is not a number (a text column?");
    /* All rows dropped. */
    o.missing = GX_MISSING_DROP;
    p = fixture("m-all.csv", "a,b\n1,NA\n,2\n");
    expect_fail(p, &o, "all 2 data rows were dropped");
}

static void test_malformed(void **state) {
    (void)state;
    gx_csv_options o;
    gx_csv_options_init(&o);
    expect_fail(fixture("ragged.csv", "a,b,c\n1,2,3\n4,5\n"), &o,
                "line 3 has 2 fields; expected 3 (as in the header)");
    expect_fail(fixture("ragged2.csv", "a,b\n1,2\n3,4,\n"), &o, "line 3 has 3 fields; expected 2");
    expect_fail(fixture("unclosed.csv", "a,b\n1,2\n\"3,4\n5,6\n"), &o,
                "line 3: quoted field (field 1) is never closed");
    expect_fail(fixture("afterquote.csv", "a,b\n\"1\"x,2\n"), &o,
                "line 2: unexpected character 'x' after the closing quote of field 1");
    expect_fail(fixture("empty.csv", ""), &o, "empty file; expected a header line");
    expect_fail(fixture("blank.csv", "\n\r\n\n"), &o, "empty file");
    expect_fail(fixture("header-only.csv", "a,b\n"), &o, "no data rows");
    char p[600];
    test_write_file(test_path(p, sizeof p, "nul.csv"), "a,b\n1,2\n3\0,4\n", 13);
    expect_fail(p, &o, "line 3: NUL byte");
    expect_fail(test_path(p, sizeof p, "no-such.csv"), &o, "No such file");
    expect_fail(test_tmpdir(), &o, "not a regular file");
    o.delimiter = '"';
    expect_fail(fixture("x.csv", "a\n1\n"), &o, "invalid CSV delimiter");
}

static void test_headerless_and_delimiter(void **state) {
    (void)state;
    const char *p = fixture("nohdr.csv", "1;2;3\n4;5;6\n");
    gx_csv_options o;
    gx_csv_options_init(&o);
    o.has_header = 0;
    o.delimiter = ';';
    gx_dataset ds;
    gx_dataset_init(&ds);
    read_ok(p, &o, &ds, NULL);
    assert_int_equal(ds.n, 2);
    assert_int_equal(ds.d, 3);
    assert_string_equal(ds.feature_names[2], "c2");
    assert_true(ds.x[5] == 6.0f);
    o.label_column = "c0";
    read_ok(p, &o, &ds, NULL);
    assert_int_equal(ds.d, 2);
    assert_string_equal(ds.class_names[1], "4");
    gx_dataset_free(&ds);
    p = fixture("nohdr-ragged.csv", "1,2\n3\n");
    gx_csv_options_init(&o);
    o.has_header = 0;
    expect_fail(p, &o, "line 2 has 1 field; expected 2 (as in the first line)");
    /* NULL options: defaults. */
    p = fixture("defaults.csv", "a\n1\n");
    read_ok(p, NULL, &ds, NULL);
    assert_int_equal(ds.n, 1);
    gx_dataset_free(&ds);
}

static void test_column_names_and_diffs(void **state) {
    (void)state;
    const char *p = fixture("nohdr-diff.csv", "1,2,3\n4,6,9\n");
    gx_csv_options o;
    gx_csv_options_init(&o);
    o.has_header = 0;
    const char *cols[] = {"x", "y", "z", NULL};
    const gx_csv_diff diffs[] = {{"d", "z", "x"}};
    o.column_names = cols;
    o.diffs = diffs;
    o.n_diffs = 1;
    gx_dataset ds;
    gx_dataset_init(&ds);
    /* No keep: the file's columns, then the differences. */
    read_ok(p, &o, &ds, NULL);
    assert_int_equal(ds.d, 4);
    assert_string_equal(ds.feature_names[0], "x");
    assert_string_equal(ds.feature_names[3], "d");
    assert_true(ds.x[3] == 2.0f && ds.x[7] == 5.0f);
    /* keep names a difference and sets the order. */
    const char *keep[] = {"d", "y", NULL};
    o.keep = keep;
    read_ok(p, &o, &ds, NULL);
    assert_int_equal(ds.d, 2);
    assert_string_equal(ds.feature_names[0], "d");
    assert_string_equal(ds.feature_names[1], "y");
    assert_true(ds.x[0] == 2.0f && ds.x[1] == 2.0f && ds.x[2] == 5.0f && ds.x[3] == 6.0f);
    /* A dropped column can still be a difference's source. */
    o.keep = NULL;
    const char *drop[] = {"x", "z", NULL};
    o.drop = drop;
    read_ok(p, &o, &ds, NULL);
    assert_int_equal(ds.d, 2);
    assert_string_equal(ds.feature_names[0], "y");
    assert_true(ds.x[1] == 2.0f && ds.x[3] == 5.0f);
    o.drop = NULL;
    /* column_names replace a header's names. */
    const char *q = fixture("hdr-rename.csv", "A,B,K\n1,2,u\n3,5,v\n");
    gx_csv_options h;
    gx_csv_options_init(&h);
    const char *hcols[] = {"a", "b", "kind", NULL};
    const gx_csv_diff hd[] = {{"ba", "b", "0"}}; /* column numbers work too */
    h.column_names = hcols;
    h.label_column = "kind";
    h.diffs = hd;
    h.n_diffs = 1;
    read_ok(q, &h, &ds, NULL);
    assert_int_equal(ds.d, 3);
    assert_string_equal(ds.feature_names[1], "b");
    assert_true(ds.x[2] == 1.0f && ds.x[5] == 2.0f);
    assert_string_equal(ds.class_names[1], "v");
    gx_dataset_free(&ds);
}

static void test_column_names_and_diffs_errors(void **state) {
    (void)state;
    const char *p = fixture("diff-err.csv", "a,b,lab\n1,2,x\n3,,y\n5,q,x\n");
    gx_csv_options o;
    gx_csv_options_init(&o);
    o.label_column = "lab";
    const char *two[] = {"u", "v", NULL};
    o.column_names = two;
    expect_fail(p, &o, "2 column names given, but line 1 has 3 fields");
    o.column_names = NULL;
    gx_csv_diff df = {"d", "a", "nope"};
    o.diffs = &df;
    o.n_diffs = 1;
    expect_fail(p, &o, "diff column 'nope' not found; the columns are 'a', 'b', 'lab'");
    df = (gx_csv_diff){"b", "a", "b"};
    expect_fail(p, &o, "diff column 'b' must be a new name");
    df = (gx_csv_diff){"d", "lab", "a"};
    expect_fail(p, &o, "diff 'd': column 'lab' is the label column");
    /* A source that is not a feature is still parsed and checked. */
    df = (gx_csv_diff){"d", "b", "a"};
    const char *keep[] = {"a", "d", "d", NULL};
    o.keep = keep;
    expect_fail(p, &o, "column 'd' is in the keep list twice");
    const char *keep_a[] = {"a", NULL};
    o.keep = keep_a;
    gx_dataset ds;
    gx_dataset_init(&ds);
    read_ok(p, &o, &ds, NULL); /* b is not needed: its bad values do not matter */
    assert_int_equal(ds.n, 3);
    const char *keep_d[] = {"d", NULL};
    o.keep = keep_d;
    expect_fail(p, &o, "line 3, column 'b': missing value");
    o.missing = GX_MISSING_DROP;
    int64_t dropped = 0;
    read_ok(p, &o, &ds, &dropped);
    assert_int_equal(ds.n, 1);
    assert_int_equal(dropped, 2);
    assert_true(ds.x[0] == 1.0f);
    gx_dataset_free(&ds);
}

static void test_several_files(void **state) {
    (void)state;
    char a[600], b[600], c[600];
    snprintf(a, sizeof a, "%s", fixture("multi-a.csv", "f,g,lab\n1,2,cat\n3,4,dog\n"));
    snprintf(b, sizeof b, "%s", fixture("multi-b.csv", "f,g,lab\n5,6,bird\n7,8,cat\n"));
    const char *paths[] = {a, b, NULL};
    gx_csv_options o;
    gx_csv_options_init(&o);
    const char *drop[] = {"lab", NULL};
    o.drop = drop;
    gx_dataset ds;
    gx_dataset_init(&ds);
    gx_error err = {{0}};
    /* File labels: one class per distinct label, in the order of the files. */
    const char *labels[] = {"B", "A", NULL};
    const char *rev[] = {b, a, NULL};
    assert_int_equal(gx_read_csv_files(rev, labels, &o, &ds, NULL, &err), 0);
    assert_int_equal(ds.n, 4);
    assert_int_equal(ds.d, 2);
    assert_true(ds.x[0] == 5.0f && ds.x[4] == 1.0f);
    assert_int_equal(ds.n_classes, 2);
    assert_string_equal(ds.class_names[0], "B");
    assert_string_equal(ds.class_names[1], "A");
    const int32_t want[] = {0, 0, 1, 1};
    for (int i = 0; i < 4; i++) assert_int_equal(ds.y[i], want[i]);
    /* Equal file labels share a class. */
    const char *same[] = {"X", "X", NULL};
    assert_int_equal(gx_read_csv_files(paths, same, &o, &ds, NULL, &err), 0);
    assert_int_equal(ds.n_classes, 1);
    assert_int_equal(ds.y[3], 0);
    /* A label column across files: as one concatenated file. */
    o.drop = NULL;
    o.label_column = "lab";
    assert_int_equal(gx_read_csv_files(paths, NULL, &o, &ds, NULL, &err), 0);
    assert_int_equal(ds.n_classes, 3);
    assert_string_equal(ds.class_names[2], "bird");
    assert_int_equal(ds.y[3], 0);
    gx_dataset_free(&ds);

    /* Errors name the file and line at fault. */
    snprintf(c, sizeof c, "%s", fixture("multi-c.csv", "f,h,lab\n1,2,cat\n"));
    const char *diff_hdr[] = {a, c, NULL};
    assert_int_equal(gx_read_csv_files(diff_hdr, NULL, &o, &ds, NULL, &err), -1);
    assert_msg_contains(err.msg, "multi-c.csv: line 1: column 1 is 'h'; expected 'g'");
    snprintf(c, sizeof c, "%s", fixture("multi-c.csv", "f,g\n1,2\n"));
    assert_int_equal(gx_read_csv_files(diff_hdr, NULL, &o, &ds, NULL, &err), -1);
    assert_msg_contains(err.msg, "multi-c.csv: line 1 has 2 fields; expected 3 (as in the header of");
    assert_msg_contains(err.msg, "multi-a.csv");
    snprintf(c, sizeof c, "%s", fixture("multi-c.csv", "f,g,lab\n1,2,cat\n\n1,x,dog\n"));
    assert_int_equal(gx_read_csv_files(diff_hdr, NULL, &o, &ds, NULL, &err), -1);
    assert_msg_contains(err.msg, "multi-c.csv: line 4, column 'g': 'x' is not a number");
    const char *classes[] = {"cat", "dog", NULL};
    o.label_classes = classes;
    assert_int_equal(gx_read_csv_files(paths, NULL, &o, &ds, NULL, &err), -1);
    assert_msg_contains(err.msg, "multi-b.csv: line 2, column 'lab': label 'bird' is not one of");
    o.label_classes = NULL;
    const char *missing[] = {a, test_path(c, sizeof c, "multi-none.csv"), NULL};
    assert_int_equal(gx_read_csv_files(missing, NULL, &o, &ds, NULL, &err), -1);
    assert_msg_contains(err.msg, "multi-none.csv: cannot open CSV file");
    assert_int_equal(gx_read_csv_files(paths, labels, &o, &ds, NULL, &err), -1);
    assert_msg_contains(err.msg, "give a label column or file labels, not both");
    o.label_column = NULL;
    const char *one[] = {"A", NULL};
    assert_int_equal(gx_read_csv_files(paths, one, &o, &ds, NULL, &err), -1);
    assert_msg_contains(err.msg, "2 files but 1 file labels");
    const char *none[] = {NULL};
    assert_int_equal(gx_read_csv_files(none, NULL, &o, &ds, NULL, &err), -1);
    assert_msg_contains(err.msg, "no files given");
    assert_null(ds.x);
}

static void test_several_files_headerless(void **state) {
    (void)state;
    char a[600], b[600];
    snprintf(a, sizeof a, "%s", fixture("nh-a.csv", "1,2\n3,4\n"));
    snprintf(b, sizeof b, "%s", fixture("nh-b.csv", "5,6,7\n"));
    const char *paths[] = {a, b, NULL}, *labels[] = {"a", "b", NULL};
    gx_csv_options o;
    gx_csv_options_init(&o);
    o.has_header = 0;
    gx_dataset ds;
    gx_dataset_init(&ds);
    gx_error err = {{0}};
    assert_int_equal(gx_read_csv_files(paths, labels, &o, &ds, NULL, &err), -1);
    assert_msg_contains(err.msg, "nh-b.csv: line 1 has 3 fields; expected 2 (as in ");
    snprintf(b, sizeof b, "%s", fixture("nh-b.csv", "5,6\n"));
    assert_int_equal(gx_read_csv_files(paths, labels, &o, &ds, NULL, &err), 0);
    assert_int_equal(ds.n, 3); /* no row taken for a header */
    assert_true(ds.x[4] == 5.0f);
    assert_int_equal(ds.y[2], 1);
    gx_dataset_free(&ds);
}

static void test_real_eros(void **state) {
    (void)state;
    const char *dir = test_data_dir();
    if (!dir) skip();
    char p[600];
    snprintf(p, sizeof p, "%s/stars/eros1/train.csv", dir);
    gx_csv_options o;
    gx_csv_options_init(&o);
    o.label_column = "type";
    o.id_column = "Unnamed: 0";
    gx_dataset ds;
    gx_dataset_init(&ds);
    read_ok(p, &o, &ds, NULL);
    assert_int_equal(ds.n, 2912);
    assert_int_equal(ds.d, 22);
    assert_int_equal(ds.n_classes, 4);
    const char *names[4] = {"1", "2", "3", "4"};
    const int64_t want[4] = {339, 604, 1777, 192};
    int64_t counts[4];
    assert_int_equal(gx_dataset_class_counts(&ds, counts), 0);
    for (int k = 0; k < 4; k++) {
        assert_string_equal(ds.class_names[k], names[k]);
        assert_int_equal(counts[k], want[k]);
    }
    assert_string_equal(ds.ids[0], "135_9613");
    assert_string_equal(ds.feature_names[0], "patch_id");
    assert_int_equal(gx_dataset_find_nonfinite(&ds), -1);
    /* Without an id column, the text column is named in the error. */
    o.id_column = NULL;
    expect_fail(p, &o, "line 2, column 'Unnamed: 0': '135_9613' is not a number");
    snprintf(p, sizeof p, "%s/stars/eros1/test.csv", dir);
    o.id_column = "Unnamed: 0";
    read_ok(p, &o, &ds, NULL);
    assert_int_equal(ds.n, 729);
    gx_dataset_free(&ds);
}

static void test_real_macho(void **state) {
    (void)state;
    const char *dir = test_data_dir();
    if (!dir) skip();
    char p[600];
    snprintf(p, sizeof p, "%s/stars/macho/CEPH.csv", dir);
    gx_csv_options o;
    gx_csv_options_init(&o);
    o.has_header = 0;
    gx_dataset ds;
    gx_dataset_init(&ds);
    read_ok(p, &o, &ds, NULL);
    assert_int_equal(ds.n, 101);
    assert_int_equal(ds.d, 4);
    assert_string_equal(ds.feature_names[3], "c3");
    assert_true(fabsf(ds.x[0] - -8.320331592689296f) < 1e-5f);
    snprintf(p, sizeof p, "%s/stars/macho/non_variables_2.csv", dir);
    read_ok(p, &o, &ds, NULL);
    assert_int_equal(ds.n, 3508);
    gx_dataset_free(&ds);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_gzip),
        cmocka_unit_test(test_basic_string_labels),
        cmocka_unit_test(test_quotes_crlf_bom_blank_lines),
        cmocka_unit_test(test_integer_labels),
        cmocka_unit_test(test_label_classes_list),
        cmocka_unit_test(test_keep_drop),
        cmocka_unit_test(test_missing_values),
        cmocka_unit_test(test_malformed),
        cmocka_unit_test(test_headerless_and_delimiter),
        cmocka_unit_test(test_column_names_and_diffs),
        cmocka_unit_test(test_column_names_and_diffs_errors),
        cmocka_unit_test(test_several_files),
        cmocka_unit_test(test_several_files_headerless),
        cmocka_unit_test(test_real_eros),
        cmocka_unit_test(test_real_macho),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
