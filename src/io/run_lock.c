#include "io/run_lock.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>

#define LOCK_NAME ".genxfer.lock"

/* ".NAME.tmp.XXXXXX", as gx_atomic_open names its temporary files (mkstemp's six characters). */
static int is_atomic_tmp(const char *name) {
    const size_t n = strlen(name);
    if (name[0] != '.' || n < 13) return 0;
    if (strncmp(name + n - 11, ".tmp.", 5) != 0) return 0;
    for (size_t i = n - 6; i < n; i++) {
        const char c = name[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9'))) return 0;
    }
    return 1;
}

/* Removes dir's stale temporary files; returns how many. */
static int remove_stale_tmp(const char *dir) {
    DIR *d = opendir(dir);
    if (!d) return 0;
    int removed = 0;
    const struct dirent *e;
    while ((e = readdir(d))) {
        if (!is_atomic_tmp(e->d_name)) continue;
        char path[PATH_MAX];
        if (snprintf(path, sizeof path, "%s/%s", dir, e->d_name) >= (int)sizeof path) continue;
        if (unlink(path) == 0) removed++;
    }
    closedir(d);
    return removed;
}

int gx_run_lock_take(const char *dir, gx_run_lock *lock, gx_error *err) {
    lock->fd = -1;
    lock->removed_tmp = 0;
    char path[PATH_MAX];
    if (snprintf(path, sizeof path, "%s/%s", dir, LOCK_NAME) >= (int)sizeof path)
        return gx_fail(err, "%s: folder name too long", dir);
    const int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0666);
    if (fd < 0) return gx_fail(err, "%s: cannot create the lock file: %s", path, strerror(errno));
    if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
        const int e = errno;
        char pid[32] = "";
        const ssize_t n = pread(fd, pid, sizeof pid - 1, 0);
        pid[n > 0 ? n : 0] = '\0';
        pid[strcspn(pid, "\n")] = '\0';
        close(fd);
        if (e == EWOULDBLOCK)
            return gx_fail(err, "%s: another genxfer run%s%s%s is writing into this folder; wait "
                                "for it, or give another --out", dir, pid[0] ? " (pid " : "", pid,
                           pid[0] ? ")" : "");
        return gx_fail(err, "%s: cannot lock: %s", path, strerror(e));
    }
    char text[32];
    const int len = snprintf(text, sizeof text, "%ld\n", (long)getpid());
    if (ftruncate(fd, 0) != 0 || pwrite(fd, text, (size_t)len, 0) != len) {
        const int e = errno;
        close(fd);
        return gx_fail(err, "%s: cannot write the lock file: %s", path, strerror(e));
    }
    lock->fd = fd;
    lock->removed_tmp = remove_stale_tmp(dir);
    return 0;
}

void gx_run_lock_release(gx_run_lock *lock) {
    if (lock->fd < 0) return;
    flock(lock->fd, LOCK_UN);
    close(lock->fd);
    lock->fd = -1;
}
