/*
 * test_table.c — unit tests of core/table.c: display widths of Chinese,
 * mixed and ambiguous-width text, and tables whose columns line up, column
 * by column, in every text mode; CSV and JSON escaping; elision and cuts.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "table.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int w(const char *s) {
    return tbl_width(s, strlen(s), 0);
}

static int ww(const char *s) {
    return tbl_width(s, strlen(s), 1);
}

static void test_widths(void **state) {
    (void)state;
    assert_int_equal(w(""), 0);
    assert_int_equal(w("abc"), 3);
    assert_int_equal(w("李娜"), 4);
    assert_int_equal(w("沈家门街道"), 10);
    assert_int_equal(w("A座3号"), 6);
    assert_int_equal(w("（全角）"), 8);  /* fullwidth parentheses */
    assert_int_equal(w("ｱ"), 1);         /* halfwidth katakana */
    assert_int_equal(w("e\xCC\x81"), 1); /* e + combining acute */
    assert_int_equal(w("🎉"), 2);
    assert_int_equal(w("\xFF\xFE"), 2); /* invalid bytes: one column each */
    assert_int_equal(w("a\nb"), 4);     /* shown as a\nb */
    /* ambiguous: narrow by default, wide when asked */
    assert_int_equal(w("·"), 1);
    assert_int_equal(ww("·"), 2);
    assert_int_equal(w("①②"), 2);
    assert_int_equal(ww("①②"), 4);
    assert_int_equal(w("25℃"), 3);
    assert_int_equal(ww("25℃"), 4);
    assert_int_equal(ww("李娜"), 4); /* wide stays wide */
    assert_int_equal(ww("abc"), 3);  /* ASCII is never ambiguous */
    assert_int_equal(tbl_cp_width(0x4E00, 0), 2);
    assert_int_equal(tbl_cp_width('a', 1), 1);
}

static char *render(tbl *t, tbl_opts *o) {
    char *buf = NULL;
    size_t n = 0;
    FILE *f = open_memstream(&buf, &n);
    assert_non_null(f);
    assert_int_equal(tbl_render(t, o, f), 0);
    fclose(f);
    return buf;
}

static tbl *sample(void) {
    static const char *rows[][3] = {
        {"1", "李娜", "沈家门街道"},
        {"22", "Wang Fang", "硖石街道"},
        {"333", "欧阳·明", "A区"},
        {"4", "①号", NULL},
    };
    tbl *t = tbl_new(3);
    assert_non_null(t);
    tbl_set_col(t, 0, "id");
    tbl_set_col(t, 1, "姓名");
    tbl_set_col(t, 2, "town");
    for (size_t r = 0; r < sizeof rows / sizeof *rows; r++) {
        assert_int_equal(tbl_add_row(t), 0);
        tbl_set(t, 0, TBL_NUM, rows[r][0], strlen(rows[r][0]));
        tbl_set(t, 1, TBL_STR, rows[r][1], strlen(rows[r][1]));
        if (rows[r][2]) {
            tbl_set(t, 2, TBL_STR, rows[r][2], strlen(rows[r][2]));
        }
    }
    return t;
}

/* The display columns at which `sep` occurs on each line must be the same
 * on every line that has it (box borders line up). Lines without sep are
 * skipped (footer). */
static void check_aligned(const char *out, const char *sep, int amb, int want_lines) {
    int first[16], nfirst = -1, lines = 0;
    const char *line = out;
    while (*line) {
        const char *end = strchr(line, '\n');
        size_t len = end ? (size_t)(end - line) : strlen(line);
        int cols[16], nc = 0;
        size_t seplen = strlen(sep);
        for (size_t i = 0; i + seplen <= len && nc < 16; i++) {
            if (memcmp(line + i, sep, seplen) == 0) {
                cols[nc++] = tbl_width(line, i, amb);
            }
        }
        if (nc > 0) {
            lines++;
            if (nfirst < 0) {
                memcpy(first, cols, sizeof cols);
                nfirst = nc;
            } else {
                if (nc != nfirst) {
                    fail_msg("line '%.*s' has %d '%s', expected %d", (int)len, line, nc, sep,
                             nfirst);
                }
                for (int i = 0; i < nc; i++) {
                    if (cols[i] != first[i]) {
                        fail_msg("line '%.*s': separator %d at column %d, expected %d", (int)len,
                                 line, i, cols[i], first[i]);
                    }
                }
            }
        }
        line = end ? end + 1 : line + len;
    }
    assert_int_equal(lines, want_lines);
}

static void test_box(void **state) {
    (void)state;
    tbl *t = sample();
    tbl_opts o = {.mode = TBL_BOX, .footer = 1};
    char *out = render(t, &o);
    check_aligned(out, "│", 0, 5); /* the header and 4 rows (rules use ┬/┼/┴) */
    check_aligned(out, "┼", 0, 1);
    assert_non_null(strstr(out, "│  id │ 姓名      │ town       │"));
    assert_non_null(strstr(out, "│   1 │ 李娜      │ 沈家门街道 │"));
    assert_non_null(strstr(out, "(4 rows)"));
    free(out);
    /* ambiguous wide: ASCII borders, and · and ① take two columns */
    o.ambiguous_wide = 1;
    out = render(t, &o);
    check_aligned(out, "|", 1, 5);
    assert_non_null(strstr(out, "| 欧阳·明  |"));
    assert_null(strstr(out, "│"));
    free(out);
    o.ambiguous_wide = 0;
    o.ascii = 1;
    out = render(t, &o);
    check_aligned(out, "|", 0, 5);
    assert_non_null(strstr(out, "+-----+"));
    free(out);
    tbl_free(t);
}

static void test_plain_and_markdown(void **state) {
    (void)state;
    tbl *t = sample();
    tbl_opts o = {.mode = TBL_TABLE};
    char *out = render(t, &o);
    assert_string_equal(out, " id  姓名       town\n"
                             "---  ---------  ----------\n"
                             "  1  李娜       沈家门街道\n"
                             " 22  Wang Fang  硖石街道\n"
                             "333  欧阳·明    A区\n"
                             "  4  ①号\n");
    free(out);
    o.mode = TBL_MARKDOWN;
    out = render(t, &o);
    check_aligned(out, "|", 0, 6);
    assert_non_null(strstr(out, "| 李娜      |"));
    free(out);
    o.mode = TBL_LINE;
    out = render(t, &o);
    assert_non_null(strstr(out, "  id = 1\n姓名 = 李娜\ntown = 沈家门街道\n\n"));
    free(out);
    tbl_free(t);
}

static void test_csv_json(void **state) {
    (void)state;
    tbl *t = tbl_new(3);
    tbl_set_col(t, 0, "name");
    tbl_set_col(t, 1, "note");
    tbl_set_col(t, 2, "n");
    tbl_add_row(t);
    tbl_set(t, 0, TBL_STR, "李娜", strlen("李娜"));
    tbl_set(t, 1, TBL_STR, "say \"hi\", ok\n", 13);
    tbl_set(t, 2, TBL_NUM, "12", 2);
    tbl_add_row(t);
    tbl_set(t, 0, TBL_STR, "x", 1);
    tbl_set(t, 2, TBL_RAW, "{\"a\":1}", 7);
    tbl_opts o = {.mode = TBL_CSV};
    char *out = render(t, &o);
    assert_string_equal(out,
                        "name,note,n\n李娜,\"say \"\"hi\"\", ok\n\",12\nx,,\"{\"\"a\"\":1}\"\n");
    free(out);
    o.excel = 1;
    out = render(t, &o);
    assert_memory_equal(out, "\xEF\xBB\xBFname,note,n\r\n", 14);
    free(out);
    o.mode = TBL_JSON;
    out = render(t, &o);
    assert_string_equal(out, "[{\"name\":\"李娜\",\"note\":\"say \\\"hi\\\", ok\\n\",\"n\":12},\n"
                             " {\"name\":\"x\",\"note\":null,\"n\":{\"a\":1}}]\n");
    free(out);
    o.mode = TBL_JSONL;
    out = render(t, &o);
    assert_string_equal(out, "{\"name\":\"李娜\",\"note\":\"say \\\"hi\\\", ok\\n\",\"n\":12}\n"
                             "{\"name\":\"x\",\"note\":null,\"n\":{\"a\":1}}\n");
    free(out);
    tbl_free(t);
}

static void test_elision_and_cuts(void **state) {
    (void)state;
    tbl *t = tbl_new(1);
    tbl_set_col(t, 0, "n");
    for (int i = 1; i <= 100; i++) {
        char b[16];
        int n = snprintf(b, sizeof b, "%d", i);
        tbl_add_row(t);
        tbl_set(t, 0, TBL_NUM, b, (size_t)n);
    }
    tbl_opts o = {.mode = TBL_TABLE, .max_rows = 10, .footer = 1};
    char *out = render(t, &o);
    assert_non_null(strstr(out, "  5\n… 90 more rows …\n 96\n"));
    assert_null(strstr(out, " 50\n"));
    assert_non_null(strstr(out, "(100 rows)"));
    free(out);
    o.mode = TBL_CSV; /* files are never elided */
    out = render(t, &o);
    assert_non_null(strstr(out, "\n50\n"));
    free(out);
    tbl_free(t);

    t = tbl_new(1);
    tbl_set_col(t, 0, "地址");
    tbl_add_row(t);
    tbl_set(t, 0, TBL_STR, "浙江省舟山市普陀区沈家门街道", strlen("浙江省舟山市普陀区沈家门街道"));
    tbl_opts c = {.mode = TBL_BOX, .max_width = 11};
    out = render(t, &c);
    assert_non_null(strstr(out, "│ 浙江省舟山… │")); /* 10 columns + the ellipsis */
    check_aligned(out, "│", 0, 2);
    free(out);
    tbl_free(t);
}

static void test_modes(void **state) {
    (void)state;
    assert_int_equal(tbl_mode_parse("box"), TBL_BOX);
    assert_int_equal(tbl_mode_parse("jsonl"), TBL_JSONL);
    assert_int_equal(tbl_mode_parse("markdown"), TBL_MARKDOWN);
    assert_int_equal(tbl_mode_parse("xml"), -1);
    assert_string_equal(tbl_mode_name(TBL_LINE), "line");
    tbl_free(NULL);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_widths),
        cmocka_unit_test(test_box),
        cmocka_unit_test(test_plain_and_markdown),
        cmocka_unit_test(test_csv_json),
        cmocka_unit_test(test_elision_and_cuts),
        cmocka_unit_test(test_modes),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
