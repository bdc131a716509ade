/*
 * test_parse.c — unit tests of core/parse.c: every form each parser accepts
 * and every refusal, with its reason; and the bounds (no overflow, no read
 * past the input) on hostile input.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "codec.h"
#include "days.h"
#include "err.h"
#include "parse.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static void expect_why(int rc, const char *part) {
    assert_int_not_equal(rc, 0);
    const char *why = err_msg(rc);
    if (!strstr(why, part)) {
        fail_msg("reason \"%s\" lacks \"%s\"", why, part);
    }
}

/* ---- dates -------------------------------------------------------------------------- */

static void test_dates_accepted(void **state) {
    (void)state;
    char d[11];
    const char *good[][2] = {{"2024-03-05", "2024-03-05"},        {"2024/3/5", "2024-03-05"},
                             {"2025/1/14", "2025-01-14"},         {"2024.03.05", "2024-03-05"},
                             {"20240305", "2024-03-05"},          {"2024年3月5日", "2024-03-05"},
                             {"2025年2月12日", "2025-02-12"},     {"2025年2月12号", "2025-02-12"},
                             {"2024/3/5 0:00", "2024-03-05"},     {"2024-2-29", "2024-02-29"},
                             {"2024/3/5 00:00:00", "2024-03-05"}, {" 2024-03-05 ", "2024-03-05"},
                             {"2000-02-29", "2000-02-29"}};
    for (size_t i = 0; i < sizeof good / sizeof good[0]; i++) {
        int rc = parse_date(good[i][0], strlen(good[i][0]), d);
        if (rc) {
            fail_msg("%s refused: %s", good[i][0], err_msg(rc));
        }
        assert_string_equal(d, good[i][1]);
    }
}

static void test_dates_refused(void **state) {
    (void)state;
    char d[11] = "unchanged";
    const char *bad[] = {"2023-02-29",    "2024/13/1",  "5.3.2024",   "2024-03",       "20241305",
                         "2024/3/5 8:30", "45356",      "yesterday",  "2024-03-05x",   "",
                         "2024-3/5",      "1900-02-29", "0999-01-01", "2024年3月",     "2024-00-10",
                         "2025-02-30",    "2025-04-31", "99999",      "2024/3/5 25:00"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        if (parse_date(bad[i], strlen(bad[i]), d) == 0) {
            fail_msg("%s accepted as %s", bad[i], d);
        }
    }
    assert_string_equal(d, "unchanged"); /* out is written only on success */
    expect_why(parse_date("2025-02-30", 10, d), "is not a real date");
    expect_why(parse_date("45356", 5, d), "Excel's day number for 2024-03-05");
    expect_why(parse_date("2024/3/5 8:30", 13, d), "has a time of day (8:30)");
    expect_why(parse_date("yesterday", 9, d), "is not a date (2024-03-05");
}

static void test_excel_days(void **state) {
    (void)state;
    char d[11];
    const struct {
        int64_t serial;
        const char *date;
    } cases[] = {{1, "1900-01-01"},     {59, "1900-02-28"},     {60, "1900-02-29"},
                 {61, "1900-03-01"},    {25569, "1970-01-01"},  {45356, "2024-03-05"},
                 {45658, "2025-01-01"}, {2958465, "9999-12-31"}};
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        assert_int_equal(parse_excel_day(cases[i].serial, d), 0);
        assert_string_equal(d, cases[i].date);
    }
    assert_int_not_equal(parse_excel_day(0, d), 0);
    assert_int_not_equal(parse_excel_day(2958466, d), 0);
    assert_int_not_equal(parse_excel_day(-5, d), 0);
}

/* ---- times and --now ------------------------------------------------------------------- */

static int64_t local(int y, int mo, int d, int h, int mi, int s) {
    struct tm tm = {.tm_year = y - 1900,
                    .tm_mon = mo - 1,
                    .tm_mday = d,
                    .tm_hour = h,
                    .tm_min = mi,
                    .tm_sec = s,
                    .tm_isdst = -1};
    return (int64_t)mktime(&tm);
}

/* days.c, the one copy of the calendar arithmetic: day by day from
 * 1900-01-01 to 2100-12-31 the day number goes up by one, the date comes
 * back, month lengths agree with the store's date check, and 1970-01-01 is
 * day 0. */
static void test_days(void **state) {
    (void)state;
    assert_int_equal(days_from_date(1970, 1, 1), 0);
    assert_int_equal(days_from_date(1900, 1, 1), -25567);
    assert_int_equal(days_from_date(2100, 12, 31), 47846);
    assert_int_equal(days_in_month(2024, 2), 29);
    assert_int_equal(days_in_month(1900, 2), 28);
    assert_int_equal(days_in_month(2000, 2), 29);
    assert_int_equal(days_in_month(2025, 13), 0);
    int64_t want = days_from_date(1900, 1, 1);
    for (int y = 1900; y <= 2100; y++) {
        for (int m = 1; m <= 12; m++) {
            for (int d = 1; d <= 31; d++) {
                char s[16];
                snprintf(s, sizeof s, "%04d-%02d-%02d", y, m, d);
                int real = d <= days_in_month(y, m);
                assert_int_equal(real, codec_is_date(s, 10));
                if (!real) {
                    continue;
                }
                assert_int_equal(days_from_date(y, m, d), want);
                int yy, mm, dd;
                days_to_date(want, &yy, &mm, &dd);
                assert_true(yy == y && mm == m && dd == d);
                want++;
            }
        }
    }
}

static void test_times(void **state) {
    (void)state;
    int64_t t = -1;
    assert_int_equal(parse_time("2025-01-29 08:00", 16, &t), 0);
    assert_true(t == local(2025, 1, 29, 8, 0, 0));
    assert_int_equal(parse_time("2025-01-29T08:00:30", 19, &t), 0);
    assert_true(t == local(2025, 1, 29, 8, 0, 30));
    assert_int_equal(parse_time("2025-01-29", 10, &t), 0);
    assert_true(t == local(2025, 1, 29, 0, 0, 0));
    assert_int_equal(parse_time("2025/1/29 8:05", 14, &t), 0);
    assert_true(t == local(2025, 1, 29, 8, 5, 0));
    assert_int_equal(parse_time("2025年1月29日 23:59:59", strlen("2025年1月29日 23:59:59"), &t), 0);
    assert_true(t == local(2025, 1, 29, 23, 59, 59));

    const char *bad[] = {"2025-13-45 99:99",
                         "2025-02-30",
                         "2025-02-31 08:00",
                         "2025-01-29 24:00",
                         "2025-01-29 08:60",
                         "2025-01-29 08:00:60",
                         "2025-01-29 8",
                         "2025-01-29 08:0",
                         "2025-01-29 08",
                         "2025-01-29 08:00x",
                         "now",
                         "",
                         "2025-01-29  08:00",
                         "2025-01-29 -1:00"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        int64_t before = 42;
        t = before;
        if (parse_time(bad[i], strlen(bad[i]), &t) == 0) {
            fail_msg("'%s' accepted as %lld", bad[i], (long long)t);
        }
        assert_true(t == before);
    }
    expect_why(parse_time("2025-13-45 99:99", 16, &t), "is not a real date");
    expect_why(parse_time("2025-01-29 99:99", 16, &t), "is not a real time of day");
    expect_why(parse_time("2025-01-29 8", 12, &t), "is not a time");
}

static void test_now(void **state) {
    (void)state;
    int64_t t = 0;
    assert_int_equal(parse_now("1735689600", 10, &t), 0);
    assert_true(t == 1735689600);
    assert_int_equal(parse_now("0", 1, &t), 0);
    assert_true(t == 0);
    assert_int_equal(parse_now("20250114", 8, &t), 0); /* a date, not seconds */
    assert_true(t == local(2025, 1, 14, 0, 0, 0));
    assert_int_equal(parse_now("2025-01-01 08:00:00", 19, &t), 0);
    assert_true(t == local(2025, 1, 1, 8, 0, 0));
    expect_why(parse_now("2025-13-45 99:99", 16, &t), "is not a real date");
    expect_why(parse_now("2025-02-30", 10, &t), "is not a real date");
    assert_int_not_equal(parse_now("12345678901234567890", 20, &t), 0);
    assert_int_not_equal(parse_now("-5", 2, &t), 0);
    assert_int_not_equal(parse_now("1e9", 3, &t), 0);
}

/* ---- yuan ----------------------------------------------------------------------------- */

static void test_yuan_accepted(void **state) {
    (void)state;
    const struct {
        const char *s;
        int64_t fen;
    } good[] = {{"3000", 300000},
                {"3,000.50", 300050},
                {"1,234,567.8", 123456780},
                {"¥12.05", 1205},
                {"￥0.07", 7},
                {"¥ 1,234.50", 123450},
                {"100元", 10000},
                {"12.5 元", 1250},
                {" 42 ", 4200},
                {"-5", -500},
                {"-5.1", -510},
                {"¥-3", -300},
                {"-¥3", -300},
                {"0", 0},
                {"0.00", 0},
                {"007", 700},
                {"92233720368547758.07", INT64_MAX},
                {"-92233720368547758.08", INT64_MIN}};
    for (size_t i = 0; i < sizeof good / sizeof good[0]; i++) {
        int64_t f = 1;
        int rc = parse_yuan(good[i].s, strlen(good[i].s), &f);
        if (rc) {
            fail_msg("'%s' refused: %s", good[i].s, err_msg(rc));
        }
        if (f != good[i].fen) {
            fail_msg("'%s' gave %lld fen", good[i].s, (long long)f);
        }
    }
}

static void test_yuan_refused(void **state) {
    (void)state;
    const char *bad[] = {"12.", "12.345", "1,2",      "12,34,567", ",123",  ".5",     "abc", "",
                         "1e3", "--5",    "- 5",      "12.3.4",    "1 000", "1,000,", "元",  "¥",
                         "+5",  "12.-5",  "1234,567", "12,345.",   "0x10",  "５"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        int64_t f = 99;
        if (parse_yuan(bad[i], strlen(bad[i]), &f) == 0) {
            fail_msg("'%s' accepted as %lld", bad[i], (long long)f);
        }
        assert_true(f == 99);
    }
    int64_t f;
    expect_why(parse_yuan("12.", 3, &f), "ends in a decimal point");
    expect_why(parse_yuan("12.345", 6, &f), "more than two decimals");
    expect_why(parse_yuan("abc", 3, &f), "is not an amount in yuan");
    assert_int_equal(parse_yuan("92233720368547758.08", 20, &f), GH_ETOOBIG);
    assert_int_equal(parse_yuan("-92233720368547758.09", 21, &f), GH_ETOOBIG);
    assert_int_equal(parse_yuan("99999999999999999999999", 23, &f), GH_ETOOBIG);
    expect_why(parse_yuan("99999999999999999999999", 23, &f), "too large");
}

/* ---- ID numbers ----------------------------------------------------------------------- */

static void test_ids(void **state) {
    (void)state;
    char out[19] = "unchanged";
    assert_int_equal(parse_id("330481199001011236", 18, NULL, out), 0);
    assert_string_equal(out, "330481199001011236");
    assert_int_equal(parse_id("33021219700615441x", 18, NULL, out), 0);
    assert_string_equal(out, "33021219700615441X");
    const char *wide = "３３０４８１１９９００１０１１２３６";
    assert_int_equal(parse_id(wide, strlen(wide), NULL, out), 0);
    assert_string_equal(out, "330481199001011236");
    assert_int_equal(parse_id(" 330481199001011236 ", 20, NULL, out), 0);

    expect_why(parse_id("3.30481E+17", 11, NULL, out), "Excel turned the ID number into a number");
    expect_why(parse_id("330481199001010000", 18, NULL, out), "ends in 000");
    expect_why(parse_id("330481199001011230", 18, NULL, out),
               "wrong check character (the last one is 0, the first 17 digits give 6)");
    expect_why(parse_id("330481199002301230", 18, NULL, out), "impossible birth date (1990-02-30");
    expect_why(parse_id("330481189001011230", 18, NULL, out), "impossible birth date (1890-01-01");
    expect_why(parse_id("330481900101123", 15, NULL, out), "15 digits");
    expect_why(parse_id("330481199001011236.0", 20, NULL, out), "decimal part");
    expect_why(parse_id("33048119900101123", 17, NULL, out), "has 17 characters");
    expect_why(parse_id("33048119900101123Y", 18, NULL, out), "17 digits followed by a digit or X");
    expect_why(parse_id("", 0, NULL, out), "has 0 characters");
    /* a birth date after today: refused, on the day given */
    char id[19];
    memcpy(id, "33048120300101001", 17);
    assert_int_equal(parse_mod11_2(id, 17, &id[17]), 0);
    id[18] = 0;
    expect_why(parse_id(id, 18, NULL, out), "impossible birth date (2030-01-01");
    expect_why(parse_id(id, 18, "20291231", out), "impossible birth date");
    assert_int_equal(parse_id(id, 18, "20300101", out), 0);
    /* a very long input is measured, not copied past its buffer */
    char big[200];
    memset(big, '1', sizeof big);
    expect_why(parse_id(big, sizeof big, NULL, out), "has 200 characters");
}

static void test_mod11_2(void **state) {
    (void)state;
    char c;
    assert_int_equal(parse_mod11_2("33048119900101123", 17, &c), 0);
    assert_int_equal(c, '6');
    assert_int_equal(parse_mod11_2("33021219700615441", 17, &c), 0);
    assert_int_equal(c, 'X');
    assert_int_equal(parse_mod11_2("202500110001", 12, &c), 0);
    assert_int_equal(parse_mod11_2("0", 1, &c), 0);
    assert_int_equal(c, '1');
    assert_int_not_equal(parse_mod11_2("12a", 3, &c), 0);
    assert_int_not_equal(parse_mod11_2("", 0, &c), 0);
    /* every length up to 60 (the weights repeat every 10 places), against
     * ISO 7064's definition worked one digit at a time */
    char digits[61];
    for (size_t i = 0; i < 60; i++) {
        digits[i] = (char)('0' + (i * 7 + 3) % 10);
    }
    for (size_t n = 1; n <= 60; n++) {
        int sum = 0, w = 2;
        for (size_t i = n; i-- > 0;) {
            sum = (sum + (digits[i] - '0') * w) % 11;
            w = w * 2 % 11;
        }
        int want = (12 - sum) % 11;
        assert_int_equal(parse_mod11_2(digits, n, &c), 0);
        assert_int_equal(c, want == 10 ? 'X' : '0' + want);
    }
}

/* ---- phones --------------------------------------------------------------------------- */

static void test_phones_accepted(void **state) {
    (void)state;
    const char *good[][2] = {
        {"13812345678", "13812345678"},        {"138 1234 5678", "13812345678"},
        {"138-1234-5678", "13812345678"},      {"１３８１２３４５６７８", "13812345678"},
        {"138　1234　5678", "13812345678"},    {"+86 138 1234 5678", "13812345678"},
        {"+8613812345678", "13812345678"},     {"008613812345678", "13812345678"},
        {"8613812345678", "13812345678"},      {"19912345678", "19912345678"},
        {"0571-87654321", "0571-87654321"},    {"057187654321", "0571-87654321"},
        {"(0571) 8765 4321", "0571-87654321"}, {"（0571）87654321", "0571-87654321"},
        {"010-62345678", "010-62345678"},      {"021 6543 2100", "021-65432100"},
        {"0580-2345678", "0580-2345678"},      {"０５７１－８７６５４３２１", "0571-87654321"}};
    for (size_t i = 0; i < sizeof good / sizeof good[0]; i++) {
        char out[PARSE_PHONE_MAX];
        int rc = parse_phone(good[i][0], strlen(good[i][0]), out);
        if (rc) {
            fail_msg("'%s' refused: %s", good[i][0], err_msg(rc));
        }
        assert_string_equal(out, good[i][1]);
    }
}

static void test_phones_refused(void **state) {
    (void)state;
    const char *bad[] = {
        "1381234567",  "138123456789",   "12812345678",       "87654321",  "0571-0654321",
        "1.38123E+10", "138x1234567",    "+1 650 555 1234",   "",          "无",
        "0012345678",  "0571-876543210", "13812345678 ext 5", "4008123123"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        char out[PARSE_PHONE_MAX] = "unchanged";
        if (parse_phone(bad[i], strlen(bad[i]), out) == 0) {
            fail_msg("'%s' accepted as %s", bad[i], out);
        }
        assert_string_equal(out, "unchanged");
    }
    char out[PARSE_PHONE_MAX];
    expect_why(parse_phone("12812345678", 11, out), "is not a mobile number");
    expect_why(parse_phone("87654321", 8, out), "has no area code");
    expect_why(parse_phone("1.38123E+10", 11, out), "Excel turned this phone number");
    expect_why(parse_phone("138x1234567", 11, out), "has 'x'");
    expect_why(parse_phone("无", 3, out), "has '无'");
    expect_why(parse_phone("1381234567", 10, out), "has 10 digits");
    char big[100];
    memset(big, '1', sizeof big);
    expect_why(parse_phone(big, sizeof big, out), "too many digits");
}

/* 统一社会信用代码: the two check characters, case, and each refusal. */
static void test_credit_codes(void **state) {
    (void)state;
    char out[19];
    assert_int_equal(parse_credit_complete("91330481MA2B3C4D", 16, out), 0);
    char whole[19];
    memcpy(whole, out, 19);
    assert_int_equal(parse_credit_code(whole, 18, out), 0);
    assert_string_equal(out, whole);
    char lower[19];
    for (int i = 0; i < 19; i++) {
        lower[i] = whole[i] >= 'A' && whole[i] <= 'Z' ? (char)(whole[i] - 'A' + 'a') : whole[i];
    }
    assert_int_equal(parse_credit_code(lower, 18, out), 0); /* lower case taken as upper */
    assert_string_equal(out, whole);
    assert_int_equal(parse_credit_code("91350100M000100Y43", 18, out), 0); /* a real one */
    assert_int_equal(parse_credit_code("91350100M000100Y44", 18, out), GH_EINVAL);
    assert_non_null(strstr(err_msg(GH_EINVAL), "wrong check character"));
    assert_int_equal(parse_credit_code("91350100M000101Y43", 18, out), GH_EINVAL);
    assert_non_null(strstr(err_msg(GH_EINVAL), "organisation-code check character"));
    assert_int_equal(parse_credit_code("91350100M000100Y4", 17, out), GH_EINVAL);
    assert_non_null(strstr(err_msg(GH_EINVAL), "has 17 characters"));
    assert_int_equal(parse_credit_code("91350100M00O100Y43", 18, out), GH_EINVAL);
    assert_non_null(strstr(err_msg(GH_EINVAL), "character 12"));
    assert_int_equal(parse_credit_code("91A50100M000100Y43", 18, out), GH_EINVAL);
    assert_non_null(strstr(err_msg(GH_EINVAL), "region code"));
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_dates_accepted),
        cmocka_unit_test(test_dates_refused),
        cmocka_unit_test(test_excel_days),
        cmocka_unit_test(test_days),
        cmocka_unit_test(test_times),
        cmocka_unit_test(test_now),
        cmocka_unit_test(test_yuan_accepted),
        cmocka_unit_test(test_yuan_refused),
        cmocka_unit_test(test_ids),
        cmocka_unit_test(test_mod11_2),
        cmocka_unit_test(test_phones_accepted),
        cmocka_unit_test(test_phones_refused),
        cmocka_unit_test(test_credit_codes),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
