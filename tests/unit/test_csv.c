/*
 * test_csv.c — unit tests of core/csvfile.c (reading and writing delimited text)
 * and of the personal-data kinds and masking import.c and export.c share
 * (ID numbers, dates and yuan in cells: test_parse.c).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "csvfile.h"
#include "err.h"
#include "export.h"
#include "import.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* ---- reading ------------------------------------------------------------------------ */

typedef struct rows {
    char text[4096]; /* rows as "line:cell|cell|...\n" */
    int n;
} rows;

static int collect(void *ctx, const csv_row *row) {
    rows *r = ctx;
    size_t k = strlen(r->text);
    k += (size_t)snprintf(r->text + k, sizeof r->text - k, "%ld:", row->line);
    for (int i = 0; i < row->ncells; i++) {
        k += (size_t)snprintf(r->text + k, sizeof r->text - k, "%s%s", i ? "|" : "", row->cells[i]);
        assert_int_equal(strlen(row->cells[i]), row->lens[i]);
    }
    snprintf(r->text + k, sizeof r->text - k, "\n");
    r->n++;
    return 0;
}

static const char *read_text(const char *bytes, size_t n, int format, int enc, csv_info *info,
                             int *rc) {
    static rows r;
    char path[] = "/tmp/gh_test_csv_XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, bytes, n), (ssize_t)n);
    close(fd);
    memset(&r, 0, sizeof r);
    *rc = csv_read(path, format, enc, collect, &r, info);
    unlink(path);
    return r.text;
}

#define READ(lit, fmt, enc, info, rc) read_text(lit, sizeof(lit) - 1, fmt, enc, info, rc)

static void test_read_plain_and_quoted(void **state) {
    (void)state;
    int rc;
    csv_info info;
    const char *t = READ("a,b,c\r\n1, x ,\"y,\"\"z\"\"\"\r\n\r\n\"multi\nline\",2\n3",
                         CSV_COMMA_SEP, CSV_ENC_AUTO, &info, &rc);
    assert_int_equal(rc, 0);
    assert_string_equal(info.encoding, "UTF-8");
    /* unquoted cells lose their end spaces; the quoted newline keeps its line count right */
    assert_string_equal(t, "1:a|b|c\n2:1|x|y,\"z\"\n4:multi\nline|2\n6:3\n");
}

static void test_read_bom_tsv(void **state) {
    (void)state;
    int rc;
    csv_info info;
    const char *t =
        READ("\xef\xbb\xbf名\t值\n张 三\t\"a\tb\"\n", CSV_TAB_SEP, CSV_ENC_AUTO, &info, &rc);
    assert_int_equal(rc, 0);
    assert_string_equal(info.encoding, "UTF-8 with BOM");
    assert_string_equal(t, "1:名|值\n2:张 三|a\tb\n");
}

static void test_read_gb18030(void **state) {
    (void)state;
    int rc;
    csv_info info = {0};
    /* 王芳 in GB18030 */
    const char *t = READ("n\n\xcd\xf5\xb7\xbc\n", CSV_COMMA_SEP, CSV_ENC_AUTO, &info, &rc);
    assert_int_equal(rc, 0);
    assert_string_equal(info.encoding, "GB18030");
    assert_true(info.guessed);
    assert_string_equal(t, "1:n\n2:王芳\n");
    READ("n\n\xcd\xf5\xb7\xbc\n", CSV_COMMA_SEP, CSV_ENC_UTF8, NULL, &rc);
    assert_int_equal(rc, GH_ECORRUPT);
    assert_non_null(strstr(err_msg(rc), "line 2"));
}

static void test_read_unterminated(void **state) {
    (void)state;
    int rc;
    READ("a,b\n1,\"open\n2,3\n", CSV_COMMA_SEP, CSV_ENC_AUTO, NULL, &rc);
    assert_int_equal(rc, GH_ECORRUPT);
    assert_non_null(strstr(err_msg(rc), "line 2: a quoted cell starts here"));
}

static void test_utf8_valid(void **state) {
    (void)state;
    size_t bad;
    assert_true(csv_utf8_valid((const unsigned char *)"plain ascii text, long enough", 29, NULL));
    assert_true(csv_utf8_valid((const unsigned char *)"王芳😀", 10, NULL));
    assert_false(csv_utf8_valid((const unsigned char *)"abc\xc0\x80", 5, &bad)); /* overlong */
    assert_int_equal(bad, 3);
    assert_false(csv_utf8_valid((const unsigned char *)"\xed\xa0\x80", 3, NULL)); /* surrogate */
    assert_false(csv_utf8_valid((const unsigned char *)"\xe7\x8e", 2, NULL));     /* cut off */
}

/* ---- writing ------------------------------------------------------------------------ */

static void test_write(void **state) {
    (void)state;
    char *buf = NULL;
    size_t n = 0;
    FILE *f = open_memstream(&buf, &n);
    csv_writer w;
    csv_writer_init(&w, f, CSV_COMMA_SEP, 1);
    csv_put(&w, "plain", 5, 1);
    csv_put(&w, "a,b", 3, 1);
    csv_put(&w, "say \"hi\"", 8, 1);
    csv_put(&w, "=SUM(A1)", 8, 1);
    csv_put(&w, "-5", 2, 0);
    csv_put(&w, "'x", 2, 1);
    csv_put(&w, " pad", 4, 1);
    csv_put(&w, "", 0, 1);
    csv_end_row(&w);
    fclose(f);
    assert_string_equal(
        buf, "\xef\xbb\xbfplain,\"a,b\",\"say \"\"hi\"\"\",'=SUM(A1),-5,''x,\" pad\",\r\n");
    free(buf);
    assert_int_equal(csv_unguard("'=SUM(A1)", 9), 1);
    assert_int_equal(csv_unguard("''x", 3), 1);
    assert_int_equal(csv_unguard("'x", 2), 0);
    assert_int_equal(csv_unguard("=x", 2), 0);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_read_plain_and_quoted),
        cmocka_unit_test(test_read_bom_tsv),
        cmocka_unit_test(test_read_gb18030),
        cmocka_unit_test(test_read_unterminated),
        cmocka_unit_test(test_utf8_valid),
        cmocka_unit_test(test_write),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
