"""A student's feedback page: their points per part, what to fix first, then their notebook as it ran.

The page is one self-contained HTML file: its math is rendered here, at
grading time, to inline SVG (matplotlib's mathtext, so no script and no
network), its figures are embedded PNGs, and it can be mailed or uploaded
to a learning platform as it is. Nothing a student wrote is ever rendered as
HTML: code, printed output and error messages are escaped text, the
student's markdown is rendered with raw HTML disabled, and only PNG figures
are kept. A Content-Security-Policy forbids every script on the page.

Every part of a page is bounded where it is made, and the page says so
where it cut: the text of a cell shown (:data:`MAX_SHOWN_CHARS`), the math
drawn and the markdown rendered (:class:`RenderBudget`: formulas, seconds
and bytes of SVG, the rest shown as TeX; characters of markdown, the rest
shown as plain text), the cases listed per part, the figures, and the page as a
whole (:data:`MAX_PAGE_BYTES`: cells past it are left out, with a notice).
All text passes :mod:`autograder.untrusted_text` first.
"""

from __future__ import annotations

import base64
import re
import secrets
import time
from functools import lru_cache

from .untrusted_text import for_html, plain

MAX_PAGE_BYTES = 16 * 1024 * 1024  # the instructor's limit for a page is 32 MiB
MAX_SHOWN_CHARS = 20_000  # of one cell's source, output or error, and of one markdown cell
MAX_TEX_CHARS = 1000  # one formula; longer is shown as TeX
MAX_FORMULAS = 200  # drawn per page (the course's longest notebook has 36)
MAX_MATH_SECONDS = 5.0  # about 100 formulas on a busy machine; the course's are cached per worker
MAX_MATH_BYTES = 4 * 1024 * 1024
MAX_MARKDOWN_CHARS = 200_000  # rendered per page (the course's longest notebook has 10,000); some take 1 s per 20,000
MAX_CASES_LISTED = 50  # per graded part
MAX_FIGURES = 40  # per page

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
.cut{background:#fff4d6;border-left:4px solid #a86b00;padding:.3rem .8rem}
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
        return tex_code(tex)
    svg = buffer.getvalue()
    svg = svg[svg.find("<svg"):]
    svg = re.sub(r"<metadata>.*?</metadata>", "", svg, flags=re.S)
    svg = svg.replace("<svg ", f'<svg class="math" role="img" aria-label="{for_html(tex, limit=300)}" ', 1)
    return svg


def tex_code(tex):
    """A formula shown as its TeX, when it is not drawn."""
    return f'<code class="tex">{for_html(tex, limit=MAX_TEX_CHARS)}</code>'


class RenderBudget:
    """How much one page may still render: formulas (count, seconds, bytes of SVG) and markdown (characters).

    A page of thousands of formulas, of formulas that take mathtext long to
    lay out, or of markdown built to be slow to parse would otherwise take
    minutes and megabytes; past the budget formulas are shown as their TeX
    and markdown as plain text, and :meth:`notice` says how many.
    """

    def __init__(self, formulas=MAX_FORMULAS, seconds=MAX_MATH_SECONDS, size=MAX_MATH_BYTES,
                 markdown=MAX_MARKDOWN_CHARS):
        self.formulas, self.seconds, self.size, self.markdown = formulas, seconds, size, markdown
        self.skipped = 0  # formulas shown as TeX
        self.unrendered = 0  # markdown cells shown as text

    def render(self, tex, display=False):
        """SVG of ``tex`` while the budget lasts, its TeX after."""
        if self.formulas <= 0 or self.seconds <= 0 or self.size <= 0 or len(tex) > MAX_TEX_CHARS:
            self.skipped += 1
            return tex_code(tex)
        start = time.monotonic()
        svg = math_svg(tex, display)
        self.formulas -= 1
        self.seconds -= time.monotonic() - start
        self.size -= len(svg)
        return svg

    def take_markdown(self, chars):
        """Whether markdown of ``chars`` characters may still be rendered (and spend them if so)."""
        if chars > self.markdown:
            self.unrendered += 1
            return False
        self.markdown -= chars
        return True

    def notice(self):
        """Paragraphs saying what was shown unrendered, or ``""``."""
        notes = []
        if self.skipped:
            notes.append(f'<p class="cut">{self.skipped} formula(s) are shown as TeX: a page draws at most '
                         f"{MAX_FORMULAS} formulas, {MAX_MATH_SECONDS:g} s and {MAX_MATH_BYTES >> 20} MiB of math, "
                         f"and none longer than {MAX_TEX_CHARS} characters.</p>")
        if self.unrendered:
            notes.append(f'<p class="cut">{self.unrendered} markdown cell(s) are shown as plain text: a page renders '
                         f"at most {MAX_MARKDOWN_CHARS:,} characters of markdown.</p>")
        return "".join(notes)


@lru_cache(maxsize=1)
def _markdown():
    from markdown_it import MarkdownIt

    return MarkdownIt("commonmark", {"html": False, "linkify": False}).enable("table")


def render_markdown(text, budget=None):
    """Markdown to HTML with raw HTML disabled and math rendered to SVG while ``budget`` lasts.

    Parameters
    ----------
    text : str
        The markdown; cut to :data:`MAX_SHOWN_CHARS` (with a notice) before it is parsed.
    budget : RenderBudget or None
        The page's budget; a fresh one when ``None``.
    """
    budget = budget if budget is not None else RenderBudget()
    text, cut = _cut(plain(text, lines=True))
    if not budget.take_markdown(len(text)):
        return f'<pre>{for_html(text, lines=True)}</pre>' + _cut_notice(cut)
    formulas = []
    nonce = secrets.token_hex(8)  # a student cannot write the placeholder of a formula

    def stash(match):
        formulas.append((match.group(1) or match.group(2), match.group(1) is not None))
        return f"MATHX{nonce}X{len(formulas) - 1}X"

    body = _markdown().render(MATH.sub(stash, text))
    body = body.replace("<table>", '<table class="md">')

    def put_back(match):
        tex, display = formulas[int(match.group(1))]
        svg = budget.render(tex, display)
        return f'<div class="math-display">{svg}</div>' if display else svg

    return re.sub(rf"MATHX{nonce}X(\d+)X", put_back, body) + _cut_notice(cut)


def _cut(text):
    """``(text cut to MAX_SHOWN_CHARS, how many characters were cut)``."""
    text = str(text)
    return (text, 0) if len(text) <= MAX_SHOWN_CHARS else (text[:MAX_SHOWN_CHARS], len(text) - MAX_SHOWN_CHARS)


def _cut_notice(cut):
    return f'<p class="cut">… {cut:,} more characters not shown.</p>' if cut else ""


def _pre(text, kind=""):
    """``text`` as preformatted, escaped text, cut to :data:`MAX_SHOWN_CHARS` with a notice."""
    if not text:
        return ""
    text, cut = _cut(text)
    return f'<pre class="{kind}">{for_html(text, lines=True)}</pre>' + _cut_notice(cut)


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
        return f'<a href="{for_html(base)}/book/{for_html(assignment)}.html">{name}</a>'
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
    """The feedback page of one graded submission (a :class:`autograder.verdict.Verdict`).

    At most :data:`MAX_PAGE_BYTES`: the verdict always, then the notebook's
    cells until the next one would pass the limit, then a notice of the cut.
    """
    titles = part_titles(verdict.display, graded)
    rows, first_fix = [], None
    for g in graded:
        part = verdict.parts.get(g.grade_id)
        if part is None:
            continue
        title = titles.get(g.grade_id, g.part)
        rows.append(f'<tr><td><a href="#part-{for_html(g.grade_id)}">{for_html(title)}</a></td>'
                    f'<td class="num">{part.points:g} of {part.max_points:g}</td>'
                    f'<td class="num">{part.passed}/{part.total} cases</td></tr>')
        if first_fix is None and part.points < part.max_points:
            first_fix = (g.grade_id, title, part)
    head = [f"<h1>{for_html(exercise_title(verdict.display) or assignment)}: your feedback</h1>",
            '<section class="verdict" aria-label="Your points">',
            f"<h2>{verdict.total:g} of {sum(p.max_points for p in verdict.parts.values()):g} points</h2>",
            "<p>These points come from running your functions on hidden inputs, outside your notebook. Each "
            "missed case is named by its inputs' shapes and settings, never by the expected answer.</p>"]
    if verdict.stopped:
        head.append(f'<p class="stopped"><strong>Your notebook did not run to the end:</strong> '
                    f"{for_html(verdict.stopped, limit=600)}. Parts after that point could not be graded.</p>")
    if first_fix:
        grade_id, title, part = first_fix
        reason = part.problems[0][2] if part.problems else ""
        head.append(f'<p class="fixfirst"><strong>Fix first:</strong> <a href="#part-{for_html(grade_id)}">'
                    f"{for_html(title)}</a> ({part.points:g} of {part.max_points:g}): "
                    f"{for_html(reason, limit=300)}</p>")
    head.append('<table><thead><tr><th scope="col">Part</th><th scope="col">Points</th>'
                '<th scope="col">Hidden cases</th></tr></thead><tbody>' + "".join(rows) + "</tbody></table>")
    chapter = chapter_link(assignment)
    if chapter:
        head.append(f"<p>Stuck on a part? {chapter[0].upper() + chapter[1:]} explains each of them.</p>")
    head.append("</section>")

    body = ['<nav aria-label="Parts"><h2>Your notebook, as it was graded</h2><ol>' +
            "".join(f'<li><a href="#part-{for_html(g.grade_id)}">{for_html(titles.get(g.grade_id, g.part))}'
                    f"</a></li>" for g in graded) + "</ol></nav>"]
    budget, figures = RenderBudget(), [MAX_FIGURES]
    size = sum(len(piece.encode()) for piece in head + body) + len(STYLE) + 1000
    cells = list(verdict.display)
    for number, cell in enumerate(cells):
        piece = _cell_html(cell, verdict, titles, budget, figures)
        size += len(piece.encode())
        if size > MAX_PAGE_BYTES:
            body.append(f'<p class="cut"><strong>The page was cut here:</strong> {len(cells) - number} more '
                        f"cell(s) of your notebook are not shown, because a feedback page holds at most "
                        f"{MAX_PAGE_BYTES >> 20} MiB. Your points above count every cell.</p>")
            break
        body.append(piece)
    if figures[0] < 0:
        head.append(f'<p class="cut">{-figures[0]} figure(s) are not shown: a page shows at most {MAX_FIGURES}.</p>')
    head.append(budget.notice())
    title = f"{assignment}: feedback for {student}"
    return ("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
            f'<meta http-equiv="Content-Security-Policy" content="{CSP}">'
            '<meta name="viewport" content="width=device-width, initial-scale=1">'
            f"<title>{for_html(title, limit=300)}</title><style>{STYLE}</style></head>"
            f"<body><main>{''.join(head)}{''.join(body)}</main></body></html>\n")


def _cell_html(cell, verdict, titles, budget, figures):
    """One cell of the notebook as graded; ``figures`` is ``[how many the page may still show]``."""
    student = cell.get("origin") == "student"
    classes = "cell student" if student else "cell"
    who = "your cell" if student else "the course's cell"
    if cell.get("type") == "markdown":
        label = '<p class="who">your note</p>' if student else ""
        return f'<div class="{classes}">{label}{render_markdown(str(cell.get("source", "")), budget)}</div>'
    parts = [f'<div class="{classes}"', f' id="part-{for_html(cell["part"])}"' if cell.get("part") else "", ">"]
    parts.append(f'<p class="who">{who}</p>{_pre(str(cell.get("source", "")))}')
    output = verdict.outputs.get(cell["step"]) if cell.get("step") is not None else None
    if cell.get("part"):
        result = verdict.parts.get(cell["part"])
        if result is not None:
            parts.append(_graded_html(result, titles.get(cell["part"], result.part)))
    elif output is not None:
        parts.append(_pre(output.get("output"), "out"))
        if output.get("error"):
            parts.append(_pre(output["error"], "err"))
        for number, png in enumerate(output.get("figures") or [], 1):
            figures[0] -= 1
            if figures[0] < 0:
                continue
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
        items.append(f"<li>every case: {for_html(reasons.pop(), limit=300)}</li>")
    else:
        items += [f"<li>case {n} ({for_html(label, limit=200)}): {for_html(problem, limit=300)}</li>"
                  for n, label, problem in result.problems[:MAX_CASES_LISTED]]
        if len(result.problems) > MAX_CASES_LISTED:
            items.append(f"<li>… and {len(result.problems) - MAX_CASES_LISTED} more cases not listed</li>")
    listing = f"<ul>{''.join(items)}</ul>" if items else ""
    return (f'<div class="graded"><strong>{for_html(title)}: {result.points:g} of {result.max_points:g} '
            f"points</strong> ({result.passed}/{result.total} hidden cases passed){listing}</div>")


def problem_page(assignment, student, row):
    """The page of a submission that could not be graded at all (not a notebook, wrong assignment...)."""
    notes = "".join(f"<li>{for_html(n, lines=True, limit=MAX_SHOWN_CHARS)}</li>" for n in row.notes[:MAX_CASES_LISTED])
    return ("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
            f'<meta http-equiv="Content-Security-Policy" content="{CSP}">'
            '<meta name="viewport" content="width=device-width, initial-scale=1">'
            f"<title>{for_html(assignment)}: feedback for {for_html(student, limit=120)}</title><style>{STYLE}</style>"
            f'</head><body><main><h1>{for_html(assignment)}: your feedback</h1><section class="verdict">'
            f"<h2>{row.total:g} of {row.max:g} points</h2><p class=\"stopped\">Your notebook could not be graded "
            f"({for_html(row.status)}).</p><ul>{notes}</ul></section></main></body></html>\n")
