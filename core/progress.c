/*
 * progress.c — the progress bar on stderr: of run.progress and of long scans
 * in a run (lua_store.c's hook). One bar per process; drawn only when stderr
 * is a terminal, at most ten times a second, in colour unless NO_COLOR is set
 * or TERM is dumb.
 */
#include "progress.h"

#include "clock.h"
#include "err.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static struct {
    int tty, color, shown;
    double start, last;
} progress;

void progress_begin(void) {
    progress.tty = isatty(2);
    progress.color = progress.tty && !getenv("NO_COLOR") &&
                     !(getenv("TERM") && strcmp(getenv("TERM"), "dumb") == 0);
}

void progress_clear(void) {
    if (progress.shown) {
        fputs("\r\033[K", stderr);
        progress.shown = 0;
    }
}

void progress_draw(double done, double total, const char *label) {
    if (!progress.tty) {
        return;
    }
    double now = clock_mono_s();
    if (progress.start == 0) {
        progress.start = now;
    }
    if (now - progress.last < 0.1 && (total <= 0 || done < total)) {
        return;
    }
    progress.last = now;
    double el = now - progress.start, rate = el > 0 ? done / el : 0;
    char bar[41], left[32] = "";
    int width = 30, fill = total > 0 ? (int)(width * (done < total ? done / total : 1)) : 0;
    for (int i = 0; i < width; i++) {
        bar[i] = i < fill ? (progress.color ? ' ' : '#') : (progress.color ? ' ' : '.');
    }
    bar[width] = 0;
    if (total > 0 && rate > 0 && done < total) {
        int s = (int)((total - done) / rate);
        snprintf(left, sizeof left, _(", %d:%02d left"), s / 60, s % 60);
    }
    if (progress.color) {
        fprintf(stderr, "\r\033[K%s%s \033[7m%.*s\033[0m%s %.0f", label, *label ? ":" : "", fill,
                bar, bar + fill, done);
    } else {
        fprintf(stderr, "\r\033[K%s%s [%s] %.0f", label, *label ? ":" : "", bar, done);
    }
    if (total > 0) {
        fprintf(stderr, "/%.0f %3.0f%%", total, 100 * (done < total ? done / total : 1));
    }
    fprintf(stderr, _(" %.0f/s%s"), rate, left);
    progress.shown = 1;
    if (total > 0 && done >= total) {
        fputc('\n', stderr);
        progress.shown = 0;
        progress.start = 0;
    }
    fflush(stderr);
}
