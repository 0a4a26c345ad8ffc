/* libFuzzer target: the model loader, gx_ssdgm_load (src/models/ssdgm_io.c): the safetensors
 * file, its metadata (format, config JSON, class names, data specs) and every tensor's shape
 * against the model the config describes.
 * Input: a mode byte, then with bit 0 clear the file's bytes (the seeds, fuzz/seeds.c, are small
 * M2, DVT and MLP models as gx_ssdgm_save writes them), with bit 0 set the model's config JSON
 * alone, which the harness stores in a file with the rest of the metadata and no tensors: the
 * fuzzer then changes the JSON freely without having to keep the file's header length right. */
#include "models/ssdgm_io.h"
#include "fuzz_config.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size < 1) return 0;
    char path[600];
    if (data[0] & 1) {
        snprintf(path, sizeof path, "%s/model.safetensors", fuzz_dir());
        if (fuzz_config_file(path, data + 1, size - 1, GX_SSDGM_FORMAT,
                             GX_SSDGM_FORMAT_VERSION, 0) != 0)
            return 0;
    } else {
        fuzz_file(path, sizeof path, "model.safetensors", data + 1, size - 1);
    }
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
