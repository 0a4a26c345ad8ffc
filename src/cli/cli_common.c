/* Helpers shared by the subcommands: error messages and option parsing of numbers. */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cli/cli.h"
#include "data/spec.h"

int cli_parse_only;

FILE *cli_status_stream(const char *out) { return out && !strcmp(out, "-") ? stderr : stdout; }

int cli_error(const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    fputs("genxfer: error: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
    return 1;
}

int cli_usage_error(const char *cmd, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "genxfer: error: %s: ", cmd);
    vfprintf(stderr, fmt, ap);
    fprintf(stderr, " (see genxfer %s --help)\n", cmd);
    va_end(ap);
    return 2;
}

int cli_option_error(const char *cmd, const char *arg, const struct option *longopts) {
    if (strncmp(arg, "--", 2) != 0) return cli_usage_error(cmd, "unknown option '%s'", arg);
    char name[64];
    snprintf(name, sizeof name, "%.*s", (int)strcspn(arg + 2, "="), arg + 2);
    const char *best = NULL;
    int best_dist = 3; /* at most two edits away */
    for (const struct option *o = longopts; o->name; o++) {
        if (!strcmp(o->name, name))
            return cli_usage_error(cmd, "option '--%s' needs a value", name);
        const int dist = gx_edit_distance(name, o->name);
        if (dist < best_dist) best_dist = dist, best = o->name;
    }
    if (best)
        return cli_usage_error(cmd, "unknown option '--%s'; did you mean '--%s'?", name, best);
    return cli_usage_error(cmd, "unknown option '--%s'", name);
}

int cli_parse_int(const char *cmd, const char *opt, const char *s, long lo, long hi, long *out) {
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (errno || end == s || *end || v < lo || v > hi)
        return cli_error("%s %s: '%s' is not an integer in [%ld, %ld]", cmd, opt, s, lo, hi);
    *out = v;
    return 0;
}

int cli_parse_float(const char *cmd, const char *opt, const char *s, double lo, double hi,
                    double *out) {
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (errno || end == s || *end || !(v >= lo && v <= hi))
        return cli_error("%s %s: '%s' is not a number in [%g, %g]", cmd, opt, s, lo, hi);
    *out = v;
    return 0;
}

int cli_parse_sizes(const char *cmd, const char *opt, const char *s, int *v, int max, int *n) {
    char buf[256];
    snprintf(buf, sizeof buf, "%s", s);
    *n = 0;
    for (char *save = NULL, *tok = strtok_r(buf, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
        long x;
        if (*n == max) return cli_error("%s %s: at most %d sizes", cmd, opt, max);
        if (cli_parse_int(cmd, opt, tok, 1, 1 << 20, &x)) return 1;
        v[(*n)++] = (int)x;
    }
    if (*n == 0) return cli_error("%s %s: expected sizes like 500,500", cmd, opt);
    return 0;
}

int cli_make_dir(const char *path) {
    char buf[1024];
    snprintf(buf, sizeof buf, "%s", path);
    for (char *p = buf + 1; *p; p++) {
        if (*p != '/') continue;
        *p = '\0';
        if (mkdir(buf, 0777) && errno != EEXIST) return -1;
        *p = '/';
    }
    if (mkdir(buf, 0777) && errno != EEXIST) return -1;
    struct stat st;
    return stat(buf, &st) == 0 && S_ISDIR(st.st_mode) ? 0 : -1;
}
