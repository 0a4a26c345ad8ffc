/* The training step of E4's CNN (the default --arch of scratch/pp/pssl/kd, 28x28x1 images, 5
 * classes, batch 64, Adam with weight decay 5e-4) on synthetic images, for profilers: no data
 * files to read, nothing but the steps to measure.
 *
 *     build/bench/profile_cnn [STEPS [THREADS]]         (defaults 20, 1)
 *     make bench-profile-cnn  runs 3 steps under valgrind --tool=callgrind and lists the functions
 *                             by instructions executed (stable on a noisy machine)
 *
 * Prints the median wall and CPU milliseconds per step, as bench/profile_step does for B1. */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "cli/cli_transfer.h"
#include "core/gemm.h"
#include "core/optim.h"
#include "models/classifier.h"

#define B 64
#define K 5
#define SIDE 28

static double seconds(clockid_t clock) {
    struct timespec t;
    clock_gettime(clock, &t);
    return t.tv_sec + t.tv_nsec * 1e-9;
}

static int cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

int main(int argc, char **argv) {
    int steps = argc > 1 ? atoi(argv[1]) : 20, threads = argc > 2 ? atoi(argv[2]) : 1;
    if (steps < 1 || steps > 100000 || threads < 1) {
        fprintf(stderr, "usage: profile_cnn [STEPS [THREADS]]\n");
        return 2;
    }
    gx_set_threads(threads);
    gx_rng init, noise, data;
    gx_rng_init(&init, 1, GX_STREAM_INIT);
    gx_rng_init(&noise, 1, GX_STREAM_NOISE);
    gx_rng_init(&data, 1, GX_STREAM_DATA);
    gx_classifier m;
    gx_classifier_ws ws;
    gx_error err;
    if (gx_classifier_create(&m, CLI_DEFAULT_ARCH, SIDE, SIDE, 1, 1, K, &init, &err) ||
        gx_classifier_ws_alloc(&ws, &m, B, &err)) {
        fprintf(stderr, "profile_cnn: %s\n", err.msg);
        return 1;
    }
    /* images with MNIST's look: most pixels 0, the rest spread over (0, 1] */
    static float x[B * SIDE * SIDE];
    static int32_t y[B];
    for (int i = 0; i < B * SIDE * SIDE; i++)
        x[i] = gx_rng_uniform(&data) < 0.2f ? gx_rng_uniform(&data) : 0.0f;
    for (int i = 0; i < B; i++) y[i] = i % K;
    gx_optim opt;
    gx_optim_init(&opt, GX_OPT_ADAM);
    opt.weight_decay = 5e-4f;
    double *t = malloc(steps * sizeof *t), *cpu = malloc(steps * sizeof *cpu);
    double loss = 0;
    for (int s = 0; s < steps; s++) {
        double t0 = seconds(CLOCK_MONOTONIC), c0 = seconds(CLOCK_PROCESS_CPUTIME_ID);
        gx_params_zero_grad(&m.params);
        loss = gx_classifier_ce_step(&m, &ws, x, y, B, &noise, NULL);
        gx_optim_step(&opt, &m.params, 1e-3f);
        t[s] = seconds(CLOCK_MONOTONIC) - t0;
        cpu[s] = seconds(CLOCK_PROCESS_CPUTIME_ID) - c0;
    }
    qsort(t, steps, sizeof *t, cmp_double);
    qsort(cpu, steps, sizeof *cpu, cmp_double);
    printf("%d steps, %d thread(s): median %.2f ms (min %.2f), CPU %.2f ms; last loss %.6f\n",
           steps, threads, 1e3 * t[steps / 2], 1e3 * t[0], 1e3 * cpu[steps / 2], loss);
    free(t);
    free(cpu);
    gx_classifier_ws_free(&ws);
    gx_classifier_free(&m);
    return 0;
}
