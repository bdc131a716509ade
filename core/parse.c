/*
 * parse.c — the one home of the rules for reading what people type: dates,
 * times, `--now`, yuan, resident ID numbers, phone numbers, enterprises'
 * unified social credit codes (see parse.h for
 * the contract and the decisions, README "Parsing what people type").
 *
 * Calls codec_is_date for the calendar (the stored form's own check) and
 * err_set for reasons; nothing else. Lua's face is lua_parse.c.
 *
 * Invariants:
 *   1. Out parameters are written only on success.
 *   2. Every number read is bounded before it is multiplied (no overflow on
 *      any input: the fuzz-like cases in tests/unit/test_parse.c).
 *   3. A reason never quotes the value: the caller does, once.
 */
#include "parse.h"
#include "days.h"

#include "codec.h"
#include "err.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

static int is_digit(char c) {
    return c >= '0' && c <= '9';
}

static int all_digits(const char *s, size_t n) {
    for (size_t i = 0; i < n; i++) {
        if (!is_digit(s[i])) {
            return 0;
        }
    }
    return n > 0;
}

/* Drops ASCII spaces and tabs at both ends. */
static void trim(const char **s, size_t *n) {
    while (*n && (**s == ' ' || **s == '\t')) {
        (*s)++, (*n)--;
    }
    while (*n && ((*s)[*n - 1] == ' ' || (*s)[*n - 1] == '\t')) {
        (*n)--;
    }
}

/* Reads 1..max digits at *p; -1 if none. */
static int read_num(const char **p, const char *end, int max) {
    int v = 0, k = 0;
    while (*p < end && k < max && is_digit(**p)) {
        v = v * 10 + (**p - '0');
        (*p)++, k++;
    }
    return k ? v : -1;
}

static int eat(const char **p, const char *end, const char *lit) {
    size_t n = strlen(lit);
    if ((size_t)(end - *p) >= n && memcmp(*p, lit, n) == 0) {
        *p += n;
        return 1;
    }
    return 0;
}

/* The digit of a full-width digit (U+FF10..FF19, EF BC 90..99) at p, or -1. */
static int wide_digit(const char *p, const char *end) {
    const unsigned char *u = (const unsigned char *)p;
    if (end - p >= 3 && u[0] == 0xEF && u[1] == 0xBC && u[2] >= 0x90 && u[2] <= 0x99) {
        return u[2] - 0x90;
    }
    return -1;
}

/* ---- dates ------------------------------------------------------------------------- */

int parse_excel_day(int64_t serial, char out[11]) {
    int y, m, d;
    if (serial < 1 || serial > 2958465) {
        return err_set(GH_EINVAL, _("is not one of Excel's day numbers (1 to 2958465)"));
    }
    if (serial == 60) { /* Excel's 1900-02-29, kept from Lotus 1-2-3 */
        y = 1900, m = 2, d = 29;
    } else {
        days_to_date(days_from_date(1899, 12, serial < 60 ? 31 : 30) + serial, &y, &m, &d);
    }
    char buf[32];
    snprintf(buf, sizeof buf, "%04d-%02d-%02d", y, m, d);
    memcpy(out, buf, 11);
    return 0;
}

static int date_bad(void) {
    return err_set(GH_EINVAL,
                   _("is not a date (2024-03-05; 2024/3/5, 20240305 and 2024年3月5日 do too)"));
}

static int date_not_real(void) {
    return err_set(GH_EINVAL, _("is not a real date (month 1-12, a day the month has)"));
}

/* Writes the date y-m-d to out if it is real. */
static int date_out(int y, int m, int d, char out[11]) {
    char buf[48];
    if (y < 1000 || y > 9999 || m < 1 || m > 12 || d < 1 || d > 31) {
        return date_not_real();
    }
    snprintf(buf, sizeof buf, "%04d-%02d-%02d", y, m, d);
    if (!codec_is_date(buf, 10)) {
        return date_not_real();
    }
    memcpy(out, buf, 11);
    return 0;
}

int parse_date(const char *s, size_t n, char out[11]) {
    trim(&s, &n);
    const char *p = s, *end = s + n;
    int y, m, d;
    if (n == 10 && s[4] == '-' && s[7] == '-') { /* the stored form, the common case */
        if (!codec_is_date(s, n)) {
            return all_digits(s, 4) && all_digits(s + 5, 2) && all_digits(s + 8, 2)
                       ? date_not_real()
                       : date_bad();
        }
        memcpy(out, s, 10);
        out[10] = 0;
        return 0;
    }
    if (n == 8 && all_digits(s, 8)) {
        y = (s[0] - '0') * 1000 + (s[1] - '0') * 100 + (s[2] - '0') * 10 + (s[3] - '0');
        m = (s[4] - '0') * 10 + (s[5] - '0');
        d = (s[6] - '0') * 10 + (s[7] - '0');
        return date_out(y, m, d, out);
    }
    if (n >= 4 && n <= 5 && all_digits(s, n)) {
        char day[11];
        int serial = 0;
        for (size_t i = 0; i < n; i++) {
            serial = serial * 10 + (s[i] - '0');
        }
        if (parse_excel_day(serial, day) != 0) {
            return date_bad();
        }
        return err_set(GH_EINVAL,
                       _("looks like Excel's day number for %s, not a date: format the column as "
                         "a date (or text) in Excel and save again"),
                       day);
    }
    y = read_num(&p, end, 4);
    if (y < 0 || p - s != 4) {
        return date_bad();
    }
    int chinese = eat(&p, end, "年");
    char sep = 0;
    if (!chinese) {
        if (p >= end || (*p != '-' && *p != '/' && *p != '.')) {
            return date_bad();
        }
        sep = *p++;
    }
    if ((m = read_num(&p, end, 2)) < 0) {
        return date_bad();
    }
    if (chinese ? !eat(&p, end, "月") : (p >= end || *p++ != sep)) {
        return date_bad();
    }
    if ((d = read_num(&p, end, 2)) < 0) {
        return date_bad();
    }
    if (chinese && !eat(&p, end, "日")) {
        eat(&p, end, "号");
    }
    if (p < end) { /* a time of day, as Excel writes a date cell: only midnight */
        const char *q = p;
        while (q < end && *q == ' ') {
            q++;
        }
        const char *t0 = q;
        int hh = read_num(&q, end, 2), mm = -1, ss = 0;
        if (q != p && hh >= 0 && q < end && *q == ':') {
            q++;
            mm = read_num(&q, end, 2);
            if (q < end && *q == ':') {
                q++;
                ss = read_num(&q, end, 2);
            }
        }
        if (q != end || mm < 0 || ss < 0) {
            return date_bad();
        }
        if (hh || mm || ss) {
            return err_set(GH_EINVAL, _("has a time of day (%.*s): a date is expected"),
                           (int)(end - t0), t0);
        }
    }
    return date_out(y, m, d, out);
}

/* ---- times --------------------------------------------------------------------------- */

int parse_time(const char *s, size_t n, int64_t *secs) {
    trim(&s, &n);
    const char *end = s + n, *t = s;
    while (t < end && *t != ' ' && *t != 'T') {
        t++;
    }
    char date[11];
    int rc = parse_date(s, (size_t)(t - s), date);
    if (rc != 0) {
        return rc;
    }
    int h = 0, mi = 0, sec = 0;
    if (t < end) {
        const char *p = t + 1;
        const char *m0;
        h = read_num(&p, end, 2);
        if (h < 0 || !eat(&p, end, ":")) {
            goto bad;
        }
        m0 = p;
        mi = read_num(&p, end, 2);
        if (mi < 0 || p - m0 != 2) {
            goto bad;
        }
        if (eat(&p, end, ":")) {
            m0 = p;
            sec = read_num(&p, end, 2);
            if (sec < 0 || p - m0 != 2) {
                goto bad;
            }
        }
        if (p != end) {
            goto bad;
        }
        if (h > 23 || mi > 59 || sec > 59) {
            return err_set(GH_EINVAL,
                           _("is not a real time of day (hours 0-23, minutes and seconds 0-59)"));
        }
    }
    struct tm tm;
    memset(&tm, 0, sizeof tm);
    tm.tm_year = (date[0] - '0') * 1000 + (date[1] - '0') * 100 + (date[2] - '0') * 10 +
                 (date[3] - '0') - 1900;
    tm.tm_mon = (date[5] - '0') * 10 + (date[6] - '0') - 1;
    tm.tm_mday = (date[8] - '0') * 10 + (date[9] - '0');
    tm.tm_hour = h;
    tm.tm_min = mi;
    tm.tm_sec = sec;
    tm.tm_isdst = -1;
    int want_h = h;
    time_t tt = mktime(&tm);
    if (tt == (time_t)-1 || tm.tm_hour != want_h) { /* a clock change skipped that hour */
        return err_set(GH_EINVAL, _("is not a time this machine's clock has (local time)"));
    }
    *secs = (int64_t)tt;
    return 0;
bad:
    return err_set(GH_EINVAL, _("is not a time (2025-01-29 08:00, 2025-01-29 08:00:30)"));
}

int parse_now(const char *s, size_t n, int64_t *secs) {
    trim(&s, &n);
    if (all_digits(s, n) && n != 8 && n <= 12) { /* seconds since 1970 (not 20250114) */
        int64_t v = 0;
        for (size_t i = 0; i < n; i++) {
            v = v * 10 + (s[i] - '0');
        }
        *secs = v;
        return 0;
    }
    return parse_time(s, n, secs);
}

/* ---- yuan ----------------------------------------------------------------------------- */

int parse_yuan(const char *s, size_t n, int64_t *fen) {
    trim(&s, &n);
    const char *p = s, *end = s + n;
    int neg = eat(&p, end, "-");
    if (eat(&p, end, "¥") || eat(&p, end, "￥")) {
        while (p < end && *p == ' ') {
            p++;
        }
        if (!neg) {
            neg = eat(&p, end, "-");
        }
    }
    if (end - p >= 3 && memcmp(end - 3, "元", 3) == 0) {
        end -= 3;
        while (end > p && end[-1] == ' ') {
            end--;
        }
    }
    const char *bad = "is not an amount in yuan (3000, 3,000.50, ¥12.05, -5)";
    uint64_t v = 0;
    int digits = 0, group = -1; /* digits since the last comma; -1 before any comma */
    for (; p < end && *p != '.'; p++) {
        if (*p == ',') {
            if (digits == 0 || (group >= 0 && group != 3) || (group < 0 && digits > 3)) {
                return err_set(GH_EINVAL, "%s", bad);
            }
            group = 0;
            continue;
        }
        if (!is_digit(*p)) {
            return err_set(GH_EINVAL, "%s", bad);
        }
        if (v > (UINT64_MAX - 9) / 10) {
            return err_set(GH_ETOOBIG, _("is too large for an amount"));
        }
        v = v * 10 + (uint64_t)(*p - '0');
        digits++;
        if (group >= 0) {
            group++;
        }
    }
    if (digits == 0 || (group >= 0 && group != 3)) {
        return err_set(GH_EINVAL, "%s", bad);
    }
    int dec = 0, ndec = 0;
    if (p < end) { /* at the point */
        p++;
        if (p == end) {
            return err_set(GH_EINVAL,
                           _("ends in a decimal point: write the fen (12.50) or none (12)"));
        }
        for (; p < end; p++) {
            if (!is_digit(*p)) {
                return err_set(GH_EINVAL, "%s", bad);
            }
            if (++ndec > 2) {
                return err_set(GH_EINVAL, _("has more than two decimals (a fen is 0.01 yuan)"));
            }
            dec = dec * 10 + (*p - '0');
        }
    }
    if (ndec == 1) {
        dec *= 10;
    }
    uint64_t limit = (uint64_t)INT64_MAX + (uint64_t)neg;
    if (v > (limit - (uint64_t)dec) / 100) {
        return err_set(GH_ETOOBIG, _("is too large for an amount"));
    }
    uint64_t f = v * 100 + (uint64_t)dec;
    *fen = neg ? (int64_t)(0 - f) : (int64_t)f;
    return 0;
}

/* ---- ID numbers ------------------------------------------------------------------------- */

/* 1 if s looks like a number Excel wrote in scientific notation (3.30481E+17). */
static int sci_notation(const char *s, size_t n) {
    const char *e = memchr(s, 'E', n);
    if (!e) {
        e = memchr(s, 'e', n);
    }
    if (!e || e == s || (size_t)(e - s) + 1 >= n) {
        return 0;
    }
    for (const char *p = s; p < e; p++) {
        if (!is_digit(*p) && *p != '.') {
            return 0;
        }
    }
    const char *q = e + 1;
    if (*q == '+' || *q == '-') {
        q++;
    }
    return all_digits(q, (size_t)(s + n - q));
}

int parse_mod11_2(const char *s, size_t n, char *check) {
    /* the weight of the digit k places from the right (k = 1, 2, ...) is
     * 2^k mod 11, which repeats every 10 places: pow2[k % 10]; one % at the
     * end (import checks a million IDs: a % per digit was 2.5% of W1) */
    static const unsigned char pow2[10] = {1, 2, 4, 8, 5, 10, 9, 7, 3, 6};
    uint64_t sum = 0;
    unsigned k = 0;
    for (size_t i = n; i-- > 0;) {
        unsigned d = (unsigned)((unsigned char)s[i] - '0');
        if (d > 9) {
            return err_set(GH_EINVAL, _("is not a string of digits"));
        }
        k = k == 9 ? 0 : k + 1;
        sum += (uint64_t)d * pow2[k];
    }
    if (n == 0) {
        return err_set(GH_EINVAL, _("is not a string of digits"));
    }
    int c = (int)((12 - sum % 11) % 11);
    *check = c == 10 ? 'X' : (char)('0' + c);
    return 0;
}

int parse_id(const char *s0, size_t n0, const char *today, char out[19]) {
    trim(&s0, &n0);
    /* full-width digits and X made ASCII; anything longer than an ID stops early */
    char s[40] = {0};
    size_t n = 0;
    for (const char *p = s0, *end = s0 + n0; p < end && n < sizeof s - 1;) {
        int w;
        if ((unsigned char)*p < 0x80) { /* ASCII, nearly always: as it is */
            s[n++] = *p++;
        } else if ((w = wide_digit(p, end)) >= 0) {
            s[n++] = (char)('0' + w), p += 3;
        } else if (eat(&p, end, "Ｘ") || eat(&p, end, "ｘ")) {
            s[n++] = 'X';
        } else {
            s[n++] = *p++;
        }
    }
    if (n == sizeof s - 1) {
        n = n0; /* too long: report the real length */
    }
    if (n < sizeof s && sci_notation(s, n)) {
        return err_set(GH_EINVAL,
                       _("Excel turned the ID number into a number (%.*s) and its last digits are "
                         "lost: format the column as Text in Excel and copy the numbers in again "
                         "from the source"),
                       (int)n, s);
    }
    const char *dot = n < sizeof s ? memchr(s, '.', n) : NULL;
    if (dot && dot > s && all_digits(s, (size_t)(dot - s)) &&
        all_digits(dot + 1, n - (size_t)(dot - s) - 1)) {
        return err_set(GH_EINVAL,
                       _("has a decimal part (%.*s): it went through a number and may have lost "
                         "digits; give the 18 characters as text"),
                       (int)(n - (size_t)(dot - s)), dot);
    }
    if (n == 15 && all_digits(s, 15)) {
        return err_set(GH_EINVAL, _("has 15 digits (a first-generation number): the 18-character "
                                    "number is needed"));
    }
    if (n != 18) {
        return err_set(GH_EINVAL,
                       _("has %zu characters; an ID number has 18 (17 digits, then a digit or X)"),
                       n);
    }
    if (!all_digits(s, 17) || !(is_digit(s[17]) || s[17] == 'X' || s[17] == 'x')) {
        return err_set(GH_EINVAL, _("is not 17 digits followed by a digit or X"));
    }
    /* the birth date, characters 7-14: from 1900, not after today */
    if (!today) { /* the system's date, worked out again only when the second changes: import
                     checks a million IDs, and localtime_r + strftime per row cost W1 ~15% */
        static _Thread_local time_t said;
        static _Thread_local char day[16];
        time_t t = time(NULL);
        if (t != said || !day[0]) {
            struct tm tm;
            localtime_r(&t, &tm);
            strftime(day, sizeof day, "%Y%m%d", &tm);
            said = t;
        }
        today = day;
    }
    char date[11] = {s[6], s[7], s[8], s[9], '-', s[10], s[11], '-', s[12], s[13], 0};
    if (s[6] < '1' || (s[6] == '1' && s[7] < '9') || !codec_is_date(date, 10) ||
        memcmp(s + 6, today, 8) > 0) {
        return err_set(GH_EINVAL, _("contains an impossible birth date (%s, characters 7-14)"),
                       date);
    }
    char want = 0, got = s[17] == 'x' ? 'X' : s[17];
    parse_mod11_2(s, 17, &want);
    if (want != got) {
        if (memcmp(s + 15, "000", 3) == 0) {
            return err_set(GH_EINVAL,
                           _("ends in 000 and its check character is wrong: Excel kept only its "
                             "first 15 digits; format the column as Text in Excel and copy the "
                             "numbers in again from the source"));
        }
        return err_set(GH_EINVAL,
                       _("has a wrong check character (the last one is %c, the first 17 digits "
                         "give %c): a digit is mistyped"),
                       got, want);
    }
    memcpy(out, s, 17);
    out[17] = got;
    out[18] = 0;
    return 0;
}

/* ---- phones ------------------------------------------------------------------------------ */

int parse_phone(const char *s, size_t n, char *out) {
    trim(&s, &n);
    if (sci_notation(s, n)) {
        return err_set(GH_EINVAL,
                       _("Excel turned this phone number into a number (%.*s) and its last digits "
                         "are lost: format the column as Text in Excel and copy the numbers in "
                         "again"),
                       (int)n, s);
    }
    static const char *const seps[] = {" ",  "-",  "(",  ")", "\t", "\xe3\x80\x80" /* U+3000 */,
                                       "－", "（", "）", NULL};
    char d[24];
    size_t k = 0;
    int plus = 0;
    const char *p = s, *end = s + n;
    if (eat(&p, end, "+") || eat(&p, end, "＋")) {
        plus = 1;
    }
    while (p < end) {
        int w = wide_digit(p, end);
        if (w >= 0 || is_digit(*p)) {
            if (k == sizeof d - 1) {
                return err_set(GH_EINVAL, _("has too many digits for a phone number"));
            }
            d[k++] = (char)(w >= 0 ? '0' + w : *p);
            p += w >= 0 ? 3 : 1;
            continue;
        }
        int sep = 0;
        for (int i = 0; seps[i] && !sep; i++) {
            sep = eat(&p, end, seps[i]);
        }
        if (!sep) {
            return err_set(GH_EINVAL,
                           _("has '%.*s', which a phone number does not have (digits, with spaces "
                             "or hyphens between them)"),
                           (*p & 0x80) ? (int)(end - p < 3 ? end - p : 3) : 1, p);
        }
    }
    d[k] = 0;
    const char *q = d;
    if (plus && k >= 2 && memcmp(d, "86", 2) == 0) {
        q += 2, k -= 2;
    } else if (plus) {
        return err_set(GH_EINVAL, _("has a country code other than +86"));
    } else if (k == 15 && memcmp(d, "0086", 4) == 0) {
        q += 4, k -= 4;
    } else if (k == 13 && memcmp(d, "861", 3) == 0) {
        q += 2, k -= 2;
    }
    if (k == 11 && q[0] == '1') {
        if (q[1] < '3') {
            return err_set(GH_EINVAL, _("is not a mobile number (1, then 3-9, then 9 digits)"));
        }
        memcpy(out, q, 12);
        return 0;
    }
    if (k >= 10 && q[0] == '0') {
        size_t area = (q[1] == '1' || q[1] == '2') ? 3 : 4;
        size_t local = k - area;
        if (q[1] == '0' || local < 7 || local > 8 || q[area] == '0' || q[area] == '1') {
            return err_set(GH_EINVAL, _("is not a landline number (0 and an area code of 2 or 3 "
                                        "digits, then 7 or 8 digits)"));
        }
        memcpy(out, q, area);
        out[area] = '-';
        memcpy(out + area + 1, q + area, local + 1);
        return 0;
    }
    if (k == 7 || k == 8) {
        return err_set(GH_EINVAL, _("has no area code: give it first (0571-87654321)"));
    }
    if (k == 0) {
        return err_set(GH_EINVAL, _("has no digits"));
    }
    return err_set(GH_EINVAL,
                   _("has %zu digits: a mobile number has 11, a landline 0, an area code and 7 or "
                     "8 digits"),
                   k);
}

/* ---- unified social credit codes ---------------------------------------------------------- */

static const char credit_chars[] = "0123456789ABCDEFGHJKLMNPQRTUWXY";

/* The two check characters of a code's first 16 (already upper case and of
 * credit_chars): the GB 11714 one of characters 9-16 (17th) and the MOD 31
 * one of the first 17 (18th). */
static void credit_checks(const char *s, char *c17, char *c18) {
    static const int w[17] = {1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28};
    static const int ow[8] = {3, 7, 9, 10, 5, 8, 4, 2};
    int sum = 0;
    for (int i = 0; i < 8; i++) { /* GB 11714: letters count A = 10 .. Z = 35 */
        char c = s[8 + i];
        sum += (c <= '9' ? c - '0' : c - 'A' + 10) * ow[i];
    }
    int c9 = (11 - sum % 11) % 11;
    *c17 = c9 == 10 ? 'X' : (char)('0' + c9);
    sum = 0;
    for (int i = 0; i < 16; i++) {
        sum += (int)(strchr(credit_chars, s[i]) - credit_chars) * w[i];
    }
    sum += (int)(strchr(credit_chars, *c17) - credit_chars) * w[16];
    *c18 = credit_chars[(31 - sum % 31) % 31];
}

/* Upper-cases s[0..k) into out and checks each is a code character. */
static int credit_body(const char *s, size_t k, char *out) {
    for (size_t i = 0; i < k; i++) {
        char c = s[i] >= 'a' && s[i] <= 'z' ? (char)(s[i] - 'a' + 'A') : s[i];
        if (!c || !strchr(credit_chars, c)) {
            if (c > ' ' && c < 0x7f) {
                return err_set(GH_EINVAL,
                               _("has character %zu ('%c'), which is not one of 0-9 and the "
                                 "capital letters except I, O, S, V, Z"),
                               i + 1, c);
            }
            return err_set(GH_EINVAL,
                           _("has character %zu not one of 0-9 and the capital letters except I, "
                             "O, S, V, Z"),
                           i + 1);
        }
        out[i] = c;
    }
    for (size_t i = 2; i < 8 && i < k; i++) {
        if (out[i] > '9') {
            return err_set(GH_EINVAL, _("has no region code in characters 3-8 (6 digits)"));
        }
    }
    return 0;
}

int parse_credit_code(const char *s, size_t n, char out[19]) {
    char code[19], c17, c18;
    trim(&s, &n);
    if (n != 18) {
        return err_set(GH_EINVAL, _("has %zu characters; a unified social credit code has 18"), n);
    }
    int rc = credit_body(s, 18, code);
    if (rc) {
        return rc;
    }
    credit_checks(code, &c17, &c18);
    if (code[16] != c17) {
        return err_set(GH_EINVAL,
                       _("has a wrong organisation-code check character (character 17 is %c, "
                         "characters 9-16 give %c): a character is mistyped"),
                       code[16], c17);
    }
    if (code[17] != c18) {
        return err_set(GH_EINVAL,
                       _("has a wrong check character (the last one is %c, the first 17 give "
                         "%c): a character is mistyped"),
                       code[17], c18);
    }
    memcpy(out, code, 18);
    out[18] = 0;
    return 0;
}

int parse_credit_complete(const char *s, size_t n, char out[19]) {
    char code[19];
    trim(&s, &n);
    if (n != 16) {
        return err_set(GH_EINVAL, _("has %zu characters; give the first 16 of a credit code"), n);
    }
    int rc = credit_body(s, 16, code);
    if (rc) {
        return rc;
    }
    credit_checks(code, &code[16], &code[17]);
    memcpy(out, code, 18);
    out[18] = 0;
    return 0;
}
