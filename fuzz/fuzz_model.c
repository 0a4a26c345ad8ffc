/* libFuzzer target: the model loader, gx_ssdgm_load (src/models/ssdgm_io.c): the safetensors
 * file, its metadata (format, config JSON, class names, data specs) and every tensor's shape
 * against the model the config describes; then what the tool does with a model that loaded: in
 * every domain, predict with latent means (genxfer predict, latent) and, for the generative
 * presets, one sample per class drawn into the PNG grid where the domain is an image
 * (genxfer sample), so that a config whose shapes load but disagree is caught here.
 * Input: a mode byte, then with bit 0 clear the file's bytes (the seeds, fuzz/seeds.c, are small
 * M2, DVT and MLP models as gx_ssdgm_save writes them), with bit 0 set the model's config JSON
 * alone, which the harness stores in a file with the rest of the metadata and no tensors: the
 * fuzzer then changes the JSON freely without having to keep the file's header length right. */
#include <stdlib.h>

#include "io/figure.h"
#include "models/ssdgm.h"
#include "models/ssdgm_io.h"
#include "fuzz_config.h"

/* predict, latent and sample on two rows of zeros in every domain */
static void use_model(gx_ssdgm *m, const gx_model_info *info) {
    enum { ROWS = 2 };
    const int K = m->cfg.n_classes, z = m->cfg.z_dim, gen = gx_ssdgm_is_generative(m);
    gx_ssdgm_ws ws;
    gx_error err = {{0}};
    if (gx_ssdgm_ws_alloc(&ws, m, K > ROWS ? K : ROWS, 0, &err) != 0) return;
    for (int d = 0; d < m->cfg.n_domains; d++) {
        const gx_domain_config *dc = &m->cfg.dom[d];
        const size_t n = (size_t)dc->n_in;
        float *X = calloc((size_t)(K > ROWS ? K : ROWS) * n, sizeof *X);
        float P[ROWS * GX_MAX_CLASSES], *MU = gen ? calloc((size_t)ROWS * z, sizeof *MU) : NULL;
        if (!X || (gen && !MU)) abort();
        gx_ssdgm_predict(m, &ws, d, X, ROWS, P, MU); /* (the weights may be anything: no check
                                                       * of the values, only of memory) */
        if (gen) {
            gx_rng rng;
            gx_rng_init(&rng, 1, GX_STREAM_NOISE);
            const float *rows[GX_MAX_CLASSES];
            for (int k = 0; k < K; k++) {
                gx_ssdgm_generate(m, &ws, d, 1, k, NULL, &rng, X + (size_t)k * n);
                rows[k] = X + (size_t)k * n;
            }
            if (dc->height > 0 && dc->width > 0 && dc->channels == 1) {
                char png[600];
                snprintf(png, sizeof png, "%s/samples.png", fuzz_dir());
                if (gx_image_grid_png(png, rows, K, 1, dc->height, dc->width,
                                      (const char *const *)info->class_names, "fuzz", 0, &err))
                    fuzz_check_error(&err);
            }
        }
        free(X);
        free(MU);
    }
    gx_ssdgm_ws_free(&ws);
}

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
    use_model(&m, &info);
    gx_ssdgm_free(&m);
    gx_model_info_free(&info);
    return 0;
}
