/*
 * days.h — the calendar arithmetic of the (proleptic) Gregorian calendar,
 * the one copy gonghui has: the parser (parse.c), the store's date check
 * (codec_is_date) and, through the plugin API table (gh_api.day_number,
 * day_date, month_days: minor 3), the plugins cal, xlsx and idcard.
 *
 * Pure functions of their arguments: no allocation, no state, no checks
 * beyond what each says (give them real dates: codec_is_date, parse_date).
 */
#ifndef GH_DAYS_H
#define GH_DAYS_H

#include <stdint.h>

/* 1 if y is a leap year, else 0. */
int days_leap(int64_t y);

/* The days of month m (1-12) of year y: 28 to 31; 0 when m is not a month. */
int days_in_month(int64_t y, int m);

/* The day number of y-m-d: days since 1970-01-01, negative before
 * (H. Hinnant's days_from_civil). */
int64_t days_from_date(int64_t y, int m, int d);

/* The date of a day number (the inverse of days_from_date). */
void days_to_date(int64_t day, int *y, int *m, int *d);

#endif
