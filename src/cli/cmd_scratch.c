/* genxfer scratch: trains a classifier (CNN or MLP from an architecture spec) from scratch on
 * labelled data, the `scratch` baseline of PP / P-SSL (the pipeline is cli_transfer.c's). */
#include "cli/cli.h"
#include "cli/cli_transfer.h"

static void usage(FILE *f) {
    fprintf(f,
"usage: genxfer scratch --data SPEC [--arch ARCH] [options]\n"
"\n"
"Trains a classifier (a CNN or an MLP, see ARCH) from scratch on labelled data and writes\n"
"model.safetensors, metrics.json and train_log.csv to --out: the scratch baseline of transfer\n"
"with PP and P-SSL (the target network on the labelled target data alone).\n");
    cli_transfer_usage_data(f);
    fprintf(f,
"\n"
"Example (E4 scratch baseline, Fashion-MNIST target classes, 10 labels per class):\n"
"  genxfer scratch --data fashion-mnist:train,select=2+4+6+7+9,k=10 \\\n"
"      --test fashion-mnist:test,select=2+4+6+7+9 --out runs/scratch\n"
"\n"
"options (default in brackets):\n");
    cli_transfer_usage_options(f, "runs/scratch");
}

int cmd_scratch(int argc, char **argv) {
    return cli_transfer_main(argc, argv, CLI_XFER_SCRATCH, usage);
}
