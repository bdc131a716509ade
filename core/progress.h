/*
 * progress.h — the progress bar on stderr (progress.c).
 */
#ifndef GH_PROGRESS_H
#define GH_PROGRESS_H

/* Notes whether stderr is a terminal and takes colour (call before drawing). */
void progress_begin(void);

/* Draws the bar for done of total (total <= 0: unknown) with label: on stderr
 * when it is a terminal, at most ten times a second; nothing otherwise. A bar
 * that reaches its total ends its line. Also the progress hook of scans. */
void progress_draw(double done, double total, const char *label);

/* Clears a bar left drawn (before other output). */
void progress_clear(void);

#endif
