/* The lock of a run folder: DIR/.genxfer.lock, held with flock() by the process that writes into
 * DIR (training's model, checkpoints and logs), so that a second run into the same folder fails
 * at once with one line instead of mixing its files with the first's (a --resume could pick up
 * the other run's checkpoint). The kernel releases the lock when the process ends, however it
 * ends (SIGKILL too), so a dead run's lock is simply taken over. The file holds the holder's pid,
 * for the message.
 *
 * Taking the lock also removes the temporary files that an interrupted atomic write left in DIR
 * (".NAME.tmp.XXXXXX", io/atomic_file.h): with the lock held, no other writer can own them. */
#ifndef GX_RUN_LOCK_H
#define GX_RUN_LOCK_H

#include "core/error.h"

typedef struct gx_run_lock {
    int fd; /* -1: not held */
    int removed_tmp; /* stale temporary files removed when it was taken */
} gx_run_lock;

int gx_run_lock_take(const char *dir, gx_run_lock *lock, gx_error *err);

/* Releases a held lock (the file stays, unlocked); a lock not held is a no-op. */
void gx_run_lock_release(gx_run_lock *lock);

#endif
