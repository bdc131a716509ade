/*
 * clock.h — the one home of the process's clocks.
 *
 * Wall time (CLOCK_REALTIME) is for what a person reads and what records
 * keep (run records, event times); monotonic time (CLOCK_MONOTONIC) is for
 * measuring durations and deadlines, which must not jump when the system
 * clock is set. Header-only: each is one call of the vDSO (no system call).
 */
#ifndef GH_CLOCK_H
#define GH_CLOCK_H

#include <stdint.h>
#include <time.h>

/* Seconds since 1970 (wall clock), with the fraction. */
static inline double clock_wall_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Milliseconds since 1970 (wall clock). */
static inline int64_t clock_wall_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Seconds on the monotonic clock (an arbitrary start), with the fraction. */
static inline double clock_mono_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Milliseconds on the monotonic clock as of the kernel's last tick (a few
 * ms behind: clock_getres tells), for ages checked on every call that need
 * no precision. It reads no time counter: in this virtual machine 10 ns a
 * call against clock_mono_s's 30-90 ns (issue 18, W3: one a lookup). */
static inline int64_t clock_mono_coarse_ms(void) {
    struct timespec ts;
#ifdef CLOCK_MONOTONIC_COARSE
    clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
#else
    clock_gettime(CLOCK_MONOTONIC, &ts);
#endif
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

#endif
