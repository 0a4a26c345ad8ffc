/* Time per GEMM shape: an LD_PRELOAD wrapper of dnnl_sgemm (oneDNN, behind gx_gemm) that times every call and prints, at
 * exit, one line per (transposes, M, N, K, beta) with its calls, total seconds and GFLOP/s, then
 * the GEMMs' total. It shows which products of a step run below the machine's peak:
 *     make bench-gemm-shapes          (build/bench/profile_step 60 2 under the wrapper)
 * Both threads may call at once (gx_gemm_pair, the row halves of a dense block): a lock guards
 * the table, and the seconds of products that overlap add up. */
#define _GNU_SOURCE
#include <oneapi/dnnl/dnnl.h>
#include <dlfcn.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

typedef dnnl_status_t (*sgemm_fn)(char, char, dnnl_dim_t, dnnl_dim_t, dnnl_dim_t, float,
                                  const float *, dnnl_dim_t, const float *, dnnl_dim_t, float,
                                  float *, dnnl_dim_t);

#define MAX_SHAPES 256
static struct {
    int ta, tb, m, n, k;
    float beta;
    long calls;
    double seconds;
} shapes[MAX_SHAPES];
static int n_shapes;
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static sgemm_fn real_sgemm;

static double now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec + t.tv_nsec * 1e-9;
}

static void report(void) {
    double total = 0;
    fprintf(stderr, "op  %5s %5s %5s  beta  %6s  %9s  %7s\n", "M", "N", "K", "calls", "seconds", "GFLOP/s");
    for (int i = 0; i < n_shapes; i++) {
        double flop = 2.0 * shapes[i].m * shapes[i].n * shapes[i].k * shapes[i].calls;
        fprintf(stderr, "%c%c  %5d %5d %5d  %4g  %6ld  %9.4f  %7.1f\n", "NT"[shapes[i].ta],
                "NT"[shapes[i].tb], shapes[i].m, shapes[i].n, shapes[i].k, shapes[i].beta,
                shapes[i].calls, shapes[i].seconds, flop / shapes[i].seconds * 1e-9);
        total += shapes[i].seconds;
    }
    fprintf(stderr, "all GEMMs: %.4f s\n", total);
}

dnnl_status_t dnnl_sgemm(char ta, char tb, dnnl_dim_t M, dnnl_dim_t N, dnnl_dim_t K, float alpha,
                         const float *A, dnnl_dim_t lda, const float *B, dnnl_dim_t ldb,
                         float beta, float *C, dnnl_dim_t ldc) {
    pthread_mutex_lock(&lock);
    if (!real_sgemm) {
        real_sgemm = (sgemm_fn)dlsym(RTLD_NEXT, "dnnl_sgemm");
        if (!real_sgemm) {
            fprintf(stderr, "gemm_shapes: dnnl_sgemm not found\n");
            exit(1);
        }
        atexit(report);
    }
    pthread_mutex_unlock(&lock);
    const double t0 = now();
    const dnnl_status_t st = real_sgemm(ta, tb, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
    const double dt = now() - t0;
    const int a = ta == 'T' || ta == 't', b = tb == 'T' || tb == 't';
    pthread_mutex_lock(&lock);
    int i = 0;
    while (i < n_shapes && !(shapes[i].ta == a && shapes[i].tb == b && shapes[i].m == M &&
                             shapes[i].n == N && shapes[i].k == K && shapes[i].beta == beta))
        i++;
    if (i == n_shapes && n_shapes < MAX_SHAPES) {
        shapes[i].ta = a, shapes[i].tb = b, shapes[i].m = M, shapes[i].n = N, shapes[i].k = K;
        shapes[i].beta = beta;
        n_shapes++;
    }
    if (i < MAX_SHAPES) shapes[i].calls++, shapes[i].seconds += dt;
    pthread_mutex_unlock(&lock);
    return st;
}
