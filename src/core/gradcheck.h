/* Finite-difference gradient check: central differences in float, the loss accumulated in double.
 * The loss function recomputes the scalar from the current values of the parameters. */
#ifndef GX_GRADCHECK_H
#define GX_GRADCHECK_H

#include <stddef.h>

#include "core/rng.h"

typedef double (*gx_loss_fn)(void *ctx);

typedef struct gx_gradcheck_result {
    double max_rel_err; /* max over checked coordinates of |a - n| / max(|a| + |n|, floor) */
    double max_abs_err;
    size_t worst_index;
    size_t checked;
} gx_gradcheck_result;

/* Compares grad[i] (analytic, already computed by the caller) with
 * (f(x + h e_i) - f(x - h e_i)) / 2h for i in a random subset of at most max_checks coordinates
 * of x[0..n-1] (all of them when max_checks >= n), chosen with rng (distinct coordinates; evenly
 * spaced ones when rng is NULL). The divisor is the step actually taken after rounding x +- h to
 * float. x is restored exactly. `floor` keeps the relative error of near-zero gradients
 * meaningful (e.g. 1e-3). A non-finite analytic or numeric gradient gives an infinite error. */
gx_gradcheck_result gx_gradcheck(gx_loss_fn f, void *ctx, float *x, const float *grad, size_t n,
                                 double h, double floor, size_t max_checks, gx_rng *rng);

#endif
