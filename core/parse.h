/*
 * parse.h — the one strict parser of what people type: dates, times, the
 * run's `--now`, amounts in yuan, resident ID numbers and phone numbers.
 *
 * Every reader of such a value (import, `run --now`, `events --since`,
 * `bus.replay`, the Lua `parse` library that scripts/lib uses) calls these
 * functions, so a value one command accepts is accepted by all, and one
 * refused is refused by all with the same reason.
 *
 * Contract shared by every function here:
 *   - input is `n` bytes at `s` (no NUL needed); spaces around it are trimmed;
 *   - 0 on success, the normalised value written to the out parameter (only
 *     then); GH_EINVAL (GH_ETOOBIG for an amount out of range) on refusal,
 *     with the reason in err_msg(): a phrase about the value that does not
 *     quote it ("is not a real date (month 1-12, a day the month has)"), so
 *     the caller names the value and the field: `birth_date: <reason>, got
 *     "2025-02-30"`;
 *   - nothing is allocated; no function prints or keeps state.
 *
 * Decisions (README "Parsing what people type" says them for users):
 *   - a date is 2025-01-14, 2025/1/14, 2025.1.14, 20250114 or 2025年1月14日
 *     (号 for 日), optionally followed by a midnight time (Excel writes
 *     "2025-01-14 00:00:00"); the calendar check is codec_is_date's;
 *   - a bare 4-5 digit number is Excel's day number: refused, naming the date
 *     it stands for, because the cell went through a number format;
 *   - a time is a date, then ' ' or 'T', then H:MM or H:MM:SS, local time;
 *   - yuan: optional '-', optional ¥/￥, digits with optional comma groups of
 *     three, at most two decimals, optional 元: '12.' (a point with no
 *     decimals) and '.5' are refused, '-5' is -500 fen (corrections are
 *     reversing entries; a caller that wants a positive amount says so);
 *     the result is integer fen, and int64 overflow is refused;
 *   - full-width digits (０-９, Ｘ) in ID numbers and phones become ASCII.
 */
#ifndef GH_PARSE_H
#define GH_PARSE_H

#include <stddef.h>
#include <stdint.h>

/* A date in any form above -> "YYYY-MM-DD" and a NUL in out. */
int parse_date(const char *s, size_t n, char out[11]);

/* Excel's day number (1900 system: day 1 is 1900-01-01, day 60 its fictional
 * 1900-02-29) -> "YYYY-MM-DD". GH_EINVAL outside 1..2958465 (9999-12-31). */
int parse_excel_day(int64_t serial, char out[11]);

/* A time "DATE[( |T)H:MM[:SS]]" (DATE as parse_date takes it; midnight when
 * no time is given), in local time -> seconds since 1970. */
int parse_time(const char *s, size_t n, int64_t *secs);

/* The run's clock, `--now`: whole seconds since 1970, or a time as
 * parse_time takes it -> seconds since 1970. */
int parse_now(const char *s, size_t n, int64_t *secs);

/* An amount in yuan as typed ("¥1,234.50", "-5", "12.5元") -> integer fen. */
int parse_yuan(const char *s, size_t n, int64_t *fen);

/* An 18-character resident ID number (GB 11643): 17 digits and a check
 * character (ISO 7064 MOD 11-2), whose digits 7-14 are a real birth date
 * from 1900 up to `today` ("YYYYMMDD"; NULL: the system's date) -> the 18
 * characters with an upper-case X. The reasons name what Excel does to such
 * numbers (scientific notation, 000 endings, decimals). */
int parse_id(const char *s, size_t n, const char *today, char out[19]);

/* The ISO 7064 MOD 11-2 check character ('0'-'9' or 'X') of n >= 1 digits
 * (for 17 digits: the resident ID's). GH_EINVAL if s has a non-digit. */
int parse_mod11_2(const char *s, size_t n, char *check);

/* A phone number: a mobile (11 digits, 1 then 3-9) -> "13812345678"; a
 * landline with its area code (0 + 2 or 3 digits, then 7 or 8 digits not
 * starting with 0 or 1) -> "0571-87654321". Spaces, hyphens, brackets and
 * full-width digits are dropped or made ASCII, and a +86/0086 before a
 * mobile is dropped; anything else is refused with the reason.
 * `out` has at least PARSE_PHONE_MAX bytes. */
#define PARSE_PHONE_MAX 16
int parse_phone(const char *s, size_t n, char *out);

/* A unified social credit code (统一社会信用代码, GB 32100-2015): 18 of
 * 0-9 and A-Y without I, O, S, V, Z (lower case taken as upper), a 6-digit
 * region code in characters 3-8, the GB 11714 check character of the
 * organisation code (17th) and the MOD 31 check character (18th) -> the 18
 * characters in upper case. */
int parse_credit_code(const char *s, size_t n, char out[19]);

/* The whole code for its first 16 characters (the two check characters
 * added): for makers of sample data and tests. */
int parse_credit_complete(const char *s, size_t n, char out[19]);

#endif
