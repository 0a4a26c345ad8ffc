/* What the public handles of include/genxfer.h hold, and helpers shared by src/api/. Not installed:
 * programs see only the opaque types. */
#ifndef GX_API_INTERNAL_H
#define GX_API_INTERNAL_H

#include "core/error.h"
#include "data/dataset.h"
#include "models/ssdgm_io.h"

#include "genxfer.h"

_Static_assert(sizeof(gx_error) == GENXFER_ERROR_SIZE,
               "gx_error differs between core/error.h and genxfer.h");
_Static_assert(GENXFER_MAX_LAYERS == GX_MAX_HIDDEN, "layer limits differ");
_Static_assert(GENXFER_MAX_DOMAINS == GX_MAX_DOMAINS, "domain limits differ");

struct gx_data {
    gx_dataset ds;
    int from_spec;         /* ds.source is the spec it was loaded from (stored with models) */
};

struct gx_model {
    gx_ssdgm m;
    gx_model_info info;
    uint64_t seed;         /* of the training run (saved as metadata), 0 when loaded */
    int best_epoch;        /* likewise; -1 when loaded */
};

#endif
