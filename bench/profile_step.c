/* The B1 training step (M2, 784-500-500 softplus, z 50, 10 classes, 100 + 100 rows, Adam) on
 * synthetic images, for profilers: no data files to read, nothing but the steps to measure.
 *
 *     build/bench/profile_step [STEPS [THREADS]]        (defaults 20, 1)
 *     make bench-profile     runs 3 steps under valgrind --tool=callgrind and lists the functions
 *                            by instructions executed (stable on a noisy machine)
 *
 * Prints the median wall and CPU milliseconds per step (the CPU time of all threads: on a busy
 * machine a 1-thread step's CPU time is close to its wall time on an idle one). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/gemm.h"
#include "core/optim.h"
#include "models/ssdgm.h"

#define B 100
#define K 10
#define N_IN 784

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
        fprintf(stderr, "usage: profile_step [STEPS [THREADS]]\n");
        return 2;
    }
    gx_set_threads(threads);
    gx_ssdgm_config c;
    gx_ssdgm_config_default(&c, GX_PRESET_M2, K);
    c.n_domains = 1;
    strcpy(c.dom[0].name, "mnist");
    c.dom[0].n_in = N_IN;
    c.dom[0].height = c.dom[0].width = 28, c.dom[0].channels = 1;
    gx_rng init, noise, data;
    gx_rng_init(&init, 1, GX_STREAM_INIT);
    gx_rng_init(&noise, 1, GX_STREAM_NOISE);
    gx_rng_init(&data, 1, GX_STREAM_DATA);
    gx_ssdgm m;
    gx_ssdgm_ws ws;
    gx_error err;
    if (gx_ssdgm_create(&m, &c, &init, &err) || gx_ssdgm_ws_alloc(&ws, &m, B, B, &err)) {
        fprintf(stderr, "profile_step: %s\n", err.msg);
        return 1;
    }
    /* images with MNIST's look: most pixels 0, the rest spread over (0, 1] */
    static float xl[B * N_IN], xu[B * N_IN];
    static int32_t yl[B];
    for (int i = 0; i < B * N_IN; i++) {
        xl[i] = gx_rng_uniform(&data) < 0.2f ? gx_rng_uniform(&data) : 0.0f;
        xu[i] = gx_rng_uniform(&data) < 0.2f ? gx_rng_uniform(&data) : 0.0f;
    }
    for (int i = 0; i < B; i++) yl[i] = i % K;
    gx_ssdgm_batch batch = {xl, yl, B, xu, B};
    gx_ssdgm_hyper h = {.alpha = 10.0f, .beta = 1.0f, .bn_momentum = 0.1f};
    gx_optim opt;
    gx_optim_init(&opt, GX_OPT_ADAM);
    double *t = malloc(steps * sizeof *t), *cpu = malloc(steps * sizeof *cpu);
    double loss = 0;
    for (int s = 0; s < steps; s++) {
        double t0 = seconds(CLOCK_MONOTONIC), c0 = seconds(CLOCK_PROCESS_CPUTIME_ID);
        gx_ssdgm_stats st;
        gx_params_zero_grad(&m.params);
        if (gx_ssdgm_loss_and_grad(&m, &ws, &batch, &h, &noise, &st, &err)) {
            fprintf(stderr, "profile_step: %s\n", err.msg);
            return 1;
        }
        gx_optim_step(&opt, &m.params, 1e-3f);
        t[s] = seconds(CLOCK_MONOTONIC) - t0;
        cpu[s] = seconds(CLOCK_PROCESS_CPUTIME_ID) - c0;
        loss = st.loss;
    }
    qsort(t, steps, sizeof *t, cmp_double);
    qsort(cpu, steps, sizeof *cpu, cmp_double);
    printf("%d steps, %d thread(s): median %.2f ms (min %.2f), CPU %.2f ms; last loss %.6f\n",
           steps, threads, 1e3 * t[steps / 2], 1e3 * t[0], 1e3 * cpu[steps / 2], loss);
    free(t);
    free(cpu);
    gx_ssdgm_ws_free(&ws);
    gx_ssdgm_free(&m);
    return 0;
}
