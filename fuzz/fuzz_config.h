/* The config-only model file of the model-loader targets (fuzz_model.c, fuzz_classifier.c): the
 * fuzzer's bytes become the "config" metadata of an otherwise well-formed file, so that it can
 * change the JSON freely without having to keep the file's header length right. */
#ifndef GX_FUZZ_CONFIG_H
#define GX_FUZZ_CONFIG_H

#include "io/safetensors.h"
#include "fuzz.h"

/* Writes a model file at path: format and format_version as given, three class names, the config
 * json [size] and, with head_bias, one tensor head.bias [3] (else none). -1 when the writer
 * refuses the text (not UTF-8, a NUL byte). */
static inline int fuzz_config_file(const char *path, const uint8_t *json, size_t size,
                                   const char *format, const char *version, int head_bias) {
    char *text = malloc(size + 1);
    gx_error err;
    gx_st_writer *w = gx_st_writer_new(&err);
    if (!text || !w) abort();
    memcpy(text, json, size);
    text[size] = '\0';
    if (head_bias) {
        static const float bias[3] = {0.5f, -1, 2};
        int64_t shape[1] = {3};
        gx_st_writer_add(w, "head.bias", GX_ST_F32, 1, shape, bias, &err);
    }
    gx_st_writer_meta(w, "format", format, &err);
    gx_st_writer_meta(w, "format_version", version, &err);
    gx_st_writer_meta(w, "class_names", "[\"a\", \"b\", \"c\"]", &err);
    int rc = gx_st_writer_meta(w, "config", text, &err);
    if (rc == 0 && gx_st_write(w, path, &err) != 0) abort();
    gx_st_writer_free(w);
    free(text);
    return rc;
}

#endif
