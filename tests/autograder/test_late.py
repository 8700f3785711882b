"""Late work: due times, penalty rules, nbgrader's timestamp.txt, and the penalty on a row's total."""

import re
from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings, strategies as st

from autograder import late
from autograder.state import Row


def test_times_without_an_offset_are_read_in_the_given_zone():
    berlin, new_york = "Europe/Berlin", "America/New_York"
    assert late.parse_time("2026-12-01T23:59", zone=new_york) == datetime(2026, 12, 2, 4, 59)
    assert late.parse_time("Tuesday, 1 December 2026, 11:59 PM", zone=berlin) == datetime(2026, 12, 1, 22, 59)
    # nbgrader with Exchange.timezone set writes its zone's abbreviation, in winter and in summer.
    assert late.parse_time("2026-12-02 00:30:00.000000 CET", zone=berlin) == datetime(2026, 12, 1, 23, 30)
    assert late.parse_time("2026-07-01 12:00:00.000000 CEST", zone=berlin) == datetime(2026, 7, 1, 10, 0)
    # An offset, or UTC named, wins over the zone.
    assert late.parse_time("2026-12-02T00:59+01:00", zone=new_york) == datetime(2026, 12, 1, 23, 59)
    assert late.parse_time("2026-12-01 23:59:00.000000 UTC", zone=berlin) == datetime(2026, 12, 1, 23, 59)
    # Wherever the zone's name stands, and after AM or PM.
    assert late.parse_time("Wed Dec 02 00:30:00 CET 2026", zone=berlin) == datetime(2026, 12, 1, 23, 30)
    assert late.parse_time("2 December 2026, 12:30 AM CET", zone=berlin) == datetime(2026, 12, 1, 23, 30)
    # The hour a clock turns back: the abbreviation tells the two readings apart.
    assert late.parse_time("2026-11-01 01:30:00.000000 EDT", zone=new_york) == datetime(2026, 11, 1, 5, 30)
    assert late.parse_time("2026-11-01 01:30:00.000000 EST", zone=new_york) == datetime(2026, 11, 1, 6, 30)


def test_a_zone_the_time_was_not_written_in_is_an_error_not_a_wrong_time():
    # Without --timezone, a CET time read as UTC would make an on-time student an hour late.
    with pytest.raises(ValueError, match=r"timestamp.txt was written in the zone 'CET'.*--timezone \(UTC\)"):
        late.parse_time("2026-12-02 00:30:00.000000 CET", "02-convolution/timestamp.txt")
    for written in ("Wed Dec 02 00:30:00 CET 2026", "2 December 2026, 12:30 AM CET"):
        with pytest.raises(ValueError, match="written in the zone 'CET'"):
            late.parse_time(written)
    with pytest.raises(ValueError, match=r"'CEST', which is not what --timezone \(Europe/Berlin\) calls "
                                         r"2026-12-02 00:30 \(CET\)"):
        late.parse_time("2026-12-02 00:30:00.000000 CEST", zone="Europe/Berlin")
    for bad in ("Berlin", "Mars/Olympus", "", "../../etc/passwd", "UTC+1"):
        with pytest.raises(ValueError, match=f"--timezone must be an IANA time zone .* got {re.escape(repr(bad))}"):
            late.policy("2026-12-01T23:59", "10%/day", bad)


ZONES = ["UTC", "Europe/Berlin", "America/New_York", "Australia/Lord_Howe", "Asia/Kolkata", "Asia/Dubai",
         "America/St_Johns", "Pacific/Chatham", "Europe/London", "America/Santiago"]


@settings(max_examples=300, deadline=None)
@given(moment=st.datetimes(min_value=datetime(2000, 1, 1), max_value=datetime(2040, 1, 1)),
       zone=st.sampled_from(ZONES))
def test_nbgraders_timestamp_in_any_zone_reads_back_as_the_moment_it_was_written(moment, zone):
    """nbgrader's default format (``%Y-%m-%d %H:%M:%S.%f %Z``) in ``Exchange.timezone``, read with that zone."""
    utc = moment.replace(tzinfo=timezone.utc)
    written = utc.astimezone(ZoneInfo(zone)).strftime("%Y-%m-%d %H:%M:%S.%f %Z")
    assert late.parse_time(written, "timestamp.txt", zone) == moment, written


@settings(max_examples=200, deadline=None)
@given(moment=st.datetimes(min_value=datetime(2000, 1, 1), max_value=datetime(2040, 1, 1)),
       zone=st.sampled_from(ZONES), shift=st.integers(-14 * 60, 14 * 60))
def test_a_time_with_an_offset_is_read_as_that_offset_in_any_zone(moment, zone, shift):
    offset = timezone(timedelta(minutes=shift))
    written = moment.replace(tzinfo=timezone.utc).astimezone(offset).isoformat()
    assert late.parse_time(written, "--due", zone) == moment, written


def test_times_in_every_wording_become_naive_utc():
    assert late.parse_time("2026-12-01T23:59") == datetime(2026, 12, 1, 23, 59)
    assert late.parse_time("2026-12-01 23:59:30.123456 UTC") == datetime(2026, 12, 1, 23, 59, 30, 123456)
    assert late.parse_time("2026-12-02T00:59+01:00") == datetime(2026, 12, 1, 23, 59)
    assert late.parse_time("2026-12-01T23:59Z") == datetime(2026, 12, 1, 23, 59)
    assert late.parse_time("Tuesday, 1 December 2026, 11:59 PM") == datetime(2026, 12, 1, 23, 59)  # Moodle
    with pytest.raises(ValueError, match=r"--due must be a date and time such as .* got 'tomorrow'"):
        late.parse_time("tomorrow", "--due")


@pytest.mark.parametrize("text, expected", [("10%/day", (0.10, "day")), ("2.5 % / hours", (0.025, "hour")),
                                            ("100%/DAY", (1.0, "day"))])
def test_penalty_rules(text, expected):
    assert late.parse_penalty(text) == expected


@pytest.mark.parametrize("text", ["10", "10/day", "10%/week", "150%/day", "-5%/day"])
def test_a_bad_penalty_rule_names_the_option_and_what_came(text):
    with pytest.raises(ValueError, match=r"--late-penalty must be"):
        late.parse_penalty(text)


def test_every_started_day_costs_the_rate_up_to_everything():
    policy = late.policy("2026-12-01T23:59", "10%/day")
    assert policy.penalty(datetime(2026, 12, 1, 23, 59)) == 0  # on the minute is on time
    assert policy.penalty(datetime(2026, 12, 1, 23, 59, 1)) == pytest.approx(0.1)
    assert policy.penalty(datetime(2026, 12, 3, 0, 0)) == pytest.approx(0.2)  # 24 h 1 min: two started days
    assert policy.penalty(datetime(2027, 1, 30)) == 1.0
    assert late.policy(None, None) is None
    with pytest.raises(ValueError, match="--late-penalty needs --due"):
        late.policy(None, "10%/day")


def test_timestamp_txt_is_read_from_nbgraders_layout_only(tmp_path):
    folder = tmp_path / "ann" / "02-convolution"
    folder.mkdir(parents=True)
    (folder / "timestamp.txt").write_text("2026-12-02 10:00:00.000000 UTC\n")
    assert late.read_timestamp(folder / "convolution.ipynb", "02-convolution") == datetime(2026, 12, 2, 10)
    assert late.read_timestamp(tmp_path / "ann.ipynb", "02-convolution") is None  # flat layout: none
    (folder / "timestamp.txt").write_text("whenever")
    with pytest.raises(ValueError, match="02-convolution/timestamp.txt must be a date"):
        late.read_timestamp(folder / "convolution.ipynb", "02-convolution")


def test_apply_takes_the_penalty_from_the_total_and_keeps_the_raw_total_and_parts():
    policy = late.policy("2026-12-01T23:59", "10%/day")
    rows = [Row("ann", "ann", {"a": 8.0, "b": 2.0}, 10.0, 10.0), Row("ben", "ben", {"a": 4.0}, 4.0, 10.0),
            Row("cat", "cat", {"a": 5.0}, 5.0, 10.0)]
    # 48 h 31 min late: three started days.
    times = {"ann": datetime(2026, 12, 4, 0, 30), "ben": datetime(2026, 12, 1, 12), "cat": "no timestamp.txt"}
    ann, ben, cat = late.apply(rows, times, policy)
    assert (ann.total, ann.raw_total, ann.late, ann.penalty) == (7.0, 10.0, 3, pytest.approx(0.3))
    assert ann.scores == {"a": 8.0, "b": 2.0} and "late by 3 day(s): -30%" in ann.notes[-1]
    assert (ben.total, ben.raw_total, ben.late, ben.penalty) == (4.0, 4.0, 0, 0)
    assert cat.total == 5.0 and cat.status == "late-unknown" and "no late penalty" in cat.notes[-1]
    assert rows[0].total == 10.0 and rows[0].raw_total is None  # the graded rows stay raw


def test_a_flat_folder_takes_each_time_from_the_rosters_submission_column(tmp_path):
    from autograder import exports, lms
    from autograder.submissions import collect

    (tmp_path / "subs").mkdir()
    for name in ("jane", "zoe", "ann"):
        (tmp_path / "subs" / f"{name}.ipynb").write_text("{}")
    (tmp_path / "roster.csv").write_text(
        "Identifier,Full name,Email address,Status,Grade,Last modified (submission)\n"
        "Participant 1,Jane Doe,jane@uni.example,Submitted,,\"Wednesday, 2 December 2026, 10:00 AM\"\n"
        "Participant 2,Zoe Brown,zoe@uni.example,Submitted,,-\n", encoding="utf-8")
    roster = lms.read_roster(tmp_path / "roster.csv")
    submissions = collect(tmp_path / "subs", "02-convolution", "convolution.ipynb")
    matched = lms.match(roster, [s.student for s in submissions])[0]
    times = exports.submission_times(submissions, "02-convolution", roster, matched)
    assert times["jane"] == datetime(2026, 12, 2, 10)
    assert times["zoe"] == "no timestamp.txt and no time in the roster"  # Moodle's "-"
    assert times["ann"] == "no timestamp.txt and no time in the roster"
    # Moodle writes its users' local time: read in --timezone's zone.
    berlin = exports.submission_times(submissions, "02-convolution", roster, matched, "Europe/Berlin")
    assert berlin["jane"] == datetime(2026, 12, 2, 9)


def test_a_timestamp_in_another_zone_than_timezone_leaves_the_time_unknown_and_says_why(tmp_path):
    from autograder import exports
    from autograder.submissions import collect

    folder = tmp_path / "subs" / "ann" / "02-convolution"
    folder.mkdir(parents=True)
    (folder / "convolution.ipynb").write_text("{}")
    (folder / "timestamp.txt").write_text("2026-12-02 00:30:00.000000 CET\n")
    submissions = collect(tmp_path / "subs", "02-convolution", "convolution.ipynb")
    assert "written in the zone 'CET'" in exports.submission_times(submissions, "02-convolution")["ann"]
    warning = exports.unknown_times_warning(exports.submission_times(submissions, "02-convolution"))
    assert warning.startswith("late: 1 of 1 submission time(s) unknown") and "'CET'" in warning
    on_time = exports.submission_times(submissions, "02-convolution", zone="Europe/Berlin")["ann"]
    assert exports.unknown_times_warning({"ann": on_time}) is None
    assert on_time == datetime(2026, 12, 1, 23, 30)
    assert late.policy("2026-12-02T00:59", None, "Europe/Berlin").penalty(on_time) == 0


@pytest.mark.parametrize("options, message", [
    (["--late-penalty", "10%/day"], "--late-penalty needs --due"),
    (["--due", "soon"], "--due must be a date and time"),
    (["--due", "2026-12-01T23:59", "--late-penalty", "ten"], "--late-penalty must be a percentage"),
    (["--due", "2026-12-01T23:59", "--timezone", "Berlin"], "--timezone must be an IANA time zone"),
])
def test_bad_late_options_stop_the_grade_command_before_it_grades(tmp_path, options, message):
    import subprocess
    import sys
    from pathlib import Path

    (tmp_path / "subs").mkdir()
    result = subprocess.run([sys.executable, "-m", "autograder", "grade", "02-convolution", str(tmp_path / "subs"),
                             "--out", str(tmp_path / "out"), *options],
                            cwd=Path(__file__).resolve().parents[2], capture_output=True, text=True, timeout=300)
    assert result.returncode == 2 and message in result.stderr
    assert not (tmp_path / "out").exists()
