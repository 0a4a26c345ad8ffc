/* libFuzzer target: the HDF5 reader, gx_read_hdf5 (src/data/hdf5.c), on any bytes as the file.
 * Input: a flags byte (bit 0: read the labels too; bits 1-4: n_classes 0..15), then the file.
 * The dataset names are those of the seeds (fuzz/seeds.c) and of USPS: /train/data and
 * /train/target. libhdf5 parses the file; what it does with corrupt files is its own code (see
 * docs/RELIABILITY.md for what this target found there). */
#include "data/readers.h"
#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size < 1) return 0;
    int flags = data[0];
    char path[600];
    fuzz_file(path, sizeof path, "data.h5", data + 1, size - 1);
    gx_dataset ds;
    gx_error err = {{0}};
    gx_dataset_init(&ds);
    int ok = gx_read_hdf5(path, "/train/data", flags & 1 ? "/train/target" : NULL,
                          (flags >> 1) & 15, &ds, &err) == 0;
    if (!ok) fuzz_check_error(&err);
    fuzz_check_dataset(&ds, ok);
    gx_dataset_free(&ds);
    return 0;
}
