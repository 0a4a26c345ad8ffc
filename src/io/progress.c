#include "io/progress.h"

#include <math.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#define SAMPLE_SECONDS 0.5 /* spacing of the rate samples: a window of about 4 s */

void gx_progress_init(gx_progress *p, FILE *f, int tty, int cols, int epochs, double now) {
    memset(p, 0, sizeof *p);
    p->f = f;
    p->tty = tty;
    p->cols = cols;
    p->epochs = epochs;
    p->t_start = p->t_last_line = now;
    p->val_acc = -1;
    p->ring_t[0] = now;
    p->ring_len = 1;
}

void gx_progress_init_stream(gx_progress *p, FILE *f, int epochs, double now) {
    int fd = fileno(f), tty = fd >= 0 && isatty(fd), cols = 0;
    struct winsize ws;
    if (tty && ioctl(fd, TIOCGWINSZ, &ws) == 0) cols = ws.ws_col;
    gx_progress_init(p, f, tty, cols, epochs, now);
}

void gx_progress_hms(double s, char *buf, size_t n) {
    if (!(s >= 0) || !isfinite(s) || s > 1e9) {
        snprintf(buf, n, "--:--:--");
        return;
    }
    long t = (long)(s + 0.5);
    snprintf(buf, n, "%ld:%02ld:%02ld", t / 3600, t / 60 % 60, t % 60);
}

/* Rows per second between the oldest sample of the window and now (< 0: not known yet). */
static double rate(const gx_progress *p, double now) {
    int oldest = (p->ring_head - p->ring_len + 1 + GX_PROGRESS_WINDOW) % GX_PROGRESS_WINDOW;
    double dt = now - p->ring_t[oldest];
    return dt > 0 ? (double)(p->examples - p->ring_n[oldest]) / dt : -1;
}

static void sample(gx_progress *p, double now) {
    if (now - p->ring_t[p->ring_head] < SAMPLE_SECONDS) return;
    p->ring_head = (p->ring_head + 1) % GX_PROGRESS_WINDOW;
    p->ring_t[p->ring_head] = now;
    p->ring_n[p->ring_head] = p->examples;
    if (p->ring_len < GX_PROGRESS_WINDOW) p->ring_len++;
}

void gx_progress_format(const gx_progress *p, double now, long step, long spe, int with_bar,
                        char *buf, size_t n) {
    if (spe < 1) spe = 1;
    long epoch = (step - 1) / spe + 1, in_epoch = (step - 1) % spe + 1;
    size_t len = 0;
#define ADD(...)                                                                                   \
    do {                                                                                           \
        int w_ = snprintf(buf + len, n - len, __VA_ARGS__);                                        \
        if (w_ < 0 || (size_t)w_ >= n - len) return;                                               \
        len += (size_t)w_;                                                                         \
    } while (0)
    if (n == 0) return;
    buf[0] = '\0';
    ADD("epoch %ld/%d", epoch, p->epochs);
    if (with_bar) {
        enum { WIDTH = 20 };
        char bar[WIDTH + 1];
        int filled = (int)(WIDTH * in_epoch / spe);
        for (int i = 0; i < WIDTH; i++) bar[i] = i < filled ? '#' : '.';
        bar[WIDTH] = '\0';
        ADD(" [%s] %ld/%ld", bar, in_epoch, spe);
    } else {
        ADD("  step %ld/%ld", in_epoch, spe);
    }
    if (p->loss_n) ADD("  loss %.5g", p->loss_sum / p->loss_n);
    if (p->val_acc >= 0) ADD("  val %.2f%%", 100 * p->val_acc);
    double r = rate(p, now);
    if (r >= 0) ADD("  %.0f ex/s", r);
    /* time left: the mean time per step of this run (validation included) times the steps left */
    long done = step - p->step0, left = (long)p->epochs * spe - step;
    char hms[32];
    gx_progress_hms(done > 0 ? (now - p->t_start) / done * (left > 0 ? left : 0) : -1, hms,
                    sizeof hms);
    ADD("  eta %s", hms);
#undef ADD
}

int gx_progress_step(gx_progress *p, double now, long step, long spe, double loss,
                     int64_t examples) {
    if (!p->started) {
        p->started = 1;
        p->step0 = step - 1;
    }
    p->examples += examples;
    p->loss_sum += loss;
    p->loss_n++;
    sample(p, now);
    double wait = p->tty ? GX_PROGRESS_TTY_SECONDS : GX_PROGRESS_PLAIN_SECONDS;
    /* a tty shows a line from the first step on */
    if (!(p->tty && !p->on_screen && step == p->step0 + 1) && now - p->t_last_line < wait) return 0;
    char line[256];
    gx_progress_format(p, now, step, spe, p->tty, line, sizeof line);
    if (p->tty) {
        if (p->cols > 1 && strlen(line) >= (size_t)p->cols) line[p->cols - 1] = '\0';
        fprintf(p->f, "\r%s\033[K", line);
        p->on_screen = 1;
    } else {
        fprintf(p->f, "%s\n", line);
    }
    fflush(p->f);
    p->t_last_line = now;
    return 1;
}

void gx_progress_clear(gx_progress *p) {
    if (p->on_screen) fprintf(p->f, "\r\033[K");
    p->on_screen = 0;
}

void gx_progress_epoch_end(gx_progress *p, double now, double val_acc) {
    gx_progress_clear(p);
    p->t_last_line = now;
    if (val_acc >= 0) p->val_acc = val_acc;
    p->loss_sum = 0;
    p->loss_n = 0;
}
