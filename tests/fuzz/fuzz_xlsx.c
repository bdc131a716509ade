/*
 * fuzz_xlsx.c — libFuzzer target for the .xlsx reader's XML parsing
 * (plugins/xlsx/xlsx_read.c): the sheet row by row (expat suspended and
 * resumed at each row), shared strings (rich text, phonetic runs, _xHHHH_
 * escapes), styles (which formats are dates), the workbook (sheet names),
 * and how number cells become text.
 *
 * Built with clang -fsanitize=fuzzer,address,undefined by run_fuzz.sh, and
 * with the project compiler into fuzz_xlsx_replay (replay.c), which runs the
 * seed corpus in tests/fuzz/corpus/xlsx/ on every ctest run.
 *
 * The input is up to four XML parts separated by NUL bytes (XML has none):
 * the sheet, the shared strings, the styles, the workbook; a part left out
 * is a small valid default. They are handed to xr_open_parts with fixed
 * relationships (the zip layer is minizip's, not fuzzed here). Properties:
 *  1. no over-read, leak or undefined behaviour (the sanitizers);
 *  2. xr_open_parts and xr_next_row either succeed or fail with a message
 *     that names the workbook;
 *  3. every row returned has 1..16384 cells, each NUL-terminated at its
 *     length, at most 1 MiB, and the last one not empty; row numbers go up;
 *  4. a number's text (xr_number_text) is short, and rendering it again
 *     gives it back unchanged.
 * A violated property aborts, which libFuzzer reports as a crash.
 */
#include "days.h"
#include "xlsx_read.h"
#include "fuzz.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAIN "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
#define REL "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
#define PKG "http://schemas.openxmlformats.org/package/2006/relationships"

static const char root_rels[] =
    "<Relationships xmlns=\"" PKG "\"><Relationship Id=\"rId1\" Type=\"" REL
    "/officeDocument\" Target=\"xl/workbook.xml\"/></Relationships>";
static const char wb_rels[] =
    "<Relationships xmlns=\"" PKG "\"><Relationship Id=\"rId1\" Type=\"" REL
    "/worksheet\" Target=\"worksheets/sheet1.xml\"/><Relationship Id=\"rId2\" Type=\"" REL
    "/styles\" Target=\"styles.xml\"/><Relationship Id=\"rId3\" Type=\"" REL
    "/sharedStrings\" Target=\"sharedStrings.xml\"/></Relationships>";
static const char def_sheet[] = "<worksheet xmlns=\"" MAIN "\"><sheetData/></worksheet>";
static const char def_sst[] = "<sst xmlns=\"" MAIN "\"><si><t>a</t></si></sst>";
static const char def_styles[] = "<styleSheet xmlns=\"" MAIN "\"><cellXfs><xf numFmtId=\"0\"/>"
                                 "<xf numFmtId=\"14\"/></cellXfs></styleSheet>";
static const char def_wb[] = "<workbook xmlns=\"" MAIN "\" xmlns:r=\"" REL "\"><sheets>"
                             "<sheet name=\"s\" sheetId=\"1\" r:id=\"rId1\"/></sheets></workbook>";

static void *m_malloc(size_t n) {
    return malloc(n ? n : 1);
}

static void *m_realloc(void *p, size_t n) {
    return realloc(p, n ? n : 1);
}

static const xr_mem mem = {m_malloc, m_realloc, free, days_from_date, days_to_date};

static void check_number(const char *s, size_t n) {
    char out[64], again[64];
    size_t k = xr_number_text(s, n, out);
    if (k == (size_t)-1) {
        return;
    }
    CHECK(k < 40 && out[k] == 0 && strlen(out) == k);
    size_t k2 = xr_number_text(out, k, again);
    CHECK(k2 == k && memcmp(out, again, k) == 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    const char *p = (const char *)data, *end = p + size;
    const char *part[4] = {def_sheet, def_sst, def_styles, def_wb};
    size_t len[4] = {sizeof def_sheet - 1, sizeof def_sst - 1, sizeof def_styles - 1,
                     sizeof def_wb - 1};
    for (int i = 0; i < 4 && p < end; i++) {
        const char *z = memchr(p, 0, (size_t)(end - p));
        const char *e = z ? z : end;
        part[i] = p;
        len[i] = (size_t)(e - p);
        p = z ? z + 1 : end;
    }
    if (len[0] < 48) {
        check_number(part[0], len[0]);
    }
    xr_part parts[6] = {
        {"_rels/.rels", root_rels, sizeof root_rels - 1},
        {"xl/_rels/workbook.xml.rels", wb_rels, sizeof wb_rels - 1},
        {"xl/worksheets/sheet1.xml", part[0], len[0]},
        {"xl/sharedStrings.xml", part[1], len[1]},
        {"xl/styles.xml", part[2], len[2]},
        {"xl/workbook.xml", part[3], len[3]},
    };
    char err[700];
    xr_book *b;
    if (xr_open_parts("fuzz.xlsx", parts, 6, "", &mem, &b, err, sizeof err) != 0) {
        CHECK(strncmp(err, "fuzz.xlsx", 9) == 0);
        return 0;
    }
    CHECK(xr_sheet_name(b) != NULL && xr_sheet_names(b) != NULL);
    uint32_t last = 0;
    xr_row row;
    int rc;
    while ((rc = xr_next_row(b, &row, err, sizeof err)) == 1) {
        CHECK(row.number > last);
        last = row.number;
        CHECK(row.ncells >= 1 && row.ncells <= 16384);
        CHECK(row.lens[row.ncells - 1] > 0);
        for (int i = 0; i < row.ncells; i++) {
            CHECK(row.lens[i] <= (1u << 20) + 64);
            CHECK(row.cells[i][row.lens[i]] == 0);
            if (row.lens[i] < 48) {
                check_number(row.cells[i], row.lens[i]);
            }
        }
        double f = xr_progress(b);
        CHECK(f >= 0 && f <= 1);
    }
    if (rc < 0) {
        CHECK(strncmp(err, "fuzz.xlsx", 9) == 0);
        CHECK(xr_next_row(b, &row, err, sizeof err) == -1); /* failed stays failed */
    } else {
        CHECK(xr_next_row(b, &row, err, sizeof err) == 0); /* the end stays the end */
    }
    xr_close(b);
    return 0;
}
