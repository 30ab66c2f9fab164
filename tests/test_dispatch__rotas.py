"""Teams and rotas (排班): who is on duty when, on the hospital's calendar, kept through the API and .xlsx."""
from io import BytesIO

import pytest
from openpyxl import Workbook, load_workbook

from dispatch_support import team
from engine.sla import escalation
from engine.storage.models import WorkOrder
from sla_support import at

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


@pytest.fixture
def lifts(api, session):
    api.user("admin", "admin", department="信息中心")
    api.user("supervisor", "supervisor", department="后勤保障部")
    api.user("nurse", "requester", department="心内科")
    for name in ("wang", "li", "zhang"):
        api.user(name, "technician", department="后勤保障部")
    team(session, "电梯班", {"day": ("08:00-17:30", "workdays"), "night": ("17:30-08:00", "all"),
                            "standby": ("08:00-08:00", "restdays")},
         {("2026-10-17", "night"): ["wang"], ("2026-10-18", "standby"): ["li"], ("2026-10-19", "day"): ["zhang"],
          ("2026-10-01", "day"): ["zhang"], ("2026-10-01", "standby"): ["li"]},
         skills={"wang": ["elevator"]}, lead="zhang")
    return api


def on_duty(api, when: str, who: str = "nurse") -> list[tuple[str, str]]:
    response = api.as_(who).get("/api/v1/teams/电梯班/on-duty", params={"at": at(when).isoformat()})
    assert response.status_code == 200, response.text
    return [(p["username"], p["shift"]) for p in response.json()["on_duty"]]


def test_on_duty_follows_the_shifts_past_midnight_and_the_standby_on_rest_days(lifts):
    assert on_duty(lifts, "2026-10-18T02:00:00") == [("wang", "night")]  # Saturday's night shift, Sunday 02:00
    assert on_duty(lifts, "2026-10-18T09:00:00") == [("li", "standby")]  # Sunday: the 24-hour standby
    assert on_duty(lifts, "2026-10-19T07:59:00") == [("li", "standby")]  # until 08:00 Monday
    assert on_duty(lifts, "2026-10-19T10:00:00") == [("zhang", "day")]


def test_a_public_holiday_is_a_rest_day_on_the_hospitals_calendar(lifts):
    # 1 October is National Day: the day shift (workdays only) does not run, the standby does.
    assert on_duty(lifts, "2026-10-01T10:00:00") == [("li", "standby")]


def test_the_on_duty_answer_names_the_team_lead_and_refuses_a_time_without_zone(lifts):
    body = lifts.as_("nurse").get("/api/v1/teams/电梯班/on-duty", params={"at": "2026-10-18T02:00:00+08:00"}).json()
    assert body["team_lead"] == ["zhang"] and body["on_duty"][0]["skills"] == ["elevator"]
    assert lifts.as_("nurse").get("/api/v1/teams/电梯班/on-duty", params={"at": "2026-10-18T02:00:00"}).status_code == 422
    assert lifts.as_("nurse").get("/api/v1/teams/无此班/on-duty").status_code == 404


def test_admin_builds_a_team_and_the_supervisor_keeps_its_rota(lifts):
    admin = lifts.as_("admin")
    assert admin.post("/api/v1/teams", json={"name": "空调班"}).status_code == 201
    assert admin.put("/api/v1/teams/空调班/members/wang", json={"skills": ["hvac"], "lead": True}).status_code == 200
    shaped = admin.put("/api/v1/teams/空调班/shifts/day", json={"hours": "08:00-17:30"}).json()
    assert shaped["shifts"][0]["starts"] == "08:00" and shaped["members"][0]["lead"] is True
    assert admin.put("/api/v1/teams/空调班/shifts/late", json={"hours": "25:00-08:00"}).status_code == 422
    assert lifts.as_("nurse").put("/api/v1/teams/空调班/shifts/day", json={"hours": "08:00-12:00"}).status_code == 403
    rota = lifts.as_("supervisor").put("/api/v1/teams/空调班/rota/2026-10-19/day", json={"people": ["wang"]})
    assert rota.status_code == 200 and rota.json() == [{"day": "2026-10-19", "shift": "day", "people": ["wang"]}]
    assert lifts.as_("supervisor").put("/api/v1/teams/空调班/rota/2026-10-19/night", json={"people": []}).status_code == 422


def test_the_rota_goes_out_to_a_sheet_and_comes_back_in(lifts):
    sheet = lifts.as_("supervisor").get("/api/v1/teams/电梯班/rota.xlsx", params={"from": "2026-10-17", "to": "2026-10-18"})
    assert sheet.status_code == 200 and sheet.headers["content-type"] == XLSX
    rows = list(load_workbook(BytesIO(sheet.content)).active.iter_rows(min_row=2, values_only=True))
    assert ("2026-10-17", "night", "wang") in rows and ("2026-10-18", "standby", "li") in rows

    book = load_workbook(BytesIO(sheet.content))
    book.active.append(["2026-10-20", "night", "li, wang"])
    out = BytesIO()
    book.save(out)
    response = lifts.as_("supervisor").post("/api/v1/teams/电梯班/rota.xlsx", files={"file": ("rota.xlsx", out.getvalue(), XLSX)})
    assert response.status_code == 200, response.text
    assert sorted(on_duty(lifts, "2026-10-20T23:00:00")) == [("li", "night"), ("wang", "night")]


def test_a_sheet_with_mistakes_says_each_row_and_changes_nothing(lifts):
    book = Workbook()
    book.active.append(["日期 date", "班次 shift", "人员 people"])
    book.active.append(["2026-10-21", "night", "li"])
    book.active.append(["tomorrow", "night", "li"])
    book.active.append(["2026-10-22", "evening", "li"])
    book.active.append(["2026-10-23", "night", "nobody"])
    out = BytesIO()
    book.save(out)
    response = lifts.as_("supervisor").post("/api/v1/teams/电梯班/rota.xlsx", files={"file": ("rota.xlsx", out.getvalue(), XLSX)})
    assert response.status_code == 422
    assert [e["row"] for e in response.json()["errors"]] == [3, 4, 5]
    assert on_duty(lifts, "2026-10-21T23:00:00") == []
    junk = lifts.as_("supervisor").post("/api/v1/teams/电梯班/rota.xlsx", files={"file": ("rota.xlsx", b"not a sheet", XLSX)})
    assert junk.status_code == 422


def test_an_escalation_may_wake_the_teams_lead_and_whoever_is_on_duty_now(lifts, session):
    from engine.dispatch import rotas

    order = WorkOrder(number="RP-2026-999999", process="repair", definition_version=1, title="x",
                      reporter_id=1, team_id=rotas.team_by_name(session, "电梯班").id,
                      created_at=at("2026-10-18T02:00:00"), updated_at=at("2026-10-18T02:00:00"))
    assert [u.username for u in escalation.team_people(session, order, "team_lead", at("2026-10-18T02:00:00"))] == ["zhang"]
    assert [u.username for u in escalation.team_people(session, order, "on_duty", at("2026-10-18T02:00:00"))] == ["wang"]
    order.team_id = None
    assert escalation.team_people(session, order, "on_duty", at("2026-10-18T02:00:00")) == []


def test_the_admin_page_edits_a_teams_members_shifts_and_rota(lifts, app):
    from page_support import text_of, visitor

    admin = visitor(app, "admin")
    assert "/admin/teams/" in admin.get("/admin").text
    page = admin.get("/admin/teams/电梯班?from=2026-10-17")
    assert page.status_code == 200 and "standby" in page.text and "wang" in text_of(page.text)
    admin.follow(admin.post("/admin/teams/电梯班/members", {"username": "li", "skills": "elevator, escalator"}))
    admin.follow(admin.post("/admin/teams/电梯班/shifts", {"name": "evening", "hours": "17:30-22:00", "days": "all"}))
    admin.follow(admin.post("/admin/teams/电梯班/rota", {"day": "2026-10-21", "shift": "evening", "people": "li, zhang",
                                                      "from": "2026-10-17"}))
    assert sorted(on_duty(lifts, "2026-10-21T18:00:00")) == [("li", "evening"), ("zhang", "evening")]
    refused = admin.follow(admin.post("/admin/teams/电梯班/rota", {"day": "2026-10-21", "shift": "evening", "people": "ghost"}))
    assert "ghost" in text_of(refused.text)
    assert visitor(app, "nurse").get("/admin/teams/电梯班").status_code in (302, 303, 403)
