/* genxfer pp and genxfer pssl: transfer from a source generative model (G_s, C_s) to a target
 * network with PP (pseudo pre-training) and P-SSL (FixMatch with pseudo samples); pssl --pp is the
 * full method PP + P-SSL. The pipeline is cli_transfer.c's; only the source model file and the
 * target data are read. */
#include "cli/cli.h"
#include "cli/cli_transfer.h"

static void source_text(FILE *f) {
    fprintf(f,
"\n"
"SOURCE_MODEL is a model file of genxfer train with a generative preset (m2 or dvt), trained on\n"
"source classes disjoint from the target's: its conditional generator G_s and its classifier C_s.\n"
"Nothing but that file and the target data is read (no source data). Its samples must have the\n"
"target images' size.\n"
"\n");
}

static void pp_options(FILE *f) {
    fprintf(f,
"  --source-domain NAME  the source model's domain to generate in [its last domain]\n"
"  --pp-samples N      PP: pseudo samples drawn afresh every PP epoch [10000]\n"
"  --pp-epochs N       PP: pre-training epochs, batch size, learning rate, optimiser, schedule\n"
"                      and augmentation as for the fine-tuning [10]\n"
"  --pp-from FILE      PP: start from the pre-trained network FILE (the pp_pretrained.safetensors\n"
"                      that a pp or pssl --pp run writes beside its model, for the same --arch\n"
"                      and source model) instead of pre-training again: the pre-training does\n"
"                      not depend on the target data, so runs with other k or P-SSL options\n"
"                      can share it; with the same --seed the result is the same [pre-train]\n");
}

static void pp_usage(FILE *f) {
    fprintf(f,
"usage: genxfer pp SOURCE_MODEL --data SPEC [--arch ARCH] [options]\n"
"\n"
"PP, pseudo pre-training: draws source classes y_s uniformly and pseudo samples x = G_s(z, y_s)\n"
"(fresh ones every epoch), trains the target network with cross-entropy on (x, y_s) over the\n"
"source classes, replaces its head with a new one over the target classes and fine-tunes it on\n"
"the labelled target data like genxfer scratch. Writes model.safetensors, metrics.json and\n"
"train_log.csv (of the fine-tuning) to --out, and the pre-trained network (source head on) as\n"
"pp_pretrained.safetensors, which --pp-from reuses.\n");
    source_text(f);
    cli_transfer_usage_data(f);
    fprintf(f,
"\n"
"Example (E4 split A, 10 labels per target class):\n"
"  genxfer pp runs/e4a-source/model.safetensors \\\n"
"      --data fashion-mnist:train,select=2+4+6+7+9,k=10 \\\n"
"      --test fashion-mnist:test,select=2+4+6+7+9 --out runs/pp\n"
"\n"
"options (default in brackets):\n");
    pp_options(f);
    cli_transfer_usage_options(f, "runs/pp");
}

static void pssl_usage(FILE *f) {
    fprintf(f,
"usage: genxfer pssl SOURCE_MODEL --data SPEC [--arch ARCH] [--pp] [options]\n"
"\n"
"P-SSL: FixMatch with the labelled target data and pseudo samples. Each step takes a labelled\n"
"batch (x_t, y_t) and mu times as many pseudo samples u = G_s(z, p), p = C_s(x') for target\n"
"images x' drawn from the labelled ones, and minimises\n"
"  CE(f(weak(x_t)), y_t) + lambda_u * mean over u of 1[max q >= tau] CE(argmax q, f(strong(u)))\n"
"with q = softmax(f(weak(u))) held constant. --pp first pre-trains the network with PP (as\n"
"genxfer pp): the full method PP + P-SSL. Writes model.safetensors, metrics.json and\n"
"train_log.csv to --out, and with --pp the pre-trained network pp_pretrained.safetensors.\n");
    source_text(f);
    cli_transfer_usage_data(f);
    fprintf(f,
"\n"
"Example (E4 split A, PP + P-SSL, 10 labels per target class):\n"
"  genxfer pssl runs/e4a-source/model.safetensors --pp \\\n"
"      --data fashion-mnist:train,select=2+4+6+7+9,k=10 \\\n"
"      --test fashion-mnist:test,select=2+4+6+7+9 --out runs/pp-pssl\n"
"\n"
"options (default in brackets):\n"
"  --condition C       soft | argmax | random: p = C_s(x'), its one-hot argmax, or a uniformly\n"
"                      random source class [soft]\n"
"  --mu N              pseudo samples per labelled example of a step [7]\n"
"  --tau F             confidence threshold of the pseudo-labels q [0.95]\n"
"  --lambda-u F        weight of the pseudo samples' loss [1]\n"
"  --pseudo-bn S       keep | update: whether the pseudo samples' batch statistics also move\n"
"                      batch normalisation's running averages, which evaluation uses; keep\n"
"                      leaves those to the target images [keep]\n"
"  --unlabelled U      rest | SPEC: real unlabelled images instead of pseudo samples (plain\n"
"                      FixMatch, a baseline; the source model is still read and checked but\n"
"                      generates only for --pp; no --condition): rest, the rows of --data\n"
"                      that are neither labelled (k=) nor validation; or the images of a data\n"
"                      spec, in the target data's shape and units (its labels are not used)\n"
"  --pp                pre-train with PP first (PP + P-SSL) [off]\n");
    pp_options(f);
    cli_transfer_usage_options(f, "runs/pssl");
}

int cmd_pp(int argc, char **argv) { return cli_transfer_main(argc, argv, CLI_XFER_PP, pp_usage); }

int cmd_pssl(int argc, char **argv) {
    return cli_transfer_main(argc, argv, CLI_XFER_PSSL, pssl_usage);
}
