"""Preventive rounds per device, follow-ups raised from a round, and the demo hospital's places and devices.

A schedule rule with `assets` makes one work order per device per period, once, however many workers
run it; a round that finds a problem raises the repair or hazard about the same device and place,
and the two name each other."""
import threading
from datetime import datetime, timezone

import pytest
from page_support import visitor
from sqlalchemy import func
from sqlmodel import Session, select

from engine.orders import recurring
from engine.places import locations
from engine.published import definitions
from engine.storage import db
from engine.storage.models import Asset, History, Location, RecurringRun, WorkOrder
from workflows import DefinitionError
from workflows.schedules import load_schedule

T = datetime.fromisoformat
RULE = """\
timezone: Asia/Shanghai
rules:
  - name: device_rounds
    process: maintenance
    title: "{asset_no} {asset} 月度保养 {date}"
    cron: "0 9 1 * *"
    department: 后勤保障部
    fields: {category: elevator}
    assets: ASSETS
"""


@pytest.fixture
def hospital(session):
    campus = locations.add(session, code="HQ", name="本部", kind="campus")
    ward = locations.add(session, code="ZY", name="住院楼", kind="building", parent=campus)
    fifth = locations.add(session, code="ZY-5F", name="5F", kind="floor", parent=ward)
    clinic = locations.add(session, code="MZ", name="门诊楼", kind="building", parent=campus)
    devices = {}
    for number, name, kind, place, status in (
            ("EL-001", "1号电梯", "elevator", ward, "in_service"),
            ("EL-002", "门诊2号电梯", "elevator", clinic, "in_service"),
            ("EL-003", "3号电梯", "elevator", ward, "under_repair"),
            ("EL-009", "旧电梯", "elevator", ward, "retired"),
            ("MG-501", "5F氧气终端", "medical_gas_outlet", fifth, "in_service"),
            ("MG-101", "门诊氧气终端", "medical_gas_outlet", clinic, "in_service")):
        device = Asset(asset_no=number, name=name, asset_class=kind, location_id=place.id, status=status,
                       created_at=datetime(2026, 1, 5, tzinfo=timezone.utc))
        session.add(device)
        session.flush()
        devices[number] = device.id
    session.commit()
    return {"ward": ward.id, "fifth": fifth.id, "clinic": clinic.id, **devices}


def schedule(session, assets: str):
    processes = {row.key: definitions.compiled(session, row.key, row.version).definition
                 for row in definitions.current_rows(session)}
    return load_schedule(RULE.replace("ASSETS", assets), "schedules.yaml", calendars={"24x7", "workday"},
                         processes=processes)


def run(db_url, when: str, assets: str = "{class: elevator}") -> list[str]:
    """One call of the worker loop, in a session of its own as after a restart."""
    with Session(db.get_engine(db_url), expire_on_commit=False) as session:
        return sorted(order.title for order in recurring.run_due(session, T(when), schedule(session, assets)))


def test_a_rule_for_a_class_makes_one_work_order_per_device_per_period_and_never_twice(db_url, session, hospital):
    assert run(db_url, "2026-11-01T09:05:00+08:00") == [
        "EL-001 1号电梯 月度保养 2026-11-01", "EL-002 门诊2号电梯 月度保养 2026-11-01"]  # not EL-003 under repair, nor the retired EL-009
    assert run(db_url, "2026-11-01T09:05:00+08:00") == []  # a restart
    assert run(db_url, "2026-11-20T09:05:00+08:00") == []
    assert run(db_url, "2026-12-01T09:00:00+08:00") == [
        "EL-001 1号电梯 月度保养 2026-12-01", "EL-002 门诊2号电梯 月度保养 2026-12-01"]
    orders = session.exec(select(WorkOrder).order_by(WorkOrder.id)).all()
    assert [(o.asset_id, o.location_id) for o in orders] == [
        (hospital["EL-001"], hospital["ward"]), (hospital["EL-002"], hospital["clinic"])] * 2
    note = session.exec(select(History.data).where(History.kind == "schedule").order_by(History.id)).first()
    assert note["rule"] == "device_rounds" and note["asset_id"] == hospital["EL-001"]


def test_a_device_added_later_starts_with_its_latest_period(db_url, session, hospital):
    run(db_url, "2026-11-01T09:05:00+08:00")
    session.add(Asset(asset_no="EL-004", name="4号电梯", asset_class="elevator", location_id=hospital["ward"],
                      created_at=datetime(2026, 11, 20, tzinfo=timezone.utc)))
    session.commit()
    assert run(db_url, "2026-11-20T09:05:00+08:00") == ["EL-004 4号电梯 月度保养 2026-11-01"]
    assert run(db_url, "2026-11-21T09:05:00+08:00") == []


def test_two_workers_racing_make_each_devices_period_once(db_url, session, hospital):
    barrier, made, failures = threading.Barrier(2), [], []

    def worker():
        try:
            with Session(db.get_engine(db_url), expire_on_commit=False) as own:
                rules = schedule(own, "{class: elevator}")
                barrier.wait()
                made.extend(order.id for order in recurring.run_due(own, T("2026-11-01T09:05:00+08:00"), rules))
        except Exception as exc:  # noqa: BLE001 - reported below
            failures.append(exc)

    threads = [threading.Thread(target=worker) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert failures == []
    orders = session.exec(select(WorkOrder.asset_id)).all()
    assert sorted(orders) == sorted([hospital["EL-001"], hospital["EL-002"]])
    assert len(made) == 2
    keys = session.exec(select(RecurringRun.rule).order_by(RecurringRun.rule)).all()
    assert keys == [f"device_rounds#{hospital['EL-001']}", f"device_rounds#{hospital['EL-002']}"]


def test_a_rule_for_a_building_covers_its_floors_devices_and_no_other_buildings(db_url, session, hospital):
    assert run(db_url, "2026-11-01T09:05:00+08:00", "{location: ZY}") == [
        "EL-001 1号电梯 月度保养 2026-11-01", "MG-501 5F氧气终端 月度保养 2026-11-01"]
    made = session.exec(select(WorkOrder.asset_id, WorkOrder.location_id).order_by(WorkOrder.id)).all()
    assert made == [(hospital["EL-001"], hospital["ward"]), (hospital["MG-501"], hospital["fifth"])]


def test_class_and_place_must_both_hold_and_status_widens_the_devices(db_url, hospital):
    assert run(db_url, "2026-11-01T09:05:00+08:00", "{class: elevator, location: ZY, status: [in_service, under_repair]}") == [
        "EL-001 1号电梯 月度保养 2026-11-01", "EL-003 3号电梯 月度保养 2026-11-01"]


def test_an_unknown_location_code_makes_nothing_and_fails_no_other_rule(db_url, hospital):
    assert run(db_url, "2026-11-01T09:05:00+08:00", "{location: NOWHERE}") == []


def test_device_rules_are_checked_at_load_with_their_lines(session):
    broken = """\
rules:
  - name: lifts
    process: maintenance
    title: "{asset_no} 保养"
    cron: "0 9 1 * *"
    fields: {category: elevator}
  - name: lifts_too
    process: maintenance
    title: 保养
    cron: "0 9 1 * *"
    fields: {category: elevator}
    assets: {clas: elevator}
  - name: lifts_three
    process: maintenance
    title: 保养
    cron: "0 9 1 * *"
    fields: {category: elevator}
    assets: {class: Elevator, status: retired}
  - name: a_rule_for_devices_with_a_name_far_too_long_to_key_each_device
    process: maintenance
    title: 保养
    cron: "0 9 1 * *"
    fields: {category: elevator}
    assets: {class: elevator}
"""
    with pytest.raises(DefinitionError) as caught:
        load_schedule(broken, "schedules.yaml")
    found = sorted((p.line, p.message) for p in caught.value.problems)
    assert [line for line, _ in found] == [12, 18, 18]
    assert "unknown key 'clas'" in found[0][1]
    assert "'Elevator' is not an equipment class" in found[1][1] and "a retired device" in found[2][1]
    with pytest.raises(DefinitionError) as caught:
        load_schedule(broken.replace("{clas: elevator}", "{status: in_service}"), "schedules.yaml")
    assert "name the devices: 'class'" in caught.value.problems[0].message and caught.value.problems[0].line == 12
    with pytest.raises(DefinitionError) as caught:
        load_schedule(broken.replace("clas:", "class:").replace("Elevator, status: retired", "elevator"), "schedules.yaml")
    found = [(p.line, p.message) for p in caught.value.problems]
    assert found[0][0] == 4 and "{asset_no} needs 'assets'" in found[0][1]
    assert found[1][0] == 19 and "at most 52 characters" in found[1][1]


def test_the_shipped_schedule_has_a_rule_per_elevator(session):
    rules = {rule.name: rule for rule in recurring.load(session).rules}
    lifts = [rule for rule in rules.values() if rule.assets is not None]
    assert lifts and lifts[0].assets.class_ == "elevator"


# --- follow-ups ---------------------------------------------------------------------------------

@pytest.fixture
def round_(api, session, hospital):
    api.user("desk", "dispatcher", department="后勤保障部")
    api.user("lift_tech", "technician", department="后勤保障部")
    api.user("other_tech", "technician", department="后勤保障部")
    api.user("clerk", "logistics", department="后勤保障部")
    api.user("nurse", "requester", department="心内科")
    order = api.new_order("desk", process="maintenance", title="1号电梯月度保养", asset_id=hospital["EL-001"],
                          fields={"category": "elevator"}, department="后勤保障部")
    api.fire("desk", order["id"], "assign", assignee="lift_tech")
    api.fire("lift_tech", order["id"], "start")
    return order


def follow_up(api, who, order_id, **body):
    body = {"process": "repair", "title": "曳引机异响", "priority": "high", "fields": {"category": "elevator"}, **body}
    return api.as_(who).post(f"/api/v1/workorders/{order_id}/follow-ups", json=body)


def test_a_round_that_finds_a_fault_raises_the_repair_about_its_device_and_place(api, round_, hospital):
    response = follow_up(api, "lift_tech", round_["id"], description="运行时有金属摩擦声")
    assert response.status_code == 201, response.text
    repair = response.json()
    assert (repair["process"], repair["state"], repair["priority"]) == ("repair", "reported", "high")
    assert (repair["asset_id"], repair["location_id"]) == (hospital["EL-001"], hospital["ward"])
    assert repair["asset"] == "EL-001 1号电梯" and repair["department"] == "后勤保障部"
    assert repair["origin_id"] == round_["id"] and repair["origin"]["number"] == round_["number"]
    assert [h["kind"] for h in repair["history"]][-1] == "origin"

    seen = api.as_("desk").get(f"/api/v1/workorders/{round_['id']}").json()
    assert [(f["id"], f["process"], f["title"]) for f in seen["follow_ups"]] == [(repair["id"], "repair", "曳引机异响")]
    assert seen["history"][-1]["kind"] == "follow_up" and seen["history"][-1]["data"]["number"] == repair["number"]
    assert seen["state"] == "in_progress"  # the round goes on

    hazard = follow_up(api, "desk", round_["id"], process="hazard", title="机房门未上锁",
                       fields={"category": "security", "risk_level": "medium"})
    assert hazard.status_code == 201, hazard.text
    listed = api.as_("desk").get("/api/v1/workorders", params={"asset_id": hospital["EL-001"]}).json()["items"]
    assert {o["origin_id"] for o in listed} == {None, round_["id"]}
    assert len(api.as_("desk").get(f"/api/v1/workorders/{round_['id']}").json()["follow_ups"]) == 2

    unsorted = follow_up(api, "desk", round_["id"], fields={})  # the device's class says what kind of fault
    assert unsorted.status_code == 201 and unsorted.json()["fields"]["category"] == "elevator", unsorted.text


def test_only_the_rounds_worker_a_dispatcher_or_a_supervisor_raise_a_follow_up(api, session, round_):
    before = session.exec(select(func.count()).select_from(WorkOrder)).one()
    for who in ("other_tech", "clerk"):
        assert follow_up(api, who, round_["id"]).status_code == 403
    assert follow_up(api, "nurse", round_["id"]).status_code == 404  # another department's work: not there for her
    assert follow_up(api, "desk", 999999).status_code == 404
    bad = [{"process": "complaint"}, {"title": ""}, {"fields": {"category": "teleport"}},
           {"process": "hazard", "fields": {"category": "fire"}}, {"priority": "someday"}, {"surprise": 1}]
    for body in bad:
        response = follow_up(api, "lift_tech", round_["id"], **body)
        assert response.status_code == 422, (body, response.text)
    session.expire_all()
    assert session.exec(select(func.count()).select_from(WorkOrder)).one() == before
    assert session.exec(select(History).where(History.kind.in_(["follow_up", "origin"]))).all() == []


def test_the_round_page_offers_the_follow_up_and_files_it(app, api, round_, hospital):
    browser = visitor(app, "lift_tech")
    page = browser.get(f"/orders/{round_['id']}")
    assert "发现问题，发起报修/隐患" in page.text
    form = browser.get(f"/orders/{round_['id']}/follow-up/repair")
    assert form.status_code == 200 and "EL-001 1号电梯" in form.text
    done = browser.post(f"/orders/{round_['id']}/follow-up/repair", data={
        "title": "按钮失灵", "priority": "normal", "f.category": "elevator"})
    assert done.status_code == 303, done.text
    repair = api.as_("desk").get(done.headers["location"].replace("/orders/", "/api/v1/workorders/")).json()
    assert repair["origin_id"] == round_["id"] and repair["asset_id"] == hospital["EL-001"]
    other = visitor(app, "other_tech").get(f"/orders/{round_['id']}").text
    assert "按钮失灵" in other and "/follow-up/repair" not in other  # sees the follow-up, may not raise one
    assert visitor(app, "other_tech").get(f"/orders/{round_['id']}/follow-up/repair").status_code == 403


# --- the demo hospital --------------------------------------------------------------------------

def test_the_demo_hospital_has_a_tree_devices_and_work_on_them(session, test_clock):
    from engine.demo import load_demo
    load_demo(session, test_clock.now())
    session.commit()
    kinds = dict(session.exec(select(Location.kind, func.count()).group_by(Location.kind)).all())
    assert kinds["campus"] == 1 and kinds["building"] >= 3 and kinds["floor"] >= 6 and kinds["room"] >= 6
    devices = session.exec(select(Asset)).all()
    assert len(devices) >= 24 and {d.asset_class for d in devices} >= {"elevator", "chiller", "air_handler",
                                                                      "medical_gas_outlet", "infusion_pump"}
    assert all(d.location_id for d in devices) and any(d.contractor for d in devices)
    about_devices = session.exec(select(WorkOrder).where(WorkOrder.asset_id.is_not(None))).all()
    assert len(about_devices) >= 3 and all(o.location_id for o in about_devices)
    assert session.exec(select(WorkOrder).where(WorkOrder.origin_id.is_not(None))).first() is not None
