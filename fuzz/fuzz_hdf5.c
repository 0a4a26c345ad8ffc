/* libFuzzer target: the HDF5 reader, gx_read_hdf5 (src/data/hdf5.c), limited to genxfer's own
 * code: the input does not become the file's bytes but describes a valid HDF5 file, which libhdf5
 * writes and gx_read_hdf5 then reads. Fed raw bytes, libhdf5 1.10.8 itself overflows a heap
 * buffer in H5Dread and leaks in H5Dopen2 on damaged files within a few thousand inputs (its own
 * parser, not genxfer's code; docs/RELIABILITY.md), so that is not fuzzed here.
 * What the input chooses, a byte each (0 when it runs out), then the values' bytes:
 *   flags: bit 0 read the labels, bits 1-4 n_classes 0..15, bit 5 no data set, bit 6 no label
 *          set, bit 7 /train/data is a group (or, with bit 5, /train is a data set)
 *   for the data and then the labels: element type, rank 0..4 (5: an empty dataspace), that many
 *          dimensions 0..7, storage (contiguous, compact, chunked, chunked + deflate)
 * The values fill the data then the labels element by element (raw bytes of the type: NaN, Inf,
 * huge, negative and non-integral values all come this way). */
#include <hdf5.h>

#include "data/readers.h"
#include "fuzz.h"

#define MAX_ELEMS 4096

typedef struct input {
    const uint8_t *p;
    size_t left;
} input;

static int next(input *in) {
    if (!in->left) return 0;
    in->left--;
    return *in->p++;
}

/* The element types on offer; the last two are not numbers. */
static hid_t make_type(int k) {
    switch (k % 14) {
    case 0: return H5Tcopy(H5T_STD_I8LE);
    case 1: return H5Tcopy(H5T_STD_U8LE);
    case 2: return H5Tcopy(H5T_STD_I16BE);
    case 3: return H5Tcopy(H5T_STD_I32LE);
    case 4: return H5Tcopy(H5T_STD_U32BE);
    case 5: return H5Tcopy(H5T_STD_I64LE);
    case 6: return H5Tcopy(H5T_STD_U64LE);
    case 7: return H5Tcopy(H5T_IEEE_F32LE);
    case 8: return H5Tcopy(H5T_IEEE_F32BE);
    case 9: return H5Tcopy(H5T_IEEE_F64LE);
    case 10: return H5Tcopy(H5T_IEEE_F64BE);
    case 11: return H5Tcopy(H5T_NATIVE_INT);
    case 12: {
        hid_t t = H5Tcopy(H5T_C_S1);
        H5Tset_size(t, 4);
        return t;
    }
    default: {
        hid_t t = H5Tcreate(H5T_COMPOUND, 8);
        H5Tinsert(t, "a", 0, H5T_STD_I32LE);
        H5Tinsert(t, "b", 4, H5T_IEEE_F32LE);
        return t;
    }
    }
}

/* Creates the data set `name` as the input describes it; 0, or -1 when libhdf5 refuses (then the
 * input is of no interest). */
static int make_dataset(hid_t file, const char *name, input *in) {
    hid_t type = make_type(next(in));
    int rank = next(in) % 6;
    hsize_t dims[4], chunk[4];
    uint64_t count = 1;
    for (int i = 0; i < rank && i < 4; i++) {
        dims[i] = (hsize_t)(next(in) % 8);
        chunk[i] = dims[i] ? (dims[i] + 1) / 2 : 1;
        count *= dims[i];
    }
    int storage = next(in) % 4;
    hid_t space = rank == 0 ? H5Screate(H5S_SCALAR)
                  : rank == 5 ? H5Screate(H5S_NULL)
                              : H5Screate_simple(rank, dims, NULL);
    if (rank == 5) count = 0;
    hid_t dcpl = H5Pcreate(H5P_DATASET_CREATE), lcpl = H5Pcreate(H5P_LINK_CREATE);
    H5Pset_create_intermediate_group(lcpl, 1);
    if (storage == 1) H5Pset_layout(dcpl, H5D_COMPACT);
    if (storage >= 2 && rank >= 1 && rank <= 4) {
        H5Pset_chunk(dcpl, rank, chunk);
        if (storage == 3) H5Pset_deflate(dcpl, 1);
    }
    int rc = -1;
    hid_t d = H5Dcreate2(file, name, type, space, lcpl, dcpl, H5P_DEFAULT);
    size_t size = H5Tget_size(type), bytes = (size_t)count * size;
    if (d >= 0 && count <= MAX_ELEMS) {
        uint8_t *buf = calloc(bytes ? bytes : 1, 1);
        if (!buf) abort();
        size_t n = bytes < in->left ? bytes : in->left;
        memcpy(buf, in->p, n);
        in->p += n;
        in->left -= n;
        rc = count == 0 || H5Dwrite(d, type, H5S_ALL, H5S_ALL, H5P_DEFAULT, buf) >= 0 ? 0 : -1;
        free(buf);
    }
    if (d >= 0) H5Dclose(d);
    H5Pclose(lcpl);
    H5Pclose(dcpl);
    H5Sclose(space);
    H5Tclose(type);
    return rc;
}

/* libhdf5 keeps freed objects on free lists, but by default at most 64 KiB per kind of object;
 * a file's metadata cache (H5C_t, more than 512 KiB in 1.10: its hash table has 64 Ki slots) is
 * bigger, so it went back to malloc at every H5Fclose. Under ASan a block that big is mmap'd and
 * munmap'd each time, and its first clearing page-faults: two files (written, then read) per
 * input made that most of an input's time (~2.3 ms of CPU, 370 page faults). With the limits
 * raised libhdf5 reuses its cache structures across inputs: the same files are written and read,
 * genxfer's own allocations are untouched (docs/RELIABILITY.md, "HDF5"). */
int LLVMFuzzerInitialize(int *argc, char ***argv) {
    (void)argc, (void)argv;
    H5Eset_auto2(H5E_DEFAULT, NULL, NULL);
    H5set_free_list_limits(16 << 20, 4 << 20, -1, -1, -1, -1);
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    input in = {data, size};
    int flags = next(&in);
    char path[600];
    fuzz_file(path, sizeof path, "data.h5", NULL, 0);
    hid_t file = H5Fcreate(path, H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
    if (file < 0) abort();
    int ok = 1;
    if (!(flags & 32)) {
        if (flags & 128) {
            hid_t g = H5Gcreate2(file, "/train", H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
            hid_t g2 = g >= 0 ? H5Gcreate2(g, "data", H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT) : -1;
            ok = g2 >= 0;
            if (g2 >= 0) H5Gclose(g2);
            if (g >= 0) H5Gclose(g);
        } else {
            ok = make_dataset(file, "/train/data", &in) == 0;
        }
    } else if (flags & 128) {
        ok = make_dataset(file, "/train", &in) == 0;
    }
    if (ok && !(flags & 64) && !((flags & 32) && (flags & 128)))
        ok = make_dataset(file, "/train/target", &in) == 0;
    if (H5Fclose(file) < 0) abort();
    if (!ok) return 0;

    gx_dataset ds;
    gx_error err = {{0}};
    gx_dataset_init(&ds);
    int read_ok = gx_read_hdf5(path, "/train/data", flags & 1 ? "/train/target" : NULL,
                               (flags >> 1) & 15, &ds, &err) == 0;
    if (!read_ok) fuzz_check_error(&err);
    fuzz_check_dataset(&ds, read_ok);
    gx_dataset_free(&ds);
    return 0;
}
