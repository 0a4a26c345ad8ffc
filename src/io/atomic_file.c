#include "io/atomic_file.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

struct gx_atomic_file {
    FILE *fp;
    char *path;     /* the path as given, for messages */
    char *target;   /* what the rename replaces (a symlink's target) */
    char *tmp_path; /* DIR/.NAME.tmp.XXXXXX; NULL when writing straight through */
    char *dir;      /* directory to fsync after the rename */
    int err_no;     /* first write error, 0 if none */
    int is_stdout;  /* "-": standard output, flushed and left open */
};

/* The process umask without changing it (umask() would race with other threads creating files):
 * Linux reports it in /proc/self/status; assume 022 when that is not available. */
static mode_t current_umask(void) {
    mode_t mask = 022;
    FILE *f = fopen("/proc/self/status", "r");
    if (!f) return mask;
    char line[256];
    while (fgets(line, sizeof line, f)) {
        if (strncmp(line, "Umask:", 6) == 0) {
            char *end;
            long v = strtol(line + 6, &end, 8);
            if (end != line + 6 && v >= 0 && v <= 0777) mask = (mode_t)v;
            break;
        }
    }
    fclose(f);
    return mask;
}

static void free_handle(gx_atomic_file *af) {
    free(af->path);
    free(af->target);
    free(af->tmp_path);
    free(af->dir);
    free(af);
}

static char *dup_n(const char *s, size_t n) {
    char *p = malloc(n + 1);
    if (p) {
        memcpy(p, s, n);
        p[n] = '\0';
    }
    return p;
}

/* A handle that writes straight into what is at `path`: standard output for "-", or an existing
 * FIFO, device or socket (a rename would replace it, and its reader would never see the data).
 * Messages name `shown`, the path the user gave. */
static int open_through(const char *path, const char *shown, gx_atomic_file **out,
                        gx_error *err) {
    gx_atomic_file *af = calloc(1, sizeof *af);
    if (!af || !(af->path = dup_n(shown, strlen(shown)))) {
        free(af);
        return gx_fail(err, "%s: out of memory", shown);
    }
    af->is_stdout = strcmp(path, "-") == 0;
    af->fp = af->is_stdout ? stdout : fopen(path, "wb");
    if (!af->fp) {
        int e = errno;
        free_handle(af);
        return gx_fail(err, "%s: cannot open for writing: %s", shown, strerror(e));
    }
    *out = af;
    return 0;
}

/* The temporary file beside `target` (a regular file or nothing yet) and the rename over it. */
static int open_atomic(const char *target, const char *shown, gx_atomic_file **out,
                       gx_error *err);

int gx_atomic_open(const char *path, gx_atomic_file **out, gx_error *err) {
    *out = NULL;
    if (!path || !*path) return gx_fail(err, "atomic write: empty file name");
    if (!strcmp(path, "-")) return open_through(path, path, out, err);
    struct stat st;
    if (lstat(path, &st) != 0) return open_atomic(path, path, out, err); /* a new file */
    if (S_ISLNK(st.st_mode)) {
        /* a symlink stays a symlink: its target is written (atomically if it is a regular file
         * or does not exist yet) */
        char *target = realpath(path, NULL);
        if (!target) {
            /* dangling (created through the link), or to something that has no path of its own
             * (/dev/stdout -> /proc/self/fd/1 -> a pipe): written through */
            const int found = stat(path, &st) == 0;
            if ((!found && errno == ENOENT) || (found && !S_ISREG(st.st_mode)))
                return open_through(path, path, out, err);
            return gx_fail(err, "%s: cannot resolve the symbolic link: %s", path, strerror(errno));
        }
        int rc = stat(target, &st) == 0 && !S_ISREG(st.st_mode)
                     ? open_through(target, path, out, err)
                     : open_atomic(target, path, out, err);
        free(target);
        return rc;
    }
    if (S_ISDIR(st.st_mode)) return gx_fail(err, "%s: is a directory", path);
    if (!S_ISREG(st.st_mode)) return open_through(path, path, out, err);
    return open_atomic(path, path, out, err);
}

static int open_atomic(const char *target, const char *shown, gx_atomic_file **out,
                       gx_error *err) {
    const char *path = target;
    const char *slash = strrchr(path, '/');
    const char *base = slash ? slash + 1 : path;
    if (!*base || strcmp(base, ".") == 0 || strcmp(base, "..") == 0)
        return gx_fail(err, "%s: not a file name", path);

    gx_atomic_file *af = calloc(1, sizeof *af);
    if (!af) return gx_fail(err, "%s: out of memory", path);
    size_t dir_len = slash ? (slash == path ? 1 : (size_t)(slash - path)) : 1;
    size_t base_len = strlen(base);
    if (base_len > 200) base_len = 200; /* keep the temporary name under NAME_MAX */
    size_t prefix_len = slash ? (size_t)(base - path) : 0;
    af->path = dup_n(shown, strlen(shown));
    af->target = dup_n(path, strlen(path));
    af->dir = slash ? dup_n(path, dir_len) : dup_n(".", 1);
    af->tmp_path = malloc(prefix_len + base_len + 32);
    if (!af->path || !af->target || !af->dir || !af->tmp_path) {
        free_handle(af);
        return gx_fail(err, "%s: out of memory", path);
    }
    memcpy(af->tmp_path, path, prefix_len);
    af->tmp_path[prefix_len] = '.';
    memcpy(af->tmp_path + prefix_len + 1, base, base_len);
    strcpy(af->tmp_path + prefix_len + 1 + base_len, ".tmp.XXXXXX");

    int fd = mkstemp(af->tmp_path);
    if (fd < 0) {
        int e = errno;
        free_handle(af);
        return gx_fail(err, "%s: cannot create temporary file: %s", path, strerror(e));
    }
    (void)fcntl(fd, F_SETFD, FD_CLOEXEC);
    if (fchmod(fd, 0666 & ~current_umask()) != 0 || !(af->fp = fdopen(fd, "wb"))) {
        int e = errno;
        close(fd);
        unlink(af->tmp_path);
        free_handle(af);
        return gx_fail(err, "%s: cannot create temporary file: %s", path, strerror(e));
    }
    *out = af;
    return 0;
}

FILE *gx_atomic_stream(gx_atomic_file *af) { return af->fp; }

const char *gx_atomic_path(const gx_atomic_file *af) { return af->path; }

static int write_error(gx_atomic_file *af, int e, gx_error *err) {
    if (!af->err_no) af->err_no = e ? e : EIO;
    return gx_fail(err, "%s: write failed: %s", af->path, strerror(af->err_no));
}

int gx_atomic_write(gx_atomic_file *af, const void *data, size_t n, gx_error *err) {
    if (af->err_no) return write_error(af, af->err_no, err);
    if (n == 0) return 0;
    errno = 0;
    if (fwrite(data, 1, n, af->fp) != n) return write_error(af, errno, err);
    return 0;
}

int gx_atomic_printf(gx_atomic_file *af, gx_error *err, const char *fmt, ...) {
    if (af->err_no) return write_error(af, af->err_no, err);
    va_list ap;
    va_start(ap, fmt);
    errno = 0;
    int rc = vfprintf(af->fp, fmt, ap);
    int e = errno;
    va_end(ap);
    if (rc < 0) return write_error(af, e, err);
    return 0;
}

/* fsync the directory so that the rename itself survives a crash. A directory that cannot be
 * opened for reading, or a file system that cannot sync directories (EINVAL), is not an error. */
static int sync_dir(const char *dir) {
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) return 0;
    int rc = 0;
    if (fsync(fd) != 0 && errno != EINVAL && errno != ENOTSUP) rc = errno;
    close(fd);
    return rc;
}

/* The end of a straight-through write: flushed (and closed, but for standard output). */
static int commit_through(gx_atomic_file *af, gx_error *err) {
    int e = af->err_no;
    if (!e && ferror(af->fp)) e = EIO;
    if (!e && fflush(af->fp) != 0) e = errno ? errno : EIO;
    if (!af->is_stdout && fclose(af->fp) != 0 && !e) e = errno ? errno : EIO;
    int rc = e ? gx_fail(err, "%s: write failed: %s", af->path, strerror(e)) : 0;
    free_handle(af);
    return rc;
}

int gx_atomic_commit(gx_atomic_file *af, gx_error *err) {
    if (!af->tmp_path) return commit_through(af, err);
    int e = af->err_no;
    const char *what = "write failed";
    if (!e && ferror(af->fp)) e = EIO;
    if (!e && fflush(af->fp) != 0) e = errno ? errno : EIO;
    if (!e && fsync(fileno(af->fp)) != 0) e = errno, what = "fsync failed";
    int close_rc = fclose(af->fp);
    af->fp = NULL;
    if (!e && close_rc != 0) e = errno ? errno : EIO, what = "close failed";
    if (!e && rename(af->tmp_path, af->target) != 0)
        e = errno, what = "cannot rename temporary file";
    if (e) {
        unlink(af->tmp_path);
        gx_fail(err, "%s: %s: %s", af->path, what, strerror(e));
        free_handle(af);
        return -1;
    }
    int de = sync_dir(af->dir);
    int rc = 0;
    if (de) rc = gx_fail(err, "%s: fsync of directory failed: %s", af->path, strerror(de));
    free_handle(af);
    return rc;
}

void gx_atomic_abort(gx_atomic_file *af) {
    if (!af) return;
    if (af->is_stdout) fflush(af->fp);
    else if (af->fp) fclose(af->fp);
    if (af->tmp_path) unlink(af->tmp_path);
    free_handle(af);
}

int gx_atomic_write_file(const char *path, const void *data, size_t n, gx_error *err) {
    gx_atomic_file *af;
    if (gx_atomic_open(path, &af, err) != 0) return -1;
    if (gx_atomic_write(af, data, n, err) != 0) {
        gx_atomic_abort(af);
        return -1;
    }
    return gx_atomic_commit(af, err);
}
