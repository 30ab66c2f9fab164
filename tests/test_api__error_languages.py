"""Every refusal of the API in the caller's language: Chinese when Accept-Language names neither of ours
(or is absent), English when it asks; never both, never an English sentence on a Chinese answer.

Each answer is `{detail, code, errors}`: `detail` and each field's `message` are the texts, `code` what a
script tests. What the engine says on a work order's timeline and in a notification (an escalation, an
urge) follows the reader the same way; an outside channel reads its own language (test_notify__channels).
"""
import re
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from conftest import PASSWORD
from language_support import assert_speaks, chinese_in, latin_sentences
from sla_support import at, sweep
from web.i18n import accepted, catalogue

ROOT = Path(__file__).resolve().parents[1]
READERS = [("zh", "zh"), ("en", "en"), (None, "zh"), ("fr-FR, en;q=0.5", "en"), ("en;q=0.2, zh-CN;q=0.9", "zh")]
# What the answers may hold in the other language: the people, places and titles the test itself wrote.
NAMES = ["心内科", "后勤保障部", "水龙头漏水", "手术室停电", "nurse", "tech", "dispatcher", "supervisor", "designer"]
BAD_DEFINITION = """\
key: broken
title: {zh: 坏流程, en: Broken}
number_prefix: BR
colour: blue
events:
  - name: go
    from: [start]
    to: nowhere
"""


# --- the checker itself -----------------------------------------------------------------------------

def test_the_checker_finds_an_english_sentence_but_not_codes_numbers_or_names():
    assert latin_sentences("找不到工单 RP-2026-000031（v3，30 min，.xlsx，'urgent'）") == []
    assert latin_sentences("张伟 Zhang Wei 通过 WeCom 收到") == []
    assert latin_sentences("工单 work order not found") == ["work order not found"]
    assert latin_sentences("title: Field required") == ["Field required"]
    assert chinese_in("work order 12 of 心内科 not found", names=["心内科"]) == []
    assert chinese_in("未找到 work order") == ["未找到"]


def test_accept_language_is_read_with_its_weights_and_chinese_when_it_names_neither():
    assert [accepted(header) for header, _ in READERS] == [reader for _, reader in READERS]
    assert accepted("de, fr;q=0.8") == accepted("*") == accepted("") == "zh"


# --- the walk through the refusals -------------------------------------------------------------------

@pytest.fixture
def hospital(api, test_clock):
    api.user("nurse", "requester", department="心内科")
    api.user("dispatcher", "dispatcher", department="后勤保障部")
    api.user("tech", "technician", department="后勤保障部")
    api.user("supervisor", "supervisor", department="后勤保障部")
    api.user("designer", "designer", department="后勤保障部")
    test_clock.set(at("2026-10-12T09:00:00"))
    return api


def _refusals(app, api, header: str | None) -> dict[str, object]:
    """One answer of each kind of refusal, asked in `header` (None: no Accept-Language at all)."""
    client = TestClient(app)  # no default header: the suite's client asks for English
    language = {"Accept-Language": header} if header else {}

    def as_(username: str) -> dict:
        return {"Authorization": f"Bearer {api.tokens[username]}", **language}

    order = api.new_order("nurse", title="水龙头漏水")
    assigned = api.fire("dispatcher", order["id"], "assign", assignee="tech")
    api.fire("tech", order["id"], "accept")
    api.fire("tech", order["id"], "start")  # in progress: resolving it takes the labour minutes
    client.post(f"/api/v1/workorders/{order['id']}/urge", json={"comment": "病人等着用水"}, headers=as_("nurse"))
    events = f"/api/v1/workorders/{order['id']}/events"
    answers = {
        "401 no token": client.get("/api/v1/workorders", headers=language),
        "401 bad token": client.post("/api/v1/workorders", json={}, headers={**language, "Authorization": "Bearer x"}),
        "401 wrong password": client.post("/api/v1/auth/token", data={"username": "nurse", "password": "guess-again"},
                                          headers=language),
        "403 role": client.get("/api/v1/channels", headers=as_("nurse")),
        "403 event": client.post(f"{events}/resolve", json={}, headers=as_("nurse")),
        "404 path": client.get("/api/v1/nowhere", headers=as_("nurse")),
        "404 order": client.get("/api/v1/workorders/999999", headers=as_("nurse")),
        "405 method": client.delete("/api/v1/workorders", headers=as_("nurse")),
        "409 event not now": client.post(f"{events}/accept", json={}, headers=as_("tech")),
        "409 no such event": client.post(f"{events}/teleport", json={}, headers=as_("dispatcher")),
        "409 stale": client.post(f"{events}/resolve", json={"expected_version": assigned["version"]},
                                 headers=as_("tech")),
        "415 not json": client.post("/api/v1/workorders", content="title=x", headers={**as_("nurse"),
                                                                                      "Content-Type": "text/plain"}),
        "422 body": client.post("/api/v1/workorders", json={"title": 5, "priority": "soon", "colour": "red"},
                                headers=as_("nurse")),
        "422 fields": client.post("/api/v1/workorders", headers=as_("nurse"), json={
            "process": "repair", "title": " ", "fields": {"category": "roof", "colour": "red"}}),
        "422 process": client.post("/api/v1/workorders", json={"process": "repairs", "title": "x"},
                                   headers=as_("nurse")),
        "422 event fields": client.post(f"{events}/resolve", json={}, headers=as_("tech")),
        "422 query": client.get("/api/v1/dashboard?from=yesterday", headers=as_("supervisor")),
        "429 urged again": client.post(f"/api/v1/workorders/{order['id']}/urge", json={}, headers=as_("nurse")),
        "422 definition": client.post("/api/v1/processes", content=BAD_DEFINITION.encode(),
                                      headers={**as_("designer"), "Content-Type": "application/yaml"}),
        "422 definition check": client.post("/api/v1/processes/validate", content=BAD_DEFINITION.encode(),
                                            headers={**as_("designer"), "Content-Type": "text/plain"}),
    }
    return answers


@pytest.mark.parametrize("header, reader", READERS)
def test_every_kind_of_refusal_answers_in_the_callers_language_with_its_code(app, hospital, header, reader):
    answers = _refusals(app, hospital, header)
    statuses = {name: answer.status_code for name, answer in answers.items()}
    assert statuses == {name: int(name[:3]) if name[0] == "4" else 200 for name in answers} | {
        "422 definition check": 200}  # the designer's check answers with its problems, not a refusal
    for name, answer in answers.items():
        body = answer.json()
        if name != "422 definition check":
            assert body["detail"] and body["code"], (name, body)
        assert_speaks(body, reader, names=NAMES)
        assert all(error.get("message") for error in body.get("errors") or []), (name, body)
    assert answers["404 order"].json()["code"] == "work_order_not_found"
    assert answers["409 event not now"].json()["code"] == "event_not_allowed"
    assert answers["422 fields"].json()["code"] == "fields_invalid"
    assert {e["field"]: e["code"] for e in answers["422 fields"].json()["errors"]} == {
        "title": "required", "fields.category": "not_a_choice", "fields.colour": "not_settable_here"}
    assert answers["429 urged again"].headers["retry-after"]


def test_the_same_refusal_says_the_same_thing_in_each_language(app, hospital):
    zh, en = (_refusals(app, hospital, header)["409 event not now"].json()["detail"] for header in ("zh", "en"))
    assert zh.startswith("工单当前为「维修中」，不能「接单」；现在可以：")  # the definition's labels
    assert en.startswith("event 'accept' is not allowed in state 'in_progress'; allowed now: ")


def test_a_field_error_names_the_field_and_what_to_fix_in_each_language(app, hospital):
    client = TestClient(app)
    for header, expected in (("zh", "title 为必填项。"), ("en", "title is required")):
        answer = client.post("/api/v1/workorders", json={"process": "repair", "title": " ", "fields": {"category": "plumbing"}},
                             headers={"Authorization": f"Bearer {hospital.tokens['nurse']}", "Accept-Language": header})
        assert answer.status_code == 422
        assert answer.json()["errors"] == [{"field": "title", "code": "required", "message": expected}]


# A designer's usual slips, each in a definition the API is given: (file, text replaced, its replacement, code).
DEFINITION_SLIPS = [
    ("repair.yaml", "urgent: {within: 15m, calendar: 24x7}", "urgent: {within: soon, calendar: 24x7}",
     "definition_duration"),
    ("repair.yaml", "urgent: {within: 15m, calendar: 24x7}", "urgent: {within: 1.5d, calendar: 24x7}",
     "definition_duration_whole_days"),
    ("repair.yaml", "when: {category: [medical_gas], priority: [urgent, high]}",
     "when: {category: [gas], priority: [urgent, asap]}", "definition_dispatch_not_a_choice"),
    ("repair.yaml", "      accept_within: 5m", "      accept_within: 0m", "definition_dispatch_accept_within"),
    ("repair.yaml", "  claim: claim", "  claim: grab", "definition_dispatch_unknown_event"),
    ("procurement.yaml", "condition: amount >= 50000", "condition: amount >= (", "definition_condition_syntax"),
    ("procurement.yaml", "condition: amount < 50000", "condition: amount < 5 if urgent else 3",
     "definition_condition_not_allowed"),
]


@pytest.mark.parametrize("file, old, new, code", DEFINITION_SLIPS)
def test_a_bad_definition_is_said_in_the_designers_language(app, hospital, file, old, new, code):
    """A bad duration, dispatch rule or condition posted through the API: each problem at its line, in Chinese
    without an English sentence (the designer's own words aside), in English without Chinese."""
    text = (ROOT / "definitions" / file).read_text(encoding="utf-8")
    assert old in text
    text = text.replace(old, new, 1)
    client = TestClient(app)
    said = {}
    for header in ("zh", "en"):
        headers = {"Authorization": f"Bearer {hospital.tokens['designer']}", "Accept-Language": header,
                   "Content-Type": "application/yaml"}
        answer = client.post("/api/v1/processes", content=text.encode(), headers=headers)
        assert answer.status_code == 422, answer.text
        body = answer.json()
        assert code in [error.get("code") for error in body["errors"]], body
        line = text[:text.index(new)].count("\n") + 1
        assert line in [error["line"] for error in body["errors"] if error.get("code") == code], body
        # What the designer wrote is theirs: their condition or value, quoted as written.
        assert_speaks(body, header, names=[*NAMES, new.split(": ", 1)[1]])
        said[header] = [error["message"] for error in body["errors"] if error.get("code") == code]
    assert said["zh"] != said["en"]


def test_nothing_changed_after_a_refusal(app, hospital):
    before = hospital.as_("nurse").get("/api/v1/workorders").json()["total"]
    _refusals(app, hospital, "zh")
    assert hospital.as_("nurse").get("/api/v1/workorders").json()["total"] == before + 1  # the walk's own order


# --- every code has its texts -------------------------------------------------------------------------

_RAISED = re.compile(r"\b(?:Invalid|Conflict|Forbidden|NotFound|TooSoon|HouqinError|TooLarge|UnsupportedType|"
                     r"WrongPassword|NotVisible|Stale|NotAllowedNow|NotPermitted|SamePerson|GuardFails|FieldProblem|"
                     r"Refused)\(\s*(?:\d+,\s*|[a-z_.\[\]]+,\s*)?(f?)\"([^\"]*)\"")
_PROBLEM = re.compile(r"(?<![.\w])problem\(\s*(?:f?\"[^\"]*\"|[a-z_.]+),\s*(f?)\"([^\"]*)\"")
_CODED = re.compile(r"\bcoded\(\s*(f?)\"([^\"]*)\"")  # a definition's check (workflows.errors.coded)
_MESSAGE = re.compile(r"\bmessage\(\s*(f?)\"([^\"]*)\"")
_RETURNED_CODE = re.compile(r"\"(someone_else_than_[a-z_]+)\"")


def _source() -> list[tuple[Path, str]]:
    return [(path, path.read_text(encoding="utf-8")) for folder in ("engine", "web", "workflows")
            for path in sorted((ROOT / folder).rglob("*.py")) if "migrations" not in path.parts]


def _codes(pattern: re.Pattern) -> set[tuple[str, str, str]]:
    return {(str(path.relative_to(ROOT)), match[0] if isinstance(match, tuple) else "", match[-1] if isinstance(match, tuple) else match)
            for path, text in _source() for match in pattern.findall(text)}


@pytest.mark.parametrize("pattern, section", [(_RAISED, "errors"), (_PROBLEM, "errors"), (_RETURNED_CODE, "errors"),
                                              (_CODED, "errors"),
                                              (_MESSAGE, "messages")])
def test_every_code_raised_in_the_source_has_its_text_in_both_languages(pattern, section):
    """An error or a message written as a sentence, or a code without its texts, shows up here: each is said
    from the catalogue (`errors.<code>` / `messages.<code>`) in Chinese and in English."""
    zh, en = catalogue("zh"), catalogue("en")
    missing = []
    for where, f_string, code in sorted(_codes(pattern)):
        if f_string:  # a code made of parts (sla_warning_{late}): some code of that shape has its texts
            shape = re.compile(re.sub(r"\\\{[^}]*\\\}", r"[a-z_]+", re.escape(code)) + "$")
            found = [key for key in zh if key.startswith(f"{section}.") and shape.match(key.removeprefix(f"{section}."))]
        else:
            found = [key for key in (f"{section}.{code}", f"{section}.input.{code}") if key in zh and key in en]
        if not re.fullmatch(r"[a-z][a-z0-9_{}]*", code) or not found:
            missing.append((where, code))
    assert missing == []


def test_the_catalogues_say_every_error_and_message_in_their_own_language():
    for language, other in (("zh", "en"), ("en", "zh")):
        texts = {key: text for key, text in catalogue(language).items() if key.startswith(("errors.", "messages."))}
        foreign = {key: found for key, text in texts.items()
                   if (found := (latin_sentences if language == "zh" else chinese_in)(
                       re.sub(r"\{[^}]*\}", " ", text), names=["后勤值班群", "院区, 楼栋, 楼层, 房间, 区域", "编码, 名称, 类型, 上级编码"]))}
        assert foreign == {}, other


# --- what the engine says, in the reader's language ----------------------------------------------------

@pytest.fixture
def late_order(hospital, test_clock):
    order = hospital.new_order("nurse", priority="urgent", title="手术室停电")
    hospital.fire("dispatcher", order["id"], "assign", assignee="tech")
    test_clock.set(at("2026-10-12T09:15:00"))
    sweep(hospital, "supervisor")
    return order


def test_an_escalation_reads_in_the_language_of_each_reader(app, hospital, late_order):
    client = TestClient(app)
    tech = {"Authorization": f"Bearer {hospital.tokens['tech']}"}
    [zh] = [n for n in client.get("/api/v1/notifications", headers=tech).json() if n["kind"] == "escalation"]
    [en] = [n for n in client.get("/api/v1/notifications", headers={**tech, "Accept-Language": "en"}).json()
            if n["kind"] == "escalation"]
    assert zh["body"] == "响应时限已于 10-12 09:15 超时，升级至第 1 级"
    assert en["body"] == "Response overdue since 10-12 09:15: escalated to level 1"
    for header, reader in (("zh", "zh"), ("en", "en")):
        shown = client.get(f"/api/v1/workorders/{late_order['id']}",
                           headers={**tech, "Accept-Language": header}).json()
        said = [row["comment"] for row in shown["history"] if row["kind"] == "escalation"]
        assert said and all(said)
        assert_speaks(said, reader, names=NAMES)


def test_the_order_page_and_the_notifications_page_follow_the_viewers_choice(app, hospital, late_order, session):
    from page_support import text_of, visitor
    from sqlmodel import select

    from engine.storage.models import User

    tech = visitor(app, "tech")
    assert "响应时限已于 10-12 09:15 超时，升级至第 1 级" in text_of(tech.get("/notifications").text)
    assert "响应时限已于 10-12 09:15 超时" in text_of(tech.get(f"/orders/{late_order['id']}").text)
    tech.post("/language", {"language": "en"})
    notes, page = (text_of(tech.get(path).text) for path in ("/notifications", f"/orders/{late_order['id']}"))
    assert "Response overdue since 10-12 09:15: escalated to level 1" in notes and "超时" not in notes
    assert "Response overdue since 10-12 09:15" in page and "升级至第" not in page
    session.expire_all()
    assert session.exec(select(User.language).where(User.username == "tech")).one() == "en"


def test_an_urge_is_told_in_each_readers_language_with_the_note_as_written(app, hospital):
    order = hospital.new_order("nurse", title="水龙头漏水")
    hospital.fire("dispatcher", order["id"], "assign", assignee="tech")
    assert hospital.as_("nurse").post(f"/api/v1/workorders/{order['id']}/urge",
                                      json={"comment": "病人等着用水"}).status_code == 200
    client = TestClient(app)
    tech = {"Authorization": f"Bearer {hospital.tokens['tech']}"}
    [zh] = [n["body"] for n in client.get("/api/v1/notifications", headers=tech).json() if n["kind"] == "urge"]
    [en] = [n["body"] for n in client.get("/api/v1/notifications", headers={**tech, "Accept-Language": "en"}).json()
            if n["kind"] == "urge"]
    assert (zh, en) == ("报修科室催办：病人等着用水", "the requesting department urges it: 病人等着用水")


def test_older_rows_keep_the_text_they_hold(app, hospital, session):
    from engine.storage.models import History, Notification

    order = hospital.new_order("nurse", title="水龙头漏水")
    user_id = session.exec(__import__("sqlmodel").select(Notification.user_id)).first() or 1
    session.add(History(work_order_id=order["id"], at=at("2026-10-12T09:01:00"), kind="escalation",
                        comment="响应预警：将于 10-12 09:15 到期 / Response warning: due at 10-12 09:15", data={"level": 0}))
    session.add(Notification(user_id=user_id, work_order_id=order["id"], kind="warning", title="RP 旧通知",
                             body="旧的正文 / old body", created_at=at("2026-10-12T09:01:00")))
    session.commit()
    shown = hospital.as_("nurse").get(f"/api/v1/workorders/{order['id']}").json()
    assert "响应预警：将于 10-12 09:15 到期 / Response warning: due at 10-12 09:15" in [r["comment"] for r in shown["history"]]
