"""Three hazards for the ledger tests: one failed re-inspection once then passed, one overdue, one just reported."""
from datetime import datetime

import pytest

T = datetime.fromisoformat


def hazard(api, title, category, risk_level, location="", who="inspector"):
    return api.new_order(who, "hazard", title=title, location=location,
                         fields={"category": category, "risk_level": risk_level})


@pytest.fixture
def ledger(api, test_clock):
    api.user("inspector", "inspector", department="保卫科")
    api.user("inspector2", "inspector", department="保卫科")
    api.user("boss", "supervisor", department="后勤保障部")
    api.user("fixer", "technician", department="后勤保障部")
    api.user("nurse", "requester", department="心内科")
    clock = test_clock

    clock.set(T("2026-10-12T09:30:00+08:00"))  # Monday
    boxes = hazard(api, "消防通道堆放纸箱", "fire", "high", "门诊楼3F 消防通道")
    api.fire("inspector", boxes["id"], "register")
    api.fire("boss", boxes["id"], "assign", assignee="fixer", fields={"responsible_department": "门诊部"})
    api.fire("fixer", boxes["id"], "start")
    clock.set(T("2026-10-13T10:00:00+08:00"))
    api.fire("fixer", boxes["id"], "submit_fix")
    clock.set(T("2026-10-13T11:00:00+08:00"))
    api.fire("inspector2", boxes["id"], "fail", expect=422)  # a failed round must say what is wrong
    api.fire("inspector2", boxes["id"], "fail", comment="仍有纸箱")
    clock.set(T("2026-10-14T10:00:00+08:00"))
    api.fire("fixer", boxes["id"], "submit_fix", fields={"measures": "纸箱已清运"})
    clock.set(T("2026-10-14T14:00:00+08:00"))
    api.fire("inspector", boxes["id"], "pass")

    clock.set(T("2026-10-12T10:00:00+08:00"))
    door = hazard(api, "门禁失灵", "security", "major", "住院楼1F 大门")
    api.fire("inspector", door["id"], "register")
    api.fire("boss", door["id"], "assign", assignee="fixer", fields={"responsible_department": "保卫科"})
    api.fire("fixer", door["id"], "start")

    clock.set(T("2026-10-13T08:00:00+08:00"))
    crack = hazard(api, "=HYPERLINK(\"http://x\")", "facility", "low", "行政楼外墙")

    clock.set(T("2026-10-13T12:00:00+08:00"))
    return api, {"boxes": boxes, "door": door, "crack": crack}
