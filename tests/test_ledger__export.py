"""The ledger exported for the quarterly review: an .xlsx and a CSV that Excel opens with the Chinese intact."""
import csv
import io
from datetime import datetime

from openpyxl import load_workbook

pytest_plugins = ["ledger_data"]  # the `ledger` fixture: three hazards


HEADERS = ["编号", "发现时间", "标题", "地点", "位置", "发现人", "隐患类别", "风险等级", "责任科室", "整改措施", "整改期限",
           "状态", "是否逾期", "复查记录", "复查不通过次数", "销号人", "销号时间"]
ROUNDS = "1. 复查不通过 2026-10-13 11:00 inspector2: 仍有纸箱\n2. 复查通过，销号 2026-10-14 14:00 inspector"


def export(api, fmt, **params):
    response = api.as_("boss").get("/api/v1/ledger/export", params={"format": fmt, **params})
    assert response.status_code == 200, response.text
    return response


def test_the_xlsx_export_has_a_row_per_hazard_with_every_failed_round(ledger):
    api, made = ledger
    response = export(api, "xlsx")
    assert response.headers["content-type"] == "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    disposition = response.headers["content-disposition"]
    assert disposition.startswith('attachment; filename="hazard-ledger-20261013.xlsx"')
    assert "filename*=UTF-8''%E9%A3%8E%E9%99%A9%E5%8F%B0%E8%B4%A6-20261013.xlsx" in disposition  # 风险台账

    book = load_workbook(io.BytesIO(response.content))
    assert book.sheetnames == ["风险台账"]
    table = list(book.active.iter_rows(values_only=True))
    assert list(table[0]) == HEADERS and len(table) == 4
    boxes = dict(zip(HEADERS, table[3]))
    assert boxes == {
        "编号": made["boxes"]["number"], "发现时间": datetime(2026, 10, 12, 9, 30), "标题": "消防通道堆放纸箱",
        "地点": None, "位置": "门诊楼3F 消防通道", "发现人": "inspector", "隐患类别": "消防", "风险等级": "较大", "责任科室": "门诊部",
        "整改措施": "纸箱已清运", "整改期限": datetime(2026, 10, 15, 10, 30), "状态": "已销号", "是否逾期": "否",
        "复查记录": ROUNDS, "复查不通过次数": 1, "销号人": "inspector", "销号时间": datetime(2026, 10, 14, 14, 0),
    }
    door = dict(zip(HEADERS, table[2]))
    assert (door["状态"], door["是否逾期"], door["复查记录"], door["销号人"]) == ("整改中", "是", None, None)
    crack = dict(zip(HEADERS, table[1]))
    assert crack["标题"] == '=HYPERLINK("http://x")'  # kept as text, never a formula
    assert book.active.cell(row=2, column=3).data_type == "s"


def test_the_csv_export_starts_with_a_byte_order_mark_and_takes_the_same_filters(ledger):
    api, made = ledger
    response = export(api, "csv", category="fire")
    assert response.headers["content-type"] == "text/csv; charset=utf-8"
    assert response.headers["content-disposition"].startswith('attachment; filename="hazard-ledger-20261013.csv"')
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.content.startswith(b"\xef\xbb\xbf")
    table = list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))
    assert table[0] == HEADERS and len(table) == 2
    row = dict(zip(HEADERS, table[1]))
    assert (row["编号"], row["发现时间"], row["整改期限"], row["销号时间"]) == (
        made["boxes"]["number"], "2026-10-12 09:30", "2026-10-15 10:30", "2026-10-14 14:00")
    assert row["复查记录"] == ROUNDS and row["复查不通过次数"] == "1"


def test_a_formula_in_a_title_stays_text_in_the_csv(ledger):
    api, _ = ledger
    table = list(csv.reader(io.StringIO(export(api, "csv", category="facility").content.decode("utf-8-sig"))))
    assert table[1][2] == "'=HYPERLINK(\"http://x\")"


def test_an_unknown_format_is_refused(ledger):
    api, _ = ledger
    response = api.as_("boss").get("/api/v1/ledger/export", params={"format": "pdf"})
    assert response.status_code == 422 and "format" in response.json()["detail"]
