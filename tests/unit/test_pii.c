/*
 * test_pii.c — core/pii.c: the name-based guess, declared kinds winning over
 * it, which kinds are hidden by default, and every masking rule on ASCII
 * and Chinese values, short values and values with nothing to hide.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "pii.h"

#include <string.h>

static const char *masked(int kind, const char *s) {
    static char out[256];
    size_t n = pii_mask(kind, s, strlen(s), out);
    assert_int_equal(n, strlen(out));
    assert_true(n <= strlen(s) + PII_MASK_EXTRA);
    return out;
}

static void test_guess(void **state) {
    (void)state;
    assert_int_equal(pii_guess("id_number"), PII_ID);
    assert_int_equal(pii_guess("ID_Number"), PII_ID);
    assert_int_equal(pii_guess("身份证号"), PII_ID);
    assert_int_equal(pii_guess("spouse_id_number"), PII_ID);
    assert_int_equal(pii_guess("手机"), PII_PHONE);
    assert_int_equal(pii_guess("联系电话"), PII_PHONE);
    assert_int_equal(pii_guess("cellphone"), PII_PHONE);
    assert_int_equal(pii_guess("home_phone"), PII_PHONE);
    assert_int_equal(pii_guess("bank_account"), PII_BANK);
    assert_int_equal(pii_guess("工资银行卡号"), PII_BANK);
    /* never a name or an address from the guess: `name` is as often a union's */
    assert_int_equal(pii_guess("name"), PII_NONE);
    assert_int_equal(pii_guess("address"), PII_NONE);
    assert_int_equal(pii_guess("telescope"), PII_NONE);
    assert_int_equal(pii_guess(NULL), PII_NONE);
}

static void test_declared(void **state) {
    (void)state;
    assert_int_equal(pii_kind_for(PII_UNDECLARED, "phone", NULL), PII_PHONE);
    assert_int_equal(pii_kind_for(PII_UNDECLARED, "f3", "身份证号码"), PII_ID);
    assert_int_equal(pii_kind_for(PII_NONE, "phone", NULL), PII_NONE); /* pii = false */
    assert_int_equal(pii_kind_for(PII_NAME, "holder", NULL), PII_NAME);
    assert_int_equal(pii_kind_for(PII_BANK, "acct", NULL), PII_BANK);
    assert_true(pii_hidden(PII_ID) && pii_hidden(PII_PHONE) && pii_hidden(PII_BANK));
    assert_false(pii_hidden(PII_NAME) || pii_hidden(PII_ADDRESS) || pii_hidden(PII_NONE));
    for (int k = 0; k < PII__COUNT; k++) {
        assert_int_equal(pii_kind_of(pii_kind_name(k)), k);
    }
    assert_int_equal(pii_kind_of("passport"), -1);
}

static void test_mask(void **state) {
    (void)state;
    assert_string_equal(masked(PII_ID, "330481199001011236"), "330481********1236");
    assert_string_equal(masked(PII_PHONE, "13800001111"), "138****1111");
    assert_string_equal(masked(PII_PHONE, "0573-82345678"), "057******5678");
    assert_string_equal(masked(PII_BANK, "6222021234567890123"), "6222***********0123");
    /* too short to keep a head and a tail: hidden but for 2 at the end */
    assert_string_equal(masked(PII_PHONE, "12345"), "***45");
    assert_string_equal(masked(PII_PHONE, "1234"), "****");
    /* nothing to hide */
    assert_string_equal(masked(PII_PHONE, "无"), "无");
    assert_string_equal(masked(PII_ID, ""), "");
    /* full-width digits: characters, never split bytes */
    assert_string_equal(masked(PII_PHONE, "１３８０００１１１１1"), "１３８****１１１1");
    /* names: 张*明, 王*, *; a long name keeps its first and last */
    assert_string_equal(masked(PII_NAME, "张三明"), "张*明");
    assert_string_equal(masked(PII_NAME, "王五"), "王*");
    assert_string_equal(masked(PII_NAME, "李"), "*");
    assert_string_equal(masked(PII_NAME, "欧阳娜娜"), "欧**娜");
    assert_string_equal(masked(PII_NAME, "Ann Lee"), "A*****e");
    /* addresses: the start (province, city) and a fixed tail that hides the length */
    assert_string_equal(masked(PII_ADDRESS, "浙江省嘉兴市南湖区建设街道1号"), "浙江省嘉兴市******");
    assert_string_equal(masked(PII_ADDRESS, "1号"), "1******");
    assert_string_equal(masked(PII_NONE, "anything"), "anything");
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_guess),
        cmocka_unit_test(test_declared),
        cmocka_unit_test(test_mask),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
