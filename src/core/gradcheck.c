/* Finite-difference gradient check (central differences). */
#include "core/gradcheck.h"

#include <math.h>
#include <stdint.h>

/* Perturbs x[i] by +-h, evaluates f at both points and divides by the distance actually stepped
 * (x +- h rounded to float), so the float rounding of the step does not bias the estimate. */
static double numeric_grad(gx_loss_fn f, void *ctx, float *x, size_t i, double h) {
    const float orig = x[i];
    const float xp = (float)((double)orig + h), xm = (float)((double)orig - h);
    x[i] = xp;
    double fp = f(ctx);
    x[i] = xm;
    double fm = f(ctx);
    x[i] = orig;
    return (fp - fm) / ((double)xp - (double)xm);
}

/* Coordinates: all of them when max_checks >= n; otherwise exactly max_checks of them, chosen
 * uniformly without replacement by selection sampling (Knuth's algorithm S) with rng, or evenly
 * spaced when rng is NULL. A non-finite gradient (analytic or numeric) counts as an infinite
 * error. */
gx_gradcheck_result gx_gradcheck(gx_loss_fn f, void *ctx, float *x, const float *grad, size_t n,
                                 double h, double rel_floor, size_t max_checks, gx_rng *rng) {
    gx_gradcheck_result res = {0.0, 0.0, 0, 0};
    const int all = max_checks >= n;
    size_t want = all ? n : max_checks;
    for (size_t i = 0; i < n && want > 0; i++) {
        if (!all) {
            int take;
            if (rng) {
                /* select i with probability want / (n - i); n - i may exceed 32 bits */
                size_t left = n - i;
                uint64_t r = left > UINT32_MAX ? gx_rng_u64(rng) % left
                                               : gx_rng_below(rng, (uint32_t)left);
                take = r < want;
            } else {
                /* evenly spaced: i is taken when floor((i+1) m / n) > floor(i m / n) */
                double m = (double)max_checks;
                take = floor((double)(i + 1) * m / (double)n) > floor((double)i * m / (double)n);
            }
            if (!take) continue;
        }
        want--;
        double a = grad[i], num = numeric_grad(f, ctx, x, i, h);
        double abs_err = fabs(a - num);
        double denom = fabs(a) + fabs(num);
        if (denom < rel_floor) denom = rel_floor;
        double rel = abs_err / denom;
        if (!isfinite(rel) || !isfinite(a) || !isfinite(num)) rel = abs_err = INFINITY;
        if (res.checked == 0 || rel > res.max_rel_err) {
            res.max_rel_err = rel;
            res.worst_index = i;
        }
        if (abs_err > res.max_abs_err) res.max_abs_err = abs_err;
        res.checked++;
    }
    return res;
}
