"""`houqin report --month 2026-10` writes the month's cockpit figures as a workbook."""
from datetime import datetime

from openpyxl import load_workbook

from web.cli import main

pytest_plugins = ["cockpit_data"]  # the `month` fixture: a hand-made month
NOW = datetime.fromisoformat("2026-10-31T12:00:00+08:00")  # as in cockpit_data


def test_the_report_holds_the_months_figures(month, tmp_path, capsys, test_clock):
    test_clock.set(NOW)
    out = tmp_path / "十月.xlsx"
    assert main(["report", "--month", "2026-10", "--out", str(out)], clock=test_clock) == 0
    assert f"wrote {out}" in capsys.readouterr().out

    book = load_workbook(out)
    assert book.sheetnames[:4] == ["概览 Summary", "及时率 On time", "响应 Response", "工时 Labour"]
    summary = {row[1]: row[2] for row in book["概览 Summary"].iter_rows(min_row=2, values_only=True)}
    assert summary["Work orders"] == 8 and summary["Completed"] == 5 and summary["Completion rate"] == 0.625
    assert summary["Median response (working minutes)"] == 20.0
    assert summary["90th percentile response (working minutes)"] == 42.0
    assert summary["Satisfaction (real ratings)"] == 0.75 and summary["Auto-confirmed share"] == 0.2
    assert summary["Reopen rate"] == 0.25 and summary["Overdue now"] == 2
    assert (summary["Hazards open"], summary["Hazards closed out"], summary["Labour (minutes)"]) == (1, 1, 150)
    assert book["概览 Summary"]["C4"].number_format == "0.0%"

    labour = list(book["工时 Labour"].iter_rows(min_row=2, values_only=True))
    assert labour == [("tech1", 90, 2), ("tech2", 60, 1)]
    on_time = {(r[0], r[1]): r[5] for r in book["及时率 On time"].iter_rows(min_row=2, values_only=True)}
    assert on_time[("repair", "response")] == 0.75
    locations = list(book["故障地点 Locations"].iter_rows(min_row=2, values_only=True))
    assert locations[0] == ("急诊大厅", 3)
    targets = {row[0]: row for row in book["目标 Targets"].iter_rows(min_row=2, values_only=True)}  # definitions/targets.yaml
    assert targets["满意度"] == ("满意度", "Satisfaction", 0.95, 0.75, "未达标 Missed", None, None)
    assert targets["报修修复及时率"][2:5] == (0.9, 0.75, "未达标 Missed")  # R2 breached its second cycle
    assert book["目标 Targets"]["D2"].number_format == "0.0%"


def test_a_month_that_is_not_a_month_is_refused(month, tmp_path, capsys):
    assert main(["report", "--month", "2026-13", "--out", str(tmp_path / "x.xlsx")]) == 1
    assert "month '2026-13' is not a month such as 2026-10" in capsys.readouterr().err
    assert not (tmp_path / "x.xlsx").exists()
