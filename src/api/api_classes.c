/* Class matching by name for the public API: a dataset's classes onto a model's class list. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/api_internal.h"

int gx_api_map_classes(const gx_dataset *ds, char **names, int *n, int max, int add_missing,
                       int32_t *map, gx_error *err) {
    for (int k = 0; k < ds->n_classes; k++) {
        char buf[32];
        const char *name = gx_dataset_class_name(ds, k, buf, sizeof buf);
        map[k] = -1;
        for (int j = 0; j < *n && map[k] < 0; j++)
            if (!strcmp(names[j], name)) map[k] = j;
        if (map[k] >= 0) continue;
        if (!add_missing) {
            char list[512] = "";
            for (int j = 0; j < *n; j++) {
                size_t l = strlen(list);
                snprintf(list + l, sizeof list - l, "%s%s", j ? ", " : "", names[j]);
            }
            return gx_fail(err, "%s: class '%s' is not one of the model's classes (%s)", ds->source,
                           name, list);
        }
        if (*n == max) return gx_fail(err, "%s: more than %d classes in all", ds->source, max);
        if (!(names[*n] = strdup(name))) return gx_fail(err, "out of memory");
        map[k] = (*n)++;
    }
    return 0;
}
