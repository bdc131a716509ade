/*
 * pii.c — personal data: detection by declaration or name, and masking.
 *
 * The rules and their reasons are in pii.h. This file has no state and
 * calls nothing but the C library and libsodium's HMAC-SHA256 (pseudonyms),
 * so every layer (the store's definitions, export, the REPL through
 * lua_pii.c, run records, the federation shipper) can use it.
 */
#include "pii.h"

#include "parse.h"

#include <sodium.h>
#include <string.h>
#include <strings.h>

static const char *const kind_names[PII__COUNT] = {"none", "id",   "phone",
                                                   "name", "bank", "address"};

const char *pii_kind_name(int kind) {
    return kind >= 0 && kind < PII__COUNT ? kind_names[kind] : "?";
}

int pii_kind_of(const char *name) {
    for (int i = 0; i < PII__COUNT; i++) {
        if (strcmp(name, kind_names[i]) == 0) {
            return i;
        }
    }
    return -1;
}

/* ---- the guess ---------------------------------------------------------------------- */

/* Whole names (compared without case for ASCII). */
static const struct {
    const char *name;
    int kind;
} exact[] = {
    {"id_number", PII_ID},       {"id_no", PII_ID},           {"idno", PII_ID},
    {"id_card", PII_ID},         {"idcard", PII_ID},          {"证件号码", PII_ID},
    {"公民身份号码", PII_ID},    {"phone", PII_PHONE},        {"mobile", PII_PHONE},
    {"tel", PII_PHONE},          {"telephone", PII_PHONE},    {"cellphone", PII_PHONE},
    {"phone_number", PII_PHONE}, {"mobile_phone", PII_PHONE}, {"bank_account", PII_BANK},
    {"bank_card", PII_BANK},     {"bank_no", PII_BANK},       {"card_no", PII_BANK},
};

/* Parts of names: a suffix, a prefix or (for Chinese) anywhere. */
static const struct {
    const char *part;
    char where; /* 's' suffix, 'p' prefix, 'a' anywhere */
    int kind;
} parts[] = {
    {"id_number", 's', PII_ID},  {"身份证", 'a', PII_ID},          {"_phone", 's', PII_PHONE},
    {"_mobile", 's', PII_PHONE}, {"_tel", 's', PII_PHONE},         {"phone_", 'p', PII_PHONE},
    {"手机", 'a', PII_PHONE},    {"电话", 'a', PII_PHONE},         {"银行卡", 'a', PII_BANK},
    {"银行账号", 'a', PII_BANK}, {"_bank_account", 's', PII_BANK}, {"_card_no", 's', PII_BANK},
};

static int ends_with(const char *s, size_t n, const char *t) {
    size_t m = strlen(t);
    return n >= m && strncasecmp(s + n - m, t, m) == 0;
}

int pii_guess(const char *field) {
    if (!field) {
        return PII_NONE;
    }
    size_t n = strlen(field);
    for (size_t i = 0; i < sizeof exact / sizeof exact[0]; i++) {
        if (strcasecmp(field, exact[i].name) == 0) {
            return exact[i].kind;
        }
    }
    for (size_t i = 0; i < sizeof parts / sizeof parts[0]; i++) {
        const char *p = parts[i].part;
        int hit = parts[i].where == 's'   ? ends_with(field, n, p)
                  : parts[i].where == 'p' ? strncasecmp(field, p, strlen(p)) == 0
                                          : strstr(field, p) != NULL;
        if (hit) {
            return parts[i].kind;
        }
    }
    return PII_NONE;
}

static int all_digits(const char *s, size_t n) {
    for (size_t i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9') {
            return 0;
        }
    }
    return n > 0;
}

int pii_guess_value(const char *s, size_t n) {
    char check;
    if (!s) {
        return PII_NONE;
    }
    if (n == 18 && all_digits(s, 17) && parse_mod11_2(s, 17, &check) == 0 &&
        (s[17] == check || (check == 'X' && s[17] == 'x'))) {
        return PII_ID;
    }
    if (n == 11 && all_digits(s, n) && s[0] == '1' && s[1] >= '3') {
        return PII_PHONE;
    }
    if (n >= 16 && n <= 19 && all_digits(s, n)) {
        int sum = 0;
        for (size_t i = 0; i < n; i++) {
            int d = s[n - 1 - i] - '0';
            if (i % 2 == 1 && (d *= 2) > 9) {
                d -= 9;
            }
            sum += d;
        }
        if (sum % 10 == 0) {
            return PII_BANK;
        }
    }
    return PII_NONE;
}

int pii_kind_for(int declared, const char *name, const char *label) {
    if (declared != PII_UNDECLARED) {
        return declared;
    }
    int k = pii_guess(name);
    return k != PII_NONE ? k : pii_guess(label);
}

int pii_hidden(int kind) {
    return kind == PII_ID || kind == PII_PHONE || kind == PII_BANK;
}

/* ---- masking ------------------------------------------------------------------------ */

/* Length of the UTF-8 character starting at s (1 for a stray byte), never past n. */
static size_t char_len(const unsigned char *s, size_t n) {
    size_t k = *s < 0x80 ? 1 : *s >= 0xf0 ? 4 : *s >= 0xe0 ? 3 : *s >= 0xc0 ? 2 : 1;
    return k <= n ? k : n;
}

static size_t count_chars(const char *s, size_t n) {
    size_t c = 0;
    for (size_t i = 0; i < n; i += char_len((const unsigned char *)s + i, n - i)) {
        c++;
    }
    return c;
}

/* Byte offset of character number `k` (0-based) of s[0..n). */
static size_t offset_of(const char *s, size_t n, size_t k) {
    size_t i = 0;
    while (k-- > 0 && i < n) {
        i += char_len((const unsigned char *)s + i, n - i);
    }
    return i;
}

/* Keeps `head` characters, masks the middle with one '*' per character,
 * keeps `tail`; a value too short to hide at least as much as it shows is
 * masked whole but for a tail of 2 when it has 5 or more characters. */
static size_t keep(const char *s, size_t n, size_t head, size_t tail, char *out) {
    size_t c = count_chars(s, n);
    if (c <= head + tail) {
        head = 0;
        tail = c > 4 ? 2 : 0;
    }
    size_t h = offset_of(s, n, head), t = offset_of(s, n, c - tail), o = 0;
    memcpy(out, s, h);
    o = h;
    for (size_t i = head; i < c - tail; i++) {
        out[o++] = '*';
    }
    memcpy(out + o, s + t, n - t);
    o += n - t;
    out[o] = 0;
    return o;
}

static int has_digit(const char *s, size_t n) {
    for (size_t i = 0; i < n; i++) {
        if (s[i] >= '0' && s[i] <= '9') {
            return 1;
        }
    }
    return 0;
}

size_t pii_mask(int kind, const char *s, size_t n, char *out) {
    size_t c;
    switch (kind) {
    case PII_ID:
    case PII_PHONE:
    case PII_BANK:
        if (!has_digit(s, n)) { /* "无", "unknown": no number to hide */
            break;
        }
        return keep(s, n, kind == PII_ID ? 6 : kind == PII_PHONE ? 3 : 4, 4, out);
    case PII_NAME:
        c = count_chars(s, n);
        if (c == 0) {
            break;
        }
        if (c <= 2) { /* 王* ; a one-character name is masked whole */
            return keep(s, n, c - 1, 0, out);
        }
        return keep(s, n, 1, 1, out); /* 张*明, 欧**明 */
    case PII_ADDRESS: {
        c = count_chars(s, n);
        size_t head = c / 2 < 6 ? c / 2 : 6, h = offset_of(s, n, head);
        memcpy(out, s, h);
        memcpy(out + h, "******", 7);
        return h + 6;
    }
    default:
        break;
    }
    memcpy(out, s, n);
    out[n] = 0;
    return n;
}

int pii_pseudonym(const unsigned char *key, size_t keylen, const char *s, size_t n,
                  char out[PII_PSEUDONYM_LEN + 1]) {
    static const char hex[] = "0123456789abcdef";
    unsigned char mac[crypto_auth_hmacsha256_BYTES];
    crypto_auth_hmacsha256_state st;
    if (keylen < 16) {
        return -1;
    }
    crypto_auth_hmacsha256_init(&st, key, keylen);
    crypto_auth_hmacsha256_update(&st, (const unsigned char *)s, n);
    crypto_auth_hmacsha256_final(&st, mac);
    for (int i = 0; i < PII_PSEUDONYM_LEN / 2; i++) {
        out[2 * i] = hex[mac[i] >> 4];
        out[2 * i + 1] = hex[mac[i] & 15];
    }
    out[PII_PSEUDONYM_LEN] = 0;
    sodium_memzero(&st, sizeof st);
    return 0;
}
