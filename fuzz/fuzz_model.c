/* libFuzzer target: the model loader, gx_ssdgm_load (src/models/ssdgm_io.c): the safetensors
 * file, its metadata (format, config JSON, class names, data specs) and every tensor's shape
 * against the model the config describes. Input: the file's bytes; the seeds (fuzz/seeds.c) are
 * small M2, DVT and MLP models as gx_ssdgm_save writes them. */
#include "models/ssdgm_io.h"
#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    char path[600];
    fuzz_file(path, sizeof path, "model.safetensors", data, size);
    gx_ssdgm m;
    gx_model_info info;
    gx_error err = {{0}};
    if (gx_ssdgm_load(path, &m, &info, &err) != 0) {
        fuzz_check_error(&err);
        return 0;
    }
    if (info.n_classes != m.cfg.n_classes || !info.class_names) abort();
    for (int k = 0; k < info.n_classes; k++)
        if (!info.class_names[k]) abort();
    if (gx_ssdgm_domain_index(&m, NULL, &err) != m.cfg.n_domains - 1) abort();
    gx_ssdgm_free(&m);
    gx_model_info_free(&info);
    return 0;
}
