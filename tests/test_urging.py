"""Urging (催办): the department that asked chases an open work order, at most once an hour; the assignee and
the desk are told, the timeline keeps it, the cockpit counts it, and nobody's open form goes stale."""
import pytest

from page_support import text_of, visitor


@pytest.fixture
def people(api, test_clock):
    api.user("nurse", "requester", department="心内科")
    api.user("head", "dept_head", department="心内科")
    api.user("nurse2", "requester", department="急诊科")
    api.user("dispatcher", "dispatcher", department="后勤保障部")
    api.user("desk2", "dispatcher", department="后勤保障部")
    api.user("tech", "technician", department="后勤保障部")
    api.user("supervisor", "supervisor", department="后勤保障部")
    return api


def urge(api, who, order_id, expect=200, **body):
    response = api.as_(who).post(f"/api/v1/workorders/{order_id}/urge", json=body)
    assert response.status_code == expect, response.text
    return response


def told(api, who) -> list[dict]:
    return [n for n in api.as_(who).get("/api/v1/notifications").json() if n["kind"] == "urge"]


def test_the_nurse_urges_an_assigned_repair_and_the_technician_and_the_desk_are_told(people):
    order = people.new_order("nurse", title="水龙头漏水")
    assigned = people.fire("dispatcher", order["id"], "assign", assignee="tech")
    urged = urge(people, "nurse", order["id"], comment="病人等着用水").json()
    assert (urged["urge_count"], urged["version"]) == (1, assigned["version"])  # the order itself is unchanged
    entry = urged["history"][-2]  # the urge, then the notification it sent
    assert (entry["kind"], entry["actor"], entry["comment"]) == ("urge", "nurse", "病人等着用水")
    for who in ("tech", "dispatcher"):  # the assignee, and the desk that first took it on
        [note] = told(people, who)
        assert note["title"] == f"{order['number']} 水龙头漏水"
        assert note["body"] == "the requesting department urges it: 病人等着用水"  # the caller's language, the note as written
    assert told(people, "desk2") == [] and told(people, "nurse") == []
    # the dispatcher's form, opened before the urge, still goes through
    taken_back = people.fire("dispatcher", order["id"], "withdraw", comment="换人", expected_version=assigned["version"])
    assert taken_back["state"] == "reported"


def test_an_order_nobody_took_on_yet_tells_every_dispatcher(people):
    order = people.new_order("nurse")
    urge(people, "head", order["id"])  # the department head of the same department may urge too
    assert len(told(people, "dispatcher")) == 1 and len(told(people, "desk2")) == 1


def test_once_an_hour_whoever_urges(people, test_clock):
    order = people.new_order("nurse")
    urge(people, "nurse", order["id"])
    test_clock.advance(minutes=20)
    again = urge(people, "head", order["id"], expect=429)
    assert "urged again from" in again.json()["detail"] and again.headers["Retry-After"] == str(40 * 60)
    test_clock.advance(minutes=40)
    assert urge(people, "head", order["id"]).json()["urge_count"] == 2


def test_only_the_asking_side_may_urge_and_only_while_the_staff_hold_it(people):
    order = people.new_order("nurse")
    urge(people, "tech", order["id"], expect=403)
    urge(people, "supervisor", order["id"], expect=403)
    urge(people, "nurse2", order["id"], expect=404)  # another department's order does not exist for her
    assert urge(people, "nurse", order["id"], expect=422, comment="急" * 501).json()["errors"][0]["field"] == "comment"

    people.fire("dispatcher", order["id"], "assign", assignee="tech")
    for event, body in (("accept", {}), ("start", {}), ("resolve", {"fields": {"labour_minutes": 10}})):
        people.fire("tech", order["id"], event, **body)
    urge(people, "nurse", order["id"], expect=409)  # it waits for her own verdict
    people.fire("nurse", order["id"], "confirm")
    assert "nothing to urge" in urge(people, "nurse", order["id"], expect=409).json()["detail"]
    detail = people.as_("nurse").get(f"/api/v1/workorders/{order['id']}").json()
    assert detail["urge_count"] == 0 and all(h["kind"] != "urge" for h in detail["history"])


def test_the_cockpit_counts_urged_work_orders_and_urges(people, test_clock):
    first, second = people.new_order("nurse"), people.new_order("nurse")
    people.new_order("nurse")
    urge(people, "nurse", first["id"])
    test_clock.advance(hours=2)
    urge(people, "nurse", first["id"])
    urge(people, "head", second["id"])
    figures = people.as_("supervisor").get("/api/v1/dashboard").json()
    assert (figures["urged"], figures["urges"]) == (2, 3)


def test_the_nurse_urges_from_the_order_page_and_is_told_when_she_may_again(app, people):
    order = people.new_order("nurse", title="灯不亮")
    nurse = visitor(app, "nurse")
    page = text_of(nurse.get(f"/orders/{order['id']}").text)
    assert "催办" in page and "后可再次催办" not in page
    done = nurse.follow(nurse.post(f"/orders/{order['id']}/urge", {"comment": "走廊太黑"}))
    words = text_of(done.text)
    assert "已催办，处理人和调度员已收到通知。" in words and "已催办 1 次" in words
    assert "后可再次催办" in words and 'data-urge=' not in done.text  # the form is gone for the hour
    assert "催办" in words and "走廊太黑" in words  # on the timeline
    assert 'data-urge=' not in visitor(app, "tech").get(f"/orders/{order['id']}").text  # staff have other means
