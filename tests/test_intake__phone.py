"""Phone intake (电话报修, 首接负责制): the service desk records a request for whoever called. The caller is the
requester of record (a caller without an account is answered for by their department); the dispatcher stays its
first contact until they hand it over on record."""
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


WANG = {"name": "王阿姨", "phone": "138-0013-8000", "department": "心内科"}


def phone_in(api, caller: dict, who="dispatcher", expect=201, **body):
    body = {"process": "repair", "title": "病房空调不制冷", "fields": {"category": "hvac"}, "caller": caller, **body}
    response = api.as_(who).post("/api/v1/workorders", json=body)
    assert response.status_code == expect, response.text
    return response.json()


def work_to_resolved(api, order_id: int) -> dict:
    api.fire("dispatcher", order_id, "assign", assignee="tech")
    for event, body in (("accept", {}), ("start", {}), ("resolve", {"fields": {"labour_minutes": 30}})):
        done = api.fire("tech", order_id, event, **body)
    return done


def progress(api, who) -> list[dict]:
    """Their progress notices as a Chinese reader sees them (Accept-Language)."""
    notes = api.as_(who).get("/api/v1/notifications", headers={"Accept-Language": "zh"}).json()
    return [n for n in notes if n["kind"] == "progress"]


def waiting_for_verdict(api, who) -> list[str]:
    groups = api.as_(who).get("/api/v1/inbox").json()["groups"]
    return [item["number"] for group in groups if group["verdict"] for item in group["items"]]


def count(api) -> int:
    return api.as_("supervisor").get("/api/v1/workorders").json()["total"]


def test_a_call_from_a_nurse_is_hers_she_is_told_and_confirms_it(people):
    order = phone_in(people, {"user": "nurse"})
    assert (order["reporter"], order["department"], order["first_contact"]) == ("nurse", "心内科", "dispatcher")
    assert order["caller"] is None  # she has an account: she is the reporter
    intake = order["history"][0]
    assert (intake["kind"], intake["actor"], intake["data"]["channel"], intake["data"]["caller"]) == (
        "create", "dispatcher", "phone", {"user": "nurse"})
    work_to_resolved(people, order["id"])
    assert "待验收" in [n["body"] for n in progress(people, "nurse")]
    assert progress(people, "dispatcher") == []
    assert waiting_for_verdict(people, "nurse") == [order["number"]]
    detail = people.as_("dispatcher").get(f"/api/v1/workorders/{order['id']}").json()
    assert "confirm" not in detail["available_events"]  # the desk does not accept the work for her
    closed = people.as_("nurse").post(f"/api/v1/workorders/{order['id']}/feedback", json={"satisfied": True, "rating": 5})
    assert closed.status_code == 200 and closed.json()["state"] == "closed"


def test_a_call_for_another_department_is_filed_there(people):
    order = phone_in(people, {"user": "nurse"}, department="急诊科")
    assert (order["reporter"], order["department"]) == ("nurse", "急诊科")


def test_a_caller_without_an_account_is_kept_and_their_department_confirms(people):
    order = phone_in(people, WANG)
    assert order["caller"] == {"name": "王阿姨", "phone": "138-0013-8000"}
    assert (order["department"], order["first_contact"]) == ("心内科", "dispatcher")
    assert order["history"][0]["data"]["caller"] == WANG
    work_to_resolved(people, order["id"])
    for who in ("nurse", "head"):  # the department answers for her: told, and asked to confirm
        assert "待验收" in [n["body"] for n in progress(people, who)]
        assert waiting_for_verdict(people, who) == [order["number"]]
    assert progress(people, "dispatcher") == [] and waiting_for_verdict(people, "dispatcher") == []
    # neither the desk that wrote it down nor another department may accept the work
    people.fire("dispatcher", order["id"], "confirm", expect=403)
    people.fire("nurse2", order["id"], "confirm", expect=404)
    closed = people.as_("head").post(f"/api/v1/workorders/{order['id']}/feedback",
                                     json={"satisfied": True, "rating": 4, "comment": "王阿姨说已经凉了"})
    assert closed.status_code == 200 and closed.json()["state"] == "closed"


def test_only_the_desk_files_for_a_caller(people):
    for who in ("nurse", "tech", "supervisor"):
        refused = phone_in(people, {"user": "nurse2"}, who=who, expect=403)
        assert refused["code"] == "caller_desk_only" and "Only the service desk" in refused["detail"]
    assert count(people) == 0


@pytest.mark.parametrize("caller, field", [
    ({"user": "nobody"}, "caller.user"),
    ({**WANG, "department": "不存在科"}, "caller.department"),
    ({"name": "王阿姨", "department": "心内科"}, "caller.phone"),
    ({**WANG, "phone": "请回电"}, "caller.phone"),
    ({**WANG, "name": "  "}, "caller.name"),
    ({"user": "nurse", "name": "王阿姨"}, "caller"),
    ({}, "caller"),
])
def test_a_caller_named_wrongly_is_refused_naming_the_field(people, caller, field):
    refused = phone_in(people, caller, expect=422)
    assert field in [error["field"] for error in refused["errors"]]
    assert all(error["message"] for error in refused["errors"])
    assert count(people) == 0


def test_a_caller_without_an_account_files_for_their_own_department(people):
    refused = phone_in(people, WANG, department="急诊科", expect=422)
    assert [error["field"] for error in refused["errors"]] == ["department"]
    assert "own department (心内科)" in refused["detail"]


def handover(api, who, order_id, expect=200, **body):
    response = api.as_(who).post(f"/api/v1/workorders/{order_id}/handover", json=body)
    assert response.status_code == expect, response.text
    return response.json()


def test_the_desk_hands_a_call_over_on_record_and_the_new_desk_is_told(people):
    order = phone_in(people, WANG)
    moved = handover(people, "dispatcher", order["id"], to="desk2", comment="我下班了", expected_version=order["version"])
    assert moved["first_contact"] == "desk2" and moved["version"] == order["version"] + 1
    entry = next(h for h in moved["history"] if h["kind"] == "handover")
    assert (entry["actor"], entry["data"], entry["comment"]) == ("dispatcher", {"from": "dispatcher", "to": "desk2"},
                                                                  "我下班了")
    [note] = [n for n in people.as_("desk2").get("/api/v1/notifications").json() if n["kind"] == "handover"]
    assert note["title"] == f"{order['number']} 病房空调不制冷"
    assert note["body"] == "handed over to you as its first contact: 我下班了"  # the caller's language
    # it is desk2's now: the first desk may no longer move it, a supervisor may
    handover(people, "dispatcher", order["id"], to="dispatcher", expect=403)
    back = handover(people, "supervisor", order["id"], to="dispatcher")
    assert back["first_contact"] == "dispatcher"


def test_a_handover_goes_to_a_dispatcher_by_those_who_may(people):
    order = phone_in(people, WANG)
    not_desk = handover(people, "dispatcher", order["id"], to="tech", expect=422)
    assert not_desk["errors"][0]["field"] == "to" and "'tech' is not a dispatcher" in not_desk["detail"]
    assert handover(people, "dispatcher", order["id"], to="nobody", expect=422)["errors"][0]["field"] == "to"
    assert handover(people, "dispatcher", order["id"], to="dispatcher", expect=422)["errors"][0]["field"] == "to"
    refused = handover(people, "desk2", order["id"], to="desk2", expect=403)  # not its first contact
    assert refused["code"] == "handover_not_yours" and "first contact" in refused["detail"]
    handover(people, "head", order["id"], to="desk2", expect=403)
    handover(people, "tech", order["id"], to="desk2", expect=403)
    handover(people, "nurse2", order["id"], to="desk2", expect=404)  # another department's: not there for her
    handover(people, "dispatcher", order["id"], to="desk2", expected_version=order["version"])
    handover(people, "supervisor", order["id"], to="dispatcher", expected_version=order["version"], expect=409)
    detail = people.as_("supervisor").get(f"/api/v1/workorders/{order['id']}").json()
    assert detail["first_contact"] == "desk2" and [h["kind"] for h in detail["history"]].count("handover") == 1


def test_a_closed_work_order_is_not_handed_over(people):
    order = phone_in(people, {"user": "nurse"})
    people.fire("dispatcher", order["id"], "cancel", comment="来电人说已经好了")
    refused = handover(people, "dispatcher", order["id"], to="desk2", expect=409)
    assert refused["detail"] == f"Work order {order['number']} is closed: there is nothing to hand over."
    in_chinese = people.as_("dispatcher").post(f"/api/v1/workorders/{order['id']}/handover", json={"to": "desk2"},
                                               headers={"Accept-Language": "zh-CN"})
    assert in_chinese.json()["detail"] == f"工单 {order['number']} 已关闭，无需移交。"


def test_the_desk_records_a_call_on_the_submit_page_and_hands_it_over_on_the_order_page(app, people):
    assert 'id="caller"' not in visitor(app, "nurse").get("/submit/repair").text  # she files as herself
    desk = visitor(app, "dispatcher")
    form = desk.get("/submit/repair")
    assert 'id="caller"' in form.text and "来电人" in text_of(form.text) and 'type="tel"' in form.text
    base = {"title": "病房空调不制冷", "f.category": "hvac", "priority": "normal",
            "caller_name": "王阿姨", "caller_department": "心内科"}
    refused = desk.post("/submit/repair", {**base, "caller_phone": "请回电"})
    assert refused.status_code == 422 and 'class="field invalid"><span>电话' in refused.text
    assert "来电人电话只能包含数字" in text_of(refused.text) and 'value="王阿姨"' in refused.text  # kept to fix
    assert count(people) == 0
    page = desk.follow(desk.post("/submit/repair", {**base, "caller_phone": "138 0013 8000"}))
    words = text_of(page.text)
    assert "来电人 王阿姨 · 138 0013 8000" in words and 'href="tel:13800138000"' in page.text
    assert "首接负责人 dispatcher" in words and "渠道: 电话报修" in words
    order_id = int(page.url.path.rsplit("/", 1)[1])
    assert 'id="handover"' not in visitor(app, "tech").get(f"/orders/{order_id}").text
    assert 'id="handover"' not in visitor(app, "head").get(f"/orders/{order_id}").text
    moved = desk.follow(desk.post(f"/orders/{order_id}/handover", {"to": "desk2", "comment": "交班"}))
    words = text_of(moved.text)
    assert "已移交给 desk2。" in words and "首接负责人: dispatcher → desk2" in words and "交班" in words
    assert 'id="handover"' not in moved.text  # it is desk2's to hand over now
    desk.post("/language", {"language": "en"})
    words = text_of(desk.get(f"/orders/{order_id}").text)
    assert "dispatcher handed over" in words and "First contact: dispatcher → desk2" in words
    assert "Caller: 王阿姨, 138 0013 8000, 心内科" in words


def test_a_nurse_who_names_a_caller_on_the_submit_page_is_told_only_the_desk_may(app, people):
    nurse = visitor(app, "nurse")
    refused = nurse.post("/submit/repair", {"title": "灯不亮", "f.category": "electrical", "priority": "normal",
                                            "caller_user": "nurse2"})
    assert refused.status_code == 403 and "只有服务台调度员可以代来电人登记" in text_of(refused.text)
    assert count(people) == 0


def test_the_callers_department_urges_a_call_the_desk_took_and_the_desk_does_not(people):
    order = phone_in(people, WANG)
    assert people.as_("dispatcher").post(f"/api/v1/workorders/{order['id']}/urge", json={}).status_code == 403
    assert people.as_("nurse").post(f"/api/v1/workorders/{order['id']}/urge", json={}).status_code == 200
