/* The subcommands of the genxfer tool and helpers they share. Each command returns the process
 * exit status: 0 success, 1 error (bad data, failed I/O), 2 usage error. */
#ifndef GX_CLI_H
#define GX_CLI_H

#include <stdio.h>

#include "genxfer.h"

#define GX_VERSION GENXFER_VERSION /* one version, in the public header */

int cmd_data(int argc, char **argv);
int cmd_info(int argc, char **argv);
int cmd_train(int argc, char **argv);
int cmd_eval(int argc, char **argv);
int cmd_predict(int argc, char **argv);
int cmd_sample(int argc, char **argv);
int cmd_plot(int argc, char **argv);
int cmd_latent(int argc, char **argv);
int cmd_translate(int argc, char **argv);
int cmd_scratch(int argc, char **argv);
int cmd_pp(int argc, char **argv);
int cmd_pssl(int argc, char **argv);
int cmd_kd(int argc, char **argv);
int cmd_augment(int argc, char **argv);
int cmd_bench(int argc, char **argv);

/* The figures of a training run's folder (cmd_plot.c): learning_curves.png from RUN/train_log.csv
 * and confusion.png from RUN/metrics.json when that holds a confusion matrix, written into out
 * (NULL: run), titles starting with title (NULL: the folder's name); a line per figure on stdout.
 * *no_confusion: metrics.json is there without a confusion matrix (a run without a test set).
 * 0, or 1 after printing an error (also when neither file is there). */
int cli_plot_run(const char *run, const char *out, const char *title, int *no_confusion);

/* When set (only by the command-line fuzzer, fuzz/fuzz_cli.c), a command returns 0 as soon as its
 * command line is parsed and checked, before it reads or writes any file. */
extern int cli_parse_only;

/* Where a command says what it wrote: standard output, or standard error when the output itself
 * goes to standard output (out is "-"). */
FILE *cli_status_stream(const char *out);

/* Prints "genxfer: error: MSG" on stderr and returns 1. */
int cli_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Prints "genxfer CMD: MSG (see genxfer CMD --help)" and returns 2. */
int cli_usage_error(const char *cmd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* The usage error for argv[optind - 1] after getopt_long returned '?' or ':': a known option
 * without its value ("needs a value"), or an unknown one with the nearest known long option as a
 * "did you mean". Returns 2. */
struct option;
int cli_option_error(const char *cmd, const char *arg, const struct option *longopts);

/* Option values: 0 on success, else prints "genxfer: error: CMD OPT: ..." and returns 1 (a bad
 * value is an error, exit 1; a malformed command line is a usage error, exit 2). */
int cli_parse_int(const char *cmd, const char *opt, const char *s, long lo, long hi, long *out);
int cli_parse_float(const char *cmd, const char *opt, const char *s, double lo, double hi,
                    double *out);
/* Creates the folder path and its parents (mkdir -p); -1 with errno set on failure. */
int cli_make_dir(const char *path);
/* "500,500" -> v[0..n-1]. */
int cli_parse_sizes(const char *cmd, const char *opt, const char *s, int *v, int max, int *n);

#endif
