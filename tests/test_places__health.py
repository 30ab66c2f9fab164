"""A device's health file (设备健康档案): its work orders, labour, parts, failures, MTBF and MTTR in
calendar and working time; the repeat-fault flag telling the supervisors once; the cockpit's fault
trends by device class, device and building or floor."""
from datetime import date, datetime, timedelta, timezone

import pytest
from sqlalchemy import event

from engine.places import health, locations
from engine.storage import db as db_module
from engine.storage.models import Asset
from page_support import text_of, visitor

NOW = datetime.fromisoformat("2026-10-12T09:00:00+08:00")


def at(text: str) -> datetime:
    return datetime.fromisoformat(f"{text}+08:00")


@pytest.fixture
def hospital(api, session):
    api.user("nurse", "requester", department="心内科")
    api.user("other", "requester", department="骨科")
    api.user("desk", "dispatcher", department="后勤保障部")
    api.user("tech", "technician", department="后勤保障部")
    api.user("chief", "supervisor", department="后勤保障部")
    campus = locations.add(session, code="HQ", name="本部", kind="campus")
    ward = locations.add(session, code="ZY", name="住院楼", kind="building", parent=campus)
    fifth = locations.add(session, code="ZY-5F", name="5F", kind="floor", parent=ward)
    room = locations.add(session, code="ZY-5F-512", name="512病房", kind="room", parent=fifth)
    sixth = locations.add(session, code="ZY-6F", name="6F", kind="floor", parent=ward)
    clinic = locations.add(session, code="MZ", name="门诊楼", kind="building", parent=campus)
    created = datetime(2026, 1, 5, tzinfo=timezone.utc)
    lift = Asset(asset_no="EL-001", name="1号电梯", asset_class="elevator", location_id=ward.id,
                 commissioned_on=date(2026, 3, 1), model="GeN2", created_at=created)
    lift2 = Asset(asset_no="EL-002", name="2号电梯", asset_class="elevator", location_id=clinic.id, created_at=created)
    aircon = Asset(asset_no="AC-001", name="512空调", asset_class="hvac", location_id=room.id, created_at=created)
    monitor = Asset(asset_no="MD-001", name="骨科监护仪", asset_class="medical_equipment", location_id=sixth.id,
                    department_id=api.make_user("ortho_head", "dept_head", department="骨科").department_id,
                    created_at=created)
    session.add_all([lift, lift2, aircon, monitor])
    session.commit()
    return {"ward": ward.id, "fifth": fifth.id, "sixth": sixth.id, "room": room.id, "clinic": clinic.id,
            "lift": lift.id, "lift2": lift2.id, "aircon": aircon.id, "monitor": monitor.id}


def repair(api, clock, asset_id, reported, resolved=None, *, labour=0, parts=(), confirmed=None):
    """A repair reported, fixed and (when `confirmed`) closed, each at its local time."""
    clock.set(at(reported))
    order = api.new_order("nurse", asset_id=asset_id, title="电梯异响")
    if resolved is None:
        return order
    api.fire("desk", order["id"], "assign", assignee="tech")
    api.fire("tech", order["id"], "accept")
    api.fire("tech", order["id"], "start")
    clock.set(at(resolved))
    api.fire("tech", order["id"], "resolve", fields={"labour_minutes": labour, "parts": list(parts)})
    if confirmed:
        clock.set(at(confirmed))
        api.fire("nurse", order["id"], "confirm")
    return order


def health_file(api, asset_id, who="desk", expect=200):
    response = api.as_(who).get(f"/api/v1/assets/{asset_id}")
    assert response.status_code == expect, response.text
    return response.json()


def test_the_health_file_counts_the_work_labour_parts_and_computes_mtbf_and_mttr(api, hospital, test_clock):
    lift = hospital["lift"]
    first = repair(api, test_clock, lift, "2026-09-07T09:00:00", "2026-09-07T11:30:00", labour=60,
                   parts=["接触器"], confirmed="2026-09-07T12:00:00")
    repair(api, test_clock, lift, "2026-09-10T16:00:00", "2026-09-11T10:00:00", labour=90, parts=["接触器", "门锁"])
    third = repair(api, test_clock, lift, "2026-09-18T17:00:00", "2026-09-21T09:00:00", labour=30)
    test_clock.set(at("2026-09-21T10:00:00"))
    api.fire("nurse", third["id"], "reopen")  # not fixed after all: the repair ends at the second fix
    api.fire("tech", third["id"], "accept")
    api.fire("tech", third["id"], "start")
    test_clock.set(at("2026-09-21T14:00:00"))
    api.fire("tech", third["id"], "resolve", fields={"labour_minutes": 45, "parts": ["门机皮带"]})
    test_clock.set(at("2026-09-22T09:00:00"))
    cancelled = api.new_order("nurse", asset_id=lift, title="报错了")
    api.fire("nurse", cancelled["id"], "cancel", comment="报错了")
    test_clock.set(at("2026-09-25T09:00:00"))
    round_ = api.new_order("desk", process="maintenance", asset_id=lift, title="电梯月度保养",
                           fields={"category": "elevator"})
    api.fire("desk", round_["id"], "assign", assignee="tech")
    api.fire("tech", round_["id"], "start")
    api.fire("tech", round_["id"], "complete", fields={"result": "normal", "labour_minutes": 40, "parts": ["润滑油"]})
    test_clock.set(NOW)

    body = health_file(api, lift)
    assert body["asset_no"] == "EL-001" and body["place"] == "本部 / 住院楼" and body["model"] == "GeN2"
    assert body["work_orders_total"] == 5 and body["rounds"] == 1
    assert [o["number"] for o in body["work_orders"]][0] == round_["number"]  # newest first
    assert [o["number"] for o in body["work_orders"]][-1] == first["number"]
    assert body["labour_minutes"] == 60 + 90 + 45 + 40  # a repair fixed twice: its last labour is its field
    assert body["parts_used"] == 5
    assert body["parts"][0] == {"part": "接触器", "count": 2}
    assert body["failures_12_months"] == 3 and body["repaired"] == 3  # the cancelled report is no failure

    # MTBF: commissioned 1 March, later than the window's start (12 October 2025): 1 March to now, over 3
    operating = (NOW - datetime.fromisoformat("2026-03-01T00:00:00+08:00")).total_seconds() / 3600
    assert body["operating_hours"] == round(operating, 2)
    assert body["mtbf_hours"] == round(operating / 3, 2)
    # MTTR in calendar time: 2.5 h, 18 h (Thu 16:00 → Fri 10:00), 69 h (Fri 17:00 → Mon 14:00, the second fix)
    assert body["mttr_hours"] == round((2.5 + 18 + 69) / 3, 2)
    # ... in working time (workday: Mon-Fri 08:00-17:30, Chinese holidays): 2.5 h; 1.5 h + 2 h; 0.5 h on
    # Friday, 9.5 h on Sunday 20 September (a make-up working day, 调休) and 6 h on Monday
    assert body["working_calendar"] == "workday"
    assert body["mttr_working_hours"] == round((2.5 + 3.5 + 16) / 3, 2)
    assert body["repeat_fault"]["raised"] and body["repeat_fault"]["failures_in_span"] == 3


def test_failures_and_repair_times_leave_the_window_and_mtbf_runs_from_its_start(api, hospital, test_clock):
    lift2 = hospital["lift2"]  # no commissioning date: operating time is the whole window
    repair(api, test_clock, lift2, "2025-06-02T09:00:00", "2025-06-02T10:00:00")  # before the window
    repair(api, test_clock, lift2, "2026-06-01T09:00:00", "2026-06-01T13:00:00")
    repair(api, test_clock, lift2, "2026-10-09T09:00:00")  # not repaired yet
    test_clock.set(NOW)
    body = health_file(api, lift2)
    assert body["failures_12_months"] == 2 and body["repaired"] == 1
    assert body["window_start"] == "2025-10-12T01:00:00+00:00"
    assert body["mtbf_hours"] == round(365 * 24 / 2, 2)
    assert body["mttr_hours"] == 4 and body["mttr_working_hours"] == 4
    assert not body["repeat_fault"]["raised"]


def test_a_device_without_failures_has_no_mtbf_or_mttr(api, hospital, test_clock):
    body = health_file(api, hospital["aircon"], who="nurse")
    assert body["failures_12_months"] == 0 and body["mtbf_hours"] is None and body["mttr_hours"] is None
    assert body["work_orders"] == [] and body["labour_minutes"] == 0 and body["parts"] == []


def test_a_clinical_user_sees_shared_devices_and_their_own_departments_not_anothers(api, hospital):
    assert health_file(api, hospital["monitor"], who="other")["asset_no"] == "MD-001"
    assert health_file(api, hospital["monitor"], who="nurse", expect=404)["detail"]
    assert health_file(api, hospital["lift"], who="nurse")["asset_no"] == "EL-001"
    assert health_file(api, 999999, who="desk", expect=404)
    assert api.client.get(f"/api/v1/assets/{hospital['lift']}").status_code == 401


def test_a_clinical_user_sees_only_their_own_work_orders_on_a_shared_device(api, hospital, test_clock):
    test_clock.set(at("2026-10-09T09:00:00"))
    api.new_order("nurse", asset_id=hospital["lift"])
    api.new_order("other", asset_id=hospital["lift"])
    test_clock.set(NOW)
    mine = health_file(api, hospital["lift"], who="nurse")
    assert mine["work_orders_total"] == 2 and len(mine["work_orders"]) == 1


def notes(api, who="chief"):
    return [n for n in api.as_(who).get("/api/v1/notifications").json() if n["kind"] == "repeat_fault"]


def test_the_repeat_fault_flag_tells_the_supervisor_once_and_again_only_when_raised_anew(app, api, hospital, test_clock):
    lift = hospital["lift"]
    repair(api, test_clock, lift, "2026-01-05T09:00:00")
    repair(api, test_clock, lift, "2026-01-15T09:00:00")
    assert notes(api) == []
    repair(api, test_clock, lift, "2026-01-25T09:00:00")  # the third within 90 days
    told = notes(api)
    assert len(told) == 1 and "EL-001" in told[0]["title"] and "90" in told[0]["body"]
    repair(api, test_clock, lift, "2026-02-04T09:00:00")  # a fourth: the same run of failures
    assert len(notes(api)) == 1
    assert notes(api, "desk") == []  # the supervisors are told, nobody else
    # the flag lapses (fewer than 3 within 90 days from early May), then three more raise it anew
    for day in ("2026-08-03", "2026-08-10", "2026-08-17"):
        repair(api, test_clock, lift, f"{day}T09:00:00")
    assert len(notes(api)) == 2
    assert "频繁故障" in text_of(visitor(app, "chief").get("/notifications").text)
    test_clock.set(at("2026-08-17T10:00:00"))
    assert health_file(api, lift)["repeat_fault"]["notified_at"] == "2026-08-17T01:00:00+00:00"


def test_the_flag_stays_raised_while_failures_keep_coming(api, hospital, test_clock):
    rule = health.RepeatFaultRule(failures=3, within=timedelta(days=90))
    days = [at(f"2026-{m}T09:00:00") for m in ("01-01", "01-02", "01-03", "03-20", "04-25")]
    # on 1 April (1 January + 90 days) January's failures leave the span one by one: down, then up on 25 April
    assert health.stayed_raised(days[:4], days[2], days[3] + timedelta(days=1), rule)
    assert not health.stayed_raised(days, days[2], days[4], rule)


def test_the_health_page_shows_the_device_its_figures_and_its_work_orders(app, api, hospital, test_clock):
    order = repair(api, test_clock, hospital["lift"], "2026-10-09T09:00:00", "2026-10-09T11:00:00", labour=30)
    test_clock.set(NOW)
    page = visitor(app, "desk").get(f"/assets/{hospital['lift']}")
    assert page.status_code == 200
    text = text_of(page.text)
    assert "EL-001" in text and "1号电梯" in text and "本部 / 住院楼" in text and order["number"] in text
    assert f'href="/orders/{order["id"]}"' in page.text
    assert visitor(app, "nurse").get(f"/assets/{hospital['monitor']}").status_code == 404


def test_the_cockpit_shows_fault_trends_by_class_device_and_building_or_floor(app, api, hospital, test_clock):
    repair(api, test_clock, hospital["lift"], "2026-08-03T09:00:00", "2026-08-03T13:00:00")
    repair(api, test_clock, hospital["lift"], "2026-09-07T09:00:00", "2026-09-07T11:00:00")
    repair(api, test_clock, hospital["lift2"], "2026-09-08T09:00:00")
    repair(api, test_clock, hospital["aircon"], "2026-09-09T09:00:00")
    test_clock.set(at("2026-09-10T09:00:00"))
    api.new_order("nurse", location_id=hospital["room"], title="门把手坏了", fields={"category": "building"})
    cancelled = api.new_order("nurse", asset_id=hospital["aircon"])
    api.fire("nurse", cancelled["id"], "cancel", comment="报错了")
    test_clock.set(NOW)

    def trends(**params):
        response = api.as_("chief").get("/api/v1/dashboard", params=params)
        assert response.status_code == 200, response.text
        return response.json()["fault_trends"]

    body = trends()
    assert body["months"][-3:] == ["2026-08", "2026-09", "2026-10"]

    def line(rows, name):
        found = next(row for row in rows if row["name"] == name)
        return found["counts"][-3:], found["total"]

    assert line(body["by_class"], "elevator") == ([1, 2, 0], 3)
    assert line(body["by_class"], "hvac") == ([0, 1, 0], 1)  # the cancelled report is no failure
    assert line(body["by_asset"], "EL-001 1号电梯") == ([1, 1, 0], 2)
    # the ward counts its own device, the room's device and the room's report without a device
    assert line(body["by_location"], "本部 / 住院楼") == ([1, 3, 0], 4)
    assert line(body["by_location"], "本部 / 门诊楼") == ([0, 1, 0], 1)
    assert body["most_failures"][0] == {"asset_id": hospital["lift"], "name": "EL-001 1号电梯",
                                        "asset_class": "elevator", "failures": 2}
    assert body["longest_repairs"] == [{"asset_id": hospital["lift"], "name": "EL-001 1号电梯",
                                        "asset_class": "elevator", "repaired": 2, "mttr_hours": 3.0}]
    floors = trends(level="floor")["by_location"]
    assert [(row["name"], row["total"]) for row in floors] == [("本部 / 住院楼 / 5F", 2)]
    assert api.as_("chief").get("/api/v1/dashboard", params={"level": "room"}).status_code == 422
    september = trends(**{"from": "2026-09-01", "to": "2026-09-30"})
    assert september["months"] == ["2026-09"] and line(september["by_class"], "elevator") == ([2], 2)
    page = visitor(app, "chief").get("/cockpit?level=floor")
    assert page.status_code == 200
    assert "故障趋势" in text_of(page.text) and "本部 / 住院楼 / 5F" in text_of(page.text)
    assert f'href="/assets/{hospital["lift"]}"' in page.text


def test_the_health_file_takes_the_same_queries_however_many_work_orders(api, hospital, test_clock, db_url):
    def queries() -> int:
        seen = []
        engine = db_module.get_engine(db_url)
        record = lambda *args: seen.append(args[2])  # noqa: E731
        event.listen(engine, "before_cursor_execute", record)
        try:
            health_file(api, hospital["lift"])
        finally:
            event.remove(engine, "before_cursor_execute", record)
        return len(seen)

    repair(api, test_clock, hospital["lift"], "2026-09-07T09:00:00", "2026-09-07T10:00:00")
    few = queries()
    for day in range(8, 14):
        repair(api, test_clock, hospital["lift"], f"2026-09-{day:02d}T09:00:00", f"2026-09-{day:02d}T10:00:00")
    assert queries() == few


def test_the_health_page_names_the_devices_class_as_the_equipment_file_labels_it(app, api, hospital, session):
    unit = Asset(asset_no="AHU-01", name="手术部1号净化空调机组", asset_class="air_handler",
                 created_at=datetime(2026, 1, 5, tzinfo=timezone.utc))
    session.add(unit)
    session.commit()
    desk = visitor(app, "desk")
    assert "设备类别 空调机组" in text_of(desk.get(f"/assets/{unit.id}").text)
    desk.post("/language", {"language": "en"})
    words = text_of(desk.get(f"/assets/{unit.id}").text)
    assert "Air handling unit" in words and "air_handler" not in words
