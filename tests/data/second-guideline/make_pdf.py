#!/usr/bin/env python3
"""Render mtx-ra-consensus-2025.md to a journal-style PDF (offline).

Usage: /work/main/.venv/bin/python make_pdf.py [input.md] [output.pdf] [--keep-html]

The Markdown is the PDF-to-Markdown "converter output" test fixture; this script
goes the other way for the PDF fixture: it turns the converter artefacts back into
plain typography (LaTeX fragments -> plain text, HTML tables kept as tables, page
banner / page-number lines removed because the PDF has its own running header and
footer), then prints with headless Chromium via Playwright. No network access.
"""
import html
import re
import sys
from pathlib import Path

from playwright.sync_api import sync_playwright

HERE = Path(__file__).resolve().parent
ARGS = [a for a in sys.argv[1:] if not a.startswith("--")]
KEEP_HTML = "--keep-html" in sys.argv
SRC = Path(ARGS[0]) if len(ARGS) > 0 else HERE / "mtx-ra-consensus-2025.md"
OUT = Path(ARGS[1]) if len(ARGS) > 1 else HERE / "mtx-ra-consensus-2025.pdf"

BANNER = "中华风湿病学杂志 2025年3月 第29卷 第3期 Chin J Rheumatol, March 2025, Vol.29, No.3"
CIRCLED = "①②③④⑤⑥⑦⑧⑨⑩"


# ---------------------------------------------------------------- LaTeX -> text
def _latex_body(s: str) -> str:
    s = re.sub(r"\\mathrm\s*\{([^}]*)\}", r"\1", s)
    s = re.sub(r"\\text\s*\{([^}]*)\}", r"\1", s)
    for a, b in [(r"\geqslant", "≥"), (r"\leqslant", "≤"), (r"\geq", "≥"), (r"\leq", "≤"),
                 (r"\times", "×"), (r"\sim", "～"), (r"\%", "%"), (r"\pm", "±")]:
        s = s.replace(a, b)
    s = re.sub(r"\^\s*\{\s*([^}]*)\}", lambda m: "<sup>" + m.group(1).replace(" ", "") + "</sup>", s)
    s = re.sub(r"\^\s*(\S)", r"<sup>\1</sup>", s)
    # OCR output spaces out every digit: "1 5 . 3" -> "15.3"
    prev = None
    while prev != s:
        prev = s
        s = re.sub(r"(\d)\s+(?=[\d.])", r"\1", s)
        s = re.sub(r"\.\s+(?=\d)", ".", s)
    s = re.sub(r"\s*%", "%", s)
    s = re.sub(r"\s*<sup>", "<sup>", s)
    s = re.sub(r"\s*/\s*", "/", s)
    s = re.sub(r"(\d)\s+(?=[A-Za-z])", r"\1 ", s)
    return s.strip()


def clean_latex(text: str) -> str:
    text = re.sub(r"\\textcircled\s*\{(\d+)\}", lambda m: CIRCLED[int(m.group(1)) - 1], text)
    return re.sub(r"\$([^$]+)\$", lambda m: _latex_body(m.group(1)), text)


def inline(text: str) -> str:
    """Escape, then restore the little HTML we generate ourselves."""
    text = html.escape(text, quote=False)
    text = text.replace("&lt;sup&gt;", "<sup>").replace("&lt;/sup&gt;", "</sup>")
    text = re.sub(r"\*\*(.+?)\*\*", r"<b>\1</b>", text)
    # citation marks [1] / [2,4-5] -> superscript (not in the reference list)
    text = re.sub(r"\[(\d+(?:[,\-–]\d+)*)\]", r"<sup class='cite'>[\1]</sup>", text)
    return text


# ---------------------------------------------------------------- figure
FIGURE = """
<div class="flow">
  <div class="box">确诊RA，评估疾病活动度及预后不良因素</div><div class="arrow">↓</div>
  <div class="box">基线检查：血常规、肝肾功能（eGFR）、HBV/HCV、胸部X线、妊娠试验</div><div class="arrow">↓</div>
  <div class="row">
    <div class="box warn">存在禁忌证（妊娠/哺乳、严重肝损害、eGFR&lt;30、活动性感染、酗酒等）→ 选择其他DMARDs</div>
    <div class="box">无禁忌证 → MTX 7.5～15 mg/周起始 + 叶酸每周5 mg（老年5～7.5 mg/周）</div>
  </div><div class="arrow">↓</div>
  <div class="box">每2～4周加量2.5～5 mg，4～8周内达15～20 mg/周（最大25 mg/周）；按表3监测</div><div class="arrow">↓</div>
  <div class="row">
    <div class="box">3～6个月达标 → 维持≥6个月后逐步减量</div>
    <div class="box">未达标 → 改皮下注射 / 联合csDMARDs、bDMARDs或tsDMARDs（T2T）</div>
  </div>
</div>
"""

CSS = """
@page { size: A4; }
body { font-family: 'WenQuanYi Micro Hei', sans-serif; font-size: 9.3pt; line-height: 1.55;
       color: #111; margin: 0; }
.column { column-count: 2; column-gap: 7mm; text-align: justify; }
h1.title { font-size: 17pt; text-align: center; margin: 2mm 0 3mm; }
.section-tag { text-align: left; font-size: 9pt; margin: 0; }
.group { text-align: center; font-size: 10.5pt; margin: 1mm 0; }
.authors { text-align: center; font-size: 10pt; margin: 1mm 0 2mm; }
.front { font-size: 8.2pt; line-height: 1.5; margin: 1mm 0; }
.abstract { font-size: 8.8pt; border-top: 0.6pt solid #444; border-bottom: 0.6pt solid #444;
            padding: 2mm 0; margin: 2mm 0 3mm; }
.abstract p { margin: 1mm 0; }
.abstract h2 { font-size: 11pt; text-align: center; margin: 2mm 0 1mm; column-span: none; }
h2 { font-size: 11pt; margin: 3mm 0 1.5mm; break-after: avoid; }
h3 { font-size: 10pt; margin: 2.5mm 0 1mm; break-after: avoid; }
p { margin: 0 0 1.4mm; text-indent: 2em; }
p.noindent { text-indent: 0; }
.rec { border: 0.7pt solid #2a5d8f; background: #eef4fa; padding: 1.5mm 2mm; margin: 2mm 0;
       text-indent: 0; break-inside: avoid; font-weight: bold; }
.caption { text-align: center; font-weight: bold; font-size: 9pt; margin: 3mm 0 1mm; text-indent: 0;
           break-after: avoid; }
table { border-collapse: collapse; width: 100%; font-size: 7.8pt; line-height: 1.4;
        border-top: 1.2pt solid #000; border-bottom: 1.2pt solid #000; break-inside: avoid; }
td { padding: 1mm 1.2mm; vertical-align: top; text-align: left; border-bottom: 0.3pt solid #bbb; }
tr:first-child td { font-weight: bold; border-bottom: 0.8pt solid #000; }
.note { font-size: 7.6pt; text-indent: 0; color: #333; margin: 1mm 0 3mm; }
.refs p { font-size: 7.6pt; text-indent: -1.6em; padding-left: 1.6em; margin: 0 0 0.8mm; line-height: 1.45; }
.coi, .experts { font-size: 8.2pt; text-indent: 0; }
sup.cite { font-size: 6.5pt; }
.flow { font-size: 7.6pt; border: 0.5pt solid #888; padding: 2mm; margin: 3mm 0 1mm; break-inside: avoid; }
.flow .box { border: 0.7pt solid #2a5d8f; border-radius: 1.5mm; padding: 1mm 1.5mm; text-align: center;
             background: #f6f9fc; }
.flow .warn { border-color: #a33; background: #fbf0f0; }
.flow .row { display: flex; gap: 2mm; } .flow .row .box { flex: 1; }
.flow .arrow { text-align: center; line-height: 1.1; }
"""


# ---------------------------------------------------------------- Markdown -> HTML
def is_artefact(line: str) -> bool:
    s = line.strip()
    return s == BANNER or bool(re.fullmatch(r"·\s*\d+\s*·", s))


def convert(md: str) -> str:
    blocks = [b.strip() for b in re.split(r"\n\s*\n", md) if b.strip()]
    blocks = [b for b in blocks if not is_artefact(b)]
    front, body = [], []
    in_front = True
    for b in blocks:
        # body starts at the first ordinary paragraph after the received-date line
        (front if in_front else body).append(b)
        if in_front and b.startswith("收稿日期"):
            in_front = False

    out = []
    # ---- front matter (single column)
    out.append("<div class='frontmatter'>")
    abstract_open = False
    for b in front:
        c = clean_latex(b)
        if b.startswith("·") and b.endswith("·"):
            out.append(f"<p class='section-tag noindent'>{inline(c)}</p>")
        elif b.startswith("# ") and "甲氨蝶呤" in b:
            out.append(f"<h1 class='title'>{inline(c[2:])}</h1>")
        elif b.startswith("# "):
            if not abstract_open:
                out.append("<div class='abstract'>"); abstract_open = True
            out.append(f"<h2>{inline(c[2:])}</h2>")
        elif b.startswith("【摘要】"):
            out.append("<div class='abstract'>"); abstract_open = True
            out.append(f"<p class='noindent'>{inline(c)}</p>")
        elif b.startswith(("【", "基金项目", "Fund program", "Corresponding")):
            out.append(f"<p class='noindent'>{inline(c)}</p>")
        elif "$^{" in b and len(b) < 200:
            out.append(f"<p class='authors noindent'>{inline(c)}</p>")
        elif b.startswith("收稿日期"):
            if abstract_open:
                out.append("</div>"); abstract_open = False
            out.append(f"<p class='front noindent'>{inline(c)}</p>")
        elif b in ("全国风湿病合理用药协作组", "National Collaborative Group on Rational Use of Antirheumatic Drugs"):
            out.append(f"<p class='group noindent'>{inline(c)}</p>")
        else:
            out.append(f"<p class='front noindent'>{inline(c)}</p>")
    if abstract_open:
        out.append("</div>")
    out.append("</div>")

    # ---- body (two columns, tables span)
    out.append("<div class='column'>")
    in_refs = False
    for b in body:
        c = clean_latex(b)
        if b.startswith("<table"):
            out.append(c)  # converter HTML, cells already plain after LaTeX clean-up
        elif b.startswith("## "):
            out.append(f"<h3>{inline(c[3:])}</h3>")
        elif b.startswith("# "):
            title = c[2:]
            if title == "参考文献":
                in_refs = True
                out.append("<h2>参考文献</h2><div class='refs'>")
            else:
                out.append(f"<h2>{inline(title)}</h2>")
        elif b.startswith("!["):
            out.append(FIGURE)
        elif re.match(r"^表\d+\s", b):
            out.append(f"<p class='caption'>{inline(c)}</p>")
        elif re.match(r"^图\d+\s", b):
            out.append(f"<p class='caption'>{inline(c)}</p>")
        elif b.startswith("注："):
            out.append(f"<p class='note'>{inline(c)}</p>")
        elif b.startswith("推荐意见"):
            out.append(f"<p class='rec'>{inline(c)}</p>")
        elif in_refs and b.startswith("["):
            ref = html.escape(c, quote=False)
            out.append(f"<p>{ref}</p>")
        elif b.startswith(("利益冲突", "共识专家组成员", "执笔者")):
            out.append(f"<p class='coi'>{inline(c)}</p>")
        elif b.startswith("（收稿日期") or b.startswith("（本文编辑"):
            out.append(f"<p class='coi' style='text-align:right'>{inline(c)}</p>")
        elif b.startswith(("问题", "答：")):
            cls = "noindent" if b.startswith("答：") else "noindent' style='font-weight:bold"
            out.append(f"<p class='{cls}'>{inline(c)}</p>")
        else:
            out.append(f"<p>{inline(c)}</p>")
    if in_refs:
        out.append("</div>")
    out.append("</div>")
    return ("<!doctype html><html lang='zh-CN'><head><meta charset='utf-8'>"
            f"<title>甲氨蝶呤治疗类风湿关节炎中国专家共识（2025版）</title><style>{CSS}</style></head>"
            f"<body>{''.join(out)}</body></html>")


HEADER = f"""<div style="font-family:'WenQuanYi Micro Hei',sans-serif;font-size:7.5pt;width:100%;
margin:0 14mm;padding-bottom:1mm;border-bottom:0.5pt solid #000;text-align:center;color:#000;">{BANNER}</div>"""
FOOTER = """<div style="font-family:'WenQuanYi Micro Hei',sans-serif;font-size:8pt;width:100%;text-align:center;color:#000;">
· <span class="pageNumber"></span> ·</div>"""


def main() -> None:
    doc = convert(SRC.read_text(encoding="utf-8"))
    if KEEP_HTML:
        OUT.with_suffix(".html").write_text(doc, encoding="utf-8")
    with sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path="/usr/bin/chromium",
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                  "--disable-component-update", "--disable-sync"],
        )
        page = browser.new_page()
        page.set_content(doc, wait_until="load")
        page.pdf(path=str(OUT), format="A4", print_background=True,
                 display_header_footer=True, header_template=HEADER, footer_template=FOOTER,
                 margin={"top": "20mm", "bottom": "18mm", "left": "14mm", "right": "14mm"})
        browser.close()
    print(f"wrote {OUT} ({OUT.stat().st_size} bytes)")


if __name__ == "__main__":
    main()
