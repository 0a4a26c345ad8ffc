/* safetensors checkpoints: an 8-byte little-endian u64 header length N, N bytes of UTF-8 JSON
 * (padded with spaces; we pad so that the data section starts at a multiple of 8), then the data
 * section: the tensors' raw little-endian bytes, contiguous, with no gaps. The header maps each
 * tensor name to {"dtype": "F32", "shape": [2, 3], "data_offsets": [begin, end]} (offsets relative
 * to the data section) and may hold "__metadata__": {string: string}. The Python safetensors
 * package and numpy read these files as they are.
 *
 * Shapes are int64_t[ndim], row-major; ndim 0 is a scalar (one element); a dimension may be 0
 * (an empty tensor). All messages are one line and start with the file's path. */
#ifndef GX_SAFETENSORS_H
#define GX_SAFETENSORS_H

#include <stddef.h>
#include <stdint.h>

#include "core/error.h"

#define GX_ST_MAX_NDIM 8
#define GX_ST_MAX_HEADER (100u * 1024u * 1024u) /* bytes; larger headers are rejected */

typedef enum gx_st_dtype { GX_ST_F32, GX_ST_I32, GX_ST_I64, GX_ST_U8 } gx_st_dtype;

const char *gx_st_dtype_name(gx_st_dtype dt); /* "F32", "I32", "I64", "U8" */
size_t gx_st_dtype_size(gx_st_dtype dt);      /* 4, 4, 8, 1 */

/* ---- writing ------------------------------------------------------------------------------- */

typedef struct gx_st_writer gx_st_writer;

/* A new, empty writer, or NULL (out of memory, err set). Free with gx_st_writer_free. */
gx_st_writer *gx_st_writer_new(gx_error *err);
void gx_st_writer_free(gx_st_writer *w);

/* Adds a tensor. name and shape are copied; `data` (prod(shape) elements of dtype, host order =
 * little-endian) is borrowed and must stay valid until gx_st_write. Tensors are written in the
 * order added, with ascending offsets. Names must be non-empty valid UTF-8, unique, and not
 * "__metadata__". Errors are also remembered: the first one makes gx_st_write fail with the same
 * message, so a caller may add many tensors and check once. */
int gx_st_writer_add(gx_st_writer *w, const char *name, gx_st_dtype dtype, int ndim,
                     const int64_t *shape, const void *data, gx_error *err);

/* Sets a __metadata__ entry (key and value copied, valid UTF-8; setting a key again replaces its
 * value). Errors are remembered as for gx_st_writer_add. */
int gx_st_writer_meta(gx_st_writer *w, const char *key, const char *value, gx_error *err);

/* Writes the file atomically (temporary file, fsync, rename). The writer stays usable. */
int gx_st_write(const gx_st_writer *w, const char *path, gx_error *err);

/* ---- reading ------------------------------------------------------------------------------- */

/* A view of one tensor of an open file; valid until gx_st_close. */
typedef struct gx_st_tensor {
    const char *name;
    gx_st_dtype dtype;
    int ndim;
    int64_t shape[GX_ST_MAX_NDIM];
    size_t numel;     /* prod(shape); 1 for a scalar */
    size_t nbytes;    /* numel * dtype size */
    const void *data; /* 64-byte aligned copy, safe to read as float/int32/int64 */
} gx_st_tensor;

typedef struct gx_st_file gx_st_file;

/* Reads and validates the whole file (header bound, UTF-8, JSON, dtypes, shapes, offsets in range,
 * contiguous without gaps or overlaps, no trailing bytes, unique names, string metadata) and
 * copies every tensor into aligned memory. On failure *out is NULL and err names the file and the
 * problem. */
int gx_st_open(const char *path, gx_st_file **out, gx_error *err);
void gx_st_close(gx_st_file *f); /* NULL is a no-op */

const char *gx_st_path(const gx_st_file *f);

/* The named tensor, or NULL. */
const gx_st_tensor *gx_st_find(const gx_st_file *f, const char *name);

/* Iteration over tensors in data-offset order (the order written), i in [0, count). */
size_t gx_st_count(const gx_st_file *f);
/* The number of float32 values in all of f's F32 tensors (a loader's bound on a model's size). */
size_t gx_st_f32_values(const gx_st_file *f);
const gx_st_tensor *gx_st_tensor_at(const gx_st_file *f, size_t i);

/* The __metadata__ value for key, or NULL; iteration in header order. */
const char *gx_st_metadata(const gx_st_file *f, const char *key);
size_t gx_st_metadata_count(const gx_st_file *f);
void gx_st_metadata_at(const gx_st_file *f, size_t i, const char **key, const char **value);

/* Copies the named tensor into dst (prod(shape) elements) after checking that it exists and has
 * exactly this dtype and shape, e.g. "m.safetensors: tensor 'enc.0.weight' has shape [500,784],
 * expected [500,256]". */
int gx_st_read(const gx_st_file *f, const char *name, gx_st_dtype dtype, int ndim,
               const int64_t *shape, void *dst, gx_error *err);
int gx_st_read_f32(const gx_st_file *f, const char *name, int ndim, const int64_t *shape,
                   float *dst, gx_error *err);

#endif
