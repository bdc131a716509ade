/*
 * pii.h — personal data: which fields hold it, and how it is masked.
 *
 * The one home of the personal-data rule. Every display (the REPL), export
 * (gonghui export, export.* in scripts), run record and public list (公示)
 * asks this module; nothing else keeps a list of field names or a masking
 * rule.
 *
 * Invariants:
 *  1. A field's kind is what its definition declares (`pii = 'id'` in the
 *     field's spec, stored with the definition); only a field with no
 *     declaration gets the name-based guess (pii_guess), so definitions
 *     written before declarations existed behave as before.
 *  2. The guess never says PII_NAME or PII_ADDRESS: `name` is as often a
 *     union's or an enterprise's name as a person's. Those kinds come only
 *     from a declaration.
 *  3. Hidden by default (pii_hidden): ID numbers, phones and bank accounts,
 *     in every display and export unless the user asks (and the asking is
 *     recorded). Names and addresses are shown to the clerks who work with
 *     them and masked in public lists (PII_PUBLIC).
 *  4. Masking never lengthens a value by more than PII_MASK_EXTRA bytes and
 *     never shows more than it hides: a value too short to keep a head and a
 *     tail is masked whole.
 */
#ifndef GH_PII_H
#define GH_PII_H

#include <stddef.h>

enum pii_kind {
    PII_NONE,    /* not personal data */
    PII_ID,      /* resident ID number: 330481********1234 */
    PII_PHONE,   /* mobile or landline: 138****5678 */
    PII_NAME,    /* a person's name: 张*明, 王* */
    PII_BANK,    /* bank card or account: 6222**********1234 */
    PII_ADDRESS, /* a home address: 浙江省嘉兴市****** */
    PII__COUNT
};

/* A field whose kind is not declared (store_field.pii). */
#define PII_UNDECLARED (-1)

/* The most bytes pii_mask may add to a value: out needs n + PII_MASK_EXTRA + 1. */
#define PII_MASK_EXTRA 8

/* The short name of a kind ("id", "phone", "name", "bank", "address"; "none"
 * for PII_NONE), and the kind of such a name, or -1. Names are what a
 * definition writes: fields = { id_number = { type = 'string', pii = 'id' } }. */
const char *pii_kind_name(int kind);
int pii_kind_of(const char *name);

/* The name-based default for fields with no declaration: id_number, 身份证号,
 * 证件号码 ... are PII_ID (resident ID numbers: import checks them); phone, mobile, *_phone, 手机, 电话 ... PII_PHONE;
 * bank_account, bank_card, 银行卡 ... PII_BANK; anything else PII_NONE
 * (invariant 2). `field` may be NULL (PII_NONE). */
int pii_guess(const char *field);

/* The kind a value looks like when nothing names it (a run's parameters,
 * `id=330481199001081234`): a resident ID number with a right check
 * character -> PII_ID; a mobile number (11 digits, 1 then 3-9) -> PII_PHONE;
 * 16 to 19 digits with a right Luhn check digit (bank cards) -> PII_BANK;
 * anything else PII_NONE. */
int pii_guess_value(const char *s, size_t n);

/* A field's kind: `declared` when it is not PII_UNDECLARED, else the guess
 * from its name, else from its label (a field labelled 身份证号). */
int pii_kind_for(int declared, const char *name, const char *label);

/* 1 when values of `kind` are hidden in displays and exports by default
 * (invariant 3). */
int pii_hidden(int kind);

/* Masks s[0..n) as a value of `kind` into out (at least n + PII_MASK_EXTRA
 * + 1 bytes), NUL-terminated; returns its length. PII_NONE copies s. Works
 * on UTF-8 characters, never splitting one. */
size_t pii_mask(int kind, const char *s, size_t n, char *out);

/* The hex length of a pseudonym. 32 hex digits = 128 bits: no collision in
 * a province's hundred million members short of 2^64 of them. */
#define PII_PSEUDONYM_LEN 32

/* A pseudonymous key for s[0..n) under `key` (keylen bytes, at least 16):
 * the first 128 bits of HMAC-SHA256(key, s) in hex, NUL-terminated, into out
 * (PII_PSEUDONYM_LEN + 1 bytes). The same value and key give the same
 * pseudonym everywhere (so a province counts a member once across its
 * federations); without the key it cannot be reversed or recomputed from a
 * guessed ID number. Returns 0, or -1 when the key is too short. */
int pii_pseudonym(const unsigned char *key, size_t keylen, const char *s, size_t n,
                  char out[PII_PSEUDONYM_LEN + 1]);

#endif
