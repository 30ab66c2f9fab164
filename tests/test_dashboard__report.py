"""`houqin report --month 2026-10` writes the month's cockpit figures as a workbook."""
from datetime import datetime

from openpyxl import load_workbook

from language_support import assert_speaks
from web.cli import main

pytest_plugins = ["cockpit_data"]  # the `month` fixture: a hand-made month
NOW = datetime.fromisoformat("2026-10-31T12:00:00+08:00")  # as in cockpit_data


def test_the_report_holds_the_months_figures(month, tmp_path, capsys, test_clock):
    test_clock.set(NOW)
    out = tmp_path / "october.xlsx"
    assert main(["report", "--month", "2026-10", "--out", str(out), "--language", "en"], clock=test_clock) == 0
    assert f"wrote {out}" in capsys.readouterr().out

    book = load_workbook(out)
    assert book.sheetnames[:4] == ["Summary", "On time", "Response", "Labour"]
    summary = {row[0]: row[1] for row in book["Summary"].iter_rows(min_row=2, values_only=True)}
    assert summary["Work orders"] == 8 and summary["Completed"] == 5 and summary["Completion rate"] == 0.625
    assert summary["Median response (working minutes)"] == 20.0
    assert summary["90th percentile response (working minutes)"] == 42.0
    assert summary["Satisfaction (real ratings)"] == 0.75 and summary["Auto-confirmed share"] == 0.2
    assert summary["Reopen rate"] == 0.25 and summary["Overdue now"] == 2
    assert (summary["Hazards open"], summary["Hazards closed out"], summary["Labour (minutes)"]) == (1, 1, 150)
    assert book["Summary"]["B4"].number_format == "0.0%"

    labour = list(book["Labour"].iter_rows(min_row=2, values_only=True))
    assert labour == [("tech1", 90, 2), ("tech2", 60, 1)]  # people by their display names (here their usernames)
    on_time = {(r[0], r[1]): r[4] for r in book["On time"].iter_rows(min_row=2, values_only=True)}
    assert on_time[("Repair", "Response")] == 0.75  # processes and timers by their labels, never their keys
    locations = list(book["Locations"].iter_rows(min_row=2, values_only=True))
    assert locations[0] == ("急诊大厅", 3)
    targets = {row[0]: row for row in book["Targets"].iter_rows(min_row=2, values_only=True)}  # definitions/targets.yaml
    assert targets["Satisfaction"] == ("Satisfaction", 0.95, 0.75, "Missed", None, None)
    assert book["Targets"]["C2"].number_format == "0.0%"
    assert_speaks([cell for sheet in book for row in sheet.iter_rows(values_only=True) for cell in row
                   if isinstance(cell, str)], "en", names=["急诊大厅", "住院楼5F", "门诊2F", "心内科", "骨科", "急诊科"])


def test_the_report_is_chinese_unless_asked_otherwise(month, tmp_path, test_clock):
    test_clock.set(NOW)
    out = tmp_path / "十月.xlsx"
    assert main(["report", "--month", "2026-10", "--out", str(out)], clock=test_clock) == 0
    book = load_workbook(out)
    assert book.sheetnames[:4] == ["概览", "及时率", "响应", "工时"]
    targets = {row[0]: row for row in book["目标"].iter_rows(min_row=2, values_only=True)}
    assert targets["报修修复及时率"][1:4] == (0.9, 0.75, "未达标")  # R2 breached its second cycle
    faults = list(book["故障类别"].iter_rows(min_row=2, values_only=True))
    assert faults and all(row[0] in ("报修", "隐患整改") for row in faults)  # by their labels: 给排水, not plumbing
    assert_speaks([cell for sheet in book for row in sheet.iter_rows(values_only=True) for cell in row
                   if isinstance(cell, str)], "zh", names=["tech1", "tech2"])


def test_a_month_that_is_not_a_month_is_refused(month, tmp_path, capsys):
    assert main(["report", "--month", "2026-13", "--out", str(tmp_path / "x.xlsx")]) == 1
    assert "month '2026-13' is not a month such as 2026-10" in capsys.readouterr().err
    assert not (tmp_path / "x.xlsx").exists()
