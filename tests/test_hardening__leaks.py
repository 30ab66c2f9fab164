"""Small leaks and gaps, each tried as the attack: what another department's order says, where a requester
may file, who may approve their own request, which outside addresses a channel may reach, whose address the
sign-in limit counts, and what `role@department` means when nobody has a department."""
import json
import socket
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import SimpleNamespace

import httpx
import pytest
from sqlmodel import select

from conftest import PASSWORD

from engine.notify import delivery
from engine.storage.models import Channel, Outbox
from page_support import text_of, visitor
from server_support import DEADLINE, Server
from workflows import DefinitionError, load_definition
from workflows.authority import IN_DEPARTMENT, reach, who

REQUEST = {"items": ["输液泵 2 台"], "amount": 3600}


@pytest.fixture
def staff(api):
    api.user("nurse", "requester", department="心内科")
    api.user("head", "dept_head", department="心内科")
    api.user("deputy", "dept_head", department="心内科")
    api.user("other_head", "dept_head", department="急诊科")
    api.user("dispatcher", "dispatcher", department="后勤保障部")
    api.user("logistics", "logistics", department="后勤保障部")
    api.user("supervisor", "supervisor", department="后勤保障部")
    api.user("tech", "technician", department="后勤保障部", team="水电班")
    return api


def _total(api, username: str) -> int:
    return api.as_(username).get("/api/v1/workorders").json()["total"]


# --- 1. a refusal says nothing of a work order the caller cannot see -----------------------------

def test_another_departments_head_with_a_stale_version_learns_nothing_of_the_request(staff):
    order = staff.new_order("nurse", "procurement", fields=REQUEST)
    answers = [staff.as_("other_head").post(f"/api/v1/workorders/{order['id']}/events/approve",
                                            json={"expected_version": version}) for version in (1, 7)]
    staff.fire("head", order["id"], "approve")  # now in another state: the answer must not tell that either
    answers.append(staff.as_("other_head").post(f"/api/v1/workorders/{order['id']}/events/approve", json={}))
    for answer in answers:
        assert answer.status_code == 403, answer.text
        assert answer.json() == {"detail": "'approve' may be done only by: dept_head@department", "code": "event_roles"}
        assert order["number"] not in answer.text and "version" not in answer.text


def test_another_departments_requester_gets_404_whatever_the_event(staff):
    staff.user("stranger", "requester", department="急诊科")
    order = staff.new_order("nurse", "procurement", fields=REQUEST)
    for event, body in (("approve", {"expected_version": 9}), ("confirm", {}), ("fly", {})):
        answer = staff.as_("stranger").post(f"/api/v1/workorders/{order['id']}/events/{event}", json=body)
        assert answer.status_code == 404 and order["number"] not in answer.text


# --- 2. clinical staff file for their own department -----------------------------------------------

def test_a_requester_cannot_file_into_another_department(staff):
    staff.user("visitor", "requester")  # no department at all
    before = _total(staff, "supervisor")
    for username in ("nurse", "head", "visitor"):
        answer = staff.as_(username).post("/api/v1/workorders", json={
            "process": "procurement", "title": "输液泵", "department": "急诊科", "fields": REQUEST})
        assert answer.status_code == 403, answer.text
        assert "your own department" in answer.json()["detail"]
    assert _total(staff, "supervisor") == before
    assert _total(staff, "other_head") == 0  # nothing landed in the emergency department's lists


def test_a_requester_naming_their_own_department_and_the_desk_filing_for_any_are_accepted(staff):
    own = staff.new_order("nurse", "procurement", department="心内科", fields=REQUEST)
    assert own["department"] == "心内科"
    phoned = staff.new_order("dispatcher", "repair", department="急诊科")
    assert phoned["department"] == "急诊科"
    assert staff.as_("other_head").get(f"/api/v1/workorders/{phoned['id']}").status_code == 200


def test_the_submit_page_offers_no_department_to_a_requester_and_refuses_a_forged_one(app, staff):
    nurse = visitor(app, "nurse")
    assert 'name="department"' not in nurse.get("/submit/repair").text
    assert 'name="department"' in visitor(app, "dispatcher").get("/submit/repair").text
    forged = nurse.post("/submit/repair", {"title": "水龙头漏水", "f.category": "plumbing", "priority": "normal",
                                           "department": "急诊科"})
    assert forged.status_code == 403
    assert "只能为本科室提交" in text_of(forged.text)
    assert _total(staff, "supervisor") == 0


# --- 3. the different-person rule where the domain asks for it -----------------------------------

def test_a_department_head_cannot_approve_their_own_request(staff):
    order = staff.new_order("head", "procurement", fields=REQUEST)
    assert "approve" not in order["available_events"]
    refused = staff.fire("head", order["id"], "approve", expect=403)
    assert refused["detail"] == "'approve' must be done by someone other than who filed the work order"
    assert staff.as_("head").get("/api/v1/inbox").json()["total"] == 0
    assert staff.as_("deputy").get("/api/v1/inbox").json()["total"] == 1
    assert staff.fire("deputy", order["id"], "approve")["state"] == "dept_approved"


def test_a_leader_cannot_approve_their_own_large_request(staff):
    staff.user("leader", "leader", department="院办")
    staff.user("leader2", "leader", department="院办")
    staff.user("office_head", "dept_head", department="院办")
    order = staff.new_order("leader", "procurement", fields={"items": ["CT"], "amount": 900000})
    staff.fire("office_head", order["id"], "approve")
    staff.fire("logistics", order["id"], "review")
    assert "someone other than who filed" in staff.fire("leader", order["id"], "approve_leader", expect=403)["detail"]
    assert staff.fire("leader2", order["id"], "approve_leader")["state"] == "leader_approved"


def test_a_technician_cannot_accept_their_own_repair(staff):
    order = staff.new_order("tech", "repair")  # found on rounds, reported by the technician himself
    staff.fire("dispatcher", order["id"], "assign", assignee="tech")
    for event in ("accept", "start"):
        staff.fire("tech", order["id"], event)
    resolved = staff.fire("tech", order["id"], "resolve", fields={"labour_minutes": 30})
    assert "confirm" not in resolved["available_events"]
    refused = staff.as_("tech").post(f"/api/v1/workorders/{order['id']}/feedback", json={"satisfied": True, "rating": 5})
    assert refused.status_code == 403 and "someone other than who did 'resolve'" in refused.json()["detail"]


def test_whoever_replied_to_a_complaint_does_not_make_its_follow_up_call(staff):
    staff.user("desk2", "dispatcher", department="后勤保障部")
    order = staff.new_order("dispatcher", "complaint", title="病房太吵", fields={"channel": "hotline"})
    staff.fire("dispatcher", order["id"], "accept")
    staff.fire("dispatcher", order["id"], "assign", assignee="dispatcher")
    staff.fire("dispatcher", order["id"], "start")
    staff.fire("dispatcher", order["id"], "reply", fields={"reply": "已处理"})
    for event in ("confirm", "reopen"):
        body = staff.fire("dispatcher", order["id"], event, expect=403, fields={"followup_answer": "满意"})
        assert "someone other than who did 'reply'" in body["detail"]
    assert staff.fire("desk2", order["id"], "confirm", fields={"followup_answer": "满意"})["state"] == "closed"


SELF_APPROVAL = """\
key: requests
title: {zh: 申请, en: Requests}
number_prefix: RQ
states:
  new: {label: {zh: 新, en: New}, initial: true}
  done: {label: {zh: 完成, en: Done}, final: true}
events:
  - name: %s
    from: new
    to: done
    roles: [dept_head@department]
    distinct_from: %s
"""


def test_distinct_from_names_the_filer_as_reporter_and_no_event_may_take_that_name():
    load_definition(SELF_APPROVAL % ("approve", "reporter"), "requests.yaml")
    with pytest.raises(DefinitionError) as caught:
        load_definition(SELF_APPROVAL % ("reporter", "reporter"), "requests.yaml")
    assert [(p.line, p.message) for p in caught.value.problems] == [
        (8, "'reporter' is not an event name: in distinct_from it means who filed the work order")]
    with pytest.raises(DefinitionError) as caught:
        load_definition(SELF_APPROVAL % ("approve", "approver"), "requests.yaml")
    assert "unknown event 'approver' in distinct_from" in caught.value.problems[0].message


# --- 4. a channel's target is an address, checked when saved and harmless when stored bad -----------

NOT_URLS = ["http://[::1", "http://robot:99999/hook", "http://robot:abc/", "http://exa mple.com/", "http://a..b/",
            "https://", "robot.example/hook", "http://robot/\thook"]


@pytest.fixture
def admin(staff):
    staff.user("admin", "admin")
    return staff


def test_a_channel_target_that_is_not_a_url_is_refused_with_a_message_never_a_500(admin, app):
    for target in NOT_URLS:
        answer = admin.as_("admin").post("/api/v1/channels", json={"name": "hook", "kind": "webhook", "target": target})
        assert answer.status_code == 422, (target, answer.text)
        assert [error["field"] for error in answer.json()["errors"]] == ["target"], target
    for target in ("smtp://mail:abc", "smtp://[::1", "smtp://mail:0"):
        answer = admin.as_("admin").post("/api/v1/channels", json={
            "name": "mail", "kind": "email", "target": target, "recipients": ["duty@hospital.example"]})
        assert answer.status_code == 422 and answer.json()["errors"][0]["field"] == "target", (target, answer.text)
    good = admin.as_("admin").post("/api/v1/channels", json={"name": "hook", "kind": "webhook",
                                                              "target": "https://robot.example/hook"})
    assert good.status_code == 201, good.text
    edited = admin.as_("admin").patch(f"/api/v1/channels/{good.json()['id']}", json={"target": "http://[::1"})
    assert edited.status_code == 422
    page = visitor(app, "admin")
    page.get("/admin")
    shown = page.follow(page.post("/admin/channels", {"name": "群", "kind": "wecom", "target": "http://[::1",
                                                      "kinds": ["assignment"], "recipients": "", "secret": ""}))
    assert "机器人或 Webhook 通道需要 http(s) 网址" in text_of(shown.text)
    assert [row["target"] for row in admin.as_("admin").get("/api/v1/channels").json()] == ["https://robot.example/hook"]


def test_a_stored_bad_target_fails_its_delivery_with_the_reason_and_the_sweep_goes_on(admin, session, test_clock):
    """Channels saved before these checks (or written straight to the database) cannot stop the outbox."""
    for number, (kind, target) in enumerate([("webhook", "http://[::1"), ("wecom", "http://robot:99999/"),
                                             ("email", "smtp://mail:abc"), ("dingtalk", "http://127.0.0.1:9/")]):
        session.add(Channel(name=f"old{number}", kind=kind, target=target, recipients=["duty@hospital.example"]
                            if kind == "email" else []))
    session.commit()
    order = admin.new_order("nurse")
    admin.fire("dispatcher", order["id"], "assign", assignee="tech")
    report = delivery.deliver_due(session, test_clock.now())
    assert (report.sent, report.retrying) == (0, 4)
    errors = {row.channel_id: row.last_error for row in session.exec(select(Outbox)).all()}
    assert len(errors) == 4 and all(errors.values())
    assert any("server's own" in error for error in errors.values())  # the loopback one, refused before connecting


# --- 5. channels do not reach the server's own network -----------------------------------------

LOCAL = ["http://127.0.0.1:8000/", "http://localhost/", "http://169.254.169.254/latest/meta-data/", "http://[::1]/",
         "http://0.0.0.0:8000/", "http://[::ffff:127.0.0.1]/", "http://2130706433/", "http://224.0.0.1/",
         "http://[fe80::1]/"]


def test_a_webhook_may_not_target_loopback_link_local_or_the_metadata_address(admin, monkeypatch):
    for target in LOCAL:
        answer = admin.as_("admin").post("/api/v1/channels", json={"name": "hook", "kind": "webhook", "target": target})
        assert answer.status_code == 422, (target, answer.text)
        assert "HOUQIN_CHANNEL_ALLOWED_NETWORKS" in answer.json()["detail"], target
    mail = admin.as_("admin").post("/api/v1/channels", json={"name": "mail", "kind": "email", "target": "smtp://127.0.0.1:25",
                                                              "recipients": ["duty@hospital.example"]})
    assert mail.status_code == 422
    intranet = admin.as_("admin").post("/api/v1/channels", json={"name": "gateway", "kind": "wecom",
                                                                  "target": "http://10.20.0.5/cgi-bin/webhook/send"})
    assert intranet.status_code == 201  # a hospital's own WeCom gateway lives on its intranet

    monkeypatch.setenv("HOUQIN_CHANNEL_ALLOW_PRIVATE", "0")
    refused = admin.as_("admin").post("/api/v1/channels", json={"name": "gw2", "kind": "wecom", "target": "http://10.20.0.6/"})
    assert refused.status_code == 422 and "private" in refused.json()["detail"]
    monkeypatch.setenv("HOUQIN_CHANNEL_ALLOWED_NETWORKS", "127.0.0.1")
    relay = admin.as_("admin").post("/api/v1/channels", json={"name": "relay", "kind": "email", "target": "smtp://127.0.0.1:25",
                                                               "recipients": ["duty@hospital.example"]})
    assert relay.status_code == 201, relay.text


class _Receiver(ThreadingHTTPServer):
    def __init__(self):
        super().__init__(("127.0.0.1", 0), _Handler)
        self.received: list[dict] = []


class _Handler(BaseHTTPRequestHandler):
    def do_POST(self):
        self.server.received.append({"host": self.headers["Host"],
                                     "json": json.loads(self.rfile.read(int(self.headers["Content-Length"])))})
        self.send_response(200)
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"{}")

    def log_message(self, *args):
        pass


@pytest.fixture
def receiver():
    server = _Receiver()
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield server
    server.shutdown()
    server.server_close()


@pytest.fixture
def robot_dns(monkeypatch):
    """robot.example resolves to whatever the test says, as a DNS server the attacker controls would answer."""
    answers = {"robot.example": "93.184.216.34"}
    real = socket.getaddrinfo

    def getaddrinfo(host, *args, **kwargs):
        return real(answers.get(host, host), *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    return answers


def test_a_name_that_resolves_to_loopback_at_delivery_is_refused_there_dns_rebinding(admin, receiver, robot_dns,
                                                                                      session, test_clock):
    port = receiver.server_address[1]
    saved = admin.as_("admin").post("/api/v1/channels", json={"name": "robot", "kind": "webhook",
                                                               "target": f"http://robot.example:{port}/hook"})
    assert saved.status_code == 201, saved.text  # a public address when it was saved
    robot_dns["robot.example"] = "127.0.0.1"  # and the server's own when it is used
    order = admin.new_order("nurse")
    admin.fire("dispatcher", order["id"], "assign", assignee="tech")
    assert delivery.deliver_due(session, test_clock.now()).retrying == 1
    assert receiver.received == []
    row = session.exec(select(Outbox)).one()
    assert "'robot.example' (127.0.0.1) is on the server's own" in row.last_error


def test_a_delivery_goes_to_the_address_it_checked_and_keeps_the_name(admin, receiver, robot_dns, session, test_clock,
                                                                      monkeypatch):
    monkeypatch.setenv("HOUQIN_CHANNEL_ALLOWED_NETWORKS", "127.0.0.1")  # the admin allows a relay on this server
    robot_dns["robot.example"] = "127.0.0.1"
    port = receiver.server_address[1]
    assert admin.as_("admin").post("/api/v1/channels", json={"name": "robot", "kind": "webhook",
                                                              "target": f"http://robot.example:{port}/hook"}).status_code == 201
    order = admin.new_order("nurse")
    admin.fire("dispatcher", order["id"], "assign", assignee="tech")
    assert delivery.deliver_due(session, test_clock.now()).sent == 1
    [received] = receiver.received
    assert received["host"] == f"robot.example:{port}" and received["json"]["work_order"]["number"] == order["number"]


# --- 6. the sign-in limit counts the address that connects, unless a configured proxy names another ----

@pytest.fixture
def server(db_url, make_user, request, monkeypatch):
    """`houqin serve` in its own process (uvicorn reads the headers, not a test client); `request.param`: its
    HOUQIN_TRUSTED_PROXIES."""
    make_user("nurse", "requester", department="心内科")
    if request.param:
        monkeypatch.setenv("HOUQIN_TRUSTED_PROXIES", request.param)
    else:
        monkeypatch.delenv("HOUQIN_TRUSTED_PROXIES", raising=False)
    started = Server(db_url)
    try:
        started.wait_until_up(time.monotonic() + DEADLINE)
        yield started
    finally:
        started.stop()


def _sign_in(server, password: str, forwarded_for: str) -> int:
    return httpx.post(f"{server.url}/api/v1/auth/token", data={"username": "nurse", "password": password},
                      headers={"X-Forwarded-For": forwarded_for}, timeout=30).status_code


@pytest.mark.parametrize("server", [""], indirect=True)
def test_a_made_up_forwarded_for_does_not_reset_the_sign_in_limit(server):
    assert [_sign_in(server, "guess", f"203.0.113.{n}") for n in range(5)] == [401] * 5
    assert _sign_in(server, PASSWORD, "198.51.100.9") == 429  # still the same client: locked


@pytest.mark.parametrize("server", ["127.0.0.1"], indirect=True)
def test_behind_a_trusted_proxy_the_limit_counts_the_client_it_names(server):
    # The proxy appends the address it saw; what the client wrote before it is not believed.
    assert [_sign_in(server, "guess", f"10.9.9.{n}, 203.0.113.7") for n in range(5)] == [401] * 5
    assert _sign_in(server, PASSWORD, "1.2.3.4, 203.0.113.7") == 429
    assert _sign_in(server, PASSWORD, "198.51.100.9") == 200  # another client behind the same proxy


# --- 7. role@department needs a department on both sides ----------------------------------------

def test_a_head_without_a_department_cannot_approve_a_request_without_one(staff):
    staff.user("walk_in", "requester")  # no department: the request has none either
    staff.user("floater", "dept_head", "logistics")  # sees the whole pool, belongs to no department
    order = staff.new_order("walk_in", "procurement", fields=REQUEST)
    assert order["department"] is None
    assert "approve" not in staff.as_("floater").get(f"/api/v1/workorders/{order['id']}").json()["available_events"]
    staff.fire("floater", order["id"], "approve", expect=403)


def test_role_at_department_never_matches_nobody_to_nobody():
    scoped = who("dept_head@department")
    order = SimpleNamespace(department_id=None)
    headless = SimpleNamespace(roles=frozenset({"dept_head"}), department_id=None)
    assert not scoped(order, headless)
    assert reach("dept_head@department", headless) is None
    placed = SimpleNamespace(roles=frozenset({"dept_head"}), department_id=3)
    assert scoped(SimpleNamespace(department_id=3), placed) and reach("dept_head@department", placed) == IN_DEPARTMENT
