"""What the instructor gets: the grade tables, the class page, the terminal summary and progress bar.

* ``grades.csv``: one row per student found, the columns ``student``, one per
  graded part (its grade id), ``total``, ``max``, ``status``;
* ``review.csv``: only the rows that need a human look, with every reason;
* ``canvas.csv`` and ``moodle.csv``: the totals in the columns those
  gradebooks import as they are;
* ``index.html``: the class at a glance, sortable, linking every feedback page.

Student names come from file names and notes quote notebooks: every text
goes through :mod:`autograder.untrusted_text` (no escape sequence, control
or bidi character reaches a table, a page or the terminal), and every cell
that a spreadsheet reads starts with a harmless character.
"""

from __future__ import annotations

import csv
import hashlib
import os
import shutil
import statistics
import sys
from pathlib import Path

from .untrusted_text import for_csv, for_html, for_terminal

NOTES_CELL_CHARS = 2000  # review.csv's notes of one row, joined


def cell(value):
    """A CSV cell a spreadsheet shows as text, never runs as a formula (see :func:`untrusted_text.for_csv`)."""
    return for_csv(value)


def _write_csv(path, header, rows):
    tmp = path.with_name(f".{path.name}.tmp")
    with open(tmp, "w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow([cell(h) for h in header])
        for row in rows:
            writer.writerow([cell(v) for v in row])
    os.replace(tmp, path)


def write_outputs(out, assignment, rows, parts):
    """All tables and the class page (``parts``: [(grade_id, points)] in order)."""
    out = Path(out)
    grade_ids = [gid for gid, _ in parts]
    # Late columns (autograder.late) only when a due time was given, so other runs keep their layout.
    late = any(r.raw_total is not None for r in rows)
    _write_csv(out / "grades.csv", ["student", *grade_ids, "total", "max", "status"]
               + (["submitted", "late", "penalty", "raw_total"] if late else []),
               [[r.student, *(f"{r.scores.get(g, 0.0):g}" for g in grade_ids), f"{r.total:g}", f"{r.max:g}",
                 r.status] + ([r.submitted, f"{r.late}", f"{r.penalty:.0%}",
                               f"{r.total if r.raw_total is None else r.raw_total:g}"] if late else [])
                for r in rows])
    _write_csv(out / "review.csv", ["student", "status", "notes"],
               [[r.student, r.status, for_terminal(" | ".join(map(str, r.notes)), NOTES_CELL_CHARS)]
                for r in rows if needs_look(r)])
    column = f"{assignment} ({sum(p for _, p in parts):g} points)"
    _write_csv(out / "canvas.csv", ["Student", "ID", "SIS User ID", "SIS Login ID", "Section", column],
               [["", "", "", r.student, "", f"{r.total:g}"] for r in rows])
    _write_csv(out / "moodle.csv", ["Username", assignment], [[r.student, f"{r.total:g}"] for r in rows])
    tmp = out / ".index.html.tmp"
    tmp.write_text(class_page(assignment, rows, parts))
    os.replace(tmp, out / "index.html")


def needs_look(row):
    return row.status != "ok"


def _histogram_svg(values, top, label):
    bins = [0] * 5
    for value in values:
        bins[min(int(5 * value / top), 4) if top else 0] += 1
    peak = max(bins) or 1
    bars = []
    for index, count in enumerate(bins):
        height = 60 * count / peak
        bars.append(f'<rect x="{index * 36 + 2}" y="{70 - height:.1f}" width="32" height="{height:.1f}" '
                    f'fill="#2b4a6f"><title>{index * 20}-{(index + 1) * 20}%: {count}</title></rect>'
                    f'<text x="{index * 36 + 18}" y="84" font-size="10" text-anchor="middle">{index * 20}%</text>')
    return (f'<svg role="img" aria-label="{for_html(label)}" width="182" height="90" '
            f'viewBox="0 0 182 90">{"".join(bars)}</svg>')


SORT_SCRIPT = """
document.querySelectorAll('th[data-sort]').forEach(function (th, column) {
  th.addEventListener('click', function () {
    var body = th.closest('table').tBodies[0];
    var rows = Array.prototype.slice.call(body.rows);
    var up = th.getAttribute('aria-sort') !== 'ascending';
    rows.sort(function (a, b) {
      var x = a.cells[column].dataset.value, y = b.cells[column].dataset.value;
      var nx = parseFloat(x), ny = parseFloat(y);
      var c = (!isNaN(nx) && !isNaN(ny)) ? nx - ny : x.localeCompare(y);
      return up ? c : -c;
    });
    th.closest('tr').querySelectorAll('th').forEach(function (h) { h.removeAttribute('aria-sort'); });
    th.setAttribute('aria-sort', up ? 'ascending' : 'descending');
    rows.forEach(function (r) { body.appendChild(r); });
  });
});
"""


def part_name(grade_id):
    """The name a part goes by (its function: ``conv2d_backward``), from its grade id (``conv2d_backward_tests``)."""
    return grade_id[:-len("_tests")] if grade_id.endswith("_tests") else grade_id


def class_page(assignment, rows, parts):
    """``index.html``: students x parts, status, links to feedback; a histogram per part; who needs a look."""
    import base64

    digest = base64.b64encode(hashlib.sha256(SORT_SCRIPT.encode()).digest()).decode()
    csp = f"default-src 'none'; style-src 'unsafe-inline'; script-src 'sha256-{digest}'"
    # Who, how much and whether to look first; then the parts, by the names students see, narrow enough that
    # a class page of a dozen parts fits 1280 px without scrolling sideways.
    head = ['<th scope="col" data-sort="text" tabindex="0">student</th>',
            '<th scope="col" data-sort="num" tabindex="0">total</th>',
            '<th scope="col" data-sort="text" tabindex="0">status</th>']
    head += [f'<th scope="col" class="part" data-sort="num" tabindex="0" title="{for_html(gid)}">'
             f'{for_html(part_name(gid)).replace("_", "_<wbr>")}<br><small>{points:g} pt</small></th>'
             for gid, points in parts]
    body = []
    for row in rows:
        link = f'<a href="feedback/{for_html(row.key or row.student)}.html">{for_html(row.student, limit=120)}</a>'
        cells = [f'<td data-value="{for_html(row.student, limit=120)}">{link}</td>',
                 f'<td data-value="{row.total:g}">{row.total:g} / {row.max:g}</td>',
                 f'<td data-value="{for_html(row.status)}">{for_html(row.status)}</td>']
        cells += [f'<td data-value="{row.scores.get(g, 0.0):g}">{row.scores.get(g, 0.0):g}</td>' for g, _ in parts]
        body.append(f"<tr>{''.join(cells)}</tr>")
    histograms = []
    for gid, points in [("total", sum(p for _, p in parts)), *parts]:
        values = [r.total if gid == "total" else r.scores.get(gid, 0.0) for r in rows]
        histograms.append(f"<figure><figcaption>{for_html(part_name(gid))}</figcaption>"
                          f"{_histogram_svg(values, points, f'histogram of {part_name(gid)}')}</figure>")
    look = [f"<li><a href=\"feedback/{for_html(r.key or r.student)}.html\">{for_html(r.student, limit=120)}</a>: "
            f"{for_html(r.status)} – {for_html(' | '.join(map(str, r.notes)), limit=300)}</li>"
            for r in rows if needs_look(r)]
    style = ("body{font-family:system-ui,sans-serif;margin:1rem;color:#1b1b1b}table{border-collapse:collapse}"
             "td,th{border:1px solid #ccc;padding:.2rem .35rem;text-align:left}th{cursor:pointer;background:#eef3fa}"
             "figure{display:inline-block;margin:.5rem}.hist{display:flex;flex-wrap:wrap}.scroll{overflow-x:auto}"
             "th.part{font-size:.75rem;font-weight:600;max-width:6.5rem;overflow-wrap:break-word;vertical-align:bottom}"
             "td{font-variant-numeric:tabular-nums}td:nth-child(-n+3),th:nth-child(-n+3){white-space:nowrap}")
    return ("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
            f'<meta http-equiv="Content-Security-Policy" content="{csp}">'
            '<meta name="viewport" content="width=device-width, initial-scale=1">'
            f"<title>{for_html(assignment)}: the class</title><style>{style}</style></head><body>"
            f"<h1>{for_html(assignment)}: {len(rows)} submissions</h1>"
            f'<div class="hist">{"".join(histograms)}</div>'
            f"<h2>Need a look ({len(look)})</h2><ul>{''.join(look) or '<li>none</li>'}</ul>"
            f"<h2>Grades</h2><p>Click a column's heading to sort.</p><div class=\"scroll\"><table><thead><tr>"
            f"{''.join(head)}</tr></thead><tbody>{''.join(body)}</tbody></table></div><script>{SORT_SCRIPT}</script></body></html>\n")


def summary(rows, parts, seconds=None, graded_now=0, width=None):
    """Count, mean, median, a histogram scaled to the terminal, a line per part, and who needs a look."""
    lines = [f"{len(rows)} submissions"]
    if not rows:
        return lines[0]
    width = width or shutil.get_terminal_size((80, 24)).columns
    totals = [row.total for row in rows]
    top = sum(p for _, p in parts) or max(row.max for row in rows) or 1.0
    lines.append(f"mean {statistics.mean(totals):.2f}, median {statistics.median(totals):.2f}, "
                 f"min {min(totals):g}, max {max(totals):g} (of {top:g} points)")
    bins = [0] * 5
    for total in totals:
        bins[min(int(5 * total / top), 4)] += 1
    room = max(10, width - 24)
    peak = max(bins) or 1
    for index, count in enumerate(bins):
        bar = "#" * (round(count * room / peak) if peak > room else count)
        lines.append(f"  {index * 20:3d}-{(index + 1) * 20:3d}% {bar} {count}")
    lines.append("per part (mean, at zero, at full marks):")
    for gid, points in parts:
        scores = [row.scores.get(gid, 0.0) for row in rows]
        zero = sum(1 for s in scores if s <= 0) / len(scores)
        full = sum(1 for s in scores if s >= points - 1e-9) / len(scores)
        warn = "   <- everyone scored 0: check the exercise and its tests" if zero == 1 and len(rows) > 2 else ""
        lines.append(f"  {for_terminal(gid, 60):<32} {statistics.mean(scores):5.2f} of {points:g}   zero {zero:4.0%}   "
                     f"full {full:4.0%}{warn}")
    if seconds is not None:
        rate = f", {60 * graded_now / seconds:.1f} submissions a minute" if graded_now and seconds > 0 else ""
        lines.append(f"graded {graded_now} in {seconds:.1f} s{rate}")
    flagged = [row for row in rows if needs_look(row)]
    if flagged:
        lines.append(f"{len(flagged)} need a human look (details in review.csv):")
        for row in flagged:
            note = row.notes[0] if row.notes else ""
            lines.append(for_terminal(f"  {row.student}: {row.status}" + (f": {note}" if note else ""), width * 2))
    else:
        lines.append("no submission needs a human look")
    return "\n".join(lines)


class Progress:
    """A progress bar on stderr with each finished submission's status."""

    def __init__(self, stream=sys.stderr):
        self.stream = stream
        self.bar = None

    def start(self, total, already=0):
        from tqdm import tqdm

        self.bar = tqdm(total=total, initial=already, unit="nb", file=self.stream, dynamic_ncols=True,
                        desc="grading")

    def update(self, row):
        self.bar.set_postfix_str(for_terminal(f"{row.student}: {row.total:g}/{row.max:g} {row.status}", 60),
                                 refresh=False)
        self.bar.update(1)

    def close(self):
        if self.bar is not None:
            self.bar.close()
