"""Poisoning a list: field values that would break reading work orders for everyone, written as the attacks.

A value nested thousands of levels deep, a list of a hundred thousand items, thirty megabytes in one
field, a form that adds up past what a work order may hold: each is refused before anything is
stored, naming its bound. And a row stored before these bounds, written here straight into the
database, never breaks a list, a work order, its page, the ledger or the cockpit: what cannot be
read shows as a placeholder.
"""
import json
import math
import re

import pytest
from sqlalchemy import text

from engine.storage import db as db_module
from engine.storage.stored_json import UNREADABLE
from language_support import english
from page_support import text_of, visitor
from workflows import DefinitionError, load_definition
from workflows.fields import coerce, size_problems
from workflows.limits import MAX_FIELDS_BYTES
from workflows.schema import FieldSpec

REPAIR = open(__file__.rsplit("/tests/", 1)[0] + "/definitions/repair.yaml", encoding="utf-8").read()
JSON_BODY = {"Content-Type": "application/json"}


def nested(depth: int) -> str:
    return "[" * depth + "]" * depth


@pytest.fixture
def people(api):
    api.user("nurse", "requester", department="心内科")
    api.user("dispatcher", "dispatcher", department="后勤保障部")
    api.user("tech", "technician", department="后勤保障部")
    api.user("supervisor", "supervisor", department="后勤保障部")
    api.user("inspector", "inspector", department="保卫科")
    return api


def in_progress(api) -> dict:
    order = api.new_order("nurse", title="水龙头漏水", location="5F 512")
    api.fire("dispatcher", order["id"], "assign", assignee="tech")
    api.fire("tech", order["id"], "accept")
    return api.fire("tech", order["id"], "start")


def everything_answers(api, app, order_ids: list[int]) -> None:
    """Every list and every work order answers, for whoever may see them: API, pages, ledger, cockpit."""
    for username in ("supervisor", "nurse", "dispatcher"):
        listed = api.as_(username).get("/api/v1/workorders")
        assert listed.status_code == 200, listed.text[:300]
    for order_id in order_ids:
        detail = api.as_("supervisor").get(f"/api/v1/workorders/{order_id}")
        assert detail.status_code == 200, detail.text[:300]
        assert len(detail.content) < 600_000
    supervisor, nurse = visitor(app, "supervisor"), visitor(app, "nurse")
    for path in [f"/orders/{order_id}" for order_id in order_ids] + ["/dispatch", "/escalations", "/cockpit"]:
        page = supervisor.get(path)
        assert page.status_code == 200, (path, page.text[:300])
    assert nurse.get("/department").status_code == 200
    assert api.as_("supervisor").get("/api/v1/ledger", params={"process": "hazard"}).status_code == 200
    for fmt in ("xlsx", "csv"):
        assert api.as_("supervisor").get("/api/v1/ledger/export", params={"format": fmt}).status_code == 200
    assert api.as_("supervisor").get("/api/v1/dashboard").status_code == 200
    assert supervisor.get("/cockpit/export.xlsx").status_code == 200
    assert api.as_("nurse").get("/api/v1/inbox").status_code == 200


# --- refused before anything is stored ---------------------------------------------------------------

def test_a_deeply_nested_field_value_is_refused_and_every_list_still_answers(people, app):
    before = people.as_("supervisor").get("/api/v1/workorders").json()["total"]
    body = ('{"process": "repair", "title": "x", "fields": {"category": "plumbing", "parts": '
            + nested(900) + "}}")
    refused = people.as_("nurse").post("/api/v1/workorders", content=body, headers=JSON_BODY)
    assert refused.status_code == 422
    assert refused.json()["errors"] == [{"field": "fields.parts", "code": "must_be_text", "message": "parts[0] must be text"}]

    order = in_progress(people)
    body = '{"fields": {"labour_minutes": 5, "parts": ["阀芯", ' + nested(900) + "]}}"
    refused = people.as_("tech").post(f"/api/v1/workorders/{order['id']}/events/resolve", content=body,
                                      headers=JSON_BODY)
    assert refused.status_code == 422 and "parts[1] must be text" in refused.json()["detail"]
    edit = people.as_("supervisor").patch(f"/api/v1/workorders/{order['id']}",
                                          content='{"fields": {"category": ' + nested(900) + "}}", headers=JSON_BODY)
    assert edit.status_code == 422 and "category must be one of" in edit.json()["detail"]

    assert people.as_("supervisor").get("/api/v1/workorders").json()["total"] == before + 1
    everything_answers(people, app, [order["id"]])


def test_a_list_of_a_hundred_thousand_items_is_refused_naming_its_bound(people):
    order = in_progress(people)
    answer = people.as_("tech").post(f"/api/v1/workorders/{order['id']}/events/resolve",
                                     json={"fields": {"labour_minutes": 5, "parts": ["x"] * 100_000}})
    assert answer.status_code == 422
    assert answer.json()["errors"] == [{"field": "fields.parts", "code": "too_many_items",
                                        "message": "parts must have at most 50 items"}]
    request = people.as_("nurse").post("/api/v1/workorders", json={
        "process": "procurement", "title": "输液泵", "fields": {"items": ["输液泵 2 台"] * 101, "amount": 3000}})
    assert request.status_code == 422 and "items must have at most 100 items" in request.json()["detail"]
    shown = people.as_("supervisor").get(f"/api/v1/workorders/{order['id']}").json()
    assert shown["state"] == "in_progress" and "parts" not in shown["fields"]


def test_thirty_megabytes_in_one_list_field_is_refused_unread(people):
    order = in_progress(people)
    answer = people.as_("tech").post(f"/api/v1/workorders/{order['id']}/events/resolve",
                                     json={"fields": {"labour_minutes": 5, "parts": ["阀" * 1000] * 10_000}})
    assert answer.status_code == 413 and "1 MB" in answer.json()["detail"]
    assert people.as_("supervisor").get(f"/api/v1/workorders/{order['id']}").json()["version"] == order["version"]


def test_an_item_longer_than_its_text_may_be_is_refused_at_its_place_in_the_list(people):
    order = in_progress(people)
    answer = people.as_("tech").post(f"/api/v1/workorders/{order['id']}/events/resolve",
                                     json={"fields": {"labour_minutes": 5, "parts": ["阀芯", "x" * 501, 7]}})
    assert answer.status_code == 422
    assert [e["message"] for e in answer.json()["errors"]] == ["parts[1] must be at most 500 characters"]


def test_fields_adding_up_past_64_kb_are_refused_and_nothing_changes(people):
    order = in_progress(people)
    seen = people.as_("supervisor").get(f"/api/v1/workorders/{order['id']}").json()
    parts = ["阀" * 500] * 50  # each item and the count within their bounds; 75 KB together
    answer = people.as_("tech").post(f"/api/v1/workorders/{order['id']}/events/resolve",
                                     json={"fields": {"labour_minutes": 5, "parts": parts}})
    assert answer.status_code == 422 and "at most 64 KB" in answer.json()["detail"]
    edit = people.as_("supervisor").patch(f"/api/v1/workorders/{order['id']}", json={"fields": {"parts": parts}})
    assert edit.status_code == 422 and "at most 64 KB" in edit.json()["detail"]
    filed = people.as_("supervisor").post("/api/v1/workorders", json={
        "process": "repair", "title": "x", "fields": {"category": "plumbing", "parts": parts}})
    assert filed.status_code == 422 and "at most 64 KB" in filed.json()["detail"]

    after = people.as_("supervisor").get(f"/api/v1/workorders/{order['id']}").json()
    assert (after["version"], after["state"], after["fields"]) == (seen["version"], "in_progress", seen["fields"])
    assert len(after["history"]) == len(seen["history"])
    people.fire("tech", order["id"], "resolve", fields={"labour_minutes": 5, "parts": parts[:40]})  # 60 KB: fits


def test_a_json_body_nested_too_deep_to_parse_is_a_client_error_with_a_message(people):
    for body in (nested(100_000), '{"process": "repair", "title": "x", "fields": {"parts": ' + nested(100_000) + "}}"):
        answer = people.as_("nurse").post("/api/v1/workorders", content=body, headers=JSON_BODY)
        assert answer.status_code in (400, 422) and answer.json()["detail"]


def test_numbers_that_are_no_json_are_refused(people):
    order = in_progress(people)
    for number in ("NaN", "Infinity", "-Infinity", "1e999", "9" * 400):
        answer = people.as_("tech").post(f"/api/v1/workorders/{order['id']}/events/resolve", headers=JSON_BODY,
                                         content='{"fields": {"labour_minutes": ' + number + "}}")
        assert answer.status_code == 422, (number, answer.text)
        assert "labour_minutes must be a finite number" in answer.json()["detail"]


# --- what was stored before the bounds never breaks a read -----------------------------------------

def poison(db_url: str, table: str, column: str, row_id: int, value: str) -> None:
    """Write `value` (JSON text) into a row as an older Houqin could have, bypassing every check."""
    engine = db_module.get_engine(db_url)
    placeholder = "CAST(:value AS JSON)" if engine.dialect.name == "postgresql" else ":value"
    with engine.begin() as connection:
        connection.execute(text(f"UPDATE {table} SET {column} = {placeholder} WHERE id = :id"),
                           {"value": value, "id": row_id})


def history_id(db_url: str, order_id: int, kind: str, event: str | None = None) -> int:
    """The history row of `kind` (and `event`) on a work order."""
    with db_module.get_engine(db_url).connect() as connection:
        return connection.execute(text("SELECT id FROM history WHERE work_order_id = :id AND kind = :kind "
                                       "AND (event = :event OR :event IS NULL)"),
                                  {"id": order_id, "kind": kind, "event": event}).scalar_one()


def test_rows_stored_before_the_bounds_never_break_a_list_a_page_the_ledger_or_the_cockpit(people, app, db_url):
    deep = in_progress(people)
    huge = people.new_order("nurse", title="配件太多")
    odd = people.new_order("nurse", title="奇怪的数字")
    hazard = people.new_order("inspector", "hazard", title="消防通道堆放纸箱",
                              fields={"category": "fire", "risk_level": "high"})
    request = people.new_order("nurse", "procurement", title="输液泵", fields={"items": ["输液泵 2 台"], "amount": 3000})
    people.fire("tech", deep["id"], "resolve", fields={"labour_minutes": 5})
    too_deep = nested(5000)  # past Python's parser, within what PostgreSQL stores
    poison(db_url, "work_orders", "fields", deep["id"],
           '{"category": "plumbing", "labour_minutes": 5, "parts": ' + too_deep + "}")
    poison(db_url, "work_orders", "fields", huge["id"],
           json.dumps({"category": "plumbing", "parts": ["阀" * 1000] * 2000}))
    poison(db_url, "work_orders", "fields", odd["id"],
           '{"category": "plumbing", "parts": ["阀芯", ' + nested(300) + '], "labour_minutes": ' + "9" * 5000 + "}")
    poison(db_url, "work_orders", "fields", hazard["id"],
           '{"category": "fire", "risk_level": ' + nested(500) + ', "measures": ' + too_deep + "}")
    # A guard compares the amount with a limit (`amount >= 50000`): a placeholder compares as false.
    poison(db_url, "work_orders", "fields", request["id"], '{"items": ["输液泵 2 台"], "amount": ' + "9" * 5000 + "}")
    resolved = history_id(db_url, deep["id"], "transition", "resolve")  # the cockpit sums its labour minutes
    poison(db_url, "history", "data", resolved, '{"fields": {"labour_minutes": ' + "9" * 400 + "}}")
    poison(db_url, "history", "data", history_id(db_url, huge["id"], "create"), '{"fields": ' + too_deep + "}")

    everything_answers(people, app, [deep["id"], huge["id"], odd["id"], hazard["id"], request["id"]])

    shown = {o["id"]: o for o in people.as_("supervisor").get("/api/v1/workorders").json()["items"]}
    assert shown[deep["id"]]["fields"] == {"unreadable": UNREADABLE}
    assert shown[huge["id"]]["fields"] == {"unreadable": UNREADABLE}
    odd_fields = shown[odd["id"]]["fields"]
    assert odd_fields["category"] == "plumbing" and odd_fields["labour_minutes"] == UNREADABLE
    assert odd_fields["parts"][0] == "阀芯" and UNREADABLE in json.dumps(odd_fields["parts"], ensure_ascii=False)
    page = text_of(visitor(app, "supervisor").get(f"/orders/{odd['id']}").text)
    assert "无法读取" in page and "阀芯" in page

    # The next edit replaces what could not be read; the work order goes on as any other.
    healed = people.as_("supervisor").patch(f"/api/v1/workorders/{huge['id']}", json={"fields": {"parts": ["阀芯"]}})
    assert healed.status_code == 200 and healed.json()["fields"]["parts"] == ["阀芯"]
    people.fire("dispatcher", huge["id"], "assign", assignee="tech")


# --- the language: what a list holds, at its line --------------------------------------------------

def problems_of(text_: str) -> list:
    with pytest.raises(DefinitionError) as caught:
        load_definition(text_, "attack.yaml", {"24x7", "workday"})
    return caught.value.problems


def line_of(text_: str, fragment: str) -> int:
    return next(number for number, line in enumerate(text_.splitlines(), 1) if fragment in line)


PARTS = "  parts:\n    type: list\n"
BARE = re.sub(r"(?m)^    items: string.*\n", "", REPAIR)  # parts: a list of the default item type


@pytest.mark.parametrize("option, message", [
    ("items: list", "a list holds values, not lists"),
    ("items: photo", "unknown item type 'photo'"),
    ("max_items: 5000", "max_items must be from 1 to 1000"),
    ("max_items: 0", "max_items must be from 1 to 1000"),
    ("items: integer\n    max_length: 20", "'max_length' is for string and text fields (or lists of them), not a list of integer"),
    ("max_length: 50000", "max_length must be from 1 to 20000"),
])
def test_a_list_declared_beyond_what_it_may_hold_is_refused_at_its_line(option, message):
    attack = BARE.replace(PARTS, PARTS + f"    {option}\n", 1)
    [problem] = problems_of(attack)
    assert message in problem.message
    assert problem.line == line_of(attack, option.splitlines()[-1].strip())


@pytest.mark.parametrize("field, option, message", [
    ("labour_minutes", "max_items: 3", "'max_items' is for a field of type list, not integer"),
    ("labour_minutes", "items: string", "'items' is for a field of type list, not integer"),
    ("labour_minutes", "max_length: 3", "'max_length' is for string and text fields (or lists of them), not integer"),
])
def test_list_options_on_another_type_are_refused_at_their_line(field, option, message):
    attack = REPAIR.replace(f"  {field}:\n", f"  {field}:\n    {option}\n", 1)
    [problem] = problems_of(attack)
    assert message in problem.message and problem.line == line_of(attack, option)


def test_a_list_of_choices_needs_its_choices():
    attack = BARE.replace(PARTS, PARTS + "    items: choice\n", 1)
    [problem] = problems_of(attack)
    assert "a list of choice needs a non-empty 'choices' list" in problem.message
    assert problem.line == line_of(attack, "  parts:")


# --- coerce, one value at a time ---------------------------------------------------------------------

def spec(**declared) -> FieldSpec:
    return FieldSpec.model_validate(declared)


def refusal(field_spec: FieldSpec, value, name: str = "x") -> str:
    with pytest.raises(ValueError) as caught:
        coerce(name, field_spec, value)
    return english(caught.value)


def test_each_item_is_checked_by_the_lists_item_type():
    counts = spec(type="list", items="integer", min=0, max=10)
    assert coerce("counts", counts, [1, 2.0, 10]) == [1, 2, 10]
    assert refusal(counts, [1, 11], "counts") == "counts[1] must be at most 10"
    assert refusal(counts, [1, "2"], "counts") == "counts[1] must be a number"
    rooms = spec(type="list", items="choice", choices=["icu", "ward"])
    assert coerce("rooms", rooms, ["icu"]) == ["icu"]
    assert refusal(rooms, ["icu", "roof"], "rooms") == "rooms[1] must be one of icu, ward"
    days = spec(type="list", items="date", max_items=2)
    assert coerce("days", days, ["2026-10-09"]) == ["2026-10-09"]
    assert refusal(days, ["2026-10-09"] * 3, "days") == "days must have at most 2 items"
    assert refusal(spec(type="list"), [["nested"]], "parts") == "parts[0] must be text"


def test_texts_are_bounded_by_their_declared_or_default_length():
    assert refusal(spec(type="string"), "x" * 501) == "x must be at most 500 characters"
    assert refusal(spec(type="text"), "x" * 2001) == "x must be at most 2000 characters"
    assert coerce("x", spec(type="text", max_length=5000), "x" * 5000) == "x" * 5000
    assert refusal(spec(type="list", items="text", max_length=10), ["ok", "x" * 11]) == "x[1] must be at most 10 characters"
    assert refusal(spec(type="user"), "u" * 65) == "x must be at most 64 characters"


def test_numbers_are_finite_and_within_what_json_readers_read_exactly():
    for value in (math.nan, math.inf, -math.inf, 2**53, 10**400):
        assert "must be a finite number" in refusal(spec(type="number"), value)
        assert "must be a finite number" in refusal(spec(type="list", items="integer"), [value])


def test_the_total_counts_the_fields_after_the_step_and_lets_an_old_large_order_shrink():
    big = {"notes": "阀" * 22_000}  # 66 KB of UTF-8
    assert english(size_problems({}, big)[0]).startswith(f"the fields of a work order together must be at most "
                                                           f"{MAX_FIELDS_BYTES // 1024} KB")
    assert size_problems({}, {"notes": "阀" * 21_000}) == []
    assert size_problems(big, {"labour": 5}) == size_problems({}, {**big, "labour": 5})
    assert size_problems(big, {"notes": "阀" * 21_900}) == []  # stored larger before the bound: smaller is fine
