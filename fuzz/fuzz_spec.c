/* libFuzzer target: dataset specs, gx_spec_parse and gx_spec_load (src/data/spec.c,
 * spec_csv.c): the grammar, every option, and the options applied to the data read (rename,
 * select, limit, image, log10, scale, resize, pad).
 * Input: the spec text up to the first newline, in which every '@' stands for the scratch
 * folder, then a part (fuzz.h: 2-byte length, bytes) written to @/a.csv and the rest written to
 * @/b.csv. So "csv:@/a.csv,label=y", "idx:@/a.csv,labels=@/b.csv" and "csv:@" (the folder as one
 * table) all read the input. The short names (mnist:train, ...) find no data: GENXFER_DATA is an
 * empty folder, so that an input never loads the real datasets. */
#include <sys/stat.h>

#include "data/spec.h"
#include "fuzz.h"

#define SPEC_MAX 2048

int LLVMFuzzerInitialize(int *argc, char ***argv) {
    char empty[600];
    snprintf(empty, sizeof empty, "%s/no-data", fuzz_dir());
    if (mkdir(empty, 0700) != 0 || setenv("GENXFER_DATA", empty, 1) != 0) abort();
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    const uint8_t *nl = memchr(data, '\n', size);
    size_t n_text = nl ? (size_t)(nl - data) : size;
    const uint8_t *p = nl ? nl + 1 : data + size, *a, *b;
    size_t left = nl ? size - n_text - 1 : 0, na, nb;
    fuzz_part(&p, &left, 0, &a, &na);
    fuzz_part(&p, &left, 1, &b, &nb);
    char spec[SPEC_MAX], path[600];
    size_t len = 0, dlen = strlen(fuzz_dir());
    for (size_t i = 0; i < n_text; i++) {
        if (data[i] == '\0' || len + dlen + 1 >= sizeof spec) return 0;
        if (data[i] == '@') {
            memcpy(spec + len, fuzz_dir(), dlen);
            len += dlen;
        } else {
            spec[len++] = (char)data[i];
        }
    }
    spec[len] = '\0';
    fuzz_file(path, sizeof path, "a.csv", a, na);
    fuzz_file(path, sizeof path, "b.csv", b, nb);

    gx_spec s;
    gx_error err = {{0}};
    if (gx_spec_parse(spec, &s, &err) != 0) {
        fuzz_check_error(&err);
        return 0;
    }
    gx_spec_free(&s);
    gx_dataset ds;
    gx_dataset_init(&ds);
    int ok = gx_spec_load(spec, &ds, &err) == 0;
    if (!ok) fuzz_check_error(&err);
    fuzz_check_dataset(&ds, ok);
    gx_dataset_free(&ds);
    return 0;
}
