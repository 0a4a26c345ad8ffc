/* genxfer: the command-line tool. Dispatches to one function per subcommand. */
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"

static const struct {
    const char *name;
    int (*run)(int argc, char **argv);
    const char *summary;
} commands[] = {
    {"train", cmd_train, "train an M2 or DVT model on one or more domains"},
    {"scratch", cmd_scratch, "train a classifier (CNN or MLP) from scratch on labelled data"},
    {"pp", cmd_pp, "transfer from a source model: pseudo pre-training (PP), then fine-tuning"},
    {"pssl", cmd_pssl, "transfer from a source model: FixMatch with pseudo samples (P-SSL; --pp)"},
    {"kd", cmd_kd, "transfer baseline: distil a fine-tuned copy of a source model's classifier"},
    {"eval", cmd_eval, "accuracy, F1 and confusion matrix of a model on a labelled dataset"},
    {"predict", cmd_predict, "class probabilities of a model for every example of a dataset"},
    {"sample", cmd_sample, "generate examples per class from a model (PNG grid or CSV)"},
    {"augment", cmd_augment, "preview the weak and strong image augmentations of a dataset (PNG)"},
    {"latent", cmd_latent, "draw a model's latent space: 2-D PCA of the latent means, per domain"},
    {"translate", cmd_translate, "translate examples from one domain of a DVT model to another (PNG or CSV)"},
    {"plot", cmd_plot, "figures from a training run: learning curves, confusion matrix"},
    {"data", cmd_data, "describe a dataset spec: size, value range, classes, missing values"},
    {"info", cmd_info, "list the tensors and metadata of a .safetensors file"},
    {"bench", cmd_bench, "training-speed benchmarks: B1 (M2 on MNIST) and the E4 CNN, against the SGEMM peak"},
};

static void usage(FILE *f) {
    fprintf(f,
            "usage: genxfer <command> [options]\n"
            "       genxfer --help | --version\n\n"
            "Transfer learning with deep generative models (M2, DVT, PP, P-SSL).\n\n"
            "commands:\n");
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
        fprintf(f, "  %-10s %s\n", commands[i].name, commands[i].summary);
    fprintf(f, "\n`genxfer <command> --help` shows a command's options and defaults.\n");
}

int main(int argc, char **argv) {
    if (argc < 2) {
        usage(stderr);
        return 2;
    }
    if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h") || !strcmp(argv[1], "help")) {
        usage(stdout);
        return 0;
    }
    if (!strcmp(argv[1], "--version")) {
        printf("genxfer %s\n", GX_VERSION);
        return 0;
    }
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
        if (!strcmp(argv[1], commands[i].name)) return commands[i].run(argc - 1, argv + 1);
    fprintf(stderr, "genxfer: error: unknown command '%s' (see genxfer --help)\n", argv[1]);
    return 2;
}
