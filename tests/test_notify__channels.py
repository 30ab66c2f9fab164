"""Notifications leaving Houqin: a JSON webhook, WeCom and DingTalk group robots, e-mail.

Everything is received locally (an HTTP server and an SMTP server on 127.0.0.1), never
on the internet. Deliveries go through the outbox after commit, so a dead channel is
retried with backoff and never touches the transition that caused it.
"""
import base64
import hashlib
import hmac
import json
import socket
import threading
import urllib.parse
from datetime import timedelta
from email import message_from_bytes, policy
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from aiosmtpd.controller import Controller
from sqlmodel import select

from engine.notify import delivery
from engine.storage.models import Outbox
from language_support import assert_speaks
from sla_support import at, sweep
from web.i18n import Translator


class Receiver(ThreadingHTTPServer):
    """Records every POST; a path ending in /refuse answers like a robot that turns the message down."""

    def __init__(self):
        super().__init__(("127.0.0.1", 0), _Handler)
        self.received: list[dict] = []

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}{path}"

    def at_path(self, path: str) -> list[dict]:
        return [r for r in self.received if r["path"] == path]


class _Handler(BaseHTTPRequestHandler):
    def do_POST(self):
        body = self.rfile.read(int(self.headers["Content-Length"]))
        url = urllib.parse.urlsplit(self.path)
        self.server.received.append({"path": url.path, "query": dict(urllib.parse.parse_qsl(url.query)),
                                     "headers": {k.lower(): v for k, v in self.headers.items()}, "json": json.loads(body)})
        answer = {"errcode": 310000, "errmsg": "keywords not in content"} if url.path.endswith("/refuse") else {"errcode": 0, "errmsg": "ok"}
        data = json.dumps(answer).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args):
        pass


@pytest.fixture(autouse=True)
def local_receivers_allowed(monkeypatch):
    """The receivers listen on this machine, as a mail relay on the server itself would: the admin allows it."""
    monkeypatch.setenv("HOUQIN_CHANNEL_ALLOWED_NETWORKS", "127.0.0.1")


@pytest.fixture
def receiver():
    server = Receiver()
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class Mailbox:
    def __init__(self):
        self.messages = []

    async def handle_DATA(self, server, session, envelope):
        self.messages.append(envelope)
        return "250 OK"


@pytest.fixture
def mailbox():
    box = Mailbox()
    controller = Controller(box, hostname="127.0.0.1", port=free_port())
    controller.start()
    box.address = f"smtp://127.0.0.1:{controller.port}"
    yield box
    controller.stop()


@pytest.fixture
def staff(api, test_clock):
    api.user("admin", "admin")
    api.user("nurse", "requester", department="心内科")
    api.user("dispatcher", "dispatcher", department="后勤保障部")
    api.user("supervisor", "supervisor", department="后勤保障部")
    api.user("tech", "technician", department="后勤保障部")
    test_clock.set(at("2026-10-12T09:00:00"))
    return api


def add_channel(api, **body) -> dict:
    response = api.as_("admin").post("/api/v1/channels", json=body)
    assert response.status_code == 201, response.text
    return response.json()


def late_urgent_repair(api, clock) -> dict:
    order = api.new_order("nurse", priority="urgent", title="手术室停电")
    api.fire("dispatcher", order["id"], "assign", assignee="tech")
    clock.set(at("2026-10-12T09:15:00"))
    return order


def test_an_escalation_reaches_the_webhook_and_both_group_robots(staff, receiver, test_clock):
    add_channel(staff, name="ops", kind="webhook", target=receiver.url("/hook"), kinds=["escalation"],
                options={"headers": {"X-Token": "s3cret"}})
    add_channel(staff, name="企业微信后勤群", kind="wecom", target=receiver.url("/wecom?key=abc"), kinds=["escalation"])
    add_channel(staff, name="钉钉值班群", kind="dingtalk", target=receiver.url("/ding?access_token=xyz"),
                kinds=["escalation"], secret="SEC123", language="en")
    order = late_urgent_repair(staff, test_clock)
    fired = sweep(staff, "supervisor")  # the sweep's deliveries go out right after its response
    assert [f["level"] for f in fired] == [0, 1]  # the 80% warning is not sent: these channels take escalations

    [hook] = receiver.at_path("/hook")
    assert hook["headers"]["x-token"] == "s3cret"
    payload = hook["json"]
    assert (payload["kind"], payload["level"], payload["timer"]) == ("escalation", 1, "response")
    assert payload["work_order"]["number"] == order["number"] and payload["work_order"]["priority"] == "urgent"
    assert sorted(payload["recipient_names"]) == ["dispatcher", "tech"]

    [wecom] = receiver.at_path("/wecom")
    assert wecom["query"] == {"key": "abc"}
    assert wecom["json"]["msgtype"] == "markdown"
    content = wecom["json"]["markdown"]["content"]  # a Chinese group (the default) reads Chinese only
    assert order["number"] in content and "手术室停电" in content and "【升级督办】" in content
    assert "响应时限已于 10-12 09:15 超时，升级至第 1 级" in content and "状态：已派单" in content and "特急" in content
    assert_speaks(content, "zh", names=["dispatcher", "tech"])

    [ding] = receiver.at_path("/ding")
    assert ding["json"]["msgtype"] == "markdown"
    assert ding["json"]["markdown"]["title"] == f"{order['number']} 手术室停电"
    text = ding["json"]["markdown"]["text"]  # the English group reads English only, the order's own title as written
    assert order["number"] in text and "Response overdue since 10-12 09:15: escalated to level 1" in text
    assert "State: Assigned" in text and "Priority: Urgent" in text and "[Escalation] " in text
    assert_speaks(text, "en", names=["手术室停电"])
    stamp = ding["query"]["timestamp"]
    expected = base64.b64encode(hmac.new(b"SEC123", f"{stamp}\nSEC123".encode(), hashlib.sha256).digest()).decode()
    assert ding["query"]["access_token"] == "xyz" and ding["query"]["sign"] == expected


def test_an_assignment_is_mailed_to_the_channel_addresses(staff, mailbox, test_clock, session):
    add_channel(staff, name="后勤邮件", kind="email", target=mailbox.address, kinds=["assignment"],
                recipients=["duty@hospital.example", "chief@hospital.example"],
                options={"sender": "houqin@hospital.example"})
    order = staff.new_order("nurse", priority="high", title="病房空调不制冷")
    staff.fire("dispatcher", order["id"], "assign", assignee="tech")
    assert mailbox.messages == []  # nothing is sent inside the transition
    report = delivery.deliver_due(session, test_clock.now(), texts=Translator)
    assert (report.sent, report.failed) == (1, 0)
    [envelope] = mailbox.messages
    assert envelope.mail_from == "houqin@hospital.example"
    assert sorted(envelope.rcpt_tos) == ["chief@hospital.example", "duty@hospital.example"]
    mail = message_from_bytes(envelope.content, policy=policy.default)
    assert mail["Subject"] == f"【派单】{order['number']} 病房空调不制冷"
    assert order["number"] in mail.get_content() and "tech" in mail.get_content()


def test_a_dead_channel_is_retried_with_backoff_then_shown_to_the_admin_as_failed(staff, session, test_clock):
    add_channel(staff, name="旧机器人", kind="webhook", target=f"http://127.0.0.1:{free_port()}/gone")
    order = staff.new_order("nurse", priority="normal")
    assigned = staff.fire("dispatcher", order["id"], "assign", assignee="tech")
    assert assigned["state"] == "assigned"  # the transition does not wait for, or fail with, the channel

    start = test_clock.now()
    outcomes = [delivery.deliver_due(session, start)]  # attempt 1
    assert outcomes[0].retrying == 1
    assert delivery.deliver_due(session, start + timedelta(seconds=59)).retrying == 0  # not before its minute
    # Attempts 2-6 one, two, four, eight and sixteen minutes after the previous one.
    for minutes in (1, 3, 7, 15, 31):
        outcomes.append(delivery.deliver_due(session, start + timedelta(minutes=minutes)))
    assert [(o.retrying, o.failed) for o in outcomes] == [(1, 0)] * 5 + [(0, 1)]
    assert delivery.deliver_due(session, start + timedelta(days=1)).failed == 0  # given up: no seventh attempt

    response = staff.as_("admin").get("/api/v1/channels/deliveries")
    assert response.status_code == 200
    [failed] = response.json()["items"]
    assert (failed["channel"], failed["status"], failed["attempts"], failed["kind"]) == ("旧机器人", "failed", 6, "assignment")
    assert "ConnectError" in failed["last_error"]
    assert failed["work_order"]["number"] == order["number"]
    assert staff.as_("supervisor").get("/api/v1/channels/deliveries").status_code == 403
    channel = staff.as_("admin").get("/api/v1/channels").json()[0]
    assert channel["deliveries"] == {"pending": 0, "sent": 0, "failed": 1}


def test_a_robot_that_answers_with_an_error_code_counts_as_a_failure(staff, receiver, session, test_clock):
    add_channel(staff, name="关键词群", kind="wecom", target=receiver.url("/refuse"))
    order = staff.new_order("nurse")
    staff.fire("dispatcher", order["id"], "assign", assignee="tech")
    assert delivery.deliver_due(session, test_clock.now()).retrying == 1
    row = session.exec(select(Outbox)).one()
    assert "errcode 310000" in row.last_error and row.status == "pending"


def test_a_failed_delivery_can_be_queued_again_after_fixing_the_channel(staff, receiver, session, test_clock):
    channel = add_channel(staff, name="hook", kind="webhook", target=f"http://127.0.0.1:{free_port()}/gone")
    order = staff.new_order("nurse")
    staff.fire("dispatcher", order["id"], "assign", assignee="tech")
    now = test_clock.now()
    delivery.deliver_due(session, now, max_attempts=1)
    [failed] = staff.as_("admin").get("/api/v1/channels/deliveries").json()["items"]
    fixed = staff.as_("admin").patch(f"/api/v1/channels/{channel['id']}", json={"target": receiver.url("/hook")})
    assert fixed.status_code == 200, fixed.text
    retried = staff.as_("admin").post(f"/api/v1/channels/deliveries/{failed['id']}/retry")
    assert retried.status_code == 200 and retried.json()["status"] == "pending"
    assert delivery.deliver_due(session, now).sent == 1
    assert [r["json"]["work_order"]["number"] for r in receiver.at_path("/hook")] == [order["number"]]
    again = staff.as_("admin").post(f"/api/v1/channels/deliveries/{failed['id']}/retry")
    assert again.status_code == 409


def test_only_an_admin_manages_channels_and_mistakes_are_explained(staff):
    body = {"name": "hook", "kind": "webhook", "target": "http://127.0.0.1:9/x"}
    assert staff.as_("supervisor").post("/api/v1/channels", json=body).status_code == 403
    assert staff.as_("dispatcher").get("/api/v1/channels").status_code == 403

    bad = staff.as_("admin").post("/api/v1/channels", json={**body, "target": "ftp://robot"})
    assert bad.status_code == 422 and "http(s) URL" in bad.json()["detail"]
    bad = staff.as_("admin").post("/api/v1/channels", json={"name": "mail", "kind": "email", "target": "mail.example:25"})
    assert bad.status_code == 422 and "at least one address" in bad.json()["detail"]
    bad = staff.as_("admin").post("/api/v1/channels", json={"name": "mail", "kind": "email", "target": "mail.example:25",
                                                            "recipients": ["not-an-address"]})
    assert bad.status_code == 422 and "not-an-address" in bad.json()["detail"]
    bad = staff.as_("admin").post("/api/v1/channels", json={**body, "kind": "pager"})
    assert bad.status_code == 422
    bad = staff.as_("admin").post("/api/v1/channels", json={**body, "kinds": ["everything"]})
    assert bad.status_code == 422
    bad = staff.as_("admin").post("/api/v1/channels", json={**body, "name": "   "})
    assert bad.status_code == 422 and "needs a name" in bad.json()["detail"]
    bad = staff.as_("admin").post("/api/v1/channels", json={**body, "target": "http://127.0.0.1:9/\x00"})
    assert bad.status_code == 422 and "NUL" in bad.json()["detail"]
    assert staff.as_("admin").get("/api/v1/channels").json() == []  # none of that was saved

    created = add_channel(staff, **body, secret="never-shown")
    assert created["has_secret"] is True and "never-shown" not in json.dumps(created)
    assert staff.as_("admin").post("/api/v1/channels", json=body).status_code == 409
    off = staff.as_("admin").patch(f"/api/v1/channels/{created['id']}", json={"active": False})
    assert off.json()["active"] is False
    assert staff.as_("admin").patch(f"/api/v1/channels/{created['id']}", json={"name": None}).status_code == 422
    assert staff.as_("admin").delete(f"/api/v1/channels/{created['id']}").status_code == 204
    assert staff.as_("admin").get(f"/api/v1/channels/{created['id']}").status_code == 404
