"""Routing by the repair process's rules and the teams' rotas, with the test clock.

The elevator team keeps a night standby (17:30-08:00) and a day shift; the plumbers
(水电班) work days. An urgent elevator fault at 02:00 on a Sunday is offered to the
night standby one at a time and lands with the dispatcher after the last; a plumbing
fault is pooled for the plumbers on duty to claim.
"""
import threading

import pytest
from sqlmodel import Session, select

from dispatch_support import team
from engine.orders import workorders
from engine.storage import db
from engine.errors import Conflict
from engine.storage.unit_of_work import unit_of_work
from engine.storage.models import History, Notification, User, WorkOrder
from language_support import english
from sla_support import at, sweep

ELEVATOR = "电梯班"
PLUMBERS = "水电班"


@pytest.fixture
def hospital(api, session, test_clock):
    api.user("nurse", "requester", department="心内科")
    api.user("dispatcher", "dispatcher", department="后勤保障部")
    api.user("supervisor", "supervisor", department="后勤保障部")
    api.user("designer", "designer", department="信息中心")
    for name in ("wang", "li", "zhang", "sun", "zhou", "wu"):
        api.user(name, "technician", department="后勤保障部")
    team(session, ELEVATOR, {"day": ("08:00-17:30", "all"), "night": ("17:30-08:00", "all")},
         {("2026-10-17", "night"): ["wang", "li"], ("2026-10-18", "day"): ["zhang"]}, lead="zhang")
    team(session, PLUMBERS, {"day": ("08:00-17:30", "workdays")},
         {("2026-10-12", "day"): ["sun", "zhou", "wu"]},
         skills={"sun": ["plumbing"], "zhou": ["plumbing", "electrical"], "wu": ["electrical"]})
    return api


def dispatch_entries(session, order_id: int) -> list[History]:
    return list(session.exec(select(History).where(History.work_order_id == order_id, History.kind == "dispatch")
                             .order_by(History.id)).all())


def order_of(api, order_id: int) -> dict:
    return api.as_("dispatcher").get(f"/api/v1/workorders/{order_id}").json()


def elevator_fault(api) -> dict:
    return api.new_order("nurse", title="2号电梯困人", priority="urgent", location="住院楼2号电梯",
                         fields={"category": "elevator"})


def test_an_urgent_elevator_fault_on_sunday_night_goes_to_the_standby_then_the_next_then_the_dispatcher(
        hospital, session, test_clock):
    test_clock.set(at("2026-10-18T02:00:00"))
    order = elevator_fault(hospital)
    assert order["state"] == "assigned" and order["assignee"] == "wang"
    [why] = dispatch_entries(session, order["id"])
    assert why.data["rule"] == "urgent_elevator" and why.data["team"] == ELEVATOR
    assert why.data["on_duty"] == ["wang", "li"]  # zhang works days: not woken
    assert [(c["username"], c["shift"], c["load"]) for c in why.data["candidates"]] == [("wang", "night", 0), ("li", "night", 0)]
    assert "wang" in english(why.data["message"]) and "10m" in english(why.data["message"])
    told = session.exec(select(User.username).join(Notification, Notification.user_id == User.id)
                        .where(Notification.work_order_id == order["id"], Notification.kind == "assignment")).all()
    assert told == ["wang"]

    test_clock.set(at("2026-10-18T02:09:00"))
    sweep(hospital, "supervisor")
    assert order_of(hospital, order["id"])["assignee"] == "wang"  # still within the 10 minutes

    test_clock.set(at("2026-10-18T02:10:00"))
    sweep(hospital, "supervisor")
    passed = order_of(hospital, order["id"])
    assert passed["state"] == "assigned" and passed["assignee"] == "li"
    assert any("not accepted within 10 minutes" in row["comment"] for row in passed["history"])

    test_clock.set(at("2026-10-18T02:20:00"))
    sweep(hospital, "supervisor")
    queued = order_of(hospital, order["id"])
    assert queued["state"] == "reported" and queued["assignee"] is None
    last = dispatch_entries(session, order["id"])[-1]
    assert last.data["waits_for"] == "dispatcher" and last.data["excluded"] == ["wang", "li"]
    assert "left to the dispatcher" in english(last.data["message"])

    # The dispatcher can always override: he wakes the day man.
    hospital.fire("dispatcher", order["id"], "assign", assignee="zhang")
    assert order_of(hospital, order["id"])["assignee"] == "zhang"


def test_accepting_in_time_stops_the_offer_clock(hospital, session, test_clock):
    test_clock.set(at("2026-10-18T02:00:00"))
    order = elevator_fault(hospital)
    test_clock.set(at("2026-10-18T02:05:00"))
    hospital.fire("wang", order["id"], "accept")
    test_clock.set(at("2026-10-18T03:00:00"))
    sweep(hospital, "supervisor")
    after = order_of(hospital, order["id"])
    assert after["state"] == "accepted" and after["assignee"] == "wang"


def test_racing_sweepers_pass_a_lapsed_offer_on_once(hospital, db_url, session, test_clock):
    from engine.sla import escalation

    test_clock.set(at("2026-10-18T02:00:00"))
    order = elevator_fault(hospital)
    engine = db.get_engine(db_url)
    now = at("2026-10-18T02:10:00")
    start = threading.Barrier(3)
    errors = []

    def run() -> None:
        try:
            start.wait()
            escalation.sweep(lambda: Session(engine, expire_on_commit=False), now)
        except Exception as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=run) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert errors == []
    session.expire_all()
    taken_back = session.exec(select(History).where(History.work_order_id == order["id"], History.event == "withdraw")).all()
    assert len(taken_back) == 1
    assert session.get(WorkOrder, order["id"]).assignee_id == session.exec(select(User.id).where(User.username == "li")).one()


def test_a_plumbing_fault_is_pooled_and_two_claiming_at_once_get_it_once(hospital, session, test_clock):
    order = hospital.new_order("nurse", title="水龙头漏水", fields={"category": "plumbing"})
    assert order["state"] == "reported" and order["assignee"] is None
    [why] = dispatch_entries(session, order["id"])
    assert why.data["rule"] == "plumbing" and why.data["waits_for"] == "team" and why.data["on_duty"] == ["sun", "zhou", "wu"]
    pinged = session.exec(select(User.username).join(Notification, Notification.user_id == User.id)
                          .where(Notification.work_order_id == order["id"], Notification.kind == "pool")).all()
    assert sorted(pinged) == ["sun", "wu", "zhou"]
    assert "claim" in hospital.as_("sun").get(f"/api/v1/workorders/{order['id']}").json()["available_events"]
    assert "claim" not in hospital.as_("wang").get(f"/api/v1/workorders/{order['id']}").json()["available_events"]
    hospital.fire("wang", order["id"], "claim", expect=403)  # not on the plumbers' rota

    first = hospital.as_("sun").post(f"/api/v1/workorders/{order['id']}/events/claim", json={"expected_version": order["version"]})
    second = hospital.as_("zhou").post(f"/api/v1/workorders/{order['id']}/events/claim", json={"expected_version": order["version"]})
    assert (first.status_code, second.status_code) == (200, 409)
    assert first.json()["state"] == "accepted" and first.json()["assignee"] == "sun"


def test_two_technicians_claiming_in_parallel_threads_get_it_once(hospital, db_url, session, test_clock):
    order = hospital.new_order("nurse", title="下水道堵塞", fields={"category": "plumbing"})
    engine = db.get_engine(db_url)
    actors = {name: _actor(session, name) for name in ("sun", "zhou")}
    start = threading.Barrier(2)
    outcomes: dict[str, str] = {}

    def claim(name: str) -> None:
        with Session(engine, expire_on_commit=False) as own:
            start.wait()
            try:
                with unit_of_work(own):  # a request's transaction: the claim is committed, or refused
                    workorders.fire(own, actors[name], order["id"], "claim", workorders.EventInput(), now=test_clock.now())
                outcomes[name] = "claimed"
            except Conflict:
                outcomes[name] = "409"

    threads = [threading.Thread(target=claim, args=(name,)) for name in actors]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert sorted(outcomes.values()) == ["409", "claimed"]
    winner = next(name for name, outcome in outcomes.items() if outcome == "claimed")
    session.expire_all()
    assert order_of(hospital, order["id"])["assignee"] == winner
    claims = session.exec(select(History).where(History.work_order_id == order["id"], History.event == "claim")).all()
    assert len(claims) == 1


def _actor(session, username):
    from engine.people.users import actor_for

    return actor_for(session, session.exec(select(User).where(User.username == username)).one())


def test_a_declined_order_never_returns_to_whoever_declined_it(hospital, session, test_clock):
    order = hospital.new_order("nurse", title="水管爆裂", fields={"category": "plumbing"})
    hospital.fire("sun", order["id"], "claim")
    hospital.fire("sun", order["id"], "decline", expect=422)  # a reason is required
    back = hospital.fire("sun", order["id"], "decline", comment="缺少配件，需换班组")
    assert back["state"] == "reported" and back["assignee"] is None
    assert "claim" not in hospital.as_("sun").get(f"/api/v1/workorders/{order['id']}").json()["available_events"]
    hospital.fire("sun", order["id"], "claim", expect=403)
    assert hospital.fire("zhou", order["id"], "claim")["assignee"] == "zhou"

    test_clock.set(at("2026-10-18T02:00:00"))
    urgent = elevator_fault(hospital)
    hospital.fire("wang", urgent["id"], "accept")
    again = hospital.fire("wang", urgent["id"], "decline", comment="不在院内")
    assert again["assignee"] == "li"
    hospital.fire("li", urgent["id"], "accept")
    last = hospital.fire("li", urgent["id"], "decline", comment="需要两人")
    assert last["state"] == "reported" and last["assignee"] is None  # wang is never offered it again


def test_an_offered_order_declined_before_accepting_goes_to_the_next_on_duty_never_back(hospital, session, test_clock):
    test_clock.set(at("2026-10-18T02:00:00"))
    order = elevator_fault(hospital)
    assert order["assignee"] == "wang" and "decline" in hospital.as_("wang").get(
        f"/api/v1/workorders/{order['id']}").json()["available_events"]
    passed = hospital.fire("wang", order["id"], "decline", comment="正在处理另一部电梯")
    assert (passed["state"], passed["assignee"]) == ("assigned", "li")
    declined = [h for h in dispatch_entries(session, order["id"]) if h.data.get("username") == "wang"]
    assert declined and not declined[0].data["lapsed"]
    last = hospital.fire("li", order["id"], "decline", comment="需要两人")
    assert (last["state"], last["assignee"]) == ("reported", None)  # wang is not offered it again


def test_the_pool_waits_in_the_inbox_of_whoever_is_on_duty_in_its_team_and_no_one_else(hospital, test_clock):
    test_clock.set(at("2026-10-12T10:00:00"))
    order = hospital.new_order("nurse", title="水管滴水", fields={"category": "plumbing"})
    waiting = hospital.as_("sun").get("/api/v1/inbox").json()
    assert [(g["event"], [item["number"] for item in g["items"]]) for g in waiting["groups"]] == [
        ("claim", [order["number"]])]
    assert hospital.as_("wang").get("/api/v1/inbox").json()["total"] == 0  # another team's member
    test_clock.set(at("2026-10-12T19:00:00"))  # the plumbers' day shift is over
    assert hospital.as_("sun").get("/api/v1/inbox").json()["total"] == 0


def test_urgent_plumbing_is_offered_only_to_a_plumber_on_duty(hospital, session, test_clock):
    test_clock.set(at("2026-10-12T10:00:00"))
    hospital.new_order("nurse", title="另一单", fields={"category": "electrical"})  # pooled, holds nobody
    order = hospital.new_order("nurse", title="手术室漏水", priority="urgent", fields={"category": "plumbing"})
    [why] = dispatch_entries(session, order["id"])
    assert [c["username"] for c in why.data["candidates"]] == ["sun", "zhou"]  # wu has no plumbing skill
    assert order["assignee"] == "sun"


def test_the_preview_says_what_creating_the_order_then_does(hospital, session, test_clock):
    test_clock.set(at("2026-10-18T02:00:00"))
    draft = {"process": "repair", "priority": "urgent", "location": "住院楼2号电梯", "fields": {"category": "elevator"}}
    response = hospital.as_("designer").post("/api/v1/dispatch/preview", json=draft)
    assert response.status_code == 200, response.text
    preview = response.json()
    assert (preview["rule"], preview["team"], preview["strategy"], preview["person"]) == ("urgent_elevator", ELEVATOR, "offer", "wang")
    assert [c["username"] for c in preview["candidates"]] == ["wang", "li"] and preview["accept_within"] == "10m"
    assert session.exec(select(WorkOrder)).all() == []  # nothing created
    assert elevator_fault(hospital)["assignee"] == preview["person"]

    pooled = hospital.as_("dispatcher").post("/api/v1/dispatch/preview", json={**draft, "priority": "normal"}).json()
    assert (pooled["rule"], pooled["strategy"], pooled["person"], pooled["waits_for"]) == ("elevator", "pool", None, "team")
    manual = hospital.as_("dispatcher").post("/api/v1/dispatch/preview", json={**draft, "fields": {"category": "building"}}).json()
    assert (manual["rule"], manual["waits_for"]) == ("default", "dispatcher")
    assert hospital.as_("nurse").post("/api/v1/dispatch/preview", json=draft).status_code == 403
    bad = hospital.as_("dispatcher").post("/api/v1/dispatch/preview", json={**draft, "fields": {"category": "teleport"}})
    assert bad.status_code == 422


def test_the_board_shows_what_was_routed_and_what_waits_for_a_person_and_why(hospital, session, test_clock):
    from page_support import text_of, visitor

    test_clock.set(at("2026-10-18T02:00:00"))
    offered = elevator_fault(hospital)
    waiting = hospital.new_order("nurse", title="手术室漏水", priority="urgent", fields={"category": "plumbing"})
    assert waiting["assignee"] is None  # the plumbers work days: nobody on duty to offer it to
    page = text_of(visitor(hospital.client.app, "dispatcher").get("/dispatch").text)
    assert "自动派单" in page and "urgent_elevator" in page and offered["number"] in page
    assert waiting["number"] in page and "等待调度员" in page and "在班无可派人员" in page


def test_the_order_page_says_why_it_was_routed_in_the_readers_language(hospital, test_clock):
    from page_support import text_of, visitor

    test_clock.set(at("2026-10-18T02:00:00"))
    order = elevator_fault(hospital)
    page = text_of(visitor(hospital.client.app, "wang").get(f"/orders/{order['id']}").text)
    assert "派单规则" in page and "规则「urgent_elevator」：派给「电梯班」在班的 wang" in page
    assert "offered to wang" not in page


def test_a_technician_on_duty_sees_his_teams_pool_on_my_work_and_claims_from_it(hospital, test_clock):
    from page_support import text_of, visitor

    order = hospital.new_order("nurse", title="水龙头漏水", fields={"category": "plumbing"})
    sun = visitor(hospital.client.app, "sun")
    page = sun.get("/work").text
    assert "班组抢单池" in text_of(page) and order["number"] in page and 'data-event="claim"' in page
    assert order["number"] not in visitor(hospital.client.app, "wang").get("/work").text  # another team
    sun.follow(sun.post(f"/orders/{order['id']}/events/claim", {"version": str(order["version"]), "next": "/work"}))
    assert order_of(hospital, order["id"])["assignee"] == "sun"


def test_round_robin_offers_take_turns_whatever_the_load(hospital, session, test_clock):
    team(session, "空调班", {"day": ("08:00-17:30", "all")}, {("2026-10-12", "day"): ["wang", "li", "zhang"]})
    test_clock.set(at("2026-10-12T10:00:00"))
    offered = [hospital.new_order("nurse", title=f"手术室空调 {i}", priority="urgent", fields={"category": "hvac"})["assignee"]
               for i in range(4)]
    assert offered == ["wang", "li", "zhang", "wang"]
