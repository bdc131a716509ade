/*
 * idcard.c — the `idcard` plugin: resident ID numbers (GB 11643-1999,
 * 公民身份号码).
 *
 * An 18-character number is
 *   characters 1-6    the region code (GB/T 2260) of the first registration;
 *                     the first two digits are the province
 *   characters 7-14   the birth date, YYYYMMDD
 *   characters 15-17  a sequence number: odd for men, even for women
 *   character 18      the check character: ISO 7064 MOD 11-2 over the first
 *                     17 digits, 'X' standing for 10
 * The first-generation number (15 digits) has YYMMDD for 19YY and no check
 * character.
 *
 * Lua (local idcard = plugin.load 'idcard'):
 *   valid(s)        -> bool       18 characters, real birth date not in the future,
 *                                 a known province, the right check character
 *   problem(s)      -> str|nil    why s is not valid (nil when it is), saying what
 *                                 to do, Excel damage first
 *   excel_damage(s) -> str|nil    how Excel damaged s (scientific notation, a
 *                                 decimal part, digits after the 15th turned to 0), or nil
 *   check_char(s)   -> str        the check character of the first 17 digits
 *   birth(s)        -> str        YYYY-MM-DD (18 or 15 digits)
 *   gender(s)       -> str        'male' or 'female'
 *   region(s)       -> str        the 6-digit region code
 *   province(s)     -> str        the province's name (北京, 浙江, ...)
 *   upgrade(s)      -> str        15 digits -> 18 characters
 *   mask(s)         -> str        first 6 and last 4 kept: 330481********1234
 * Functions that return a str raise an error for a number they cannot read.
 *
 * Sees only include/gonghui/plugin.h; strings returned are allocated
 * through the host, which frees them.
 */
#include <gonghui/plugin.h>

#include <stdio.h>
#include <string.h>
#include <time.h>

static const gh_api *api;

static const int weights[17] = {7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2};

static const struct {
    const char *code, *name;
} provinces[] = {
    {"11", "北京"}, {"12", "天津"}, {"13", "河北"},   {"14", "山西"}, {"15", "内蒙古"},
    {"21", "辽宁"}, {"22", "吉林"}, {"23", "黑龙江"}, {"31", "上海"}, {"32", "江苏"},
    {"33", "浙江"}, {"34", "安徽"}, {"35", "福建"},   {"36", "江西"}, {"37", "山东"},
    {"41", "河南"}, {"42", "湖北"}, {"43", "湖南"},   {"44", "广东"}, {"45", "广西"},
    {"46", "海南"}, {"50", "重庆"}, {"51", "四川"},   {"52", "贵州"}, {"53", "云南"},
    {"54", "西藏"}, {"61", "陕西"}, {"62", "甘肃"},   {"63", "青海"}, {"64", "宁夏"},
    {"65", "新疆"}, {"71", "台湾"}, {"81", "香港"},   {"82", "澳门"}, {"83", "台湾"},
};

static int all_digits(const char *s, size_t n) {
    for (size_t i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9') {
            return 0;
        }
    }
    return n > 0;
}

static const char *province_of(const char *s) {
    for (size_t i = 0; i < sizeof provinces / sizeof *provinces; i++) {
        if (s[0] == provinces[i].code[0] && s[1] == provinces[i].code[1]) {
            return provinces[i].name;
        }
    }
    return NULL;
}

/* The check character of 17 digits. */
static char check_of(const char *s) {
    int sum = 0;
    for (int i = 0; i < 17; i++) {
        sum += (s[i] - '0') * weights[i];
    }
    return "10X98765432"[sum % 11];
}

/* 1 if the 8 digits YYYYMMDD are a real date from 1800 up to today (the
 * run's today: `gonghui run --now` moves it). */
static int real_date(const char *d) {
    int y = (d[0] - '0') * 1000 + (d[1] - '0') * 100 + (d[2] - '0') * 10 + (d[3] - '0');
    int m = (d[4] - '0') * 10 + (d[5] - '0');
    int day = (d[6] - '0') * 10 + (d[7] - '0');
    if (y < 1800 || m < 1 || m > 12 || day < 1) {
        return 0;
    }
    if (day > api->month_days(y, m)) { /* the host's calendar (API minor 3) */
        return 0;
    }
    char today[16];
    time_t now = (time_t)api->now(NULL);
    struct tm tm;
    localtime_r(&now, &tm);
    strftime(today, sizeof today, "%Y%m%d", &tm);
    return memcmp(d, today, 8) <= 0;
}

/* Excel's damage to s (n bytes), written into why; 0 if none seen. */
static int damage(const char *s, size_t n, char *why, size_t whyn) {
    const char *e = memchr(s, 'E', n);
    if (!e) {
        e = memchr(s, 'e', n);
    }
    if (e && e > s && (size_t)(e - s) + 1 < n) {
        int ok = 1;
        for (const char *p = s; p < e; p++) {
            ok &= (*p >= '0' && *p <= '9') || *p == '.';
        }
        const char *q = e + 1;
        if (*q == '+' || *q == '-') {
            q++;
        }
        if (ok && all_digits(q, (size_t)(s + n - q))) {
            snprintf(why, whyn,
                     "Excel turned the ID number into a number (%.*s) and its last digits are "
                     "lost: format the column as Text in Excel and copy the numbers in again "
                     "from the source",
                     (int)n, s);
            return 1;
        }
    }
    const char *dot = memchr(s, '.', n);
    if (dot && dot > s && all_digits(s, (size_t)(dot - s)) &&
        (dot + 1 == s + n || all_digits(dot + 1, (size_t)(s + n - dot - 1)))) {
        snprintf(why, whyn,
                 "has a decimal part (%.*s): it went through a number and may have lost "
                 "digits; give the 18 characters as text",
                 (int)(s + n - dot), dot);
        return 1;
    }
    if (n == 18 && all_digits(s, 18) && memcmp(s + 15, "000", 3) == 0 && check_of(s) != '0') {
        snprintf(why, whyn,
                 "ends in 000 and its check character is wrong: Excel kept only its first 15 "
                 "digits; format the column as Text in Excel and copy the numbers in again "
                 "from the source");
        return 1;
    }
    return 0;
}

/* Why s is not a valid 18-character number; 0 if it is. */
static int invalid(const char *s, char *why, size_t whyn) {
    size_t n = strlen(s);
    if (damage(s, n, why, whyn)) {
        return 1;
    }
    if (n == 15 && all_digits(s, 15)) {
        snprintf(why, whyn,
                 "has 15 digits (a first-generation number): the 18-character number is "
                 "needed (idcard.upgrade gives it)");
        return 1;
    }
    if (n != 18) {
        snprintf(why, whyn,
                 "has %zu characters; an ID number has 18 (17 digits, then a digit or X)", n);
        return 1;
    }
    if (!all_digits(s, 17) || !((s[17] >= '0' && s[17] <= '9') || s[17] == 'X' || s[17] == 'x')) {
        snprintf(why, whyn, "is not 17 digits followed by a digit or X");
        return 1;
    }
    if (!province_of(s)) {
        snprintf(why, whyn, "starts with %.2s, which is no province's region code", s);
        return 1;
    }
    if (!real_date(s + 6)) {
        snprintf(why, whyn, "contains an impossible birth date (%.4s-%.2s-%.2s, characters 7-14)",
                 s + 6, s + 10, s + 12);
        return 1;
    }
    char want = check_of(s), got = s[17] == 'x' ? 'X' : s[17];
    if (want != got) {
        snprintf(why, whyn,
                 "has a wrong check character (the last one is %c, the first 17 digits give "
                 "%c): a digit is mistyped",
                 got, want);
        return 1;
    }
    return 0;
}

/* ---- the functions ------------------------------------------------------------------- */

static bool id_valid(const char *s) {
    char why[320];
    return !invalid(s, why, sizeof why);
}

static char *id_problem(const char *s) {
    char why[320];
    return invalid(s, why, sizeof why) ? api->strdup(why) : NULL;
}

static char *id_excel_damage(const char *s) {
    char why[320];
    return damage(s, strlen(s), why, sizeof why) ? api->strdup(why) : NULL;
}

/* The first 17 (or, for 15 digits, the upgraded 17) digits of s, or an error. */
static int digits17(const char *s, char out[18], gh_err *err) {
    size_t n = strlen(s);
    if (n == 15 && all_digits(s, 15)) {
        memcpy(out, s, 6);
        out[6] = '1';
        out[7] = '9';
        memcpy(out + 8, s + 6, 9);
        out[17] = 0;
        return 0;
    }
    if ((n == 17 || n == 18) && all_digits(s, 17)) {
        memcpy(out, s, 17);
        out[17] = 0;
        return 0;
    }
    api->error(err, "'%s' is not an ID number (17 or 18 characters, or 15 digits)", s);
    return -1;
}

static char *id_check_char(const char *s, gh_err *err) {
    char d[18];
    if (strlen(s) == 15 || digits17(s, d, err) != 0) {
        if (strlen(s) == 15) {
            api->error(err, "'%s' has 15 digits: upgrade it first (idcard.upgrade)", s);
        }
        return NULL;
    }
    char c[2] = {check_of(d), 0};
    return api->strdup(c);
}

static char *id_birth(const char *s, gh_err *err) {
    char d[18];
    if (digits17(s, d, err) != 0) {
        return NULL;
    }
    if (!real_date(d + 6)) {
        api->error(err, "'%s' contains an impossible birth date", s);
        return NULL;
    }
    return api->mprintf("%.4s-%.2s-%.2s", d + 6, d + 10, d + 12);
}

static char *id_gender(const char *s, gh_err *err) {
    char d[18];
    if (digits17(s, d, err) != 0) {
        return NULL;
    }
    return api->strdup((d[16] - '0') % 2 ? "male" : "female");
}

static char *id_region(const char *s, gh_err *err) {
    char d[18];
    if (digits17(s, d, err) != 0) {
        return NULL;
    }
    return api->mprintf("%.6s", d);
}

static char *id_province(const char *s, gh_err *err) {
    char d[18];
    if (digits17(s, d, err) != 0) {
        return NULL;
    }
    const char *p = province_of(d);
    if (!p) {
        api->error(err, "'%s' starts with %.2s, which is no province's region code", s, d);
        return NULL;
    }
    return api->strdup(p);
}

static char *id_upgrade(const char *s, gh_err *err) {
    if (strlen(s) != 15 || !all_digits(s, 15)) {
        api->error(err, "'%s' is not a first-generation number (15 digits)", s);
        return NULL;
    }
    char d[19];
    digits17(s, d, err);
    if (!real_date(d + 6)) {
        api->error(err, "'%s' contains an impossible birth date", s);
        return NULL;
    }
    d[17] = check_of(d);
    d[18] = 0;
    return api->strdup(d);
}

static char *id_mask(const char *s) {
    size_t n = strlen(s);
    char *m = api->strdup(s);
    if (!m) {
        return NULL;
    }
    for (size_t i = 0; i < n; i++) {
        if (n <= 10 || (i >= 6 && i < n - 4)) {
            m[i] = '*';
        }
    }
    return m;
}

GH_PLUGIN_EXPORT int gh_plugin_init(const gh_api *a, gh_plugin *p, char **errmsg) {
    (void)errmsg;
    api = a;
    if (gh_plugin_begin(a, p, "idcard", "1.0") != GH_PLUGIN_OK) {
        return GH_PLUGIN_ERROR;
    }
    static const struct {
        const char *name, *sig;
        gh_fn fn;
    } fns[] = {
        {"valid", "bool(str)", GH_FN(id_valid)},
        {"problem", "str(str)", GH_FN(id_problem)},
        {"excel_damage", "str(str)", GH_FN(id_excel_damage)},
        {"check_char", "str(str,err)", GH_FN(id_check_char)},
        {"birth", "str(str,err)", GH_FN(id_birth)},
        {"gender", "str(str,err)", GH_FN(id_gender)},
        {"region", "str(str,err)", GH_FN(id_region)},
        {"province", "str(str,err)", GH_FN(id_province)},
        {"upgrade", "str(str,err)", GH_FN(id_upgrade)},
        {"mask", "str(str)", GH_FN(id_mask)},
    };
    for (size_t i = 0; i < sizeof fns / sizeof *fns; i++) {
        if (a->function(p, fns[i].name, fns[i].sig, fns[i].fn) != GH_PLUGIN_OK) {
            return GH_PLUGIN_ERROR;
        }
    }
    return GH_PLUGIN_OK;
}
