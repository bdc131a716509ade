/*
 * sha256.h — SHA-256 (sha256.c).
 */
#ifndef GH_SHA256_H
#define GH_SHA256_H

#include <stddef.h>

/* The SHA-256 of p[0..n) as 64 lowercase hex digits and a NUL in out. */
void sha256_hex(const void *p, size_t n, char out[65]);

/* With on != 0, SHA-256 is computed without the CPU's SHA instructions even
 * where there are some (tests check both ways agree); 0 goes back to using
 * them where the CPU has them. */
void sha256_portable(int on);

#endif
