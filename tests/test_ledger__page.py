"""The risk ledger page (风险台账): the ledger's filters, its rows in the reader's words, a bad date said on the
page, and the export of what is filtered; open to those who keep the ledger, not to a ward."""
import io

from openpyxl import load_workbook

from page_support import text_of, visitor

pytest_plugins = ["ledger_data"]  # the `ledger` fixture: three hazards


def test_the_inspector_filters_the_ledger_and_reads_it_in_chinese(app, ledger):
    api, hazards = ledger
    inspector = visitor(app, "inspector")
    page = inspector.get("/ledger")
    assert page.status_code == 200
    words = text_of(page.text)
    assert "风险台账" in words and "共 3 条隐患" in words
    assert "消防通道堆放纸箱" in words and "门禁失灵" in words
    assert "消防" in words and "重大" in words and "fire" not in words  # choices as the hospital says them
    assert "已逾期" in words  # the open major hazard past its 24 hours
    assert 'href="/ledger"' in page.text  # in the menu

    major = text_of(inspector.get("/ledger?risk_level=major").text)
    assert "共 1 条隐患" in major and "门禁失灵" in major and "消防通道堆放纸箱" not in major
    closed = text_of(inspector.get("/ledger?status=closed").text)
    assert "共 1 条隐患" in closed and "消防通道堆放纸箱" in closed
    found = text_of(inspector.get("/ledger?from=2026-10-13&to=2026-10-13").text)
    assert "共 1 条隐患" in found and "行政楼外墙" in found


def test_a_date_that_is_no_date_is_said_and_nothing_breaks(app, ledger):
    page = visitor(app, "inspector").get("/ledger?from=2026-13-45")
    assert page.status_code == 200
    assert "共 0 条隐患" in text_of(page.text) and 'class="flash error"' in page.text


def test_the_export_holds_what_the_page_filters(app, ledger):
    inspector = visitor(app, "inspector")
    page = inspector.get("/ledger?risk_level=major").text
    assert 'href="/ledger/export.xlsx?risk_level=major"' in page
    download = inspector.get("/ledger/export.xlsx?risk_level=major")
    assert download.status_code == 200 and "attachment" in download.headers["content-disposition"]
    rows = list(load_workbook(io.BytesIO(download.content)).active.iter_rows(values_only=True))
    assert len(rows) == 2 and "门禁失灵" in rows[1]
    csv = inspector.get("/ledger/export.csv?status=closed")
    assert csv.status_code == 200 and "消防通道堆放纸箱" in csv.content.decode("utf-8-sig")


def test_a_ward_does_not_keep_the_ledger(app, ledger):
    nurse = visitor(app, "nurse")
    assert nurse.get("/ledger").status_code == 403
    assert 'href="/ledger"' not in nurse.get("/inbox").text
