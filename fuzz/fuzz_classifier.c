/* libFuzzer target: the classifier loader, gx_classifier_load (src/models/classifier_io.c): the
 * files `genxfer scratch`, `pp`, `pssl` and `kd` write. The safetensors file, its metadata (format
 * and version, the config JSON with the architecture spec, class names, data spec), the optional
 * standardisation statistics and every tensor's shape against the model the config describes.
 * Input: a mode byte, then with bit 0 clear the file's bytes (the seeds, fuzz/seeds.c, are small
 * CNN and MLP classifiers as gx_classifier_save writes them), with bit 0 set the config JSON
 * alone, which the harness stores in a file with the rest of the metadata and one small tensor,
 * so that the fuzzer can change the JSON (and the architecture spec in it) freely. */
#include "models/classifier_io.h"
#include "fuzz_config.h"

static void check(int bad, const char *what) {
    if (bad) {
        fprintf(stderr, "fuzz: loaded classifier: %s\n", what);
        abort();
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size < 1) return 0;
    char path[600];
    if (data[0] & 1) {
        snprintf(path, sizeof path, "%s/model.safetensors", fuzz_dir());
        if (fuzz_config_file(path, data + 1, size - 1, GX_CLASSIFIER_FORMAT,
                             GX_CLASSIFIER_FORMAT_VERSION, 1) != 0)
            return 0;
    } else {
        fuzz_file(path, sizeof path, "model.safetensors", data + 1, size - 1);
    }
    gx_classifier m;
    gx_model_info info;
    gx_error err = {{0}};
    if (gx_classifier_load(path, &m, &info, &err) != 0) {
        fuzz_check_error(&err);
        /* a failed load leaves nothing behind */
        check(m.params.data || m.n_layers || info.class_names || info.prep_mean[0], "after a failure");
        return 0;
    }
    /* what a caller relies on: the classes, the input shape, a head of K outputs, parameters
     * that the file filled (within the file), statistics in pairs */
    check(info.n_classes != m.n_classes || m.n_classes < 2 || !info.class_names, "class count");
    for (int k = 0; k < info.n_classes; k++) check(!info.class_names[k], "class name");
    check(m.in_h < 1 || m.in_w < 1 || m.in_c < 1 || (!m.image && (m.in_h != 1 || m.in_w != 1)),
          "input shape");
    check(m.n_layers < 1 || m.n_layers > GX_CLS_MAX_LAYERS, "layer count");
    const gx_cls_layer *last = &m.layer[m.n_layers - 1];
    check(last->kind != GX_CLS_FC || last->oc != m.n_classes || last->oh != 1 || last->ow != 1,
          "head");
    check(!m.params.data || m.params.n < 1 || m.params.total * sizeof(float) > size,
          "parameters");
    check(!info.prep_mean[0] != !info.prep_std[0], "statistics");
    check(!(m.bn_momentum >= 0 && m.bn_momentum <= 1), "bn momentum");
    gx_classifier_free(&m);
    gx_model_info_free(&info);
    return 0;
}
