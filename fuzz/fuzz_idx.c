/* libFuzzer target: the IDX reader, gx_read_idx (src/data/idx.c).
 * Input: a flags byte (bit 0: a labels file too; bits 1-4: n_classes 0..15), then the images
 * file as a part (fuzz.h: 2-byte length, bytes), then the labels file (the rest).
 * Built twice: fuzz_idx writes the parts as they are (plain IDX files, and corrupt gzip streams
 * when a part starts with 1f 8b); fuzz_idx_gz (FUZZ_GZIP) gzip-compresses them first, so that the
 * gzip path reads valid streams of any content. */
#include <zlib.h>

#include "data/readers.h"
#include "fuzz.h"

/* The reader asks zlib for 128 KiB buffers (quick on the 47 MB MNIST files). Under ASan every
 * such buffer is an mmap and munmap of its own, most of an input's time on this machine, so the
 * fuzz targets keep zlib's default 8 KiB buffers: the reader's logic is the same, its reads come
 * in smaller pieces. */
int gzbuffer(gzFile file, unsigned size) {
    (void)file;
    (void)size;
    return 0;
}

static const char *put(char *buf, size_t n, const char *name, const uint8_t *data, size_t size) {
#ifdef FUZZ_GZIP
    /* a gzip stream made in memory with the smallest window and state (quick to set up) */
    z_stream z;
    memset(&z, 0, sizeof z);
    if (deflateInit2(&z, 1, Z_DEFLATED, 9 + 16, 1, Z_DEFAULT_STRATEGY) != Z_OK) abort();
    size_t cap = deflateBound(&z, (uLong)size);
    uint8_t *gz = malloc(cap);
    if (!gz) abort();
    z.next_in = (Bytef *)data;
    z.avail_in = (uInt)size;
    z.next_out = gz;
    z.avail_out = (uInt)cap;
    if (deflate(&z, Z_FINISH) != Z_STREAM_END) abort();
    fuzz_file(buf, n, name, gz, cap - z.avail_out);
    deflateEnd(&z);
    free(gz);
    return buf;
#else
    return fuzz_file(buf, n, name, data, size);
#endif
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size < 1) return 0;
    int flags = data[0];
    const uint8_t *p = data + 1, *img, *lab;
    size_t left = size - 1, n_img, n_lab;
    fuzz_part(&p, &left, 0, &img, &n_img);
    fuzz_part(&p, &left, 1, &lab, &n_lab);
    char ipath[600], lpath[600];
    put(ipath, sizeof ipath, "images", img, n_img);
    const char *labels = flags & 1 ? put(lpath, sizeof lpath, "labels", lab, n_lab) : NULL;

    gx_dataset ds;
    gx_error err = {{0}};
    gx_dataset_init(&ds);
    int ok = gx_read_idx(ipath, labels, (flags >> 1) & 15, &ds, &err) == 0;
    if (!ok) fuzz_check_error(&err);
    fuzz_check_dataset(&ds, ok);
    gx_dataset_free(&ds);
    return 0;
}
