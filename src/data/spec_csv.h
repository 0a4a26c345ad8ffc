/* Loading the csv kind of a dataset spec (spec_csv.c), for data/spec.c; not part of the public
 * API. */
#ifndef GX_SPEC_CSV_H
#define GX_SPEC_CSV_H

#include "data/spec.h"

/* Reads the table of a csv spec: PATH as one file, or, when PATH is a folder, the files listed by
 * files= (all its *.csv files, sorted by name, without it) as one table, each file a class named
 * after it unless label= is given. */
int gx_spec_load_csv(const gx_spec *s, gx_dataset *ds, gx_error *err);

#endif
