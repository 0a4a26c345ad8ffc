/* libFuzzer target: the command lines of every genxfer command (src/cli/cmd_*.c), parsed and
 * checked but not run: cli_parse_only makes a command return once its options are parsed, before
 * it reads or writes a file. Input: a byte choosing the command, then its arguments separated by
 * NUL bytes (at most 64). The commands print usage and errors: run with -close_fd_mask=3. */
#include <getopt.h>

#include "cli/cli.h"
#include "fuzz.h"

#define MAX_ARGS 64

static const struct {
    const char *name;
    int (*run)(int argc, char **argv);
} commands[] = {
    {"train", cmd_train}, {"eval", cmd_eval},     {"predict", cmd_predict}, {"sample", cmd_sample},
    {"latent", cmd_latent}, {"plot", cmd_plot}, {"data", cmd_data},       {"info", cmd_info},
    {"augment", cmd_augment}, {"scratch", cmd_scratch}, {"pp", cmd_pp},
    {"pssl", cmd_pssl},     {"kd", cmd_kd},     {"bench", cmd_bench}, {"translate", cmd_translate},
};
#define N_COMMANDS (sizeof commands / sizeof commands[0])

int LLVMFuzzerInitialize(int *argc, char ***argv) {
    cli_parse_only = 1;
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size < 1) return 0;
    char *text = malloc(size); /* the arguments, each NUL-terminated */
    if (!text) abort();
    memcpy(text, data + 1, size - 1);
    text[size - 1] = '\0';
    char *argv[MAX_ARGS + 2];
    int argc = 0;
    argv[argc++] = (char *)commands[data[0] % N_COMMANDS].name;
    for (size_t i = 0; i < size - 1 && argc <= MAX_ARGS; i += strlen(text + i) + 1)
        argv[argc++] = text + i;
    argv[argc] = NULL;
    /* A command runs once per process in the tool; here getopt's state from the previous input
     * (which may point into its freed arguments) is reset first: optind = 0 re-initialises it. */
    char *none[] = {"reset", NULL};
    optind = 0;
    getopt(1, none, "");
    int rc = commands[data[0] % N_COMMANDS].run(argc, argv);
    free(text);
    if (rc < 0 || rc > 2) abort(); /* exit statuses: 0, 1 error, 2 usage error */
    return 0;
}
