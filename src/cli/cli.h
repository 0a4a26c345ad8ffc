/* The subcommands of the genxfer tool and helpers they share. Each command returns the process
 * exit status: 0 success, 1 error (bad data, failed I/O), 2 usage error. */
#ifndef GX_CLI_H
#define GX_CLI_H

#define GX_VERSION "0.1.0"

int cmd_data(int argc, char **argv);
int cmd_info(int argc, char **argv);

/* Prints "genxfer: error: MSG" on stderr and returns 1. */
int cli_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Prints "genxfer CMD: MSG (see genxfer CMD --help)" and returns 2. */
int cli_usage_error(const char *cmd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#endif
