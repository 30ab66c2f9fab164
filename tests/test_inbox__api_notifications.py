"""`GET /api/v1/inbox`, the reporter's notifications at the steps their process names, and marking them read."""
from datetime import datetime, timezone

import pytest
from sqlmodel import select

from engine.people import directory
from engine.published import definitions
from engine.storage.models import Outbox
from engine.settings import definitions_dir
from workflows import DefinitionError, load_definition


@pytest.fixture
def people(api):
    api.user("nurse", "requester", department="心内科")
    api.user("head", "dept_head", department="心内科")
    api.user("dispatcher", "dispatcher", department="后勤保障部")
    api.user("tech", "technician", department="后勤保障部")
    api.user("tech2", "technician", department="后勤保障部")
    api.user("designer", "designer")
    return api


def inbox(api, username, **params):
    response = api.as_(username).get("/api/v1/inbox", params=params)
    assert response.status_code == 200, response.text
    return response.json()


def notes(api, username, unread=True, language="zh"):
    """The user's notifications as a caller reading `language` sees them (Accept-Language)."""
    response = api.as_(username).get("/api/v1/notifications", params={"unread": unread},
                                     headers={"Accept-Language": language})
    assert response.status_code == 200, response.text
    return response.json()


def resolved_repair(api, title="水龙头漏水"):
    order = api.new_order("nurse", title=title)
    api.fire("dispatcher", order["id"], "assign", assignee="tech")
    api.fire("tech", order["id"], "accept")
    api.fire("tech", order["id"], "start")
    api.fire("tech", order["id"], "resolve", fields={"labour_minutes": 30})
    return order


def test_the_nurse_finds_her_resolved_repair_waiting_for_her_confirmation(people):
    order = resolved_repair(people)
    body = inbox(people, "nurse")
    assert body["total"] == 1
    [group] = body["groups"]
    assert (group["process"], group["event"], group["verdict"], group["count"]) == ("repair", "confirm", True, 1)
    assert group["label"] == {"zh": "验收通过", "en": "Confirm"}
    [item] = group["items"]
    assert (item["number"], item["state"], item["available_events"]) == (order["number"], "resolved", ["confirm", "reopen"])
    assert inbox(people, "tech")["total"] == 0 and inbox(people, "dispatcher")["total"] == 0


def test_groups_are_oldest_first_with_counts_and_a_limit(people, test_clock):
    first = people.new_order("nurse", title="一号")
    test_clock.advance(minutes=5)
    second = people.new_order("nurse", title="二号")
    body = inbox(people, "dispatcher", limit=1)
    [group] = body["groups"]
    assert (group["event"], group["count"], body["total"]) == ("assign", 2, 2)
    assert [item["id"] for item in group["items"]] == [first["id"]]
    assert [item["id"] for item in inbox(people, "dispatcher")["groups"][0]["items"]] == [first["id"], second["id"]]
    assert people.as_("dispatcher").get("/api/v1/inbox", params={"limit": 0}).status_code == 422
    assert people.client.get("/api/v1/inbox").status_code == 401


def test_the_reporter_is_told_each_step_her_process_names_in_her_language(people):
    order = resolved_repair(people)
    told = [(n["kind"], n["title"], n["body"]) for n in reversed(notes(people, "nurse"))]
    title = f"{order['number']} 水龙头漏水"
    # assign, accept, resolve: the process's notify_reporter; starting the work is not among them
    assert told == [("progress", title, "已派单"), ("progress", title, "已接单"), ("progress", title, "待验收")]


def test_an_english_speaking_reporter_is_told_in_english(people, session):
    nurse = people.user("ward_clerk", "requester", department="心内科")
    directory.set_language(session, nurse.id, "en")
    session.commit()
    order = people.new_order("ward_clerk")
    people.fire("dispatcher", order["id"], "cancel", comment="duplicate")
    assert [n["body"] for n in notes(people, "ward_clerk", language="en")] == ["Cancelled: duplicate"]
    assert [n["body"] for n in notes(people, "ward_clerk", language="zh")] == ["已撤单：duplicate"]  # one message, two readers


def test_a_rejection_tells_the_reporter_the_reason(people):
    order = people.new_order("nurse", process="procurement", title="输液泵", fields={"items": ["输液泵"], "amount": 3000})
    people.fire("head", order["id"], "reject", comment="本季度预算已用完")
    [note] = notes(people, "nurse")
    assert (note["kind"], note["work_order_id"], note["body"]) == ("progress", order["id"], "已驳回：本季度预算已用完")


def test_nobody_is_told_what_they_did_themselves(people):
    order = people.new_order("nurse")
    people.fire("nurse", order["id"], "cancel", comment="报错了")
    assert notes(people, "nurse") == []
    other = people.new_order("nurse", title="重复的")
    people.fire("dispatcher", other["id"], "cancel", comment="重复报修")
    assert [n["body"] for n in notes(people, "nurse")] == ["已撤单：重复报修"]


def test_the_reporters_news_goes_to_the_channels_an_admin_chose(people, session):
    people.user("admin", "admin")
    response = people.as_("admin").post("/api/v1/channels", json={
        "name": "报修进度", "kind": "webhook", "target": "https://example.org/hook", "kinds": ["progress"]})
    assert response.status_code == 201, response.text
    order = people.new_order("nurse")
    people.fire("dispatcher", order["id"], "assign", assignee="tech")
    payloads = [row.payload for row in session.exec(select(Outbox).order_by(Outbox.id)).all()]
    assert [(p["kind"], p["message"], p["event"]) for p in payloads] == [
        ("progress", {"code": "progress", "params": {"state": {"zh": "已派单", "en": "Assigned"}}}, "assign")]


def test_marking_notifications_read_by_ids_or_all(people):
    resolved_repair(people)
    unread = notes(people, "nurse")
    assert len(unread) == 3
    client = people.as_("nurse")
    response = client.post("/api/v1/notifications/read", json={"ids": [unread[0]["id"]]})
    assert response.status_code == 200 and response.json() == {"read": 1, "unread": 2}
    assert [n["id"] for n in notes(people, "nurse")] == [n["id"] for n in unread[1:]]
    # Someone else's notification is not the nurse's to mark: it stays unread for its owner.
    [tech_note] = notes(people, "tech")
    assert client.post("/api/v1/notifications/read", json={"ids": [tech_note["id"]]}).json() == {"read": 0, "unread": 2}
    assert len(notes(people, "tech")) == 1
    assert client.post("/api/v1/notifications/read", json={"all": True}).json() == {"read": 2, "unread": 0}
    assert notes(people, "nurse") == [] and len(notes(people, "nurse", unread=False)) == 3
    for body in ({}, {"ids": [1], "all": True}, {"ids": [0]}, {"ids": "all"}, {"everything": True}):
        assert client.post("/api/v1/notifications/read", json=body).status_code == 422, body


def test_an_event_that_pools_work_reaches_every_inbox_of_who_may_take_it(people, session):
    """No code names the event: declared in a definition, it fills the technicians' inboxes by itself."""
    text = (definitions_dir() / "repair.yaml").read_text(encoding="utf-8")
    pooled = text.replace("events:\n", "events:\n  - name: pick_up\n    label: {zh: 领单, en: Pick up}\n"
                                       "    from: reported\n    to: accepted\n    roles: [technician]\n", 1)
    definitions.publish(session, pooled, now=datetime.now(timezone.utc))
    session.commit()
    order = people.new_order("nurse")
    for username in ("tech", "tech2"):
        [group] = inbox(people, username)["groups"]
        assert (group["event"], [item["id"] for item in group["items"]]) == ("pick_up", [order["id"]])
    people.fire("tech", order["id"], "pick_up")
    assert inbox(people, "tech")["total"] == inbox(people, "tech2")["total"] == 0  # taken: out of the pool


def test_notify_reporter_names_only_events_of_the_process(tmp_path):
    text = (definitions_dir() / "repair.yaml").read_text(encoding="utf-8")
    shipped = next(row for row in text.splitlines() if row.startswith("notify_reporter:"))
    broken = text.replace(shipped, "notify_reporter: [assign, acept]")
    with pytest.raises(DefinitionError) as caught:
        load_definition(broken, "repair.yaml")
    line = 1 + next(i for i, row in enumerate(broken.splitlines()) if row.startswith("notify_reporter:"))
    [problem] = caught.value.problems
    assert (problem.line, problem.column) == (line, 27)
    assert "unknown event 'acept' in notify_reporter" in problem.message


def test_the_inbox_costs_the_same_queries_for_two_fixes_or_eight(people, db_url):
    """An inspector's re-inspections, where the different-person rule must read who submitted each fix."""
    from sqlalchemy import event

    from engine.storage.db import get_engine

    people.user("inspector", "inspector", department="保卫科")
    people.user("fixer", "technician", department="后勤保障部")
    people.user("supervisor", "supervisor", department="后勤保障部")

    def fixed(count):
        for number in range(count):
            order = people.new_order("inspector", process="hazard", title=f"消防通道堆放杂物 {number}",
                                     fields={"category": "fire", "risk_level": "high"})
            people.fire("inspector", order["id"], "register")
            people.fire("supervisor", order["id"], "assign", assignee="fixer")
            people.fire("fixer", order["id"], "start")
            people.fire("fixer", order["id"], "submit_fix")

    def statements():
        seen = []
        record = lambda conn, cursor, statement, *args: seen.append(statement)  # noqa: E731
        event.listen(get_engine(db_url), "before_cursor_execute", record)
        try:
            body = inbox(people, "inspector")
        finally:
            event.remove(get_engine(db_url), "before_cursor_execute", record)
        return body["total"], len(seen)

    fixed(2)
    statements()  # the machines of every published version are compiled once, on first use
    few = statements()
    fixed(6)
    many = statements()
    assert (few[0], many[0]) == (2, 8)
    assert many[1] == few[1]
