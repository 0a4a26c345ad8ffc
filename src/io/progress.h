/* Progress of a training run on a stream (stderr): epoch i/N, step in the epoch, running loss,
 * the last validation accuracy, examples per second over a recent window and the time left for
 * the whole run.
 *
 * On a terminal (tty) one line is redrawn in place ("\r" + erase-line) at most every
 * GX_PROGRESS_TTY_SECONDS, cut to the terminal's width. Elsewhere (a file, a pipe) plain lines
 * only, no "\r" or escape codes, at most one every GX_PROGRESS_PLAIN_SECONDS since the last line
 * written (gx_progress_epoch_end counts as one: the caller prints its epoch line there), so only
 * long epochs get them. Times are passed in (seconds on a monotonic clock), which keeps the
 * decisions testable. Nothing is allocated. */
#ifndef GX_PROGRESS_H
#define GX_PROGRESS_H

#include <stdint.h>
#include <stdio.h>

#define GX_PROGRESS_TTY_SECONDS 0.25
#define GX_PROGRESS_PLAIN_SECONDS 30.0
#define GX_PROGRESS_WINDOW 8 /* rate samples kept, one per GX_PROGRESS_TTY_SECONDS at most */

typedef struct gx_progress {
    FILE *f;
    int tty;             /* redraw one line in place */
    int cols;            /* terminal width (0: unknown, no cut) */
    int epochs;          /* of the whole run */
    double t_start;      /* when training started */
    double t_last_line;  /* last time a line was written */
    long step0;          /* steps done before this run's first step (a resumed run) */
    int started;
    int on_screen;       /* a tty line is drawn and not yet erased */
    int64_t examples;    /* rows processed so far (labelled + unlabelled) */
    double loss_sum;     /* running loss of the current epoch */
    long loss_n;
    double val_acc;      /* last validation accuracy, < 0: none yet */
    /* examples/s: a ring of (time, examples) samples */
    double ring_t[GX_PROGRESS_WINDOW];
    int64_t ring_n[GX_PROGRESS_WINDOW];
    int ring_head, ring_len;
} gx_progress;

/* Starts the display of a run of `epochs` epochs at time now. cols: the terminal's width, 0 if
 * unknown. */
void gx_progress_init(gx_progress *p, FILE *f, int tty, int cols, int epochs, double now);

/* gx_progress_init with tty and cols found from f's file descriptor. */
void gx_progress_init_stream(gx_progress *p, FILE *f, int epochs, double now);

/* One training step done: step is 1-based over the whole run, spe the steps per epoch, loss the
 * step's objective, examples the rows it processed. Writes a line when one is due; returns 1 if
 * it did. */
int gx_progress_step(gx_progress *p, double now, long step, long spe, double loss,
                     int64_t examples);

/* The end of an epoch: erases the tty line (the caller prints its epoch line next), remembers
 * val_acc (< 0: no validation) and starts the next epoch's running loss. */
void gx_progress_epoch_end(gx_progress *p, double now, double val_acc);

/* Erases the tty line, if one is drawn (before other output, e.g. an error). */
void gx_progress_clear(gx_progress *p);

/* The progress fields as text (no "\r", no newline): "epoch 2/10  step 120/600  loss 203.5
 * val 87.50%  1234 ex/s  eta 0:01:23"; with_bar puts a bar after the epoch. */
void gx_progress_format(const gx_progress *p, double now, long step, long spe, int with_bar,
                        char *buf, size_t n);

/* Seconds as h:mm:ss ("--:--:--" when negative or not finite). */
void gx_progress_hms(double seconds, char *buf, size_t n);

#endif
