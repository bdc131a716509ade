/*
 * cal.c — the `cal` plugin: the Chinese lunar calendar (农历), sort keys for
 * names in pinyin order or in surname stroke order (姓氏笔画), GB18030 text.
 * Calendar, pinyin and GB18030 come from ICU (libicu-dev); the strokes from
 * the stroke dictionary of Debian's rime-data-stroke (see "stroke order").
 *
 * Lua (local cal = plugin.load 'cal'); dates are 'YYYY-MM-DD' strings from
 * 1900-01-01 to 2100-12-31, and a lunar year is named by the Gregorian year
 * in which it begins (lunar 2025 runs from 2025-01-29 to 2026-02-16):
 *   to_lunar(date)             -> str   '2025-01-01', or '2023-闰02-15' in a leap month
 *   lunar_text(date)           -> str   '乙巳年正月初一', '癸卯年闰二月十五'
 *   from_lunar(y, m, d, leap)  -> str   the Gregorian date; an error for a day or a
 *                                       leap month that lunar year does not have
 *   spring_festival(y)         -> str   春节: 正月初一 of lunar year y (in year y)
 *   laba(y)                    -> str   腊八: 腊月初八 before year y's Spring Festival,
 *                                       of lunar year y-1 (January of y, or late
 *                                       December of y-1)
 *   first_month_end(y)         -> str   the last day of 正月 of lunar year y
 *   month_days(y, m, leap)     -> i32   29 or 30
 *   leap_month(y)              -> i32   the leap month of lunar year y, 0 if none
 *   pinyin_key(s)              -> bytes sort key, pinyin order (ICU zh@collation=pinyin)
 *   stroke_key(s)              -> bytes sort key, stroke order (count, then 横竖撇点折)
 *   strokes(ch)                -> i32   stroke count of a character, 0 if unknown
 *   stroke_order(ch)           -> str   '王' -> '横横竖横', nil if unknown
 *   pinyin(s)                  -> str   '王建国' -> 'wáng jiàn guó' (ICU Han-Latin/Names)
 *   gb18030_to_utf8(b)         -> str   GB18030 (so GBK, GB2312) text as UTF-8
 *   utf8_to_gb18030(s)         -> str   UTF-8 text as GB18030 bytes
 * Keys compare with Lua's `<` (bytewise: the host leaves LC_COLLATE at "C").
 *
 * Life cycle: the first load in a process opens the ICU objects (calendar,
 * collator, converter; the transliterator and the stroke table at their
 * first use), the last unload closes them; a count lets several Lua states
 * of one process share them (dlopen gives each the same statics). The host
 * calls plugins from one thread at a time.
 *
 * Sees only include/gonghui/plugin.h, ICU and the stroke dictionary. ICU's
 * own memory and the shared stroke table (about 3 MB) are not counted
 * against --memory; the buffers of each call are (api->alloc).
 */
#include <gonghui/plugin.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unicode/ucal.h>
#include <unicode/ucnv.h>
#include <unicode/ucol.h>
#include <unicode/uclean.h>
#include <unicode/ustring.h>
#include <unicode/utf8.h>
#include <unicode/utrans.h>

/* ICU's Chinese calendar counts years from 2637 BCE: extended year 4662 is the
 * lunar year that begins in 2025. */
#define CHINESE_EPOCH 2637
#define MIN_YEAR 1900
#define MAX_YEAR 2100
#define DAY_MS 86400000.0

static const gh_api *api;
static int users; /* loads that share the objects below */
static UCalendar *lunar;
static UCollator *by_pinyin;
static UConverter *gb;
static UTransliterator *han_latin; /* opened at the first pinyin() */

/* ---- Gregorian day numbers ------------------------------------------------------------- */

/* The date arithmetic is the host's (gh_api.day_number, day_date, date_day:
 * API minor 3), the one copy gonghui has. */
static const int64_t first_day_num = -25567; /* 1900-01-01 */
static const int64_t last_day_num = 47846;   /* 2100-12-31 */

/* Reads 'YYYY-MM-DD' into a day number; an error naming the value otherwise. */
static int parse_date(const char *s, int64_t *day, gh_err *err) {
    if (api->date_day(err, s, day) != GH_PLUGIN_OK) {
        return -1;
    }
    if (*day < first_day_num || *day > last_day_num) {
        api->error(err, "'%s' is outside the calendar's range (%d-01-01 to %d-12-31)", s, MIN_YEAR,
                   MAX_YEAR);
        return -1;
    }
    return 0;
}

static char *format_day(int64_t day) {
    int y, m, d;
    api->day_date(day, &y, &m, &d);
    return api->mprintf("%04d-%02d-%02d", y, m, d);
}

/* ---- the lunar calendar ---------------------------------------------------------------- */

/* A lunar month: its name (year, month, leap) and its days. */
typedef struct lunar_month {
    int year;      /* the Gregorian year in which its lunar year begins */
    int month;     /* 1..12 */
    bool leap;     /* the leap month (闰月) that follows month `month` */
    int64_t start; /* its first day (a day number) */
    int days;      /* 29 or 30 */
} lunar_month;

/* Where ICU 72's Chinese calendar is wrong between 1900 and 2100. ICU
 * computes new moons and solar terms with a low-precision model; when a new
 * moon falls within minutes of midnight in Beijing (UTC+8) it lands on the
 * wrong day (2027's Spring Festival is 2027-02-06: the new moon is at 23:56;
 * ICU says 02-07), and a solar term near midnight moves a leap month (1987
 * has 闰六月; ICU says 闰七月). Found by comparing every month's first day
 * from 1900 to 2100 with two independent sources, which agree with each other
 * on each of these: the astronomical lunar-javascript 1.7.7 and the tables of
 * Debian's `lunar` 2.2 (plugins/cal/test.lua checks all 2487 months against
 * plugins/cal/month_starts.txt). Each span runs between two month starts
 * on which ICU is right, and lists the true months in it. */
#define FIX_MONTHS 3
static const struct {
    int16_t from[3], to[3]; /* the span's first and (excluded) last day, Y M D */
    struct {
        int16_t start[3]; /* Y M D; 0 0 0 after the last month */
        int16_t year, month, leap;
    } months[FIX_MONTHS];
} fixes[] = {
    /* 1917 and 1922: 闰二月 and 闰五月, not 闰三月 and 闰六月 */
    {{1917, 2, 22},
     {1917, 5, 21},
     {{{1917, 2, 22}, 1917, 2, 0}, {{1917, 3, 23}, 1917, 2, 1}, {{1917, 4, 21}, 1917, 3, 0}}},
    {{1922, 5, 27},
     {1922, 8, 23},
     {{{1922, 5, 27}, 1922, 5, 0}, {{1922, 6, 25}, 1922, 5, 1}, {{1922, 7, 24}, 1922, 6, 0}}},
    {{1954, 1, 5}, {1954, 3, 5}, {{{1954, 1, 5}, 1953, 12, 0}, {{1954, 2, 3}, 1954, 1, 0}}},
    {{1955, 1, 24}, {1955, 3, 24}, {{{1955, 1, 24}, 1955, 1, 0}, {{1955, 2, 22}, 1955, 2, 0}}},
    /* 1987: 闰六月, not 闰七月 */
    {{1987, 6, 26},
     {1987, 9, 23},
     {{{1987, 6, 26}, 1987, 6, 0}, {{1987, 7, 26}, 1987, 6, 1}, {{1987, 8, 24}, 1987, 7, 0}}},
    {{1998, 12, 19}, {1999, 2, 16}, {{{1998, 12, 19}, 1998, 11, 0}, {{1999, 1, 17}, 1998, 12, 0}}},
    {{2012, 7, 19}, {2012, 9, 16}, {{{2012, 7, 19}, 2012, 6, 0}, {{2012, 8, 17}, 2012, 7, 0}}},
    {{2018, 10, 9}, {2018, 12, 7}, {{{2018, 10, 9}, 2018, 9, 0}, {{2018, 11, 8}, 2018, 10, 0}}},
    {{2027, 1, 8}, {2027, 3, 8}, {{{2027, 1, 8}, 2026, 12, 0}, {{2027, 2, 6}, 2027, 1, 0}}},
    {{2030, 1, 4}, {2030, 3, 4}, {{{2030, 1, 4}, 2029, 12, 0}, {{2030, 2, 3}, 2030, 1, 0}}},
    {{2070, 2, 11}, {2070, 4, 11}, {{{2070, 2, 11}, 2070, 1, 0}, {{2070, 3, 12}, 2070, 2, 0}}},
};
#define NFIXES (sizeof fixes / sizeof *fixes)

static int64_t ymd(const int16_t d[3]) {
    return api->day_number(d[0], d[1], d[2]);
}

/* The true month `i` of fix `f`, or 0 if there is none. */
static int fix_month(size_t f, int i, lunar_month *out) {
    if (i >= FIX_MONTHS || fixes[f].months[i].start[0] == 0) {
        return 0;
    }
    out->year = fixes[f].months[i].year;
    out->month = fixes[f].months[i].month;
    out->leap = fixes[f].months[i].leap != 0;
    out->start = ymd(fixes[f].months[i].start);
    bool last = i + 1 == FIX_MONTHS || fixes[f].months[i + 1].start[0] == 0;
    int64_t end = last ? ymd(fixes[f].to) : ymd(fixes[f].months[i + 1].start);
    out->days = (int)(end - out->start);
    return 1;
}

/* ICU's lunar date of a day number (month, day of month). */
static int icu_lunar(int64_t day, lunar_month *m, int *mday) {
    UErrorCode st = U_ZERO_ERROR;
    ucal_setMillis(lunar, (UDate)day * DAY_MS, &st);
    m->year = ucal_get(lunar, UCAL_EXTENDED_YEAR, &st) - CHINESE_EPOCH;
    m->month = ucal_get(lunar, UCAL_MONTH, &st) + 1;
    m->leap = ucal_get(lunar, UCAL_IS_LEAP_MONTH, &st) != 0;
    *mday = ucal_get(lunar, UCAL_DATE, &st);
    return U_FAILURE(st) ? -1 : 0;
}

/* The lunar month containing a day number, and the day's place in it (1..30);
 * 0, or -1 with the message in err. */
static int month_of_day_icu(int64_t day, lunar_month *out, int *mday, gh_err *err) {
    for (size_t f = 0; f < NFIXES; f++) {
        if (day >= ymd(fixes[f].from) && day < ymd(fixes[f].to)) {
            lunar_month m, found = {0};
            for (int i = 0; fix_month(f, i, &m) && m.start <= day; i++) {
                found = m;
            }
            *out = found;
            *mday = (int)(day - found.start) + 1;
            return 0;
        }
    }
    lunar_month m, next;
    int d, nd;
    if (icu_lunar(day, &m, &d) != 0) {
        goto fail;
    }
    m.start = day - d + 1;
    /* 30 days if the 30th still belongs to it */
    if (icu_lunar(m.start + 29, &next, &nd) != 0) {
        goto fail;
    }
    m.days = nd == 30 ? 30 : 29;
    *out = m;
    *mday = d;
    return 0;
fail:
    api->error(err, "ICU's Chinese calendar failed");
    return -1;
}

/* ICU takes about 0.1 ms per question, so the months found are kept: by
 * the 16-day stretch of 1900-2100 a day falls in (a stretch meets at most
 * two months; the last one asked about stays) and by name. The calendar
 * never changes, so nothing is ever invalidated. */
#define SLOT_DAYS 16
#define NSLOTS ((47846 + 25567) / SLOT_DAYS + 1)
#define NNAMES ((MAX_YEAR - MIN_YEAR + 2) * 24)
typedef struct cached_month {
    int32_t start;
    int16_t year;
    int8_t month, days;
    uint8_t state; /* 0 unknown; 1 the month; 2 (by name) no such month */
    bool leap;
} cached_month;
static cached_month by_day[NSLOTS], by_name[NNAMES];

static void cache_put(cached_month *c, const lunar_month *m) {
    *c = (cached_month){
        (int32_t)m->start, (int16_t)m->year, (int8_t)m->month, (int8_t)m->days, 1, m->leap};
}

static void cache_get(const cached_month *c, lunar_month *m) {
    *m = (lunar_month){c->year, c->month, c->leap, c->start, c->days};
}

static int month_of_day(int64_t day, lunar_month *out, int *mday, gh_err *err) {
    cached_month *c = NULL;
    if (day >= first_day_num && day <= last_day_num) {
        c = &by_day[(day - first_day_num) / SLOT_DAYS];
        if (c->state == 1 && day >= c->start && day < c->start + c->days) {
            cache_get(c, out);
            *mday = (int)(day - c->start) + 1;
            return 0;
        }
    }
    if (month_of_day_icu(day, out, mday, err) != 0) {
        return -1;
    }
    if (c) {
        cache_put(c, out);
    }
    return 0;
}

static const char *const month_names[] = {"正", "二", "三", "四", "五", "六",
                                          "七", "八", "九", "十", "冬", "腊"};

/* The month (year, month, leap) as *out; 0, 1 if that year has no such month,
 * or -1 with the message in err. */
static int find_month_icu(int y, int mo, bool leap, lunar_month *out, gh_err *err) {
    lunar_month m;
    for (size_t f = 0; f < NFIXES; f++) {
        for (int i = 0; fix_month(f, i, &m); i++) {
            if (m.year == y && m.month == mo && m.leap == leap) {
                *out = m;
                return 0;
            }
        }
    }
    /* ICU is lenient (a leap month the year lacks becomes another month), so
     * its answer is looked up again and must name the same month */
    UErrorCode st = U_ZERO_ERROR;
    ucal_clear(lunar);
    ucal_set(lunar, UCAL_EXTENDED_YEAR, y + CHINESE_EPOCH);
    ucal_set(lunar, UCAL_MONTH, mo - 1);
    ucal_set(lunar, UCAL_IS_LEAP_MONTH, leap);
    ucal_set(lunar, UCAL_DATE, 1);
    UDate ms = ucal_getMillis(lunar, &st);
    if (U_FAILURE(st)) {
        api->error(err, "ICU's Chinese calendar failed: %s", u_errorName(st));
        return -1;
    }
    int64_t first = (int64_t)(ms / DAY_MS);
    if ((double)first * DAY_MS > ms) { /* truncated toward zero before 1970 */
        first--;
    }
    int d;
    if (month_of_day(first, &m, &d, err) != 0) {
        return -1;
    }
    if (m.year != y || m.month != mo || m.leap != leap) {
        return 1;
    }
    *out = m;
    return 0;
}

static int find_month(int y, int mo, bool leap, lunar_month *out, gh_err *err) {
    cached_month *c = NULL;
    if (y >= MIN_YEAR - 1 && y <= MAX_YEAR && mo >= 1 && mo <= 12) {
        c = &by_name[(y - (MIN_YEAR - 1)) * 24 + (mo - 1) * 2 + leap];
        if (c->state) {
            if (c->state == 1) {
                cache_get(c, out);
            }
            return c->state == 1 ? 0 : 1;
        }
    }
    int rc = find_month_icu(y, mo, leap, out, err);
    if (c && rc == 0) {
        cache_put(c, out);
    } else if (c && rc == 1) {
        c->state = 2;
    }
    return rc;
}

/* The leap month of lunar year y (0 if none); -1 with the message in err. */
static int leap_month_of(int y, gh_err *err) {
    lunar_month m;
    int d;
    int rc = find_month(y, 1, false, &m, err);
    if (rc != 0) {
        if (rc > 0) {
            api->error(err, "ICU's Chinese calendar has no first month in lunar year %d", y);
        }
        return -1;
    }
    for (int i = 0; i < 13 && m.year == y; i++) {
        if (m.leap) {
            return m.month;
        }
        if (month_of_day(m.start + m.days, &m, &d, err) != 0) {
            return -1;
        }
    }
    return 0;
}

static int check_year(int32_t y, gh_err *err) {
    if (y < MIN_YEAR - 1 || y > MAX_YEAR) {
        api->error(err, "lunar year %d is outside the calendar's range (%d to %d)", (int)y,
                   MIN_YEAR - 1, MAX_YEAR);
        return -1;
    }
    return 0;
}

/* The month (y, mo, leap) with arguments checked; an error saying what the
 * year has instead. */
static int get_month(int32_t y, int32_t mo, bool leap, lunar_month *out, gh_err *err) {
    if (check_year(y, err) != 0) {
        return -1;
    }
    if (mo < 1 || mo > 12) {
        api->error(err,
                   "a lunar month is 1 to 12 (a leap month is its month's number with "
                   "leap = true), got %d",
                   (int)mo);
        return -1;
    }
    int rc = find_month(y, mo, leap, out, err);
    if (rc <= 0) {
        return rc;
    }
    int lm = leap_month_of(y, err);
    if (lm > 0) {
        api->error(err, "lunar year %d has no leap month %d: its leap month is 闰%s月 (%d)", (int)y,
                   (int)mo, month_names[lm - 1], lm);
    } else if (lm == 0) {
        api->error(err, "lunar year %d has no leap month %d: it has no leap month at all", (int)y,
                   (int)mo);
    }
    return -1;
}

/* The day number of a lunar date, checked to exist and to be in range. */
static int lunar_to_day(int32_t y, int32_t mo, int32_t d, bool leap, int64_t *day, gh_err *err) {
    lunar_month m;
    if (d < 1 || d > 30) {
        api->error(err, "a lunar day is 1 to 30, got %d", (int)d);
        return -1;
    }
    if (get_month(y, mo, leap, &m, err) != 0) {
        return -1;
    }
    if (d > m.days) {
        api->error(err, "lunar month %s%d of %d has %d days, not %d", leap ? "闰" : "", (int)mo,
                   (int)y, m.days, (int)d);
        return -1;
    }
    int64_t r = m.start + d - 1;
    if (r < first_day_num || r > last_day_num) {
        api->error(err,
                   "lunar %d-%s%02d-%02d falls outside the calendar's range (%d-01-01 to "
                   "%d-12-31)",
                   (int)y, leap ? "闰" : "", (int)mo, (int)d, MIN_YEAR, MAX_YEAR);
        return -1;
    }
    *day = r;
    return 0;
}

static char *cal_to_lunar(const char *date, gh_err *err) {
    int64_t day;
    lunar_month m;
    int d;
    if (parse_date(date, &day, err) != 0 || month_of_day(day, &m, &d, err) != 0) {
        return NULL;
    }
    return api->mprintf("%04d-%s%02d-%02d", m.year, m.leap ? "闰" : "", m.month, d);
}

static char *cal_lunar_text(const char *date, gh_err *err) {
    static const char *const stems[] = {"甲", "乙", "丙", "丁", "戊", "己", "庚", "辛", "壬", "癸"};
    static const char *const branches[] = {"子", "丑", "寅", "卯", "辰", "巳",
                                           "午", "未", "申", "酉", "戌", "亥"};
    static const char *const tens[] = {"初", "十", "廿", "三"};
    static const char *const units[] = {"十", "一", "二", "三", "四", "五", "六", "七", "八", "九"};
    int64_t day;
    lunar_month m;
    int d;
    if (parse_date(date, &day, err) != 0 || month_of_day(day, &m, &d, err) != 0) {
        return NULL;
    }
    char dn[16];
    if (d == 10) {
        snprintf(dn, sizeof dn, "初十");
    } else if (d == 20) {
        snprintf(dn, sizeof dn, "二十");
    } else if (d == 30) {
        snprintf(dn, sizeof dn, "三十");
    } else {
        snprintf(dn, sizeof dn, "%s%s", tens[d / 10], units[d % 10]);
    }
    int c = ((m.year - 4) % 60 + 60) % 60; /* 1984 was 甲子, the cycle's first year */
    return api->mprintf("%s%s年%s%s月%s", stems[c % 10], branches[c % 12], m.leap ? "闰" : "",
                        month_names[m.month - 1], dn);
}

static char *cal_from_lunar(int32_t y, int32_t m, int32_t d, bool leap, gh_err *err) {
    int64_t day;
    if (lunar_to_day(y, m, d, leap, &day, err) != 0) {
        return NULL;
    }
    return format_day(day);
}

static char *cal_spring_festival(int32_t y, gh_err *err) {
    return cal_from_lunar(y, 1, 1, false, err);
}

static char *cal_laba(int32_t y, gh_err *err) {
    return cal_from_lunar(y - 1, 12, 8, false, err);
}

static int32_t cal_month_days(int32_t y, int32_t mo, bool leap, gh_err *err) {
    lunar_month m;
    return get_month(y, mo, leap, &m, err) == 0 ? m.days : 0;
}

static char *cal_first_month_end(int32_t y, gh_err *err) {
    lunar_month m;
    int64_t day;
    if (get_month(y, 1, false, &m, err) != 0 || lunar_to_day(y, 1, m.days, false, &day, err) != 0) {
        return NULL;
    }
    return format_day(day);
}

static int32_t cal_leap_month(int32_t y, gh_err *err) {
    if (check_year(y, err) != 0) {
        return 0;
    }
    int lm = leap_month_of(y, err);
    return lm < 0 ? 0 : lm;
}

/* ---- UTF-8 and UTF-16 -------------------------------------------------------------------- */

/* s (n bytes) as UTF-16 in a block from api->alloc (*out, *outn units); an
 * error naming the first byte that is not UTF-8. */
static int to_utf16(const char *s, size_t n, UChar **out, int32_t *outn, gh_err *err) {
    if (n > INT32_MAX / 2) {
        api->error(err, "the text is too long (%zu bytes)", n);
        return -1;
    }
    for (int32_t i = 0; i < (int32_t)n;) {
        int32_t at = i;
        UChar32 c;
        U8_NEXT(s, i, (int32_t)n, c);
        if (c < 0) {
            api->error(err, "the text is not UTF-8: byte %d (0x%02X) is not part of a character",
                       (int)at + 1, (unsigned char)s[at]);
            return -1;
        }
    }
    UChar *u = api->alloc(n * sizeof(UChar) + sizeof(UChar)); /* at most one unit per byte */
    if (!u) {
        api->error(err, "out of memory");
        return -1;
    }
    UErrorCode st = U_ZERO_ERROR;
    int32_t len = 0;
    u_strFromUTF8(u, (int32_t)n + 1, &len, s, (int32_t)n, &st);
    if (U_FAILURE(st)) {
        api->free(u);
        api->error(err, "converting to UTF-16 failed: %s", u_errorName(st));
        return -1;
    }
    *out = u;
    *outn = len;
    return 0;
}

/* UTF-16 text as UTF-8 in a block from api->alloc (a bytes result, so a NUL
 * inside is kept). */
static gh_bytes from_utf16(const UChar *u, int32_t n, gh_err *err) {
    gh_bytes r = {NULL, 0};
    UErrorCode st = U_ZERO_ERROR;
    int32_t len = 0;
    u_strToUTF8(NULL, 0, &len, u, n, &st);
    if (st != U_BUFFER_OVERFLOW_ERROR && U_FAILURE(st)) {
        api->error(err, "converting to UTF-8 failed: %s", u_errorName(st));
        return r;
    }
    char *s = api->alloc((size_t)len + 1);
    if (!s) {
        api->error(err, "out of memory");
        return r;
    }
    st = U_ZERO_ERROR;
    u_strToUTF8(s, len + 1, &len, u, n, &st);
    if (U_FAILURE(st)) {
        api->free(s);
        api->error(err, "converting to UTF-8 failed: %s", u_errorName(st));
        return r;
    }
    r.data = s;
    r.len = (size_t)len;
    return r;
}

/* ---- collation keys and pinyin -------------------------------------------------------------- */

/* Surnames whose reading as a surname is not the one ICU's Han-Latin/Names
 * gives (罗 luō, 缪 móu, 朴 pǔ, 薄 báo ...): the reading pinyin() writes, and
 * a character of that reading that pinyin_key() sorts the surname as. Only
 * the first character of a name is a surname. */
static const struct {
    UChar han, sorts_as;
    const char *reading;
} surnames[] = {
    {u'罗', u'罗', "luó"}, {u'缪', u'妙', "miào"}, {u'朴', u'嫖', "piáo"}, {u'薄', u'博', "bó"},
    {u'阚', u'看', "kàn"}, {u'洗', u'冼', "xiǎn"}, {u'能', u'奈', "nài"},  {u'藏', u'葬', "zàng"},
    {u'牟', u'谋', "móu"}, {u'都', u'督', "dū"},   {u'蕃', u'皮', "pí"},
};

static int surname_at(const UChar *u, int32_t n) {
    for (size_t i = 0; n > 0 && i < sizeof surnames / sizeof *surnames; i++) {
        if (u[0] == surnames[i].han) {
            return (int)i;
        }
    }
    return -1;
}

static gh_bytes sort_key(const UCollator *coll, const char *s, gh_err *err) {
    gh_bytes r = {NULL, 0};
    UChar *u;
    int32_t n;
    if (to_utf16(s, strlen(s), &u, &n, err) != 0) {
        return r;
    }
    int sn = coll == by_pinyin ? surname_at(u, n) : -1;
    if (sn >= 0) { /* 缪 sorts as miào, not móu */
        u[0] = surnames[sn].sorts_as;
    }
    int32_t len = ucol_getSortKey(coll, u, n, NULL, 0);
    uint8_t *k = len > 0 ? api->alloc((size_t)len) : NULL;
    if (!k) {
        api->free(u);
        api->error(err, len > 0 ? "out of memory" : "ICU gave no collation key");
        return r;
    }
    ucol_getSortKey(coll, u, n, k, len);
    api->free(u);
    r.data = k;
    r.len = (size_t)len - 1; /* without the terminating 0 */
    return r;
}

static gh_bytes cal_pinyin_key(const char *s, gh_err *err) {
    return sort_key(by_pinyin, s, err);
}

static gh_bytes cal_pinyin(const char *s, gh_err *err) {
    gh_bytes r = {NULL, 0};
    UErrorCode st = U_ZERO_ERROR;
    if (!han_latin) {
        static const UChar id[] = u"Han-Latin/Names";
        han_latin = utrans_openU(id, -1, UTRANS_FORWARD, NULL, 0, NULL, &st);
        if (U_FAILURE(st)) {
            han_latin = NULL;
            api->error(err, "cannot open ICU's transliterator Han-Latin/Names: %s",
                       u_errorName(st));
            return r;
        }
    }
    UChar *u;
    int32_t n;
    if (to_utf16(s, strlen(s), &u, &n, err) != 0) {
        return r;
    }
    int sn = surname_at(u, n);
    /* A Han character (one unit) becomes a syllable of at most 6 letters and a
     * space; grow when ICU says the text did not fit. */
    int32_t cap = n * 8 + 16;
    for (;;) {
        UChar *b = api->realloc(u, (size_t)cap * sizeof(UChar));
        if (!b) {
            api->free(u);
            api->error(err, "out of memory");
            return r;
        }
        u = b;
        int32_t len = n, limit = n;
        st = U_ZERO_ERROR;
        utrans_transUChars(han_latin, u, &len, cap, 0, &limit, &st);
        if (st == U_BUFFER_OVERFLOW_ERROR && cap < INT32_MAX / 4) {
            /* u holds a partial result: start again from the original text */
            api->free(u);
            if (to_utf16(s, strlen(s), &u, &n, err) != 0) {
                return r;
            }
            cap *= 2;
            continue;
        }
        if (U_FAILURE(st)) {
            api->free(u);
            api->error(err, "ICU's transliteration failed: %s", u_errorName(st));
            return r;
        }
        r = from_utf16(u, len, err);
        api->free(u);
        if (r.data && sn >= 0) { /* the surname's reading in place of ICU's first syllable */
            const char *sp = memchr(r.data, ' ', r.len);
            size_t rest = sp ? r.len - (size_t)(sp - (const char *)r.data) : 0;
            size_t rl = strlen(surnames[sn].reading);
            char *nb = api->alloc(rl + rest + 1);
            if (!nb) {
                api->free(r.data);
                api->error(err, "out of memory");
                return (gh_bytes){NULL, 0};
            }
            memcpy(nb, surnames[sn].reading, rl);
            memcpy(nb + rl, sp ? sp : "", rest);
            api->free(r.data);
            r.data = nb;
            r.len = rl + rest;
        }
        return r;
    }
}

/* ---- stroke order ---------------------------------------------------------------------- */

/* Honor lists (and 全国人大 name lists, 按姓氏笔画排序) order names by the
 * surname's stroke count, then by its strokes in writing order taking
 * 横 一 < 竖 丨 < 撇 丿 < 点 丶 < 折 乛, then by the next characters the same way
 * (GB/T 13418). ICU's zh@collation=stroke does only the count: within one
 * count it follows code points (张 before 李, 何 after 张), so the strokes
 * come from the stroke dictionary of Rime's stroke input method (Debian
 * rime-data-stroke): a character, a tab, its strokes as h s p n z. Its
 * main table follows Taiwan's standard glyphs (阝 three strokes); the entries
 * after it follow the mainland's (阝 two strokes) and win where both exist.
 * Read once, at the first stroke_key, into a table shared by every load
 * (malloc: it outlives any one Lua state, so it is not counted in --memory). */
#ifndef GH_STROKE_DICT
#define GH_STROKE_DICT "/usr/share/rime-data/stroke.dict.yaml"
#endif
#define MAX_STROKES 64

typedef struct stroke_entry {
    uint32_t cp;
    uint32_t off; /* into stroke_pool: strokes as bytes 1..5 */
    uint8_t len;
    uint8_t mainland;
} stroke_entry;

static stroke_entry *stroke_tab;
static size_t stroke_n;
static char *stroke_pool;

/* A stroke letter's number (h 1, s 2, p 3, n 4, z 5), 0 for any other byte. */
static const unsigned char stroke_num[256] = {
    ['h'] = 1, ['s'] = 2, ['p'] = 3, ['n'] = 4, ['z'] = 5};

static void strokes_free(void) {
    free(stroke_tab);
    free(stroke_pool);
    stroke_tab = NULL;
    stroke_pool = NULL;
    stroke_n = 0;
}

/* Reads the dictionary; 0, or -1 with the message in err. */
static int strokes_load(gh_err *err) {
    /* GONGHUI_STROKE_DICT names another copy (an installation without the
     * Debian package, or the tests of a missing or broken file) */
    const char *path = getenv("GONGHUI_STROKE_DICT");
    path = path && *path ? path : GH_STROKE_DICT;
    FILE *f = fopen(path, "r");
    if (!f) {
        api->error(err,
                   "stroke order needs the stroke dictionary %s: install the Debian package "
                   "rime-data-stroke",
                   path);
        return -1;
    }
    size_t cap = 0, pool_cap = 0, pool_n = 0;
    char line[512];
    bool body = false, mainland = false;
    while (fgets(line, sizeof line, f)) {
        if (!body) {
            body = strncmp(line, "...", 3) == 0;
            continue;
        }
        if (line[0] == '#') {
            mainland = mainland || strstr(line, "Mainland") != NULL;
            continue;
        }
        int32_t i = 0, n = (int32_t)strcspn(line, "\t");
        UChar32 c;
        U8_NEXT(line, i, n, c);
        if (c < 0 || i != n || line[n] != '\t') {
            continue; /* not one character */
        }
        const char *code = line + n + 1;
        size_t len = strcspn(code, "\t\r\n");
        size_t ok = 0;
        while (ok < len && stroke_num[(unsigned char)code[ok]]) {
            ok++;
        }
        if (len == 0 || len > MAX_STROKES || ok < len) {
            continue;
        }
        if (stroke_n == cap || pool_n + len > pool_cap) {
            size_t ncap = cap ? cap * 2 : 65536, npool = pool_cap ? pool_cap * 2 : 1 << 20;
            stroke_entry *t = stroke_n == cap ? realloc(stroke_tab, ncap * sizeof *t) : stroke_tab;
            if (t) {
                stroke_tab = t;
                cap = stroke_n == cap ? ncap : cap;
            }
            char *p = pool_n + len > pool_cap ? realloc(stroke_pool, npool) : stroke_pool;
            if (p) {
                stroke_pool = p;
                pool_cap = pool_n + len > pool_cap ? npool : pool_cap;
            }
            if (!t || !p) {
                fclose(f);
                strokes_free();
                api->error(err, "out of memory reading %s", path);
                return -1;
            }
        }
        for (size_t k = 0; k < len; k++) {
            stroke_pool[pool_n + k] = (char)stroke_num[(unsigned char)code[k]];
        }
        stroke_tab[stroke_n] =
            (stroke_entry){(uint32_t)c, (uint32_t)pool_n, (uint8_t)len, mainland};
        stroke_n++;
        pool_n += len;
    }
    fclose(f);
    if (stroke_n < 20000) {
        strokes_free();
        api->error(err,
                   "%s holds no stroke dictionary (too few entries): reinstall "
                   "rime-data-stroke",
                   path);
        return -1;
    }
    /* One entry a character, in code point order: its first mainland entry,
     * else its first. Placed through a table by code point rather than
     * sorted: a qsort of the 115,000 entries was a third of the load, and
     * the load is paid by every run that sorts names (bench W8). */
    uint32_t top = 0;
    for (size_t i = 0; i < stroke_n; i++) {
        top = stroke_tab[i].cp > top ? stroke_tab[i].cp : top;
    }
    uint32_t *at = calloc((size_t)top + 1, sizeof *at); /* entry index + 1 */
    stroke_entry *one = at ? malloc(stroke_n * sizeof *one) : NULL;
    if (!one) {
        free(at);
        strokes_free();
        api->error(err, "out of memory reading %s", path);
        return -1;
    }
    for (size_t i = 0; i < stroke_n; i++) {
        uint32_t *a = &at[stroke_tab[i].cp];
        if (!*a || (stroke_tab[i].mainland && !stroke_tab[*a - 1].mainland)) {
            *a = (uint32_t)i + 1;
        }
    }
    size_t k = 0;
    for (uint32_t cp = 0; cp <= top; cp++) {
        if (at[cp]) {
            one[k++] = stroke_tab[at[cp] - 1];
        }
    }
    free(at);
    free(stroke_tab);
    stroke_tab = one;
    stroke_n = k;
    return 0;
}

static const stroke_entry *strokes_of(uint32_t cp) {
    size_t lo = 0, hi = stroke_n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (stroke_tab[mid].cp < cp) {
            lo = mid + 1;
        } else {
            hi = mid;
        }
    }
    return lo < stroke_n && stroke_tab[lo].cp == cp ? &stroke_tab[lo] : NULL;
}

/* Each character becomes [strokes + 1] [its strokes, 1..5] [code point in
 * three 7-bit bytes + 1], or for a character the dictionary lacks [0xF0]
 * [code point]: equal counts give equal lengths, so bytewise order is count,
 * then strokes, then code point, and characters without strokes come last.
 * No byte is 0. */
static gh_bytes cal_stroke_key(const char *s, gh_err *err) {
    gh_bytes r = {NULL, 0};
    if (!stroke_tab && strokes_load(err) != 0) {
        return r;
    }
    size_t n = strlen(s);
    if (n > INT32_MAX / (MAX_STROKES + 4)) {
        api->error(err, "the text is too long (%zu bytes)", n);
        return r;
    }
    unsigned char *k = api->alloc(n * (MAX_STROKES + 4) + 1), *o = k;
    if (!k) {
        api->error(err, "out of memory");
        return r;
    }
    for (int32_t i = 0; i < (int32_t)n;) {
        int32_t at = i;
        UChar32 c;
        U8_NEXT(s, i, (int32_t)n, c);
        if (c < 0) {
            api->free(k);
            api->error(err, "the text is not UTF-8: byte %d (0x%02X) is not part of a character",
                       (int)at + 1, (unsigned char)s[at]);
            return r;
        }
        const stroke_entry *e = strokes_of((uint32_t)c);
        if (e) {
            *o++ = (unsigned char)(e->len + 1);
            memcpy(o, stroke_pool + e->off, e->len);
            o += e->len;
        } else {
            *o++ = 0xF0;
        }
        *o++ = (unsigned char)(((uint32_t)c >> 14) + 1);
        *o++ = (unsigned char)((((uint32_t)c >> 7) & 0x7F) + 1);
        *o++ = (unsigned char)(((uint32_t)c & 0x7F) + 1);
    }
    r.data = k;
    r.len = (size_t)(o - k);
    return r;
}

/* The stroke count of the first character of s: 0 when the dictionary does not
 * know it. */
static int32_t cal_strokes(const char *s, gh_err *err) {
    if (!stroke_tab && strokes_load(err) != 0) {
        return 0;
    }
    int32_t i = 0, n = (int32_t)strlen(s);
    UChar32 c;
    if (n == 0) {
        api->error(err, "expects a character, got an empty string");
        return 0;
    }
    U8_NEXT(s, i, n, c);
    if (c < 0) {
        api->error(err, "the text is not UTF-8: byte 1 (0x%02X) is not part of a character",
                   (unsigned char)s[0]);
        return 0;
    }
    const stroke_entry *e = strokes_of((uint32_t)c);
    return e ? e->len : 0;
}

/* The strokes of the first character of s in writing order, as 横竖撇点折
 * characters ('王' -> '横横竖横'); nil when the dictionary does not know it. */
static char *cal_stroke_order(const char *s, gh_err *err) {
    static const char *const names[] = {"", "横", "竖", "撇", "点", "折"};
    if (!stroke_tab && strokes_load(err) != 0) {
        return NULL;
    }
    int32_t i = 0, n = (int32_t)strlen(s);
    UChar32 c;
    if (n == 0) {
        api->error(err, "expects a character, got an empty string");
        return NULL;
    }
    U8_NEXT(s, i, n, c);
    const stroke_entry *e = c < 0 ? NULL : strokes_of((uint32_t)c);
    if (!e) {
        return NULL;
    }
    char *out = api->alloc((size_t)e->len * 3 + 1), *o = out;
    if (!out) {
        api->error(err, "out of memory");
        return NULL;
    }
    for (int j = 0; j < e->len; j++) {
        size_t l = strlen(names[(int)stroke_pool[e->off + j]]);
        memcpy(o, names[(int)stroke_pool[e->off + j]], l);
        o += l;
    }
    *o = 0;
    return out;
}

/* ---- GB18030 --------------------------------------------------------------------------- */

static gh_bytes cal_gb18030_to_utf8(const void *data, size_t n, gh_err *err) {
    gh_bytes r = {NULL, 0};
    if (n > INT32_MAX / 2) {
        api->error(err, "the text is too long (%zu bytes)", n);
        return r;
    }
    /* every GB18030 character of k bytes gives at most k UTF-16 units */
    UChar *u = api->alloc(n * sizeof(UChar) + sizeof(UChar));
    if (!u) {
        api->error(err, "out of memory");
        return r;
    }
    const char *src = data, *start = data;
    UChar *dst = u;
    UErrorCode st = U_ZERO_ERROR;
    ucnv_reset(gb);
    ucnv_toUnicode(gb, &dst, u + n + 1, &src, start + n, NULL, true, &st);
    if (U_FAILURE(st)) {
        char bad[8];
        int8_t badn = sizeof bad;
        UErrorCode st2 = U_ZERO_ERROR;
        ucnv_getInvalidChars(gb, bad, &badn, &st2);
        if (U_FAILURE(st2)) {
            badn = 0;
        }
        size_t at = (size_t)(src - start) - (size_t)badn;
        char hex[8 * 5 + 1] = "";
        for (int i = 0; i < badn; i++) {
            snprintf(hex + strlen(hex), sizeof hex - strlen(hex), "%s0x%02X", i ? " " : "",
                     (unsigned char)bad[i]);
        }
        api->free(u);
        if (st == U_TRUNCATED_CHAR_FOUND) {
            api->error(err,
                       "the text ends inside a character: byte %zu (%s) starts a GB18030 "
                       "character that is cut off (a truncated file?)",
                       at + 1, hex);
        } else if (st == U_ILLEGAL_CHAR_FOUND || st == U_INVALID_CHAR_FOUND) {
            api->error(err,
                       "byte %zu (%s) is not GB18030 text: is the file in another encoding "
                       "(UTF-8, Big5)?",
                       at + 1, hex);
        } else {
            api->error(err, "GB18030 conversion failed at byte %zu: %s", at + 1, u_errorName(st));
        }
        return r;
    }
    r = from_utf16(u, (int32_t)(dst - u), err);
    api->free(u);
    return r;
}

static gh_bytes cal_utf8_to_gb18030(const char *s, gh_err *err) {
    gh_bytes r = {NULL, 0};
    UChar *u;
    int32_t n;
    if (to_utf16(s, strlen(s), &u, &n, err) != 0) {
        return r;
    }
    /* GB18030 encodes every code point in at most 4 bytes: 2 per UTF-16 unit */
    size_t cap = (size_t)n * 2 + 1;
    char *out = api->alloc(cap);
    if (!out) {
        api->free(u);
        api->error(err, "out of memory");
        return r;
    }
    UErrorCode st = U_ZERO_ERROR;
    ucnv_reset(gb);
    int32_t len = ucnv_fromUChars(gb, out, (int32_t)cap, u, n, &st);
    api->free(u);
    if (U_FAILURE(st)) {
        api->free(out);
        api->error(err, "GB18030 conversion failed: %s", u_errorName(st));
        return r;
    }
    r.data = out;
    r.len = (size_t)len;
    return r;
}

/* ---- life cycle ------------------------------------------------------------------------ */

static void close_all(void) {
    if (lunar) {
        ucal_close(lunar);
    }
    if (by_pinyin) {
        ucol_close(by_pinyin);
    }
    if (gb) {
        ucnv_close(gb);
    }
    if (han_latin) {
        utrans_close(han_latin);
    }
    lunar = NULL;
    by_pinyin = NULL;
    strokes_free();
    gb = NULL;
    han_latin = NULL;
}

static void unload(void *ud) {
    (void)ud;
    if (--users == 0) {
        close_all();
        /* ICU keeps caches (collation data, new moons, converter tables) for
         * the life of the process; the host is about to dlclose this plugin
         * and with it ICU, so they would be lost memory. u_cleanup frees
         * them; it is safe because nothing else in gonghui uses ICU (a second
         * ICU plugin would have to share this count), and ICU starts afresh
         * if the plugin is loaded again. */
        u_cleanup();
    }
}

/* A collator for locale, or NULL with *errmsg set. ICU quietly falls back
 * to the root locale when its data lacks zh: the order would then be the
 * code points', not pinyin or strokes, so that is refused. */
static UCollator *open_collator(const char *locale, char **errmsg) {
    UErrorCode st = U_ZERO_ERROR;
    UCollator *c = ucol_open(locale, &st);
    if (U_SUCCESS(st) && st != U_USING_DEFAULT_WARNING) {
        return c;
    }
    if (c) {
        ucol_close(c);
    }
    *errmsg = api->mprintf(
        "cannot open ICU's collator %s: %s (is ICU's data, libicu%d, installed?)", locale,
        U_FAILURE(st) ? u_errorName(st) : "no data for zh", U_ICU_VERSION_MAJOR_NUM);
    return NULL;
}

/* Opens the ICU objects; 0, or -1 with *errmsg set and nothing left open. */
static int open_all(char **errmsg) {
    static const UChar utc[] = u"UTC";
    UErrorCode st = U_ZERO_ERROR;
    lunar = ucal_open(utc, -1, "zh@calendar=chinese", UCAL_DEFAULT, &st);
    if (U_FAILURE(st) || ucal_getType(lunar, &st) == NULL ||
        strcmp(ucal_getType(lunar, &st), "chinese") != 0) {
        *errmsg = api->mprintf("cannot open ICU's Chinese calendar: %s", u_errorName(st));
        goto fail;
    }
    if (!(by_pinyin = open_collator("zh@collation=pinyin", errmsg))) {
        goto fail;
    }
    st = U_ZERO_ERROR;
    gb = ucnv_open("GB18030", &st);
    ucnv_setToUCallBack(gb, UCNV_TO_U_CALLBACK_STOP, NULL, NULL, NULL, &st);
    ucnv_setFromUCallBack(gb, UCNV_FROM_U_CALLBACK_STOP, NULL, NULL, NULL, &st);
    if (U_FAILURE(st)) {
        *errmsg = api->mprintf("cannot open ICU's GB18030 converter: %s", u_errorName(st));
        goto fail;
    }
    return 0;
fail:
    close_all();
    return -1;
}

GH_PLUGIN_EXPORT int gh_plugin_init(const gh_api *a, gh_plugin *p, char **errmsg) {
    api = a;
    if (gh_plugin_begin(a, p, "cal", "1.0") != GH_PLUGIN_OK) {
        return GH_PLUGIN_ERROR;
    }
    if (users == 0 && open_all(errmsg) != 0) {
        return GH_PLUGIN_ERROR;
    }
    users++;
    a->on_unload(p, unload, NULL); /* from here a failed load closes through unload */
    static const struct {
        const char *name, *sig;
        gh_fn fn;
    } fns[] = {
        {"to_lunar", "str(str,err)", GH_FN(cal_to_lunar)},
        {"lunar_text", "str(str,err)", GH_FN(cal_lunar_text)},
        {"from_lunar", "str(i32,i32,i32,bool,err)", GH_FN(cal_from_lunar)},
        {"spring_festival", "str(i32,err)", GH_FN(cal_spring_festival)},
        {"laba", "str(i32,err)", GH_FN(cal_laba)},
        {"first_month_end", "str(i32,err)", GH_FN(cal_first_month_end)},
        {"month_days", "i32(i32,i32,bool,err)", GH_FN(cal_month_days)},
        {"leap_month", "i32(i32,err)", GH_FN(cal_leap_month)},
        {"pinyin_key", "bytes(str,err)", GH_FN(cal_pinyin_key)},
        {"stroke_key", "bytes(str,err)", GH_FN(cal_stroke_key)},
        {"strokes", "i32(str,err)", GH_FN(cal_strokes)},
        {"stroke_order", "str(str,err)", GH_FN(cal_stroke_order)},
        {"pinyin", "bytes(str,err)", GH_FN(cal_pinyin)},
        {"gb18030_to_utf8", "bytes(bytes,err)", GH_FN(cal_gb18030_to_utf8)},
        {"utf8_to_gb18030", "bytes(str,err)", GH_FN(cal_utf8_to_gb18030)},
    };
    for (size_t i = 0; i < sizeof fns / sizeof *fns; i++) {
        if (a->function(p, fns[i].name, fns[i].sig, fns[i].fn) != GH_PLUGIN_OK) {
            return GH_PLUGIN_ERROR;
        }
    }
    return GH_PLUGIN_OK;
}
