"""Loaders (issue "Core pipeline"): every supported format gives the text citations point into, and
every bad file is a `DocumentError` (a ValueError) whose message names the file.

The PDF is written by hand below (one page, Helvetica, an ASCII text stream) so the test needs no
PDF-writing library; the DOCX is made with python-docx.
"""
from __future__ import annotations

import json
import zipfile
from pathlib import Path

import pytest

from assistant.loaders import (_SPACE_BETWEEN_CJK, SUPPORTED, DocumentError, _restore_powers, discover,
                               page_furniture, read_document, read_meta, read_text, sidecar_path, slug)
from assistant.model import InputError, SourceMeta


def _stream(lines: list[str]) -> bytes:
    ops = ["BT", "/F1 12 Tf", "72 720 Td", "14 TL"]
    for ln in lines:
        esc = ln.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)")
        ops.append(f"({esc}) Tj T*")
    ops.append("ET")
    stream = "\n".join(ops).encode("ascii")
    return b"<< /Length %d >>\nstream\n" % len(stream) + stream + b"\nendstream"


def minimal_pdf(lines: list[str], *more_pages: list[str]) -> bytes:
    """A valid PDF 1.4 whose pages show `lines` (ASCII, one list per page) in Helvetica."""
    pages = [lines, *more_pages]
    n = len(pages)
    kids = " ".join(f"{4 + 2 * i} 0 R" for i in range(n)).encode()
    objs = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [" + kids + b"] /Count %d >>" % n,
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    for i, page in enumerate(pages):
        objs.append(b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Resources << /Font << /F1 3 0 R >> >>"
                    b" /Contents %d 0 R >>" % (5 + 2 * i))
        objs.append(_stream(page))
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for i, body in enumerate(objs, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % i + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objs) + 1)
    for off in offsets:
        out += b"%010d 00000 n \n" % off
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objs) + 1, xref)
    return bytes(out)


# -- formats -----------------------------------------------------------------------------------

def test_txt_utf8(tmp_path):
    f = tmp_path / "g.zh.txt"
    f.write_text("富血小板血浆(PRP)注射。\n术前停用 NSAIDs 至少 7 天。\n", encoding="utf-8")
    assert read_text(f) == "富血小板血浆(PRP)注射。\n术前停用 NSAIDs 至少 7 天。\n"


def test_txt_utf8_bom_is_dropped_and_crlf_normalised(tmp_path):
    f = tmp_path / "bom.txt"
    f.write_bytes("\ufeff第一行\r\n第二行\r第三行".encode("utf-8"))
    text = read_text(f)
    assert text == "第一行\n第二行\n第三行"
    assert not text.startswith("\ufeff")


def test_markdown_is_kept_verbatim(tmp_path):
    f = tmp_path / "note.md"
    f.write_text("# 标题\n\n- 条目一\n- 条目二\n", encoding="utf-8")
    assert read_text(f) == "# 标题\n\n- 条目一\n- 条目二\n"


def test_html_visible_text_only(tmp_path):
    f = tmp_path / "page.html"
    f.write_text(
        "<html><head><title>站点标题</title><style>.x{color:red}</style>"
        "<script>var tracking = 'TRACKER';</script></head>"
        "<body><h1>PRP 指南</h1><p>术前需停用 <b>NSAIDs</b> 至少 7 天。</p>"
        "<script>alert('popup')</script><noscript>请启用脚本</noscript>"
        "<ul><li>条目一</li><li>条目二</li></ul></body></html>", encoding="utf-8")
    text = read_text(f)
    for hidden in ("TRACKER", "popup", "color:red", "请启用脚本", "站点标题", "<"):
        assert hidden not in text
    lines = text.split("\n")
    assert lines[0] == "PRP 指南"
    assert "条目一" in lines and "条目二" in lines
    assert "NSAIDs" in text and "至少 7 天" in text


def test_docx_paragraphs_and_table(tmp_path):
    import docx

    d = docx.Document()
    d.add_heading("PRP 注射规范", level=1)
    d.add_paragraph("术前需停用 NSAIDs 至少 7 天。")
    table = d.add_table(rows=2, cols=2)
    table.cell(0, 0).text, table.cell(0, 1).text = "项目", "要求"
    table.cell(1, 0).text, table.cell(1, 1).text = "血小板数", "20-50 亿"
    f = tmp_path / "spec.docx"
    d.save(str(f))
    text = read_text(f)
    lines = text.split("\n")
    assert lines[:2] == ["PRP 注射规范", "术前需停用 NSAIDs 至少 7 天。"]
    assert "项目 | 要求" in lines and "血小板数 | 20-50 亿" in lines


def test_pdf_text_is_extracted(tmp_path):
    f = tmp_path / "guide.pdf"
    f.write_bytes(minimal_pdf(["PRP guideline (test copy)", "Stop NSAIDs at least 7 days before injection."]))
    text = read_text(f)
    assert "PRP guideline (test copy)" in text
    assert "Stop NSAIDs at least 7 days before injection." in text
    assert text.index("PRP guideline") < text.index("Stop NSAIDs")


def test_spaces_between_cjk_characters_are_removed():
    assert _SPACE_BETWEEN_CJK.sub("", "富 血 小 板 血 浆 PRP 注 射") == "富血小板血浆 PRP 注射"
    assert _SPACE_BETWEEN_CJK.sub("", "停用 NSAIDs 至少 7 天") == "停用 NSAIDs 至少 7 天"
    assert _SPACE_BETWEEN_CJK.sub("", "血 \t 浆 , 注射") == "血浆 , 注射"


def test_suffix_is_case_insensitive(tmp_path):
    f = tmp_path / "UPPER.TXT"
    f.write_text("内容。", encoding="utf-8")
    assert read_text(f) == "内容。"


# -- errors ------------------------------------------------------------------------------------

def _error(path: Path) -> str:
    with pytest.raises(DocumentError) as exc:
        read_text(path)
    msg = str(exc.value)
    assert str(path) in msg, msg  # the message names the file
    assert "\n" not in msg
    return msg


def test_document_error_is_a_value_error():
    assert issubclass(DocumentError, InputError) and issubclass(DocumentError, ValueError)


def test_unsupported_suffix(tmp_path):
    f = tmp_path / "slides.pptx"
    f.write_bytes(b"PK\x03\x04")
    msg = _error(f)
    assert "unsupported file type .pptx" in msg
    assert all(s in msg for s in SUPPORTED)
    assert "(none)" in _error(tmp_path / "README")


def test_non_utf8_bytes(tmp_path):
    f = tmp_path / "gbk.txt"
    f.write_bytes("富血小板血浆注射指南".encode("gbk"))
    assert "not UTF-8" in _error(f)


@pytest.mark.parametrize("content", [b"", b"   \n\t\n"])
def test_empty_file(tmp_path, content):
    f = tmp_path / "empty.md"
    f.write_bytes(content)
    assert "no text found" in _error(f)


def test_missing_file(tmp_path):
    assert "cannot read" in _error(tmp_path / "gone.txt")


def test_nul_bytes(tmp_path):
    f = tmp_path / "bin.txt"
    f.write_bytes(b"abc\x00def")
    assert "NUL" in _error(f)


@pytest.mark.parametrize("content", [b"this is not a pdf at all", b"%PDF-1.4\n1 0 obj\n<<", None])
def test_corrupt_pdf(tmp_path, content):
    f = tmp_path / "broken.pdf"
    f.write_bytes(content if content is not None else minimal_pdf(["Hello"])[:150])
    assert "unreadable PDF" in _error(f)


def test_pdf_without_text(tmp_path):
    f = tmp_path / "scan.pdf"
    f.write_bytes(minimal_pdf([]))
    assert "no text found" in _error(f)


def test_corrupt_docx_not_a_zip(tmp_path):
    f = tmp_path / "broken.docx"
    f.write_bytes(b"this is not a zip archive")
    assert "unreadable DOCX" in _error(f)


@pytest.mark.parametrize("members", [{"word/document.xml": "<w:document/>"}, {"[Content_Types].xml": "<not xml"}])
def test_corrupt_docx_zip(tmp_path, members):
    f = tmp_path / "broken.docx"
    with zipfile.ZipFile(f, "w") as z:
        for name, data in members.items():
            z.writestr(name, data)
    assert "unreadable DOCX" in _error(f)


def test_truncated_docx(tmp_path):
    import docx

    good = tmp_path / "good.docx"
    d = docx.Document()
    d.add_paragraph("内容")
    d.save(str(good))
    f = tmp_path / "cut.docx"
    f.write_bytes(good.read_bytes()[:2000])
    assert "unreadable DOCX" in _error(f)


# -- sidecar metadata --------------------------------------------------------------------------

def test_sidecar_path_and_slug(tmp_path):
    assert sidecar_path(Path("a/guide.zh.txt")) == Path("a/guide.zh.meta.json")
    assert sidecar_path(Path("a/README")) == Path("a/README.meta.json")
    assert slug(Path("My Guide_2024.zh.txt")) == "my-guide-2024"
    assert slug(Path("指南 2024.txt")) == "指南-2024"
    assert slug(Path("!!!.txt")) == "doc"


def test_meta_defaults_without_sidecar(tmp_path):
    f = tmp_path / "My Guide.zh.txt"
    f.write_text("内容。", encoding="utf-8")
    m = read_meta(f)
    assert m == SourceMeta(doc_id="my-guide", title="My Guide.zh", original_file="My Guide.zh.txt", path=str(f))


def test_meta_from_sidecar_and_overrides(tmp_path):
    f = tmp_path / "g.zh.txt"
    f.write_text("内容。", encoding="utf-8")
    sidecar_path(f).write_text(json.dumps({"doc_id": "gid", "title": "标题", "year": 2024, "publisher": "P"}),
                               encoding="utf-8")
    m = read_meta(f)
    assert (m.doc_id, m.title, m.year, m.publisher, m.path) == ("gid", "标题", 2024, "P", str(f))
    m2 = read_meta(f, {"title": "新标题", "publisher": None, "year": ""})
    assert (m2.title, m2.publisher, m2.year) == ("新标题", "P", 2024)


def test_sidecar_unknown_keys_are_rejected(tmp_path):
    f = tmp_path / "g.zh.txt"
    f.write_text("内容。", encoding="utf-8")
    side = sidecar_path(f)
    side.write_text(json.dumps({"title": "t", "autor": "typo", "colour": 1}), encoding="utf-8")
    with pytest.raises(DocumentError) as exc:
        read_meta(f)
    msg = str(exc.value)
    assert str(side) in msg and "['autor', 'colour']" in msg and "known:" in msg


def test_sidecar_invalid_json(tmp_path):
    f = tmp_path / "g.zh.txt"
    f.write_text("内容。", encoding="utf-8")
    sidecar_path(f).write_text('{"title": "t",}', encoding="utf-8")
    with pytest.raises(DocumentError, match=r"g\.zh\.meta\.json: invalid JSON metadata"):
        read_meta(f)


def test_discover_skips_sidecars_and_hidden_files(tmp_path):
    (tmp_path / "sub").mkdir()
    for name in ("b.txt", "b.meta.json", ".hidden.txt", "sub/a.md"):
        (tmp_path / name).write_text("x", encoding="utf-8")
    single = tmp_path / "b.txt"
    assert discover([tmp_path]) == [tmp_path / "b.txt", tmp_path / "sub" / "a.md"]
    assert discover([single]) == [single]


# -- converter markup, seeds, PDF page furniture ---------------------------------------------

SOURCES = Path(__file__).resolve().parents[1] / "corpus" / "sources"


@pytest.mark.parametrize("seed", sorted(SOURCES.glob("*.txt")), ids=lambda p: p.name.split(".")[0])
def test_seed_text_files_are_read_byte_identical(seed):
    doc = read_document(seed)
    assert doc.text == read_text(seed) == seed.read_bytes().decode("utf-8")
    assert doc.kind == "text" and doc.noise == [] and doc.offsets == list(range(len(doc.text)))


def test_markdown_converter_output_is_cleaned_with_an_offset_map(tmp_path):
    raw = ("# 甲氨蝶呤治疗类风湿关节炎中国专家共识（2025版）\n\n王建华 $^{1}$  李明 $^{2}$\n\n"
           "推荐意见7：eGFR $3 0 \\sim 4 4 \\mathrm{mL/min}$ 时，剂量减少 $5 0 \\%$ 。\n\n"
           "![](images/abc.jpg)\n\n表2 剂量调整\n\n<table><tr><td>eGFR</td><td>剂量</td></tr>"
           "<tr><td>$\\geqslant 6 0$</td><td>无需调整</td></tr></table>\n")
    f = tmp_path / "mtx.md"
    f.write_text(raw, encoding="utf-8")
    doc = read_document(f)
    assert doc.kind == "markdown" and doc.raw == raw and len(doc.offsets) == len(doc.text)
    assert doc.text.split("\n") == [
        "# 甲氨蝶呤治疗类风湿关节炎中国专家共识（2025版）", "", "王建华 李明", "",
        "推荐意见7：eGFR 30～44 mL/min 时，剂量减少 50%。", "", "", "", "表2 剂量调整", "",
        "表2 剂量调整 · eGFR: ≥60 · 剂量: 无需调整。", ""]
    assert read_text(f) == doc.text
    i = doc.text.index("剂量减少")
    assert raw[doc.offsets[i]:doc.offsets[i] + 4] == "剂量减少"


def test_html_tables_become_row_sentences(tmp_path):
    f = tmp_path / "page.html"
    f.write_text("<html><body><h2>药物相互作用</h2><p>表4 常见药物相互作用</p><table>"
                 "<tr><th>合用药物</th><th>处理建议</th></tr><tr><td>NSAIDs</td><td>监测肾功能</td></tr></table>"
                 "<p>eGFR $\\geqslant 6 0 \\mathrm{mL/min}$ 的患者无需调整。</p></body></html>", encoding="utf-8")
    doc = read_document(f)
    assert doc.kind == "html"
    assert doc.text.split("\n") == ["药物相互作用", "表4 常见药物相互作用", "表4 常见药物相互作用 · NSAIDs · 处理建议: 监测肾功能。",
                                     "eGFR ≥60 mL/min 的患者无需调整。"]


def test_pdf_running_headers_and_page_numbers_are_reported_as_noise(tmp_path):
    header = "Chin J Rheumatol, March 2025, Vol.29, No.3"
    body = [["Methotrexate is the anchor drug in rheumatoid", "arthritis and is started at 7.5 to 15 mg per", "week.",
             "Folic acid 5 mg weekly is recommended."],
            ["Monitor blood counts every 2 to 4 weeks.", "Stop methotrexate when the platelet count falls."],
            ["Contraindications include pregnancy."]]
    pages = [[header, *lines, f"- {n} -"] for n, lines in enumerate(body, 1)]
    f = tmp_path / "mtx.pdf"
    f.write_bytes(minimal_pdf(*pages))
    doc = read_document(f)
    assert doc.kind == "pdf" and len(doc.offsets) == len(doc.text)
    marked = [(doc.text[s:e], reason) for s, e, reason in doc.noise]
    assert marked == [(line, "page header/footer") for n in (1, 2, 3) for line in (header, f"- {n} -")]
    # the furniture stays in the text (spans are exact) and content is not marked
    assert doc.text.count(header) == 3 and "Folic acid 5 mg weekly is recommended." in doc.text
    # a paragraph wrapped at the right margin is one line again
    assert "Methotrexate is the anchor drug in rheumatoid arthritis and is started at 7.5 to 15 mg per week." \
        in doc.text.split("\n")


def test_page_furniture_detection():
    body = [("MTX起始剂量为7.5～15 mg/周。", "此后每2～4周增加2.5～5 mg。"), ("叶酸每周5 mg。", "于MTX服药后24小时服用。"),
            ("妊娠及哺乳期禁用。", "停药至少3个月后再计划妊娠。"), ("监测血常规。", "每4～8周1次。")]
    pages = [["中华风湿病学杂志2025年3月第29卷第3期", *lines, f"· {n} ·"] for n, lines in zip(range(211, 215), body)]
    pages[1][0] = "Chin J Rheumatol, March 2025, Vol.29, No.3"  # odd/even pages alternate headers
    pages[3][0] = "Chin J Rheumatol, March 2025, Vol.29, No.3"
    pages.append(["第 5 页", "结论。", "18"])
    found = page_furniture(pages)
    assert found[:4] == [{0, 3}] * 4
    assert found[4] == {0, 2}  # "第 5 页" and a bare page number
    assert page_furniture([["正文。", "3"]]) == [set()]  # one page: a lone number may be content


def test_lost_superscript_powers_are_restored():
    text = "白细胞计数 < 3.0 × 109/L 或血小板计数 < 100 ×109/L 时；剂量 109 mg"
    fixed, offsets = _restore_powers(text, list(range(len(text))))
    assert fixed == "白细胞计数 < 3.0 × 10^9/L 或血小板计数 < 100 ×10^9/L 时；剂量 109 mg"
    assert len(offsets) == len(fixed) and text[offsets[fixed.index("^")]] == "9"


def test_a_document_names_itself():
    from assistant.loaders import document_title

    assert document_title('---\ntitle: "2025 Gout Guideline"\ndoi: "10.1/x"\n---\n\n# Other\n') == "2025 Gout Guideline"
    assert document_title("中华风湿病学杂志 2025年3月\n\n# 甲氨蝶呤治疗类风湿关节炎中国专家共识（2025版）\n\n## 一、背景\n") == \
        "甲氨蝶呤治疗类风湿关节炎中国专家共识（2025版）"
    assert document_title("no heading here\n## only a section\n") == ""
