/* libFuzzer target: the safetensors reader, gx_st_open and the look-ups (src/io/safetensors.c),
 * on any bytes as the file. Every tensor it accepts is looked up by name and read back with its
 * own dtype and shape, and must agree with its header; every metadata entry is looked up by key. */
#include "io/safetensors.h"
#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    char path[600];
    fuzz_file(path, sizeof path, "model.safetensors", data, size);
    gx_st_file *f = NULL;
    gx_error err = {{0}};
    if (gx_st_open(path, &f, &err) != 0) {
        fuzz_check_error(&err);
        if (f) abort();
        return 0;
    }
    for (size_t i = 0; i < gx_st_count(f); i++) {
        const gx_st_tensor *t = gx_st_tensor_at(f, i);
        size_t numel = 1;
        for (int k = 0; k < t->ndim; k++) numel *= (size_t)t->shape[k];
        if (gx_st_find(f, t->name) != t || t->numel != numel ||
            t->nbytes != numel * gx_st_dtype_size(t->dtype) || ((uintptr_t)t->data & 63))
            abort();
        void *copy = malloc(t->nbytes ? t->nbytes : 1);
        if (!copy) abort();
        if (gx_st_read(f, t->name, t->dtype, t->ndim, t->shape, copy, &err) != 0 ||
            memcmp(copy, t->data, t->nbytes) != 0)
            abort();
        free(copy);
    }
    for (size_t i = 0; i < gx_st_metadata_count(f); i++) {
        const char *key, *value;
        gx_st_metadata_at(f, i, &key, &value);
        if (!key || !value || !gx_st_metadata(f, key)) abort();
    }
    gx_st_close(f);
    return 0;
}
