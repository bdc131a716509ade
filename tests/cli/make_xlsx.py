#!/usr/bin/env python3
"""make_xlsx.py KIND OUT [ARGS] — .xlsx files written by hand (zipfile, the
XML spelled out), shaped like what Excel writes, for tests/cli/xlsx_import.sh.

  excel OUT ID1 ID2 ID3   a members sheet '会员' the way Excel saves one:
                          shared strings (rich-text runs, a phonetic run,
                          xml:space), inline strings, dates as numbers in a
                          date style (built-in 14 and a custom 年月日
                          format), ID numbers as text and one as a number
                          (3.30481199001012E+17), cells skipped with r=,
                          Chinese headers, a blank row; a hidden sheet
                          '说明' before it and a sheet 'Other' after
  cells OUT               one sheet of odd cells: numbers, booleans, errors,
                          formulas, ISO dates, escapes, 1900 leap-year bug
  cells1904 OUT           the same dates in the 1904 date system
  big OUT N ID            a header and N member rows with inline strings
                          (no shared strings: memory must not grow with N)
  titled OUT              a title row merged across (2024年会员花名册), the header on
                          row 3 below a blank row, two goods
  nozip OUT               text, not a zip archive
  noworkbook OUT          a zip archive without xl/workbook.xml
  truncated OUT           a workbook whose sheet XML stops mid-row
  doctype OUT             a workbook whose sheet has a DOCTYPE (an XML bomb)
  badsst OUT              a cell pointing past the shared strings
  prefixed OUT            every element with an x: prefix, no _rels/.rels
"""
import sys
import zipfile

NS = 'http://schemas.openxmlformats.org/spreadsheetml/2006/main'
RNS = 'http://schemas.openxmlformats.org/officeDocument/2006/relationships'
PNS = 'http://schemas.openxmlformats.org/package/2006/relationships'
WS = RNS + '/worksheet'


def esc(s):
    return s.replace('&', '&amp;').replace('<', '&lt;').replace('>', '&gt;')


def content_types(nsheets):
    sheets = ''.join(
        '<Override PartName="/xl/worksheets/sheet%d.xml" ContentType="application/'
        'vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/>' % (i + 1)
        for i in range(nsheets))
    return ('<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
            '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
            '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.'
            'relationships+xml"/><Default Extension="xml" ContentType="application/xml"/>'
            '<Override PartName="/xl/workbook.xml" ContentType="application/vnd.openxmlformats-'
            'officedocument.spreadsheetml.sheet.main+xml"/>' + sheets + '</Types>')


ROOT_RELS = ('<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
             '<Relationships xmlns="%s"><Relationship Id="rId1" Type="%s/officeDocument" '
             'Target="xl/workbook.xml"/></Relationships>' % (PNS, RNS))


def workbook(names, date1904=False):
    pr = '<workbookPr date1904="1"/>' if date1904 else '<workbookPr defaultThemeVersion="164011"/>'
    # a name starting with ~ is a hidden sheet
    sheets = ''.join('<sheet name="%s" sheetId="%d"%s r:id="rId%d"/>' %
                     (esc(n.lstrip('~')), i + 1, ' state="hidden"' if n[0] == '~' else '', i + 1)
                     for i, n in enumerate(names))
    return ('<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
            '<workbook xmlns="%s" xmlns:r="%s">%s<bookViews><workbookView/></bookViews>'
            '<sheets>%s</sheets><calcPr calcId="191029"/></workbook>' % (NS, RNS, pr, sheets))


def workbook_rels(nsheets):
    rels = ''.join('<Relationship Id="rId%d" Type="%s" Target="worksheets/sheet%d.xml"/>' %
                   (i + 1, WS, i + 1) for i in range(nsheets))
    n = nsheets
    rels += ('<Relationship Id="rId%d" Type="%s/styles" Target="styles.xml"/>'
             '<Relationship Id="rId%d" Type="%s/sharedStrings" Target="/xl/sharedStrings.xml"/>'
             '<Relationship Id="rId%d" Type="%s/theme" Target="theme/theme1.xml"/>' %
             (n + 1, RNS, n + 2, RNS, n + 3, RNS))
    return ('<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
            '<Relationships xmlns="%s">%s</Relationships>' % (PNS, rels))


# cellXfs: 0 General, 1 built-in date 14, 2 custom 年月日, 3 text (@), 4 date-time 22,
# 5 a number format with "d" in quotes (not a date), 6 time h:mm, 7 elapsed [h]:mm
STYLES = ('<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
          '<styleSheet xmlns="%s"><numFmts count="3">'
          '<numFmt numFmtId="176" formatCode="yyyy&quot;年&quot;m&quot;月&quot;d&quot;日&quot;"/>'
          '<numFmt numFmtId="177" formatCode="0.00&quot; days&quot;"/>'
          '<numFmt numFmtId="178" formatCode="[h]:mm"/></numFmts>'
          '<fonts count="1"><font><sz val="11"/><name val="等线"/></font></fonts>'
          '<fills count="1"><fill><patternFill patternType="none"/></fill></fills>'
          '<borders count="1"><border/></borders>'
          '<cellStyleXfs count="2"><xf numFmtId="0" fontId="0"/><xf numFmtId="14" fontId="0"/>'
          '</cellStyleXfs>'
          '<cellXfs count="8"><xf numFmtId="0" fontId="0" xfId="0"/>'
          '<xf numFmtId="14" fontId="0" xfId="0" applyNumberFormat="1"/>'
          '<xf numFmtId="176" fontId="0" xfId="0" applyNumberFormat="1"/>'
          '<xf numFmtId="49" fontId="0" xfId="0" applyNumberFormat="1"/>'
          '<xf numFmtId="22" fontId="0" xfId="0" applyNumberFormat="1"/>'
          '<xf numFmtId="177" fontId="0" xfId="0" applyNumberFormat="1"/>'
          '<xf numFmtId="20" fontId="0" xfId="0" applyNumberFormat="1"/>'
          '<xf numFmtId="178" fontId="0" xfId="0" applyNumberFormat="1"/></cellXfs>'
          '<dxfs count="1"><dxf><numFmt numFmtId="14" formatCode="0"/></dxf></dxfs>'
          '</styleSheet>' % NS)


def sst(items):
    """items: plain strings, or raw <si> bodies given as ('raw', xml)."""
    body = ''
    for it in items:
        if isinstance(it, tuple):
            body += '<si>%s</si>' % it[1]
        else:
            sp = ' xml:space="preserve"' if it != it.strip() else ''
            body += '<si><t%s>%s</t></si>' % (sp, esc(it))
    return ('<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
            '<sst xmlns="%s" count="%d" uniqueCount="%d">%s</sst>' %
            (NS, len(items), len(items), body))


def sheet(rows_xml, dim='A1'):
    return ('<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
            '<worksheet xmlns="%s" xmlns:r="%s" xmlns:mc="http://schemas.openxmlformats.org/'
            'markup-compatibility/2006"><dimension ref="%s"/><sheetViews><sheetView '
            'workbookViewId="0"><pane ySplit="1" topLeftCell="A2" activePane="bottomLeft" '
            'state="frozen"/></sheetView></sheetViews><sheetFormatPr defaultRowHeight="14.25"/>'
            '<cols><col min="1" max="3" width="20" customWidth="1"/></cols>'
            '<sheetData>%s</sheetData><mergeCells count="0"/><pageMargins left="0.7" '
            'right="0.7" top="0.75" bottom="0.75" header="0.3" footer="0.3"/></worksheet>' %
            (NS, RNS, dim, rows_xml))


def write(out, parts):
    with zipfile.ZipFile(out, 'w', zipfile.ZIP_DEFLATED) as z:
        for name, data in parts:
            z.writestr(name, data)


def book(out, names, sheets, strings, date1904=False):
    parts = [('[Content_Types].xml', content_types(len(sheets))), ('_rels/.rels', ROOT_RELS),
             ('xl/workbook.xml', workbook(names, date1904)),
             ('xl/_rels/workbook.xml.rels', workbook_rels(len(sheets))),
             ('xl/styles.xml', STYLES), ('xl/sharedStrings.xml', sst(strings)),
             ('xl/theme/theme1.xml', '<a:theme xmlns:a="http://schemas.openxmlformats.org/'
              'drawingml/2006/main" name="Office"/>')]
    for i, s in enumerate(sheets):
        parts.append(('xl/worksheets/sheet%d.xml' % (i + 1), s))
    write(out, parts)


def excel(out, id1, id2, id3):
    strings = ['会员编号', '姓名', '身份证号', '出生日期', '手机', '镇街', '积分', '备注',
               ('raw', '<r><rPr><b/><sz val="11"/></rPr><t>王</t></r><r><rPr><sz val="11"/>'
                       '</rPr><t>芳</t></r><rPh sb="0" eb="1"><t>ワン</t></rPh>'
                       '<phoneticPr fontId="1"/>'),
               id1, '硖石街道', ' 前后有空格 ', id3, '海洲街道', 'Other 表', '数量',
               ('raw', '<t>第一行_x000D_\n第二行 a_x005F_x0041_b</t>')]
    s = {v: i for i, v in enumerate(strings) if isinstance(v, str)}
    s['WANGFANG'], s['NOTE'] = 8, len(strings) - 1
    rows = (
        # the header: shared strings, Chinese names
        '<row r="1" spans="1:8">' +
        ''.join('<c r="%s1" t="s"><v>%d</v></c>' % (c, i) for i, c in enumerate('ABCDEFGH')) +
        '</row>'
        # rich text name, ID as a shared string in a text-formatted column, a date (style 1),
        # a phone as an inline string, a decimal number, a text with spaces
        '<row r="2" spans="1:8"><c r="A2"><v>1</v></c><c r="B2" t="s"><v>%d</v></c>'
        '<c r="C2" s="3" t="s"><v>%d</v></c><c r="D2" s="1"><v>32874</v></c>'
        '<c r="E2" t="inlineStr"><is><t>13800001111</t></is></c>'
        '<c r="F2" t="s"><v>%d</v></c><c r="G2"><v>12.5</v></c>'
        '<c r="H2" t="s"><v>%d</v></c></row>'
        # the ID number stored as a number: Excel kept 15 digits
        '<row r="3" spans="1:8"><c r="A3"><v>2</v></c><c r="B3" t="inlineStr"><is><t>李娜</t>'
        '</is></c><c r="C3"><v>3.30481199001012E+17</v></c><c r="D3" s="1"><v>31412</v></c>'
        '</row>'
        # cells skipped with r= (phone and town missing), a custom 年月日 date, a formula
        # with its cached string result, a styled empty cell
        '<row r="4" spans="1:8"><c r="A4"><v>3</v></c><c r="B4" t="inlineStr"><is><t>张伟'
        '</t></is></c><c r="C4" s="3" t="s"><v>%d</v></c><c r="D4" s="2"><v>25734</v></c>'
        '<c r="F4" s="3"/><c r="G4"><f>1+2</f><v>3</v></c><c r="H4" t="str"><f>"多"&amp;"行"'
        '</f><v>多行</v></c></row>'
        '<row r="5" spans="1:8"/>'
        # a row after a blank one, rows keep their sheet numbers
        '<row r="7"><c r="A7" t="inlineStr"><is><t>4</t></is></c>'
        '<c r="B7" t="inlineStr"><is><r><t>赵</t></r><r><t xml:space="preserve">六 </t></r>'
        '</is></c><c r="C7" t="inlineStr"><is><t>%s</t></is></c><c r="D7" t="inlineStr"><is><t>1980/2/29'
        '</t></is></c><c r="H7" t="s"><v>%d</v></c></row>'
    ) % (s['WANGFANG'], s[id1], s['硖石街道'], s[' 前后有空格 '], s[id3], id2, s['NOTE'])
    other = ('<row r="1"><c r="A1" t="s"><v>%d</v></c><c r="B1" t="s"><v>%d</v></c></row>'
             '<row r="2"><c r="A2" t="inlineStr"><is><t>苹果</t></is></c><c r="B2"><v>7</v></c>'
             '</row>' % (s['Other 表'], s['数量']))
    hidden = '<row r="1"><c r="A1" t="inlineStr"><is><t>说明：隐藏的工作表</t></is></c></row>'
    book(out, ['~说明', '会员', 'Other'], [sheet(hidden), sheet(rows, 'A1:H7'), sheet(other)],
         strings)


def cells(out, date1904=False):
    strings = ['what', 'value']
    vals = [
        ('int', '', '<v>42</v>'), ('int_dot0', '', '<v>7.0</v>'), ('dec', '', '<v>0.1</v>'),
        ('noise', '', '<v>0.30000000000000004</v>'), ('exp', '', '<v>1E+3</v>'),
        ('neg', '', '<v>-12.75</v>'), ('big', '', '<v>330481199001011234</v>'),
        ('sci', '', '<v>3.30481199001012E+17</v>'), ('tiny', '', '<v>1.5E-20</v>'),
        ('fifteen', '', '<v>123456789012345</v>'), ('zero', '', '<v>0</v>'),
        ('true', ' t="b"', '<v>1</v>'), ('false', ' t="b"', '<v>0</v>'),
        ('error', ' t="e"', '<v>#DIV/0!</v>'), ('na', ' t="e"', '<f>NA()</f><v>#N/A</v>'),
        ('formula_str', ' t="str"', '<f>A1&amp;"x"</f><v>whatx</v>'),
        ('iso_date', ' t="d"', '<v>2024-03-05T00:00:00</v>'),
        ('iso_datetime', ' t="d"', '<v>2024-03-05T08:30:00</v>'),
        ('serial1', ' s="1"', '<v>1</v>'), ('serial59', ' s="1"', '<v>59</v>'),
        ('serial60', ' s="1"', '<v>60</v>'), ('serial61', ' s="1"', '<v>61</v>'),
        ('serial0', ' s="1"', '<v>0</v>'), ('y2024', ' s="2"', '<v>45356</v>'),
        ('datetime', ' s="4"', '<v>45356.75</v>'), ('days', ' s="5"', '<v>45356</v>'),
        ('time', ' s="6"', '<v>0.5208333333333334</v>'), ('elapsed', ' s="7"', '<v>1.5</v>'),
        ('neg_date', ' s="1"', '<v>-1</v>'), ('escape', ' t="inlineStr"',
                                                '<is><t>a_x0009_b_x005F_x0041_</t></is>'),
        ('phonetic', ' t="inlineStr"', '<is><t>漢字</t><rPh sb="0" eb="2"><t>かんじ</t></rPh>'
                                       '</is>'),
        ('empty_v', '', '<v></v>'), ('no_value', ' t="str"', '<f>A1</f>'),
    ]
    rows = '<row r="1"><c r="A1" t="s"><v>0</v></c><c r="B1" t="s"><v>1</v></c></row>'
    for i, (what, attrs, inner) in enumerate(vals):
        r = i + 2
        rows += ('<row r="%d"><c r="A%d" t="inlineStr"><is><t>%s</t></is></c><c r="B%d"%s>%s'
                 '</c></row>' % (r, r, what, r, attrs, inner))
    book(out, ['cells'], [sheet(rows)], strings, date1904)


def big(out, n, id_):
    hdr = ''.join('<c t="inlineStr"><is><t>%s</t></is></c>' % h
                  for h in ('member_id', 'name', 'id_number', 'birth_date', 'town', 'score'))
    with zipfile.ZipFile(out, 'w', zipfile.ZIP_DEFLATED) as z:
        for name, data in [('[Content_Types].xml', content_types(1)), ('_rels/.rels', ROOT_RELS),
                           ('xl/workbook.xml', workbook(['big'])),
                           ('xl/_rels/workbook.xml.rels', workbook_rels(1)),
                           ('xl/styles.xml', STYLES), ('xl/sharedStrings.xml', sst([]))]:
            z.writestr(name, data)
        with z.open('xl/worksheets/sheet1.xml', 'w') as f:
            f.write(('<?xml version="1.0" encoding="UTF-8"?>\n<worksheet xmlns="%s"><sheetData>'
                     '<row r="1">%s</row>' % (NS, hdr)).encode())
            for i in range(1, n + 1):
                f.write(('<row r="%d"><c r="A%d"><v>%d</v></c><c r="B%d" t="inlineStr"><is><t>'
                         '职工%d</t></is></c><c r="C%d" t="inlineStr"><is><t>%s</t></is></c>'
                         '<c r="D%d" s="1"><v>%d</v></c><c r="E%d" t="inlineStr"><is><t>镇%d'
                         '</t></is></c><c r="F%d"><v>%d.5</v></c></row>' %
                         (i + 1, i + 1, i, i + 1, i, i + 1, id_ if i == 1 else '', i + 1,
                          30000 + i % 10000, i + 1, i % 50, i + 1, i % 1000)).encode())
            f.write(b'</sheetData></worksheet>')


def simple_parts(sheet_xml):
    return [('[Content_Types].xml', content_types(1)), ('_rels/.rels', ROOT_RELS),
            ('xl/workbook.xml', workbook(['s'])),
            ('xl/_rels/workbook.xml.rels', workbook_rels(1)), ('xl/styles.xml', STYLES),
            ('xl/sharedStrings.xml', sst(['member_id', 'name'])),
            ('xl/worksheets/sheet1.xml', sheet_xml)]


def main():
    kind, out = sys.argv[1], sys.argv[2]
    if kind == 'excel':
        excel(out, *sys.argv[3:6])
    elif kind == 'cells':
        cells(out)
    elif kind == 'cells1904':
        cells(out, True)
    elif kind == 'big':
        big(out, int(sys.argv[3]), sys.argv[4])
    elif kind == 'titled':
        rows = ('<row r="1"><c r="A1" t="inlineStr"><is><t>2024年会员花名册</t></is></c><c r="B1"/>'
                '</row><row r="3"><c r="A3" t="s"><v>0</v></c><c r="B3" t="s"><v>1</v></c></row>'
                '<row r="4"><c r="A4" t="inlineStr"><is><t>苹果</t></is></c><c r="B4"><v>7</v></c>'
                '</row><row r="5"><c r="A5" t="inlineStr"><is><t>梨</t></is></c><c r="B5"><v>3'
                '</v></c></row>')
        x = sheet(rows).replace('<mergeCells count="0"/>',
                                '<mergeCells count="1"><mergeCell ref="A1:B1"/></mergeCells>')
        parts = simple_parts(x)
        parts[5] = ('xl/sharedStrings.xml', sst(['item', 'qty']))
        write(out, parts)
    elif kind == 'nozip':
        with open(out, 'w') as f:
            f.write('member_id,name\n1,x\n')
    elif kind == 'noworkbook':
        write(out, [('[Content_Types].xml', content_types(1)), ('docProps/app.xml', '<x/>')])
    elif kind == 'truncated':
        full = sheet('<row r="1"><c t="s"><v>0</v></c><c t="s"><v>1</v></c></row>'
                     '<row r="2"><c><v>1</v></c><c t="inlineStr"><is><t>甲</t></is></c></row>')
        write(out, simple_parts(full[:full.index('<row r="2">') + 20]))
    elif kind == 'doctype':
        x = ('<?xml version="1.0"?>\n<!DOCTYPE lolz [<!ENTITY lol "lol">'
             '<!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">]>'
             '<worksheet xmlns="%s"><sheetData><row r="1"><c t="inlineStr"><is><t>&lol2;</t>'
             '</is></c></row></sheetData></worksheet>' % NS)
        write(out, simple_parts(x))
    elif kind == 'badsst':
        write(out, simple_parts(sheet('<row r="1"><c r="A1" t="s"><v>0</v></c>'
                                      '<c r="B1" t="s"><v>1</v></c></row><row r="2">'
                                      '<c r="A2"><v>1</v></c><c r="B2" t="s"><v>99</v></c>'
                                      '</row>')))
    elif kind == 'prefixed':
        x = ('<?xml version="1.0"?>\n<x:worksheet xmlns:x="%s"><x:sheetData><x:row r="1">'
             '<x:c r="A1" t="inlineStr"><x:is><x:t>member_id</x:t></x:is></x:c><x:c r="B1" '
             't="inlineStr"><x:is><x:t>name</x:t></x:is></x:c></x:row><x:row r="2"><x:c r="A2">'
             '<x:v>9</x:v></x:c><x:c r="B2" t="inlineStr"><x:is><x:t>前缀</x:t></x:is></x:c>'
             '</x:row></x:sheetData></x:worksheet>' % NS)
        wb = ('<?xml version="1.0"?>\n<x:workbook xmlns:x="%s" xmlns:r="%s"><x:sheets>'
              '<x:sheet name="p" sheetId="1" r:id="rId1"/></x:sheets></x:workbook>' % (NS, RNS))
        write(out, [('xl/workbook.xml', wb), ('xl/_rels/workbook.xml.rels', workbook_rels(1)),
                    ('xl/worksheets/sheet1.xml', x)])
    else:
        sys.exit('unknown kind ' + kind)


main()
