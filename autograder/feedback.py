"""A student's feedback page: their points per part, what to fix first, then their notebook as it ran.

The page is one self-contained HTML file: its math is rendered here, at
grading time, to inline SVG (matplotlib's mathtext, so no script and no
network), its figures are embedded PNGs, and it can be mailed or uploaded
to a learning platform as it is. Nothing a student wrote is ever rendered as
HTML: code, printed output and error messages are escaped text, the
student's markdown is rendered with raw HTML disabled, and only PNG figures
are kept. A Content-Security-Policy forbids every script on the page.
"""

from __future__ import annotations

import base64
import html
import re
from functools import lru_cache

CSP = "default-src 'none'; img-src data:; style-src 'unsafe-inline'"
MATH = re.compile(r"\$\$(.+?)\$\$|(?<![\\$])\$(?!\s)([^$\n]+?)(?<!\s)\$", re.S)

STYLE = """
body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;line-height:1.5;color:#1b1b1b;margin:0;
 background:#fafafa}
main{max-width:52rem;margin:0 auto;padding:1rem}
h1{font-size:1.6rem;margin:.5rem 0} h2{font-size:1.3rem} h3{font-size:1.1rem}
.verdict{border:2px solid #2b4a6f;border-radius:6px;background:#fff;padding:1rem;margin:1rem 0;overflow-wrap:break-word}
.verdict table{border-collapse:collapse;width:100%} .verdict td,.verdict th{padding:.3rem .5rem;text-align:left;
 border-bottom:1px solid #ddd} .verdict td.num{text-align:right;white-space:nowrap}
.fixfirst{background:#fff4d6;border-left:4px solid #a86b00;padding:.5rem .8rem;margin:.8rem 0}
.stopped{background:#fde8e8;border-left:4px solid #a11;padding:.5rem .8rem;margin:.8rem 0}
.cell{background:#fff;border:1px solid #ddd;border-radius:4px;margin:.8rem 0;padding:.2rem .8rem}
.cell.student{border-left:4px solid #2b6f3e}
.who{font-size:.8rem;color:#4a4a4a;margin:.2rem 0}
pre{white-space:pre-wrap;overflow-wrap:anywhere;background:#f3f3f3;padding:.5rem;border-radius:3px;font-size:.9rem}
pre.out{background:#fff;border-left:3px solid #999}
pre.err{background:#fde8e8;border-left:3px solid #a11}
.graded{background:#eef3fa;border-left:4px solid #2b4a6f;padding:.5rem .8rem}
.graded ul{margin:.3rem 0;padding-left:1.2rem}
img.figure{max-width:100%;height:auto}
.math-display{text-align:center;overflow-x:auto;margin:.6rem 0}
svg.math{vertical-align:middle;max-width:100%}
code{background:#f3f3f3;padding:0 .2rem;border-radius:2px;overflow-wrap:anywhere}
table.md{border-collapse:collapse} table.md td,table.md th{border:1px solid #ccc;padding:.2rem .5rem}
nav ol{padding-left:1.2rem}
"""


@lru_cache(maxsize=2048)
def math_svg(tex, display=False):
    """Inline SVG of a TeX formula drawn by matplotlib's mathtext; escaped TeX when it cannot draw it."""
    import io

    from matplotlib import mathtext

    source = tex.strip()
    # mathtext knows \mathrm, not \text; a few spacing commands it lacks are dropped.
    source = re.sub(r"\\text\{([^}]*)\}", r"\\mathrm{\1}", source)
    source = source.replace(r"\qquad", r"\quad").replace(r"\!", "")
    buffer = io.StringIO()
    try:
        from matplotlib.font_manager import FontProperties

        mathtext.math_to_image(f"${source}$", buffer, prop=FontProperties(size=13 if display else 11.5),
                               dpi=72, format="svg")
    except Exception:  # a command mathtext does not know: show the TeX itself
        return f'<code class="tex">{html.escape(tex)}</code>'
    svg = buffer.getvalue()
    svg = svg[svg.find("<svg"):]
    svg = re.sub(r"<metadata>.*?</metadata>", "", svg, flags=re.S)
    svg = svg.replace("<svg ", f'<svg class="math" role="img" aria-label="{html.escape(tex, quote=True)}" ', 1)
    return svg


@lru_cache(maxsize=1)
def _markdown():
    from markdown_it import MarkdownIt

    return MarkdownIt("commonmark", {"html": False, "linkify": False}).enable("table")


def render_markdown(text):
    """Markdown to HTML with raw HTML disabled and math rendered to SVG."""
    formulas = []

    def stash(match):
        formulas.append((match.group(1) or match.group(2), match.group(1) is not None))
        return f"MATHXPLACEHOLDERX{len(formulas) - 1}X"

    body = _markdown().render(MATH.sub(stash, text))
    body = body.replace("<table>", '<table class="md">')

    def put_back(match):
        tex, display = formulas[int(match.group(1))]
        svg = math_svg(tex, display)
        return f'<div class="math-display">{svg}</div>' if display else svg

    return re.sub(r"MATHXPLACEHOLDERX(\d+)X", put_back, body)


def _pre(text, kind=""):
    return f'<pre class="{kind}">{html.escape(text)}</pre>' if text else ""


@lru_cache(maxsize=1)
def _book_url():
    """Where the book is published (``html.baseurl`` in ``_config.yml``), or ``""``."""
    import yaml

    from .course import ROOT

    try:
        config = yaml.safe_load((ROOT / "_config.yml").read_text()) or {}
        return str((config.get("html") or {}).get("baseurl") or "").rstrip("/")
    except (OSError, yaml.YAMLError, AttributeError):
        return ""


def chapter_link(assignment):
    """HTML naming the chapter that explains ``assignment`` (``NN-topic``), linked when the book is online."""
    number = int(assignment[:2]) if assignment[:2].isdigit() else None
    if number is None:
        return ""
    base = _book_url()
    name = f"chapter {number} of the book"
    if base:
        return f'<a href="{html.escape(base)}/book/{html.escape(assignment)}.html">{name}</a>'
    return name


def exercise_title(display):
    """The exercise's own title: the first top-level heading of its course cells."""
    for cell in display:
        if cell["type"] == "markdown" and cell["origin"] == "course":
            for line in cell["source"].splitlines():
                if line.startswith("# "):
                    return line[2:].strip()
    return ""


def part_titles(display, graded):
    """``{grade_id: title}``: the exercise's own heading for each graded part, then the function's name."""
    titles, heading = {}, ""
    targets = {g.grade_id: g.part for g in graded}
    for cell in display:
        if cell["type"] == "markdown" and cell["origin"] == "course":
            for line in cell["source"].splitlines():
                if line.startswith("## "):
                    heading = line[3:].strip()
                    break
        if cell.get("part") in targets:
            name = targets[cell["part"]]
            short = heading.split(":")[0].strip() if heading else ""
            titles[cell["part"]] = f"{short} – {name}" if short else name
    return titles


def page(assignment, student, verdict, graded):
    """The feedback page of one graded submission (a :class:`autograder.verdict.Verdict`)."""
    titles = part_titles(verdict.display, graded)
    rows, first_fix = [], None
    for g in graded:
        part = verdict.parts[g.grade_id]
        title = titles.get(g.grade_id, g.part)
        rows.append(f'<tr><td><a href="#part-{html.escape(g.grade_id)}">{html.escape(title)}</a></td>'
                    f'<td class="num">{part.points:g} of {part.max_points:g}</td>'
                    f'<td class="num">{part.passed}/{part.total} cases</td></tr>')
        if first_fix is None and part.points < part.max_points:
            first_fix = (g.grade_id, title, part)
    head = [f"<h1>{html.escape(exercise_title(verdict.display) or assignment)}: your feedback</h1>",
            '<section class="verdict" aria-label="Your points">',
            f"<h2>{verdict.total:g} of {sum(p.max_points for p in verdict.parts.values()):g} points</h2>",
            "<p>These points come from running your functions on hidden inputs, outside your notebook. Each "
            "missed case is named by its inputs' shapes and settings, never by the expected answer.</p>"]
    if verdict.stopped:
        head.append(f'<p class="stopped"><strong>Your notebook did not run to the end:</strong> '
                    f"{html.escape(verdict.stopped)}. Parts after that point could not be graded.</p>")
    if first_fix:
        grade_id, title, part = first_fix
        reason = part.problems[0][2] if part.problems else ""
        head.append(f'<p class="fixfirst"><strong>Fix first:</strong> <a href="#part-{html.escape(grade_id)}">'
                    f"{html.escape(title)}</a> ({part.points:g} of {part.max_points:g}): "
                    f"{html.escape(reason[:300])}</p>")
    head.append('<table><thead><tr><th scope="col">Part</th><th scope="col">Points</th>'
                '<th scope="col">Hidden cases</th></tr></thead><tbody>' + "".join(rows) + "</tbody></table>")
    chapter = chapter_link(assignment)
    if chapter:
        head.append(f"<p>Stuck on a part? {chapter[0].upper() + chapter[1:]} explains each of them.</p>")
    head.append("</section>")

    body = ['<nav aria-label="Parts"><h2>Your notebook, as it was graded</h2><ol>' +
            "".join(f'<li><a href="#part-{html.escape(g.grade_id)}">{html.escape(titles.get(g.grade_id, g.part))}'
                    f"</a></li>" for g in graded) + "</ol></nav>"]
    for cell in verdict.display:
        body.append(_cell_html(cell, verdict, titles))
    title = f"{assignment}: feedback for {student}"
    return ("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
            f'<meta http-equiv="Content-Security-Policy" content="{CSP}">'
            '<meta name="viewport" content="width=device-width, initial-scale=1">'
            f"<title>{html.escape(title)}</title><style>{STYLE}</style></head>"
            f"<body><main>{''.join(head)}{''.join(body)}</main></body></html>\n")


def _cell_html(cell, verdict, titles):
    student = cell["origin"] == "student"
    classes = "cell student" if student else "cell"
    who = "your cell" if student else "the course's cell"
    if cell["type"] == "markdown":
        label = '<p class="who">your note</p>' if student else ""
        return f'<div class="{classes}">{label}{render_markdown(cell["source"])}</div>'
    parts = [f'<div class="{classes}"', f' id="part-{html.escape(cell["part"])}"' if cell.get("part") else "", ">"]
    parts.append(f'<p class="who">{who}</p>{_pre(cell["source"])}')
    output = verdict.outputs.get(cell["step"]) if cell.get("step") is not None else None
    if cell.get("part"):
        result = verdict.parts.get(cell["part"])
        if result is not None:
            parts.append(_graded_html(result, titles.get(cell["part"], result.part)))
    elif output is not None:
        parts.append(_pre(output["output"], "out"))
        if output["error"]:
            parts.append(_pre(output["error"], "err"))
        for number, png in enumerate(output["figures"], 1):
            parts.append(f'<img class="figure" alt="figure {number} drawn by this cell" '
                         f'src="data:image/png;base64,{base64.b64encode(png).decode()}">')
    elif cell.get("step") is not None:
        parts.append('<p class="who">(not run: the notebook stopped before this cell)</p>')
    parts.append("</div>")
    return "".join(parts)


def _graded_html(result, title):
    items = []
    reasons = {problem for _, _, problem in result.problems}
    if result.passed == 0 and len(result.problems) > 1 and len(reasons) == 1:
        items.append(f"<li>every case: {html.escape(reasons.pop())}</li>")
    else:
        items += [f"<li>case {n} ({html.escape(label)}): {html.escape(problem)}</li>"
                  for n, label, problem in result.problems]
    listing = f"<ul>{''.join(items)}</ul>" if items else ""
    return (f'<div class="graded"><strong>{html.escape(title)}: {result.points:g} of {result.max_points:g} '
            f"points</strong> ({result.passed}/{result.total} hidden cases passed){listing}</div>")


def problem_page(assignment, student, row):
    """The page of a submission that could not be graded at all (not a notebook, wrong assignment...)."""
    notes = "".join(f"<li>{html.escape(n)}</li>" for n in row.notes)
    return ("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
            f'<meta http-equiv="Content-Security-Policy" content="{CSP}">'
            '<meta name="viewport" content="width=device-width, initial-scale=1">'
            f"<title>{html.escape(assignment)}: feedback for {html.escape(student)}</title><style>{STYLE}</style>"
            f'</head><body><main><h1>{html.escape(assignment)}: your feedback</h1><section class="verdict">'
            f"<h2>{row.total:g} of {row.max:g} points</h2><p class=\"stopped\">Your notebook could not be graded "
            f"({html.escape(row.status)}).</p><ul>{notes}</ul></section></main></body></html>\n")
