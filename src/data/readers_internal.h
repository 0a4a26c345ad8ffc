/* Helpers shared by the readers (idx.c, hdf5.c, csv.c, npy.c); defined in dataset.c. Not part of
 * the public API. */
#ifndef GX_READERS_INTERNAL_H
#define GX_READERS_INTERNAL_H

#include <stdint.h>

#include "core/error.h"
#include "data/dataset.h"

/* A label larger than this (or a class count above it) is refused as corrupt input. */
#define GX_READER_MAX_CLASSES 65536

/* Largest array (in bytes) a reader accepts when the file size cannot bound it (gzip'd IDX,
 * HDF5 with compression or fill values): 16 GiB. */
#define GX_MAX_ARRAY_BYTES ((uint64_t)1 << 34)

/* Deflate expands at most about 1032:1: the bound of a gzip'd or compressed file's contents. */
#define GX_DEFLATE_MAX_RATIO 1032

/* Frees *out and re-initialises it; returns -1 (err is left as it is). */
int gx_reader_fail(gx_dataset *out);

/* Converts one stored label value (row `row` of `what`) to a class index: it must be finite,
 * integral, >= 0, below GX_READER_MAX_CLASSES and, when n_classes > 0, below n_classes. */
int gx_reader_label(double v, int64_t row, int n_classes, int32_t *out, const char *what,
                    gx_error *err);

/* After all labels are in ds->y (values >= 0 or GX_UNLABELLED): sets ds->n_classes to n_classes
 * when > 0, else to max label + 1. */
void gx_reader_set_class_count(gx_dataset *ds, int n_classes);

/* Fails, naming `what` and the row and column, if ds->x holds a NaN or infinity. */
int gx_reader_check_finite(const gx_dataset *ds, const char *what, gx_error *err);

/* The whole of a gzip'd file (data/gzip_file.c), NUL-terminated, *len bytes (malloc'd), or NULL
 * with err set: a truncated or corrupt stream, or more than deflate can expand file_size bytes
 * to (about 1032:1) or the machine's memory holds. what_file names the kind ("CSV file"). */
char *gx_read_gzip_whole(const char *path, uint64_t file_size, size_t *len, const char *what_file,
                         gx_error *err);

/* 1 when the two bytes are gzip's magic (1f 8b). */
static inline int gx_is_gzip_magic(const unsigned char *b) { return b[0] == 0x1f && b[1] == 0x8b; }

/* Copies s into ds->source (truncating). */
void gx_reader_set_source(gx_dataset *ds, const char *s);

#endif
