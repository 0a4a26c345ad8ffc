#include "core/memory.h"

#include <stdio.h>
#include <sys/resource.h>
#include <sys/sysinfo.h>

double gx_machine_memory(void) {
    struct sysinfo si;
    double have =
        sysinfo(&si) == 0 ? ((double)si.totalram + (double)si.totalswap) * si.mem_unit : 0;
    /* a process held to less address space (ulimit -v) can have no more than that */
    struct rlimit rl;
    if (getrlimit(RLIMIT_AS, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY &&
        (have <= 0 || (double)rl.rlim_cur < have))
        have = (double)rl.rlim_cur;
    return have;
}

void gx_human_bytes(char *buf, size_t n, double b) {
    const char *unit[] = {"bytes", "KB", "MB", "GB", "TB", "PB", "EB"};
    int u = 0;
    while (b >= 1024 && u < 6) b /= 1024, u++;
    snprintf(buf, n, u ? "%.1f %s" : "%.0f %s", b, unit[u]);
}

int gx_check_memory(double bytes, const char *what, gx_error *err) {
    const double have = gx_machine_memory();
    if (have <= 0 || bytes <= have) return 0;
    char a[32], b[32];
    gx_human_bytes(a, sizeof a, bytes);
    gx_human_bytes(b, sizeof b, have);
    return gx_fail(err, "%s would take %s, more than the %s this machine has (RAM and swap)", what,
                   a, b);
}
