/* The commands that train a target classifier (cli_transfer.c): scratch, pp, pssl and kd share their
 * options, data handling, training loop and outputs; each is one method. */
#ifndef GX_CLI_TRANSFER_H
#define GX_CLI_TRANSFER_H

#include <stdio.h>

#define CLI_DEFAULT_ARCH "conv32-bn-relu-pool,conv64-bn-relu-pool,fc128-relu-drop0.3,fc"

typedef enum {
    CLI_XFER_SCRATCH, /* the target network on the labelled target data alone */
    CLI_XFER_PP,      /* SOURCE_MODEL: pseudo pre-training, then the same fine-tuning */
    CLI_XFER_PSSL,    /* SOURCE_MODEL: FixMatch with pseudo samples (--pp: after PP) */
    CLI_XFER_KD,      /* SOURCE_MODEL: a fine-tuned copy of its classifier distilled */
} cli_xfer_method;

/* Runs the command (argv[0] is its name); usage prints its --help. The exit status. */
int cli_transfer_main(int argc, char **argv, cli_xfer_method method, void (*usage)(FILE *));

/* --help parts every method prints: the SPEC options and ARCH grammar; the shared options. */
void cli_transfer_usage_data(FILE *f);
void cli_transfer_usage_options(FILE *f, const char *default_out);

#endif
