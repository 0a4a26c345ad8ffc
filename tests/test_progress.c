/* io/progress: when lines are written (a tty every 0.25 s from the first step, a file every 30 s
 * after the last line), what they hold (epoch, step, running loss, validation accuracy,
 * examples/s over the recent window, time left) and that a file gets no "\r" or escape codes. The
 * clock is the test's. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "io/progress.h"

typedef struct sink {
    FILE *f;
    char *buf;
    size_t len;
} sink;

static void sink_open(sink *s) {
    s->buf = NULL;
    s->len = 0;
    s->f = open_memstream(&s->buf, &s->len);
    assert_non_null(s->f);
}

/* A fresh sink and a progress display writing to it. */
static void start(sink *s, gx_progress *p, int tty, int cols, int epochs, double now) {
    sink_open(s);
    gx_progress_init(p, s->f, tty, cols, epochs, now);
}

static const char *sink_text(sink *s) {
    fflush(s->f);
    return s->buf;
}

static void sink_close(sink *s) {
    fclose(s->f);
    free(s->buf);
}

static size_t count(const char *text, const char *what) {
    size_t n = 0;
    for (const char *p = strstr(text, what); p; p = strstr(p + 1, what)) n++;
    return n;
}

static void test_hms(void **state) {
    (void)state;
    char b[32];
    gx_progress_hms(0, b, sizeof b);
    assert_string_equal(b, "0:00:00");
    gx_progress_hms(83.4, b, sizeof b);
    assert_string_equal(b, "0:01:23");
    gx_progress_hms(3 * 3600 + 5 * 60 + 9.6, b, sizeof b);
    assert_string_equal(b, "3:05:10");
    gx_progress_hms(-1, b, sizeof b);
    assert_string_equal(b, "--:--:--");
}

/* A file: one plain line per 30 s at most, none in a short epoch, the same fields as on a tty. */
static void test_plain_lines(void **state) {
    (void)state;
    sink s;
    gx_progress p;
    start(&s, &p, 0, 0, 2, 100.0);
    /* epoch 1: 100 steps of 1 s, 50 rows each, loss 10 */
    int lines = 0;
    for (long step = 1; step <= 100; step++)
        lines += gx_progress_step(&p, 100.0 + step, step, 100, 10.0, 50);
    assert_int_equal(lines, 3); /* at 30, 60 and 90 s */
    const char *t = sink_text(&s);
    assert_null(strchr(t, '\r'));
    assert_null(strchr(t, '\033'));
    assert_int_equal(count(t, "\n"), 3);
    assert_non_null(strstr(t, "epoch 1/2  step 30/100  loss 10  50 ex/s  eta 0:02:50\n"));
    assert_null(strstr(t, "val")); /* no validation yet */
    /* the epoch line resets the clock: the next progress line waits 30 s after it */
    gx_progress_epoch_end(&p, 200.5, 0.875);
    assert_int_equal(gx_progress_step(&p, 229.0, 101, 100, 4.0, 50), 0);
    assert_int_equal(gx_progress_step(&p, 231.0, 102, 100, 2.0, 50), 1);
    t = sink_text(&s);
    /* running loss of the new epoch (4 + 2) / 2; time left: 131 s for 102 steps, 98 to go */
    assert_non_null(strstr(t, "epoch 2/2  step 2/100  loss 3  val 87.50%"));
    assert_non_null(strstr(t, "eta 0:02:06\n"));
    sink_close(&s);
}

/* A tty: drawn in place from the first step, at most every 0.25 s, erased at the epoch's end,
 * cut to the terminal's width. */
static void test_tty_line(void **state) {
    (void)state;
    sink s;
    gx_progress p;
    start(&s, &p, 1, 0, 1, 0.0);
    int lines = 0;
    for (long step = 1; step <= 100; step++) /* 10 steps a second */
        lines += gx_progress_step(&p, step * 0.1, step, 100, 1.0, 20);
    assert_true(lines >= 30 && lines <= 40); /* the first step, then every 0.3 s (3 steps) */
    const char *t = sink_text(&s);
    const char *first = "\repoch 1/1 [....................] 1/100  loss 1  ";
    assert_memory_equal(t, first, strlen(first));
    assert_int_equal(count(t, "\r"), (size_t)lines);
    assert_int_equal(count(t, "\033[K"), (size_t)lines);
    assert_null(strchr(t, '\n'));
    assert_non_null(strstr(t, "200 ex/s")); /* 20 rows a step, 10 steps a second */
    gx_progress_epoch_end(&p, 10.0, -1);
    t = sink_text(&s);
    assert_string_equal(t + strlen(t) - 4, "\r\033[K");
    /* clear: erases a drawn line once, then has nothing to erase */
    size_t before = strlen(sink_text(&s));
    gx_progress_clear(&p);
    assert_int_equal(strlen(sink_text(&s)), before);
    assert_int_equal(gx_progress_step(&p, 11.0, 101, 100, 1.0, 20), 1);
    gx_progress_clear(&p);
    t = sink_text(&s);
    assert_string_equal(t + strlen(t) - 4, "\r\033[K");
    sink_close(&s);

    /* a narrow terminal: the line is cut to its width - 1 */
    start(&s, &p, 1, 30, 3, 0.0);
    assert_int_equal(gx_progress_step(&p, 1.0, 1, 10, 1.0, 5), 1);
    t = sink_text(&s);
    assert_string_equal(t, "\repoch 1/3 [##................\033[K");
    sink_close(&s);
}

/* examples/s follows the recent window (about 4 s), not the whole run's mean. */
static void test_rate_window(void **state) {
    (void)state;
    sink s;
    gx_progress p;
    start(&s, &p, 0, 0, 1, 0.0);
    double t = 0;
    long step = 0;
    for (int i = 0; i < 60; i++) gx_progress_step(&p, t += 1.0, ++step, 1000, 1.0, 10);  /* 10/s */
    for (int i = 0; i < 100; i++) gx_progress_step(&p, t += 0.1, ++step, 1000, 1.0, 10); /* 100/s */
    char line[256];
    gx_progress_format(&p, t, step, 1000, 0, line, sizeof line);
    /* the last 4 s ran at 100 rows/s (10 per 0.1 s); the run's mean is about 23 */
    assert_non_null(strstr(line, "  100 ex/s"));
    sink_close(&s);
}

/* A resumed run (first step past 1): the time left counts this run's steps only. */
static void test_resumed_run(void **state) {
    (void)state;
    sink s;
    gx_progress p;
    start(&s, &p, 0, 0, 10, 0.0);
    for (long step = 501; step <= 600; step++) gx_progress_step(&p, (step - 500) * 0.5, step, 100, 1.0, 1);
    char line[256];
    gx_progress_format(&p, 50.0, 600, 100, 0, line, sizeof line);
    /* 100 steps in 50 s, 400 to go: 200 s */
    assert_non_null(strstr(line, "epoch 6/10  step 100/100"));
    assert_non_null(strstr(line, "eta 0:03:20"));
    sink_close(&s);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_hms),
        cmocka_unit_test(test_plain_lines),
        cmocka_unit_test(test_tty_line),
        cmocka_unit_test(test_rate_window),
        cmocka_unit_test(test_resumed_run),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
