"""The cockpit: the dashboard's figures as the supervisor reads them, and the month as an Excel workbook."""
import io

import pytest
from openpyxl import load_workbook

from page_support import text_of, visitor


@pytest.fixture
def month(api, test_clock):
    """October 2026: two leaks in 心内科, one fixed in 45 minutes of labour and rated 5 stars; one complaint."""
    api.user("nurse", "requester", department="心内科")
    api.user("dispatcher", "dispatcher", department="后勤保障部")
    api.user("tech", "technician", department="后勤保障部")
    api.user("supervisor", "supervisor", department="后勤保障部")
    fixed = api.new_order("nurse", title="漏水", location="住院楼5F 512")
    api.new_order("nurse", title="又漏水", location="住院楼5F 512")
    api.new_order("nurse", process="complaint", title="食堂饭菜凉")
    api.fire("dispatcher", fixed["id"], "assign", assignee="tech")
    for event in ("accept", "start"):
        api.fire("tech", fixed["id"], event)
    api.fire("tech", fixed["id"], "resolve", fields={"labour_minutes": 45})
    assert api.as_("nurse").post(f"/api/v1/workorders/{fixed['id']}/feedback",
                                 json={"satisfied": True, "rating": 5}).status_code == 200
    return api


def test_the_supervisor_sees_this_months_figures_and_charts(app, month):
    page = visitor(app, "supervisor").get("/cockpit").text
    words = text_of(page)
    assert "3 工单总数" in words and "100.0% 满意度" in words and "33.3% 工单完成率" in words
    assert "45 工时合计（分钟）" in words
    assert page.count('<svg class="chart') == 7  # trend, volume, process, department, location, category, labour
    assert "住院楼5F 512: 2" in page  # top fault location, both leaks
    assert "给排水 · 报修: 2" in page  # top fault category
    assert "报修: 2" in page and "投诉: 1" in page


def test_the_month_exports_as_the_workbook_houqin_report_writes(app, month):
    response = visitor(app, "supervisor").get("/cockpit/export.xlsx?month=2026-10")
    assert response.status_code == 200
    assert response.headers["content-disposition"] == 'attachment; filename="houqin-2026-10.xlsx"'
    sheet = load_workbook(io.BytesIO(response.content)).worksheets[0]
    values = {row[0]: row[1] for row in sheet.iter_rows(values_only=True)}
    assert values["工单总数"] == 3 and values["满意度（实评）"] == 1  # the supervisor reads Chinese


def test_a_month_that_is_not_a_month_is_refused(app, month):
    supervisor = visitor(app, "supervisor")
    assert supervisor.get("/cockpit/export.xlsx?month=2026-13").status_code in (404, 422)
    assert supervisor.get("/cockpit/export.xlsx?month=<b>").status_code == 422


def test_requesters_do_not_open_the_cockpit(app, month):
    assert visitor(app, "nurse").get("/cockpit").status_code == 403
    assert visitor(app, "nurse").get("/cockpit/export.xlsx").status_code == 403
