"""The monthly appraisal (绩效考核): per person and per team, what was finished in the month and how well,
with piece-rate points from definitions/appraisal.yaml; who sees what; its spreadsheet and its page.

November 2026, by hand (every row known):

  A repair  tech1 水电班 urgent elevator  closed; reopened once, urged twice; response met, resolution breached; rated 5
  B repair  tech1 水电班 normal plumbing  closed; response met; confirmed by silence (no rating)
  C repair  tech2 电梯班 high   hvac      closed; response met; unsatisfied
  D repair  tech2 电梯班 normal plumbing  cancelled: no work done
  E repair  tech1 水电班 normal plumbing  closed in October: another month
  F hazard  tech2 电梯班 major            closed out
Labour recorded in November: tech1 30 (A) + 45 (B), tech2 60 (C); tech1's 20 on E was in October.
"""
import io
from datetime import datetime
from pathlib import Path

import pytest
from openpyxl import load_workbook
from sqlmodel import select

from conftest import PASSWORD
from page_support import text_of, visitor
from engine.storage.models import Department, Feedback, History, SlaTimer, Team, User, WorkOrder
from web.cli import main

T = datetime.fromisoformat
NOW = T("2026-11-30T18:00:00+08:00")
DEFINITIONS = Path(__file__).resolve().parents[1] / "definitions"


@pytest.fixture
def november(api, session, test_clock):
    test_clock.set(NOW)
    for name, role, department, team in (("nurse", "requester", "心内科", None), ("dispatcher", "dispatcher", "后勤保障部", None),
                                         ("tech1", "technician", "后勤保障部", "水电班"),
                                         ("tech2", "technician", "后勤保障部", "电梯班"),
                                         ("boss", "supervisor", "后勤保障部", None)):
        api.user(name, role, department=department, team=team)
    people = {u.username: u for u in session.exec(select(User)).all()}
    people["tech1"].display_name, people["tech2"].display_name = "张师傅", "李师傅"
    teams = {t.name: t.id for t in session.exec(select(Team)).all()}
    cardiology = session.exec(select(Department.id).where(Department.name == "心内科")).one()

    def order(key, process, who, state, closed_at, *, priority="normal", fields=None, reopen=0, urged=0):
        row = WorkOrder(number=f"T-{key}", process=process, definition_version=1, state=state, priority=priority,
                        department_id=cardiology, title=key, fields=fields or {}, reporter_id=people["nurse"].id,
                        assignee_id=people[who].id, team_id=people[who].team_id, closed=True, closed_at=T(closed_at),
                        created_at=T("2026-10-20T09:00:00+08:00"), updated_at=T(closed_at), reopen_count=reopen,
                        urge_count=urged)
        session.add(row)
        session.flush()
        return row.id

    def timer(order_id, name, status):
        session.add(SlaTimer(work_order_id=order_id, name=name, cycle=1, calendar="24x7", status=status,
                             started_at=T("2026-11-01T00:00:00+08:00"), due_at=T("2026-11-02T00:00:00+08:00"),
                             working_seconds=600, breached=status == "breached"))

    def labour(order_id, who, minutes, at):
        session.add(History(work_order_id=order_id, at=T(at), actor_id=people[who].id, kind="transition",
                            to_state="resolved", data={"fields": {"labour_minutes": minutes}}, labour_minutes=minutes))

    a = order("A", "repair", "tech1", "closed", "2026-11-05T10:00:00+08:00", priority="urgent",
              fields={"category": "elevator"}, reopen=1, urged=2)
    timer(a, "response", "met")
    timer(a, "resolution", "breached")
    labour(a, "tech1", 30, "2026-11-05T09:00:00+08:00")
    session.add(Feedback(work_order_id=a, satisfied=True, rating=5, at=NOW))
    b = order("B", "repair", "tech1", "closed", "2026-11-10T10:00:00+08:00", fields={"category": "plumbing"})
    timer(b, "response", "met")
    labour(b, "tech1", 45, "2026-11-10T09:00:00+08:00")
    session.add(Feedback(work_order_id=b, satisfied=True, auto=True, at=NOW))
    c = order("C", "repair", "tech2", "closed", "2026-11-12T10:00:00+08:00", priority="high", fields={"category": "hvac"})
    timer(c, "response", "met")
    labour(c, "tech2", 60, "2026-11-12T09:00:00+08:00")
    session.add(Feedback(work_order_id=c, satisfied=False, rating=2, at=NOW))
    order("D", "repair", "tech2", "cancelled", "2026-11-13T10:00:00+08:00", fields={"category": "plumbing"})
    e = order("E", "repair", "tech1", "closed", "2026-10-30T10:00:00+08:00", fields={"category": "plumbing"})
    labour(e, "tech1", 20, "2026-10-30T09:00:00+08:00")
    order("F", "hazard", "tech2", "closed_out", "2026-11-20T10:00:00+08:00", fields={"risk_level": "major"})
    session.commit()
    assert teams  # both teams exist
    return api


def appraisal(api, who="boss", expect=200, **params):
    response = api.as_(who).get("/api/v1/appraisal", params={"month": "2026-11", **params})
    assert response.status_code == expect, response.text
    return response.json()


TECH1 = {"user": "tech1", "name": "张师傅", "team": "水电班", "done": 2, "points": 5.0, "on_time_met": 2,
         "on_time_ended": 3, "on_time_rate": 0.6667, "ratings": 1, "satisfied": 1, "satisfaction_rate": 1.0,
         "reworked": 1, "rework_rate": 0.5, "urged": 1, "labour_minutes": 75}
TECH2 = {"user": "tech2", "name": "李师傅", "team": "电梯班", "done": 2, "points": 6.25, "on_time_met": 1,
         "on_time_ended": 1, "on_time_rate": 1.0, "ratings": 1, "satisfied": 0, "satisfaction_rate": 0.0,
         "reworked": 0, "rework_rate": 0.0, "urged": 0, "labour_minutes": 60}


def test_a_supervisor_sees_everyone_and_every_team(november):
    body = appraisal(november)
    # points: A elevator 2 × urgent 2 + B 1 = 5; C hvac 1.5 × high 1.5 + F major hazard 4 = 6.25 (D cancelled: none)
    assert body["month"] == "2026-11" and body["people"] == [TECH2, TECH1]
    teams = {row["team"]: row for row in body["teams"]}
    assert teams["水电班"] == {key: value for key, value in TECH1.items() if key not in ("user", "name")}
    assert teams["电梯班"]["points"] == 6.25 and teams["电梯班"]["labour_minutes"] == 60


def test_a_technician_sees_only_their_own_line(november):
    body = appraisal(november, "tech1")
    assert body["people"] == [TECH1] and body["teams"] == []


def test_another_month_counts_what_closed_in_it(november):
    october = appraisal(november, month="2026-10")
    assert [(row["user"], row["done"], row["labour_minutes"]) for row in october["people"]] == [("tech1", 1, 20)]


def test_others_may_not_see_it_and_a_bad_month_says_what_to_fix(november):
    for who in ("nurse", "dispatcher"):
        assert "supervisors, leaders and technicians" in appraisal(november, who, expect=403)["detail"]
    assert "2026-13" in appraisal(november, month="2026-13", expect=422)["detail"]


def test_the_month_exports_as_a_spreadsheet_with_names(november):
    response = november.as_("boss").get("/api/v1/appraisal/export", params={"month": "2026-11"},
                                        headers={"Accept-Language": "zh-CN,zh;q=0.9"})
    assert response.status_code == 200 and "appraisal-2026-11.xlsx" in response.headers["content-disposition"]
    book = load_workbook(io.BytesIO(response.content))
    people = [[cell.value for cell in row] for row in book["个人"].iter_rows()]
    assert people[0] == ["姓名", "班组", "办结工单", "计件积分", "及时率", "满意度", "实评数", "返修", "返修率", "被催办",
                         "工时（分钟）"]
    assert people[2] == ["张师傅", "水电班", 2, 5, 0.6667, 1, 1, 1, 0.5, 1, 75]
    assert book["个人"].cell(row=3, column=5).number_format == "0.0%"
    assert [row[0].value for row in book["班组"].iter_rows()] == ["班组", "电梯班", "水电班"]
    english = load_workbook(io.BytesIO(november.as_("boss").get("/api/v1/appraisal/export", params={"month": "2026-11"},
                                                                headers={"Accept-Language": "en"}).content))
    assert [cell.value for cell in english["People"][1]][:4] == ["Name", "Team", "Done", "Points"]


def test_the_page_shows_the_month_to_whoever_may_see_it(app, november):
    page = text_of(visitor(app, "boss").get("/appraisal?month=2026-11").text)
    assert "李师傅 电梯班 2 6.25 100.0% 0.0%" in page and "张师傅 水电班 2 5.0 66.7% 100.0%" in page
    own = text_of(visitor(app, "tech1").get("/appraisal?month=2026-11").text)
    assert "张师傅" in own and "李师傅" not in own
    assert visitor(app, "nurse").get("/appraisal").status_code == 403


def test_the_shipped_piece_rates_are_valid_and_a_mistake_names_its_line(tmp_path, capsys):
    assert main(["appraisal", "check", str(DEFINITIONS / "appraisal.yaml")]) == 0
    broken = tmp_path / "appraisal.yaml"
    broken.write_text((DEFINITIONS / "appraisal.yaml").read_text(encoding="utf-8")
                      .replace("done: [closed]  ", "done: [resolved]", 1).replace("hvac: 1.5", "hvak: 1.5"), encoding="utf-8")
    assert main(["definitions", "validate", str(broken)]) == 1
    out = capsys.readouterr().out
    assert "'resolved' is not a final state of repair" in out and "'hvak' is not a choice of category" in out
    assert f"{broken}:7:" in out
