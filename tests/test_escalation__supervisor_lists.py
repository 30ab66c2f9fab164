"""What a supervisor must handle: `?overdue=true` and `?escalated=true`, oldest breach first."""
import pytest

from sla_support import at, sweep


@pytest.fixture
def staff(api, test_clock):
    api.user("nurse", "requester", department="心内科")
    api.user("dispatcher", "dispatcher", department="后勤保障部")
    api.user("supervisor", "supervisor", department="后勤保障部")
    api.user("tech", "technician", department="后勤保障部")
    return api


def listed(api, query: str) -> list[dict]:
    response = api.as_("supervisor").get(f"/api/v1/workorders?{query}")
    assert response.status_code == 200, response.text
    return response.json()["items"]


def test_the_oldest_breach_comes_first_not_the_oldest_deadline(staff, test_clock):
    test_clock.set(at("2026-10-12T09:00:00"))
    early = staff.new_order("nurse", priority="urgent", title="配电箱冒烟")  # response due 09:15, resolution 13:00
    staff.fire("dispatcher", early["id"], "assign", assignee="tech")
    test_clock.set(at("2026-10-12T09:10:00"))
    staff.fire("tech", early["id"], "accept")  # its response deadline was met
    test_clock.set(at("2026-10-12T09:20:00"))
    late = staff.new_order("nurse", priority="urgent", title="电梯困人")  # response due 09:35, never accepted
    test_clock.set(at("2026-10-12T09:25:00"))
    calm = staff.new_order("nurse", priority="low", title="门把手松动")  # due tomorrow
    test_clock.set(at("2026-10-12T13:30:00"))
    sweep(staff, "supervisor")

    overdue = listed(staff, "overdue=true")
    # "电梯困人" has been late since 09:35; "配电箱冒烟" only since 13:00 (its 09:15 deadline was met).
    assert [o["id"] for o in overdue] == [late["id"], early["id"]]
    assert calm["id"] not in [o["id"] for o in overdue]
    first = overdue[0]
    assert first["escalation_level"] == 3  # due + 2 h = 11:35 has passed
    assert {t["name"]: t["breached"] for t in first["sla"]} == {"response": True, "resolution": True}

    escalated = listed(staff, "escalated=true")
    assert [o["id"] for o in escalated] == [late["id"], early["id"]]
    assert [o["escalation_level"] for o in escalated] == [3, 1]


def test_a_closed_repair_leaves_both_lists(staff, test_clock):
    test_clock.set(at("2026-10-12T09:00:00"))
    order = staff.new_order("nurse", priority="urgent")
    test_clock.set(at("2026-10-12T09:20:00"))
    sweep(staff, "supervisor")
    assert [o["id"] for o in listed(staff, "escalated=true")] == [order["id"]]
    staff.fire("nurse", order["id"], "cancel", comment="已自行处理")
    assert listed(staff, "escalated=true") == [] and listed(staff, "overdue=true") == []
