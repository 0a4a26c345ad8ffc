/* libFuzzer target: the .npy reader, gx_read_npy_dataset and gx_npy_read (src/data/npy.c).
 * Input: a flags byte (bit 0: a labels file too; bits 1-4: n_classes 0..15), then the features
 * file as a part (fuzz.h: 2-byte length, bytes), then the labels file (the rest). */
#include "data/readers.h"
#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size < 1) return 0;
    int flags = data[0];
    const uint8_t *p = data + 1, *x, *lab;
    size_t left = size - 1, n_x, n_lab;
    fuzz_part(&p, &left, 0, &x, &n_x);
    fuzz_part(&p, &left, 1, &lab, &n_lab);
    char xpath[600], lpath[600];
    fuzz_file(xpath, sizeof xpath, "x.npy", x, n_x);
    const char *labels = flags & 1 ? fuzz_file(lpath, sizeof lpath, "y.npy", lab, n_lab) : NULL;

    gx_dataset ds;
    gx_error err = {{0}};
    gx_dataset_init(&ds);
    int ok = gx_read_npy_dataset(xpath, labels, (flags >> 1) & 15, &ds, &err) == 0;
    if (!ok) fuzz_check_error(&err);
    fuzz_check_dataset(&ds, ok);
    gx_dataset_free(&ds);
    return 0;
}
