/*
 * test_sha.c — sha256_hex (core/sha256.c): the FIPS 180-4 test vectors,
 * and the CPU's SHA instructions agreeing with the plain loop on every
 * length around the block boundaries and on a large buffer. On a CPU
 * without SHA instructions both ways are the plain loop.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "runs.h"
#include "sha256.h"

#include <stdlib.h>
#include <string.h>

static void both(const void *p, size_t n, char hw[65], char plain[65]) {
    sha256_portable(0);
    sha256_hex(p, n, hw);
    sha256_portable(1);
    sha256_hex(p, n, plain);
    sha256_portable(0);
}

static void test_vectors(void **state) {
    (void)state;
    static const struct {
        const char *in, *out;
    } v[] = {
        {"", "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"},
        {"abc", "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"},
        {"abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq",
         "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1"},
    };
    char hw[65], plain[65];
    for (size_t i = 0; i < sizeof v / sizeof v[0]; i++) {
        both(v[i].in, strlen(v[i].in), hw, plain);
        assert_string_equal(hw, v[i].out);
        assert_string_equal(plain, v[i].out);
    }
    size_t n = 1000000;
    char *a = malloc(n);
    assert_non_null(a);
    memset(a, 'a', n);
    both(a, n, hw, plain);
    assert_string_equal(hw, "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
    assert_string_equal(plain, hw);
    free(a);
}

static void test_lengths_agree(void **state) {
    (void)state;
    size_t max = 3 << 20;
    unsigned char *p = malloc(max);
    assert_non_null(p);
    uint32_t x = 2463534242u;
    for (size_t i = 0; i < max; i++) { /* xorshift: every byte value */
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        p[i] = (unsigned char)x;
    }
    char hw[65], plain[65];
    for (size_t n = 0; n <= 300; n++) {
        both(p + n % 7, n, hw, plain); /* unaligned starts too */
        assert_string_equal(hw, plain);
    }
    both(p + 1, max - 1, hw, plain);
    assert_string_equal(hw, plain);
    free(p);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_vectors),
        cmocka_unit_test(test_lengths_agree),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
