#include "core/prior_shift.h"

#include <math.h>

int gx_prior_shift_em(const float *P, int64_t n, int K, const double *train_prior, double *prior,
                      int max_iter, double tol) {
    for (int k = 0; k < K; k++) prior[k] = train_prior[k];
    if (n <= 0) return 0;
    double next[256];
    if (K > 256) return 0; /* (see the header: the callers' class counts are far below) */
    int round = 0;
    while (round < max_iter) {
        round++;
        for (int k = 0; k < K; k++) next[k] = 0;
        for (int64_t i = 0; i < n; i++) {
            const float *p = P + i * K;
            double w[256], sum = 0;
            for (int k = 0; k < K; k++) sum += w[k] = p[k] * (prior[k] / train_prior[k]);
            if (!(sum > 0)) continue; /* a row with no mass: it says nothing */
            for (int k = 0; k < K; k++) next[k] += w[k] / sum;
        }
        double total = 0, moved = 0;
        for (int k = 0; k < K; k++) total += next[k];
        if (!(total > 0)) break;
        for (int k = 0; k < K; k++) {
            const double v = next[k] / total;
            if (fabs(v - prior[k]) > moved) moved = fabs(v - prior[k]);
            prior[k] = v;
        }
        if (moved <= tol) break;
    }
    return round;
}

void gx_prior_shift_apply(float *P, int64_t n, int K, const float *ratio) {
    for (int64_t i = 0; i < n; i++) {
        float *p = P + i * K;
        double sum = 0;
        for (int k = 0; k < K; k++) sum += (double)p[k] * ratio[k];
        if (!(sum > 0)) continue;
        for (int k = 0; k < K; k++) p[k] = (float)((double)p[k] * ratio[k] / sum);
    }
}
