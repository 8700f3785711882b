"""A feedback page is bounded where it is made, and says where it was cut."""

import time

from autograder import feedback
from autograder.verdict import GradedCell, PartResult, Verdict

GRADED = [GradedCell("a_tests", "a", "a", 2.0)]


def verdict(display, outputs=None, problems=()):
    part = PartResult("a_tests", "a", 0.0, 2.0, 0, len(problems), list(problems))
    return Verdict({"a_tests": part}, display=display, outputs=outputs or {})


def code(step, source="print(1)"):
    return {"type": "code", "source": source, "origin": "student", "step": step, "id": None}


def markdown(source):
    return {"type": "markdown", "source": source, "origin": "student", "step": None, "id": None}


def test_an_output_flood_is_cut_at_the_page_limit_with_a_notice():
    cells = [code(n) for n in range(2000)]
    outputs = {n: {"output": "y" * 50_000, "error": "E" * 2000, "figures": []} for n in range(2000)}
    page = feedback.page("02-convolution", "ann", verdict(cells, outputs), GRADED)
    assert len(page.encode()) <= feedback.MAX_PAGE_BYTES + 64 * 1024, len(page.encode())
    assert "The page was cut here" in page and "more cell(s) of your notebook are not shown" in page
    assert "more characters not shown" in page  # each output was cut too


def test_a_long_cell_is_shown_cut_with_the_count_of_what_is_left():
    page = feedback.page("02-convolution", "ann", verdict([code(0, "x = 1\n" * 200_000)]), GRADED)
    assert f"{6 * 200_000 - feedback.MAX_SHOWN_CHARS:,} more characters not shown" in page
    assert len(page) < 100_000


def test_math_past_the_count_is_shown_as_tex_and_the_page_says_how_many():
    budget = feedback.RenderBudget(formulas=3)
    html = feedback.render_markdown(" ".join(f"$x_{{{n}}}$" for n in range(10)), budget)
    assert html.count('<svg class="math"') == 3 and html.count('<code class="tex">') == 7
    assert budget.skipped == 7 and "7 formula(s) are shown as TeX" in budget.notice()


def test_math_stops_when_its_time_is_spent(monkeypatch):
    def slow(tex, display=False):
        time.sleep(0.05)
        return '<svg class="math"></svg>'

    monkeypatch.setattr(feedback, "math_svg", slow)
    budget = feedback.RenderBudget(seconds=0.12)
    html = feedback.render_markdown(" ".join(f"$y_{n}$" for n in range(40)), budget)
    assert 2 <= html.count('<svg class="math"') <= 4, html.count('<svg class="math"')


def test_a_page_of_many_formulas_draws_at_most_the_budget(monkeypatch):
    monkeypatch.setattr(feedback, "math_svg", lambda tex, display=False: '<svg class="math"></svg>')
    cells = [markdown(" ".join(f"$z_{{{n}}}$" for n in range(start, start + 100))) for start in range(0, 5000, 100)]
    page = feedback.page("02-convolution", "ann", verdict(cells), GRADED)
    assert page.count('<svg class="math"') == feedback.MAX_FORMULAS
    assert f"{5000 - feedback.MAX_FORMULAS} formula(s) are shown as TeX" in page


def test_a_huge_formula_is_not_drawn():
    html = feedback.render_markdown("$" + "x+" * 2000 + "x$")
    assert '<svg' not in html and '<code class="tex">' in html


def test_text_spelt_like_a_placeholder_stays_text():
    # Once an IndexError: the student's own "placeholder" named a formula that did not exist.
    html = feedback.render_markdown("MATHXPLACEHOLDERX99X and $x$")
    assert "MATHXPLACEHOLDERX99X" in html and "<svg" in html


def test_failed_cases_listed_are_bounded():
    problems = [(n, f"case {n}", f"wrong value {n}") for n in range(1, 5000)]
    page = feedback.page("02-convolution", "ann", verdict([{"type": "code", "source": "check()", "origin": "course",
                                                             "step": 0, "id": "a_tests", "part": "a_tests"}],
                                                           problems=problems), GRADED)
    assert page.count("<li>case ") == feedback.MAX_CASES_LISTED
    assert f"… and {4999 - feedback.MAX_CASES_LISTED} more cases not listed" in page


def test_figures_past_the_page_limit_are_counted_not_shown():
    png = b"\x89PNG\r\n\x1a\n" + b"0" * 100
    outputs = {n: {"output": "", "error": None, "figures": [png] * 8} for n in range(10)}
    page = feedback.page("02-convolution", "ann", verdict([code(n) for n in range(10)], outputs), GRADED)
    assert page.count('<img class="figure"') == feedback.MAX_FIGURES
    assert f"{80 - feedback.MAX_FIGURES} figure(s) are not shown" in page


def test_escape_sequences_in_outputs_and_names_never_reach_the_page():
    outputs = {0: {"output": "\x1b[31mred\x1b[0m\x1b]0;title\x07", "error": "\u202eevil", "figures": []}}
    page = feedback.page("02-convolution", "ann\x1b[2J", verdict([code(0, "print('\x1b[31m')")], outputs), GRADED)
    assert "\x1b" not in page and "\u202e" not in page and "\x07" not in page and "red" in page


def test_markdown_past_the_page_budget_is_shown_as_text_quickly():
    cells = [markdown("*a" * 10_000) for _ in range(300)]
    start = time.monotonic()
    page = feedback.page("02-convolution", "ann", verdict(cells), GRADED)
    seconds = time.monotonic() - start
    rendered = feedback.MAX_MARKDOWN_CHARS // 20_000
    assert page.count("<em>") > 0 and f"{300 - rendered} markdown cell(s) are shown as plain text" in page
    assert seconds < 60, seconds  # each takes about 0.75 s to render: all 300 would take minutes
