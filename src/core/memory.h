/* How much memory this machine has, and the check that an allocation fits it, made before a
 * large allocation so that an input or a setting far too large is a one-line error instead of an
 * allocation that the kernel's overcommit lets through and an out-of-memory kill ends later. */
#ifndef GX_MEMORY_H
#define GX_MEMORY_H

#include "core/error.h"

/* RAM and swap in bytes (sysinfo), or the process's address-space limit (ulimit -v) when that is
 * lower; 0 when unknown. */
double gx_machine_memory(void);

/* "512 bytes", "1.5 GB": b bytes for messages. */
void gx_human_bytes(char *buf, size_t n, double b);

/* 0 when `bytes` fit the machine's memory (or it is unknown); else an error "WHAT would take X,
 * more than the Y this machine has (RAM and swap)". */
int gx_check_memory(double bytes, const char *what, gx_error *err);

#endif
