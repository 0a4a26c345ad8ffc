/* 2-D convolution (stride 1, same padding) on NHWC maps through oneDNN's primitives. */
#include "core/conv.h"

#include <oneapi/dnnl/dnnl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/gemm.h"

/* A failure here is a bug or an exhausted machine (the shapes were checked by the caller when
 * the model was built): there is no result to return, so say what failed and stop. */
#define DNNL_CHECK(call)                                                                           \
    do {                                                                                           \
        const dnnl_status_t st_ = (call);                                                          \
        if (st_ != dnnl_success) {                                                                 \
            fprintf(stderr, "genxfer: internal error: %s returned oneDNN status %d\n", #call,      \
                    (int)st_);                                                                     \
            abort();                                                                               \
        }                                                                                          \
    } while (0)

/* The primitives of one convolution shape, and the memory objects they run on: the user's
 * buffers are wrapped at each call (set_data_handle), oneDNN's own layouts are allocated here. */
typedef struct conv_plan {
    int B, H, W, C, Cout, K, bias, threads;
    dnnl_primitive_t fwd, bwd_data, bwd_weights;
    dnnl_primitive_t w_to_fwd, w_to_bwd; /* user weights -> each primitive's layout (or NULL) */
    dnnl_primitive_t dw_to_user;         /* the weight gradient back, added (or NULL) */
    dnnl_memory_t x, y, w, b;            /* user buffers: X / dX, Y / dY, W / dW, b / db */
    dnnl_memory_t w_fwd, w_bwd, dw, db, dx; /* oneDNN's own (dw, db, dx: added to the user's) */
} conv_plan;

#define MAX_PLANS 16
static conv_plan *plans[MAX_PLANS];
static int n_plans, next_evict;
static pthread_mutex_t plans_lock = PTHREAD_MUTEX_INITIALIZER;
static dnnl_engine_t engine;
static dnnl_stream_t stream;

static dnnl_memory_t new_memory(const dnnl_memory_desc_t *md, void *handle) {
    dnnl_memory_t m;
    DNNL_CHECK(dnnl_memory_create(&m, md, engine, handle));
    return m;
}

/* A reorder from one layout to another (NULL when they are the same); with add, onto what the
 * destination holds (a sum post-op). */
static dnnl_primitive_t new_reorder(const dnnl_memory_desc_t *from, const dnnl_memory_desc_t *to,
                                    int add) {
    if (dnnl_memory_desc_equal(from, to)) return NULL;
    dnnl_primitive_attr_t attr = NULL;
    if (add) {
        dnnl_post_ops_t po;
        DNNL_CHECK(dnnl_primitive_attr_create(&attr));
        DNNL_CHECK(dnnl_post_ops_create(&po));
        DNNL_CHECK(dnnl_post_ops_append_sum(po, 1.0f));
        DNNL_CHECK(dnnl_primitive_attr_set_post_ops(attr, po));
        dnnl_post_ops_destroy(po);
    }
    dnnl_primitive_desc_t pd;
    dnnl_primitive_t p;
    DNNL_CHECK(dnnl_reorder_primitive_desc_create(&pd, from, engine, to, engine, attr));
    DNNL_CHECK(dnnl_primitive_create(&p, pd));
    dnnl_primitive_desc_destroy(pd);
    if (attr) dnnl_primitive_attr_destroy(attr);
    return p;
}

static conv_plan *plan_create(int B, int H, int W, int C, int Cout, int K, int bias, int threads) {
    conv_plan *pl = calloc(1, sizeof *pl);
    if (!pl) {
        fprintf(stderr, "genxfer: out of memory for a convolution plan\n");
        abort();
    }
    *pl = (conv_plan){.B = B, .H = H, .W = W, .C = C, .Cout = Cout, .K = K, .bias = bias,
                      .threads = threads};
    const dnnl_dims_t xd = {B, C, H, W}, yd = {B, Cout, H, W}, wd = {Cout, C, K, K}, bd = {Cout};
    const dnnl_dims_t strides = {1, 1}, pad = {K / 2, K / 2};
    dnnl_memory_desc_t x_md, y_md, w_user_md, w_any_md, b_md;
    DNNL_CHECK(dnnl_memory_desc_init_by_tag(&x_md, 4, xd, dnnl_f32, dnnl_nhwc));
    DNNL_CHECK(dnnl_memory_desc_init_by_tag(&y_md, 4, yd, dnnl_f32, dnnl_nhwc));
    DNNL_CHECK(dnnl_memory_desc_init_by_tag(&w_user_md, 4, wd, dnnl_f32, dnnl_ohwi));
    DNNL_CHECK(dnnl_memory_desc_init_by_tag(&w_any_md, 4, wd, dnnl_f32, dnnl_format_tag_any));
    DNNL_CHECK(dnnl_memory_desc_init_by_tag(&b_md, 1, bd, dnnl_f32, dnnl_x));
    const dnnl_memory_desc_t *bias_md = bias ? &b_md : NULL;

    dnnl_convolution_desc_t fd, bdd, bwd;
    dnnl_primitive_desc_t fpd, bpd, wpd;
    DNNL_CHECK(dnnl_convolution_forward_desc_init(&fd, dnnl_forward_training,
                                                  dnnl_convolution_direct, &x_md, &w_any_md,
                                                  bias_md, &y_md, strides, pad, pad));
    DNNL_CHECK(dnnl_primitive_desc_create(&fpd, &fd, NULL, engine, NULL));
    DNNL_CHECK(dnnl_convolution_backward_data_desc_init(&bdd, dnnl_convolution_direct, &x_md,
                                                        &w_any_md, &y_md, strides, pad, pad));
    DNNL_CHECK(dnnl_primitive_desc_create(&bpd, &bdd, NULL, engine, fpd));
    DNNL_CHECK(dnnl_convolution_backward_weights_desc_init(&bwd, dnnl_convolution_direct, &x_md,
                                                           &w_any_md, bias_md, &y_md, strides,
                                                           pad, pad));
    DNNL_CHECK(dnnl_primitive_desc_create(&wpd, &bwd, NULL, engine, fpd));
    DNNL_CHECK(dnnl_primitive_create(&pl->fwd, fpd));
    DNNL_CHECK(dnnl_primitive_create(&pl->bwd_data, bpd));
    DNNL_CHECK(dnnl_primitive_create(&pl->bwd_weights, wpd));

    /* the layouts oneDNN picked for the weights of each primitive */
    const dnnl_memory_desc_t *w_fwd_md, *w_bwd_md, *dw_md;
    w_fwd_md = dnnl_primitive_desc_query_md(fpd, dnnl_query_weights_md, 0);
    w_bwd_md = dnnl_primitive_desc_query_md(bpd, dnnl_query_weights_md, 0);
    dw_md = dnnl_primitive_desc_query_md(wpd, dnnl_query_diff_weights_md, 0);
    pl->x = new_memory(&x_md, DNNL_MEMORY_NONE);
    pl->y = new_memory(&y_md, DNNL_MEMORY_NONE);
    pl->w = new_memory(&w_user_md, DNNL_MEMORY_NONE);
    pl->b = new_memory(&b_md, DNNL_MEMORY_NONE);
    pl->w_to_fwd = new_reorder(&w_user_md, w_fwd_md, 0);
    pl->w_to_bwd = new_reorder(&w_user_md, w_bwd_md, 0);
    pl->dw_to_user = new_reorder(dw_md, &w_user_md, 1);
    if (pl->w_to_fwd) pl->w_fwd = new_memory(w_fwd_md, DNNL_MEMORY_ALLOCATE);
    if (pl->w_to_bwd) pl->w_bwd = new_memory(w_bwd_md, DNNL_MEMORY_ALLOCATE);
    pl->dw = new_memory(dw_md, DNNL_MEMORY_ALLOCATE);
    if (bias) pl->db = new_memory(&b_md, DNNL_MEMORY_ALLOCATE);
    pl->dx = new_memory(&x_md, DNNL_MEMORY_ALLOCATE);
    dnnl_primitive_desc_destroy(fpd);
    dnnl_primitive_desc_destroy(bpd);
    dnnl_primitive_desc_destroy(wpd);
    return pl;
}

static void plan_destroy(conv_plan *pl) {
    dnnl_primitive_t prims[] = {pl->fwd, pl->bwd_data, pl->bwd_weights, pl->w_to_fwd, pl->w_to_bwd,
                                pl->dw_to_user};
    for (size_t i = 0; i < sizeof prims / sizeof *prims; i++)
        if (prims[i]) dnnl_primitive_destroy(prims[i]);
    dnnl_memory_t mems[] = {pl->x, pl->y, pl->w, pl->b, pl->w_fwd, pl->w_bwd, pl->dw, pl->db,
                            pl->dx};
    for (size_t i = 0; i < sizeof mems / sizeof *mems; i++)
        if (mems[i]) dnnl_memory_destroy(mems[i]);
    free(pl);
}

/* The plan of a shape at the current thread count, made on first use; the oldest is replaced
 * when MAX_PLANS are kept. Called with plans_lock held. */
static conv_plan *plan_get(int B, int H, int W, int C, int Cout, int K, int bias) {
    const int threads = gx_get_threads();
    if (!engine) {
        DNNL_CHECK(dnnl_engine_create(&engine, dnnl_cpu, 0));
        DNNL_CHECK(dnnl_stream_create(&stream, engine, dnnl_stream_default_flags));
    }
    for (int i = 0; i < n_plans; i++) {
        conv_plan *pl = plans[i];
        if (pl->B == B && pl->H == H && pl->W == W && pl->C == C && pl->Cout == Cout &&
            pl->K == K && pl->bias == bias && pl->threads == threads)
            return pl;
    }
    conv_plan *pl = plan_create(B, H, W, C, Cout, K, bias, threads);
    if (n_plans < MAX_PLANS) {
        plans[n_plans++] = pl;
    } else {
        plan_destroy(plans[next_evict]);
        plans[next_evict] = pl;
        next_evict = (next_evict + 1) % MAX_PLANS;
    }
    return pl;
}

static void set_handle(dnnl_memory_t m, const void *p) {
    DNNL_CHECK(dnnl_memory_set_data_handle(m, (void *)p));
}

static void run(dnnl_primitive_t p, int n, const dnnl_exec_arg_t *args) {
    DNNL_CHECK(dnnl_primitive_execute(p, stream, n, args));
}

static void run_reorder(dnnl_primitive_t p, dnnl_memory_t from, dnnl_memory_t to) {
    const dnnl_exec_arg_t args[] = {{DNNL_ARG_FROM, from}, {DNNL_ARG_TO, to}};
    run(p, 2, args);
}

static void *data_of(dnnl_memory_t m) {
    void *p;
    DNNL_CHECK(dnnl_memory_get_data_handle(m, &p));
    return p;
}

/* The user's weights Wt as a primitive takes them: reordered into its layout (`to`, holding
 * `mem`) when that differs, else as they are. */
static dnnl_memory_t weights_for(conv_plan *pl, const float *Wt, dnnl_primitive_t to,
                                 dnnl_memory_t mem) {
    set_handle(pl->w, Wt);
    if (!to) return pl->w;
    run_reorder(to, pl->w, mem);
    return mem;
}

/* dst [n] += src [n] */
static void add_into(float *dst, const float *src, size_t n) {
#pragma omp parallel for simd if (n > ((size_t)1 << 16))
    for (size_t i = 0; i < n; i++) dst[i] += src[i];
}

void gx_conv2d_forward(float *Y, const float *X, const float *Wt, const float *b, int B, int H,
                       int W, int C, int Cout, int K) {
    if (B <= 0) return;
    const int saved = gx_threads_enter_onednn();
    pthread_mutex_lock(&plans_lock);
    conv_plan *pl = plan_get(B, H, W, C, Cout, K, b != NULL);
    set_handle(pl->x, X);
    set_handle(pl->y, Y);
    const dnnl_memory_t w = weights_for(pl, Wt, pl->w_to_fwd, pl->w_fwd);
    dnnl_exec_arg_t args[4] = {{DNNL_ARG_SRC, pl->x}, {DNNL_ARG_WEIGHTS, w}, {DNNL_ARG_DST, pl->y}};
    int n = 3;
    if (b) {
        set_handle(pl->b, b);
        args[n++] = (dnnl_exec_arg_t){DNNL_ARG_BIAS, pl->b};
    }
    run(pl->fwd, n, args);
    DNNL_CHECK(dnnl_stream_wait(stream));
    pthread_mutex_unlock(&plans_lock);
    gx_threads_leave_onednn(saved);
}

void gx_conv2d_backward(float *dX, float *dW, float *db, const float *dY, const float *X,
                        const float *Wt, int B, int H, int W, int C, int Cout, int K) {
    if (B <= 0 || (!dX && !dW && !db)) return;
    const int saved = gx_threads_enter_onednn();
    pthread_mutex_lock(&plans_lock);
    conv_plan *pl = plan_get(B, H, W, C, Cout, K, db != NULL);
    set_handle(pl->y, dY);
    if (dW || db) {
        /* the weight gradient (and the bias's) of this batch, then added to dW (and db) */
        set_handle(pl->x, X);
        dnnl_exec_arg_t args[4] = {{DNNL_ARG_SRC, pl->x}, {DNNL_ARG_DIFF_DST, pl->y},
                                   {DNNL_ARG_DIFF_WEIGHTS, pl->dw}};
        int n = 3;
        if (db) args[n++] = (dnnl_exec_arg_t){DNNL_ARG_DIFF_BIAS, pl->db};
        run(pl->bwd_weights, n, args);
        DNNL_CHECK(dnnl_stream_wait(stream));
        if (dW && pl->dw_to_user) {
            set_handle(pl->w, dW);
            run_reorder(pl->dw_to_user, pl->dw, pl->w);
        } else if (dW) {
            add_into(dW, data_of(pl->dw), (size_t)Cout * K * K * C);
        }
        if (db) add_into(db, data_of(pl->db), (size_t)Cout);
    }
    if (dX) {
        const dnnl_memory_t w = weights_for(pl, Wt, pl->w_to_bwd, pl->w_bwd);
        const dnnl_exec_arg_t args[] = {{DNNL_ARG_DIFF_DST, pl->y}, {DNNL_ARG_WEIGHTS, w},
                                        {DNNL_ARG_DIFF_SRC, pl->dx}};
        run(pl->bwd_data, 3, args);
        DNNL_CHECK(dnnl_stream_wait(stream));
        add_into(dX, data_of(pl->dx), (size_t)B * H * W * C);
    }
    DNNL_CHECK(dnnl_stream_wait(stream)); /* (the reorder of dW, when it ran last) */
    pthread_mutex_unlock(&plans_lock);
    gx_threads_leave_onednn(saved);
}
