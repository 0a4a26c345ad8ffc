/* Atomic file output: write to a temporary file in the target's directory, then flush, fsync and
 * rename it over the target, so that readers see either the old file or the complete new one and
 * never a half-written file. Used for checkpoints, .npy, metrics JSON, predictions CSV.
 *
 *     gx_atomic_file *af;
 *     if (gx_atomic_open(path, &af, err) != 0) return -1;
 *     gx_atomic_printf(af, err, "x,y\n");           // or gx_atomic_write, or fprintf(gx_atomic_stream(af), ...)
 *     ...
 *     return gx_atomic_commit(af, err);            // or gx_atomic_abort(af) to give up
 *
 * What is at the path is respected: "-" is standard output (flushed, left open); an existing
 * FIFO, device or socket is written straight through, not replaced; a symbolic link stays one and
 * its target is written (atomically when it is a regular file). Only there a half-written output
 * can be seen, as with any stream.
 *
 * The temporary file is "DIR/.NAME.tmp.XXXXXX" (mkstemp), created with mode 0666 & ~umask like a
 * plain fopen. Write errors are sticky: after the first failed write the later writes are no-ops
 * and gx_atomic_commit fails with the first error; errors made directly through
 * gx_atomic_stream() are caught at commit through ferror(). Every message names the target path
 * and strerror(errno). Not thread-safe per handle. */
#ifndef GX_ATOMIC_FILE_H
#define GX_ATOMIC_FILE_H

#include <stddef.h>
#include <stdio.h>

#include "core/error.h"

typedef struct gx_atomic_file gx_atomic_file;

/* Creates the temporary file for `path`. On success *out is a handle that must be passed to
 * exactly one of gx_atomic_commit or gx_atomic_abort. On failure *out is NULL. */
int gx_atomic_open(const char *path, gx_atomic_file **out, gx_error *err);

/* The stream to write to (binary mode). Do not fclose it. */
FILE *gx_atomic_stream(gx_atomic_file *af);

/* The target path given to gx_atomic_open. */
const char *gx_atomic_path(const gx_atomic_file *af);

/* Writes n bytes / formatted text. Return 0, or -1 with err set (and the error remembered). */
int gx_atomic_write(gx_atomic_file *af, const void *data, size_t n, gx_error *err);
int gx_atomic_printf(gx_atomic_file *af, gx_error *err, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* fflush + fsync + fclose + rename over the target + fsync of the directory. Always releases the
 * handle; on failure the temporary file is removed and an existing target is left untouched. */
int gx_atomic_commit(gx_atomic_file *af, gx_error *err);

/* Closes and removes the temporary file and releases the handle. NULL is a no-op. */
void gx_atomic_abort(gx_atomic_file *af);

/* Convenience: atomically replaces `path` with the n bytes at data. */
int gx_atomic_write_file(const char *path, const void *data, size_t n, gx_error *err);

#endif
