/* genxfer kd: the knowledge-distillation baseline of E4 (transfer/kd.h); the pipeline is
 * cli_transfer.c's. */
#include "cli/cli.h"
#include "cli/cli_transfer.h"

static void usage(FILE *f) {
    fprintf(f,
"usage: genxfer kd SOURCE_MODEL --data SPEC [--arch ARCH] [options]\n"
"\n"
"KD, the distillation baseline: copies the source model's classifier q(y|x) (its encoder and\n"
"classifier layers, as an MLP) with a new head over the target classes, fine-tunes it on the\n"
"labelled target data, then trains the target network (ARCH) on the same data with\n"
"  (1 - a) CE(s, y) + a T^2 KL(softmax(t/T) || softmax(s/T))\n"
"(s, t the network's and the fine-tuned teacher's logits of the same augmented batch). The\n"
"teacher is fine-tuned with the same options (epochs, batch, optimiser, schedule, augmentation,\n"
"validation) as the network. Writes model.safetensors, metrics.json and train_log.csv to --out.\n"
"\n"
"SOURCE_MODEL is a model file of genxfer train (any preset) whose domain takes the target\n"
"images' size, unstandardised.\n"
"\n");
    cli_transfer_usage_data(f);
    fprintf(f,
"\n"
"Example (E4 split A, 10 labels per target class):\n"
"  genxfer kd runs/e4a-source/model.safetensors \\\n"
"      --data fashion-mnist:train,select=2+4+6+7+9,k=10 \\\n"
"      --test fashion-mnist:test,select=2+4+6+7+9 --out runs/kd\n"
"\n"
"options (default in brackets):\n"
"  --kd-temp T         distillation temperature T [4]\n"
"  --kd-alpha A        weight a of the distillation term [0.9]\n"
"  --source-domain NAME  the source model's domain whose classifier is copied [its last domain]\n");
    cli_transfer_usage_options(f, "runs/kd");
}

int cmd_kd(int argc, char **argv) { return cli_transfer_main(argc, argv, CLI_XFER_KD, usage); }
