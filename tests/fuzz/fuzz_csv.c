/*
 * fuzz_csv.c — libFuzzer target for the CSV/TSV reader in core/csvfile.c: byte
 * order marks, UTF-8 / GB18030 / UTF-16 detection and conversion, quoting,
 * quoted line breaks, CR/LF/CRLF, ragged rows, blank lines.
 *
 * Built with clang -fsanitize=fuzzer,address,undefined by run_fuzz.sh, and
 * with the project compiler into fuzz_csv_replay (replay.c), which runs the
 * seed corpus in tests/fuzz/corpus/csv/ on every ctest run.
 *
 * The first input byte chooses the options (bit 0: TSV; bits 1-2: auto,
 * UTF-8 or GB18030); the rest is the file, handed to csv_read through a
 * memfd (csv_read maps a file by path). Properties checked:
 *  1. no over-read, leak or undefined behaviour (the sanitizers);
 *  2. the result is 0 or a GH_E* code with a message naming the file;
 *  3. every row has at least one cell; every cell is valid UTF-8 (whatever
 *     the input's encoding) and NUL-terminated at its length; rows start on
 *     lines that never go back; `done` never passes the file's size;
 *  4. round trip: a file read whole is written back with csv_writer (no
 *     formula guard) and read again, giving the same rows, cell for cell
 *     (rows of one empty cell aside: written back they are blank lines,
 *     which the reader skips by design; and a TSV file whose first cell
 *     starts with U+FEFF, which reads back as a byte order mark).
 * A violated property aborts, which libFuzzer reports as a crash.
 */
#include "codec.h"
#include "csvfile.h"
#include "err.h"
#include "fuzz.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

/* What a read saw: the rows flattened as (ncells, then len + bytes per cell). */
typedef struct seen {
    codec_buf rows;
    long last_line;
    uint64_t size;
    int nrows;
    int skip_blank; /* leave rows of one empty cell out of `rows` */
} seen;

static void put_u64(codec_buf *b, uint64_t v) {
    codec_buf_add(b, &v, sizeof v);
}

static int on_row(void *ctx, const csv_row *row) {
    seen *s = ctx;
    CHECK(row->ncells >= 1);
    CHECK(row->line >= 1 && row->line >= s->last_line);
    CHECK(row->done <= s->size);
    s->last_line = row->line;
    for (int i = 0; i < row->ncells; i++) {
        CHECK(row->cells[i][row->lens[i]] == 0);
        CHECK(csv_utf8_valid((const unsigned char *)row->cells[i], row->lens[i], NULL));
    }
    if (s->skip_blank && row->ncells == 1 && row->lens[0] == 0) {
        return 0;
    }
    s->nrows++;
    put_u64(&s->rows, (uint64_t)row->ncells);
    for (int i = 0; i < row->ncells; i++) {
        put_u64(&s->rows, row->lens[i]);
        codec_buf_add(&s->rows, row->cells[i], row->lens[i]);
    }
    return 0;
}

/* Reads bytes p[0..n) as a file through a memfd; *s gets what was seen. */
static int read_bytes(const void *p, size_t n, int format, int encoding, seen *s) {
    int fd = memfd_create("fuzz_csv", 0);
    if (fd < 0) {
        return -1000;
    }
    if (n && write(fd, p, n) != (ssize_t)n) {
        close(fd);
        return -1000;
    }
    char path[64];
    snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
    s->size = n;
    s->last_line = 1;
    csv_info info;
    int rc = csv_read(path, format, encoding, on_row, s, &info);
    close(fd);
    return rc;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size < 1) {
        return 0;
    }
    int format = data[0] & 1 ? CSV_TAB_SEP : CSV_COMMA_SEP;
    int encoding = (data[0] >> 1) % 3; /* CSV_ENC_AUTO, _UTF8, _GB18030 */
    seen a, b;
    memset(&a, 0, sizeof a);
    memset(&b, 0, sizeof b);
    codec_buf_init(&a.rows);
    codec_buf_init(&b.rows);
    a.skip_blank = b.skip_blank = 1;
    int rc = read_bytes(data + 1, size - 1, format, encoding, &a);
    if (rc == -1000) {
        goto out; /* no memfd: nothing tested */
    }
    if (rc != 0) {
        CHECK(rc < 0);
        CHECK(strstr(err_msg(rc), "/proc/self/fd/") != NULL);
        goto out;
    }
    CHECK(!a.rows.oom);
    /* A first cell starting with U+FEFF (possible after a UTF-16 byte order
     * mark) reads back as a UTF-8 byte order mark in a TSV file, which has
     * none of its own: the one case the round trip cannot hold. */
    if (format == CSV_TAB_SEP && a.rows.len >= 19 &&
        memcmp(a.rows.p + 16, "\xef\xbb\xbf", 3) == 0) {
        goto out;
    }
    /* write the rows back, read them again */
    char *text = NULL;
    size_t tn = 0;
    FILE *f = open_memstream(&text, &tn);
    CHECK(f != NULL);
    csv_writer w;
    csv_writer_init(&w, f, format, format == CSV_COMMA_SEP);
    const unsigned char *p = a.rows.p, *end = p ? p + a.rows.len : p;
    while (p < end) {
        uint64_t nc, len;
        memcpy(&nc, p, 8);
        p += 8;
        for (uint64_t i = 0; i < nc; i++) {
            memcpy(&len, p, 8);
            p += 8;
            csv_put(&w, (const char *)p, (size_t)len, 0);
            p += len;
        }
        csv_end_row(&w);
    }
    CHECK(fclose(f) == 0);
    rc = read_bytes(text, tn, format, CSV_ENC_UTF8, &b);
    if (rc != -1000) {
        if (rc != 0) {
            fprintf(stderr, "re-read failed: %s\n", err_msg(rc));
        }
        CHECK(rc == 0);
        CHECK(a.nrows == b.nrows);
        CHECK(a.rows.len == b.rows.len);
        CHECK(a.rows.len == 0 || memcmp(a.rows.p, b.rows.p, a.rows.len) == 0);
    }
    free(text);
out:
    codec_buf_free(&a.rows);
    codec_buf_free(&b.rows);
    err_clear();
    return 0;
}
