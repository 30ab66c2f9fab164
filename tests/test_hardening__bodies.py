"""Bodies: none is read past its limit, and no refusal waits for the body to be read.

Written as the attack. The big ones are raw ASGI calls whose `receive` offers a body of
any size and counts every byte the app pulls: "refused unread" means that count is zero,
and "cut off at the limit" means it never passes the limit by more than one chunk.
"""
import asyncio
import json
import tempfile
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

import jwt
import pytest
from sqlmodel import select
from starlette import formparsers

from engine.storage.models import WorkOrder
from page_support import visitor
from web.security import secret_key

GB = 1024 ** 3
MB = 1024 * 1024
CHUNK = 64 * 1024
JSON = ("content-type", "application/json")
ORDER = {"process": "repair", "title": "漏水", "fields": {"category": "plumbing"}}


class Sender:
    """The client side of one request: a body of `size` bytes offered in chunks; `pulled` counts what the app took."""

    def __init__(self, size: int, head: bytes = b""):
        self.size, self.head, self.pulled = size, head, 0

    async def receive(self) -> dict:
        if self.pulled >= self.size:
            return {"type": "http.disconnect"}
        part = min(CHUNK, self.size - self.pulled)
        body = (self.head + b"0" * part)[:part] if self.pulled == 0 else b"0" * part
        self.pulled += part
        return {"type": "http.request", "body": body, "more_body": self.pulled < self.size}


@dataclass
class Answer:
    status: int
    headers: dict[str, str]
    body: bytes

    @property
    def detail(self) -> str:
        return json.loads(self.body)["detail"]


def call(app, method: str, path: str, sender: Sender, headers: list[tuple[str, str]], announce: bool = True) -> Answer:
    """One request straight into the app, as uvicorn would make it: with a Content-Length, or chunked."""
    framing = [("content-length", str(sender.size))] if announce else [("transfer-encoding", "chunked")]
    scope = {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": method, "scheme": "http",
             "path": path, "raw_path": path.encode(), "query_string": b"", "root_path": "",
             "headers": [(k.encode(), v.encode()) for k, v in [*headers, *framing]],
             "client": ("127.0.0.1", 50000), "server": ("testserver", 80)}
    sent = []

    async def send(message):
        sent.append(message)

    asyncio.run(app(scope, sender.receive, send))
    start = next(m for m in sent if m["type"] == "http.response.start")
    return Answer(start["status"], {k.decode(): v.decode() for k, v in start["headers"]},
                  b"".join(m.get("body", b"") for m in sent if m["type"] == "http.response.body"))


def bearer(api, who: str) -> tuple[str, str]:
    return ("authorization", f"Bearer {api.tokens[who]}")


@pytest.fixture
def people(api, tmp_path, monkeypatch):
    monkeypatch.setenv("HOUQIN_ATTACHMENTS_DIR", str(tmp_path / "files"))
    api.user("nurse", "requester", department="心内科")
    api.user("nurse2", "requester", department="急诊科")
    api.user("designer", "designer")
    api.user("admin", "admin")
    return api


def _orders(session) -> int:
    session.expire_all()
    return len(session.exec(select(WorkOrder)).all())


def test_a_gigabyte_without_a_token_is_refused_without_being_read(app, people):
    for announce in (True, False):
        sender = Sender(GB)
        answer = call(app, "POST", "/api/v1/workorders", sender, [JSON], announce=announce)
        assert answer.status == 401 and sender.pulled == 0
        assert "请先登录" in answer.detail
    sender = Sender(GB)
    answer = call(app, "POST", "/api/v1/workorders", sender,
                  [JSON, ("authorization", "Bearer eyJhbGciOiJIUzI1NiJ9.e30.x")])
    assert answer.status == 401 and sender.pulled == 0 and "令牌无效或已过期" in answer.detail


def test_json_over_the_limit_with_a_valid_token_is_refused_naming_the_limit(app, people, session):
    sender = Sender(GB)
    answer = call(app, "POST", "/api/v1/workorders", sender, [JSON, bearer(people, "nurse")])
    assert answer.status == 413 and sender.pulled == 0
    assert "1 MB" in answer.detail and answer.headers["connection"] == "close"

    response = people.as_("nurse").post("/api/v1/workorders", json={**ORDER, "description": "水" * MB})
    assert response.status_code == 413 and "larger than the limit of 1 MB" in response.json()["detail"]
    assert _orders(session) == 0


def test_a_chunked_body_past_the_limit_is_cut_off_at_the_limit(app, people, session):
    sender = Sender(100 * MB)
    answer = call(app, "POST", "/api/v1/workorders", sender, [JSON, bearer(people, "nurse")], announce=False)
    assert answer.status == 413 and "1 MB" in answer.detail
    assert sender.pulled <= MB + CHUNK
    assert _orders(session) == 0

    sender = Sender(100 * MB, head=b"key: huge\n")
    answer = call(app, "POST", "/api/v1/processes", sender, [("content-type", "application/yaml"),
                                                            bearer(people, "designer")], announce=False)
    assert answer.status == 413 and "256 KB" in answer.detail
    assert sender.pulled <= 256 * 1024 + CHUNK


def test_an_oversized_form_post_to_a_page_is_refused_and_nothing_is_spooled(app, people, session):
    nurse = visitor(app, "nurse")
    order = people.new_order("nurse")
    cookie = ("cookie", f"houqin_session={nurse.client.cookies['houqin_session']}")
    csrf = ("x-csrf-token", nurse.token)
    form = ("content-type", "application/x-www-form-urlencoded")
    multipart = ("content-type", "multipart/form-data; boundary=B")

    for path, kind, size in ((f"/orders/{order['id']}/comment", form, 2 * MB),  # a form: 1 MB
                             ("/submit/repair", multipart, 50 * MB)):  # a form with a photo: the upload limit
        for headers in ([cookie, kind], [cookie, kind, csrf]):  # the token in the form, or in the header
            sender = Sender(size)
            answer = call(app, "POST", path, sender, headers)
            assert answer.status == 413 and sender.pulled == 0, path
            assert answer.headers["content-type"].startswith("text/html")
    assert _orders(session) == 1


def test_a_chunked_photo_past_the_upload_limit_is_cut_off_and_spools_no_more(app, people, session, monkeypatch):
    monkeypatch.setenv("HOUQIN_MAX_ATTACHMENT_MB", "1")
    spooled = []

    class Counted(tempfile.SpooledTemporaryFile):
        def write(self, data):
            spooled.append(len(data))
            return super().write(data)

    monkeypatch.setattr(formparsers, "SpooledTemporaryFile", Counted)
    nurse = visitor(app, "nurse")
    head = (b'--B\r\nContent-Disposition: form-data; name="photo"; filename="x.jpg"\r\n'
            b"Content-Type: image/jpeg\r\n\r\n")
    sender = Sender(100 * MB, head=head)
    answer = call(app, "POST", "/submit/repair", sender,
                  [("cookie", f"houqin_session={nurse.client.cookies['houqin_session']}"),
                   ("content-type", "multipart/form-data; boundary=B"), ("x-csrf-token", nurse.token)], announce=False)
    assert answer.status == 413
    limit = MB + 64 * 1024
    assert sender.pulled <= limit + CHUNK and 0 < sum(spooled) <= limit
    assert _orders(session) == 0


def test_a_cookie_session_with_a_bogus_bearer_header_cannot_skip_the_csrf_check(app, people, session):
    nurse = visitor(app, "nurse")
    now = datetime.now(timezone.utc)
    other_key = jwt.encode({"sub": "nurse", "exp": now + timedelta(hours=1)}, "not this installation's key " * 2,
                           algorithm="HS256")
    expired = jwt.encode({"sub": "nurse", "exp": now - timedelta(minutes=1)}, secret_key(session), algorithm="HS256")
    for header in ("Bearer bogus", "Bearer ", f"bearer {other_key}", f"Bearer {expired}"):
        refused = nurse.client.post("/api/v1/workorders", json=ORDER, headers={"Authorization": header})
        assert refused.status_code == 401, header
    basic = nurse.client.post("/api/v1/workorders", json=ORDER, headers={"Authorization": "Basic bnVyc2U6eA=="})
    assert basic.status_code == 403 and "X-CSRF-Token" in basic.json()["detail"]
    assert _orders(session) == 0
    # An invalid token is nobody, on every call: it never falls back to the cookie's user.
    assert nurse.client.get("/api/v1/me", headers={"Authorization": "Bearer bogus"}).status_code == 401
    # A valid token says who calls, whoever the cookie belongs to.
    me = nurse.client.get("/api/v1/me", headers={"Authorization": f"Bearer {people.tokens['designer']}"})
    assert me.json()["username"] == "designer"


def test_uploads_and_definitions_are_refused_by_role_or_visibility_before_they_are_read(app, people):
    order = people.new_order("nurse")
    multipart = ("content-type", "multipart/form-data; boundary=B")
    assert people.as_("admin").post("/api/v1/teams", json={"name": "lifts"}).status_code == 201
    for who, path, kind, expect in (
        ("nurse2", f"/api/v1/workorders/{order['id']}/attachments", multipart, 404),  # another department's order
        ("nurse", "/api/v1/teams/lifts/rota.xlsx", multipart, 403),  # admins and supervisors keep the rota
        ("nurse", "/api/v1/processes", ("content-type", "application/yaml"), 403),  # designers publish
    ):
        sender = Sender(200 * 1024)
        answer = call(app, "POST", path, sender, [kind, bearer(people, who)])
        assert (answer.status, sender.pulled) == (expect, 0), path


def test_a_json_route_sent_another_media_type_says_to_send_json(people, session):
    text = json.dumps(ORDER)
    for headers in ({"Content-Type": "text/plain"}, {"Content-Type": "application/x-www-form-urlencoded"}, {}):
        response = people.as_("nurse").post("/api/v1/workorders", content=text, headers=headers)
        assert response.status_code == 415, headers
        assert "Content-Type: application/json" in response.json()["detail"]
    assert _orders(session) == 0
    for kind in ("application/json; charset=utf-8", "application/merge-patch+json"):
        response = people.as_("nurse").post("/api/v1/workorders", content=text, headers={"Content-Type": kind})
        assert response.status_code == 201, kind


def test_the_openapi_document_describes_these_refusals_in_the_error_shape(app):
    schema = app.openapi()
    error = schema["components"]["schemas"]["ErrorPublic"]
    assert error["properties"]["detail"]["type"] == "string" and "errors" in error["properties"]
    publish = schema["paths"]["/api/v1/processes"]["post"]["responses"]
    assert publish["413"]["content"]["application/json"]["schema"] == {"$ref": "#/components/schemas/ErrorPublic"}
    assert {"401", "403", "413"} <= set(publish)
    created = schema["paths"]["/api/v1/workorders"]["post"]["responses"]
    assert {"400", "401", "403", "413", "415", "422"} <= set(created)
    for path, operations in schema["paths"].items():
        for method, operation in operations.items():
            if method in ("post", "put", "patch", "delete"):
                assert "413" in operation["responses"], (method, path)
