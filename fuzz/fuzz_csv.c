/* libFuzzer target: the CSV reader, gx_read_csv_files (src/data/csv.c), with every option.
 * Input: two option bytes, then the first file as a part (fuzz.h: 2-byte length, bytes), then the
 * second file (the rest). The column names the options use (a, b, label, id, and the difference
 * d1 = a - b) are those of the seeds (fuzz/seeds.c).
 *   byte 0: bit 0 header, bits 1-2 delimiter (, ; tab space), bit 3 missing=drop, bit 4 read the
 *           second file too, bit 5 file labels (without a label column), bit 6 label classes,
 *           bit 7 the difference d1
 *   byte 1: bits 0-1 label column (none, "label", "2", "0"), bits 2-3 id column (none, "id",
 *           "3", "label"), bits 4-5 keep/drop (none, keep b+a, keep d1+a, drop a), bit 6 column
 *           names given (a, b, label, id) */
#include "data/readers.h"
#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size < 2) return 0;
    int f0 = data[0], f1 = data[1];
    const uint8_t *p = data + 2, *a, *b;
    size_t left = size - 2, na, nb;
    fuzz_part(&p, &left, 0, &a, &na);
    fuzz_part(&p, &left, 1, &b, &nb);
    char apath[600], bpath[600];
    const char *paths[3] = {fuzz_file(apath, sizeof apath, "a.csv", a, na), NULL, NULL};
    if (f0 & 16) paths[1] = fuzz_file(bpath, sizeof bpath, "b.csv", b, nb);

    static const char delims[4] = {',', ';', '\t', ' '};
    static const char *const labels[4] = {NULL, "label", "2", "0"};
    static const char *const ids[4] = {NULL, "id", "3", "label"};
    static const char *const keep_ba[] = {"b", "a", NULL}, *const keep_da[] = {"d1", "a", NULL};
    static const char *const drop_a[] = {"a", NULL};
    static const char *const names[] = {"a", "b", "label", "id", NULL};
    static const char *const classes[] = {"x", "y", "1", NULL};
    static const char *const file_labels[] = {"A", "B", NULL}, *const one_label[] = {"A", NULL};
    static const gx_csv_diff diff = {"d1", "a", "b"};
    gx_csv_options o;
    gx_csv_options_init(&o);
    o.has_header = f0 & 1;
    o.delimiter = delims[(f0 >> 1) & 3];
    o.missing = f0 & 8 ? GX_MISSING_DROP : GX_MISSING_ERROR;
    o.label_classes = f0 & 64 ? classes : NULL;
    o.diffs = f0 & 128 ? &diff : NULL;
    o.n_diffs = f0 & 128 ? 1 : 0;
    o.label_column = labels[f1 & 3];
    o.id_column = ids[(f1 >> 2) & 3];
    switch ((f1 >> 4) & 3) {
    case 1: o.keep = keep_ba; break;
    case 2: o.keep = keep_da; break;
    case 3: o.drop = drop_a; break;
    }
    o.column_names = f1 & 64 ? names : NULL;
    const char *const *fl = NULL;
    if ((f0 & 32) && !o.label_column) fl = paths[1] ? file_labels : one_label;

    gx_dataset ds;
    gx_error err = {{0}};
    int64_t dropped = -1;
    gx_dataset_init(&ds);
    int ok = gx_read_csv_files(paths, fl, &o, &ds, &dropped, &err) == 0;
    if (!ok) fuzz_check_error(&err);
    fuzz_check_dataset(&ds, ok);
    if (ok && dropped < 0) abort();
    gx_dataset_free(&ds);
    return 0;
}
