"""Every page of the demo hospital, as each kind of user reads it: no English sentence on a Chinese page,
no Chinese on an English page but the hospital's own names.

Each demo user signs in, then visits every page the menu and the pages' own links lead to (at most a few
of each kind, always the work orders that were escalated, urged, closed and rated), first in Chinese, then
in English. What the hospital typed (people's and places' names, titles, comments) may be in either
language; everything Houqin says must be in the reader's. A raw ISO timestamp is flagged in both.
"""
import re
from html.parser import HTMLParser
from urllib.parse import urlsplit

import pytest
from sqlmodel import select

from engine.demo import DEMO_PASSWORD, PEOPLE, load_demo
from engine.orders import urging
from engine.people.users import actor_for, add_user
from engine.published import definitions
from engine.sla import escalation
from engine.storage.models import (Asset, Attachment, Department, Feedback, History, Location, Shift, Team, User,
                                   WorkOrder)
from language_support import foreign
from page_support import Visitor
from web.i18n import catalogue

# One demo user of each kind (the first named), and the admin.
USERS = list({tuple(roles): username for username, _, roles, *_ in reversed(PEOPLE)}.values())[::-1] + ["admin"]
PER_KIND = 3  # pages of one kind (/orders/{n}, /assets/{n}...) visited besides the ones named below
LINK = re.compile(r'href="(/[^"#]*)')
NOT_PAGES = ("/static/", "/api/", "/logout", "/s/")  # files, JSON and the QR links, which only redirect
DOWNLOADS = re.compile(r"\.(csv|xlsx|pdf|png|svg)$|/labels?\b|/export")
# Pages no link leads to, visited by everyone all the same: what they answer, and its words.
ENDS = {"/orders/2147483647": 404, "/designer/repair/diff": None}  # None: the designer 200, the others 403


@pytest.fixture
def hospital(session, test_clock):
    """The demo hospital with an admin, its late work escalated and one repair urged; the work orders every
    tour must see, and what the hospital itself wrote (which may be in either language)."""
    now = test_clock.now()
    load_demo(session, now)
    add_user(session, username="admin", password=DEMO_PASSWORD, roles=["admin"], display_name="系统管理员")
    session.commit()  # the sweep takes a session with nothing pending
    escalation.sweep(session, now)
    nurse = actor_for(session, session.exec(select(User).where(User.username == "nurse")).one())
    open_repair = session.exec(select(WorkOrder).where(WorkOrder.reporter_id == nurse.id, WorkOrder.process == "repair",
                                                       WorkOrder.state == "assigned").order_by(WorkOrder.id)).first()
    urging.urge(session, nurse, open_repair.id, "病人等着用，请尽快", now)
    session.commit()
    escalated = session.exec(select(WorkOrder.id).where(WorkOrder.escalation_level > 0)).first()
    rated = session.exec(select(Feedback.work_order_id).where(Feedback.rating.is_not(None))).first()
    closed = session.exec(select(WorkOrder.id).where(WorkOrder.closed_at.is_not(None))).first()
    assert None not in (escalated, rated, closed)
    return {"orders": [f"/orders/{i}" for i in (escalated, open_repair.id, rated, closed)], "own": _own_words(session)}


def _own_words(session) -> list[str]:
    """The hospital's own words: names of people, departments, teams, places and devices, what was typed into
    work orders and their timelines, and the labels a definition gives in Chinese only. Longest first, so
    that a name is taken out whole before a shorter one inside it."""
    words = set()
    for column in (Department.name, Team.name, User.display_name, Location.name, Location.full_name, Asset.name,
                   Asset.model, Asset.manufacturer, Asset.supplier, Asset.contractor, WorkOrder.title,
                   WorkOrder.location, WorkOrder.description, Feedback.comment, Attachment.filename, Shift.name):
        words |= {value for value in session.exec(select(column)).all() if value}
    for fields in session.exec(select(WorkOrder.fields)).all():
        words |= set(_strings(fields))
    words |= {c for c in session.exec(select(History.comment).where(History.actor_id.is_not(None))).all() if c}
    for row in definitions.current_rows(session):
        words |= set(_chinese_only_labels(definitions.compiled(session, row.key, row.version).definition))
    return sorted(words, key=len, reverse=True)


def _strings(value):
    if isinstance(value, str):
        yield value
    elif isinstance(value, (list, tuple)):
        for item in value:
            yield from _strings(item)
    elif isinstance(value, dict):
        for item in value.values():
            yield from _strings(item)


def _chinese_only_labels(node):
    """Labels a definition gives without an English one (shown as written in either language)."""
    if hasattr(node, "model_dump"):
        node = node.model_dump()
    if isinstance(node, dict):
        if "zh" in node and not node.get("en") and isinstance(node["zh"], str):
            yield node["zh"]
        for value in node.values():
            yield from _chinese_only_labels(value)
    elif isinstance(node, (list, tuple)):
        for value in node:
            yield from _chinese_only_labels(value)


def _kind(path: str) -> str:
    return re.sub(r"\d+", "{n}", urlsplit(path).path)


def _tour(app, username: str, language: str, must: list[str]):
    """(path, status, html) of every page `username` reaches from the menu and the pages' links, in `language`;
    then of the ENDS."""
    person = Visitor(app)
    person.get(f"/login?lang={language}")
    assert person.post("/login", {"username": username, "password": DEMO_PASSWORD}).status_code == 303
    person.get("/submit")
    person.post("/language", {"language": language})  # the user's own choice, kept for every page
    seen, kinds, todo = set(ENDS), {}, ["/", *must]
    while todo:
        path = todo.pop(0)
        if path in seen:
            continue
        seen.add(path)
        response = person.get(path, follow_redirects=True)
        if not response.headers.get("content-type", "").startswith("text/html"):
            continue
        yield path, response.status_code, response.text
        for link in LINK.findall(response.text):
            link = link.replace("&amp;", "&")
            if link in seen or link.startswith(NOT_PAGES) or DOWNLOADS.search(link):
                continue
            kind = _kind(link)
            if link in must or kinds.get(kind, 0) < PER_KIND:
                kinds[kind] = kinds.get(kind, 0) + (link not in must)
                todo.append(link)
    for path in ENDS:
        response = person.get(path)
        yield path, response.status_code, response.text


def _expected(path: str) -> set[int]:
    status = ENDS.get(path, 200)
    return {200, 403} if status is None else {status}


@pytest.mark.parametrize("language", ["zh", "en"])
def test_every_page_speaks_the_readers_language(app, hospital, language):
    problems = []
    for username in USERS:
        for path, status, html in _tour(app, username, language, hospital["orders"]):
            if status not in _expected(path):  # a link the page showed this user leads nowhere for them
                problems.append(f"{username} {path}: answers {status}")
            said, scripted = visible_text(html)
            texts = said + scripted
            names = [words for words in hospital["own"] if words in html]  # the page's own, looked for once
            found = [words for text in texts for words in foreign(text, language, names)]
            problems += [f"{username} {path}: {words!r}" for words in dict.fromkeys(found)]
            problems += [f"{username} {path}: raw time {found!r}" for found in iso_times_in(texts)]
            problems += [f"{username} {path}: untranslated {found!r}" for found in untranslated_in(said)]
    assert not problems, f"{len(problems)} foreign or raw texts:\n" + "\n".join(problems)


# --- what a page says ---------------------------------------------------------------------------------------

# Not read as sentences: code, YAML and diagrams, what the page marks as a name or code (translate="no"), and
# what it says in another language on purpose (lang=..., such as the switch to the other language, 中文 / English).
_SKIPPED = {"script", "style", "code", "pre", "textarea", "kbd", "samp"}
_SAID = ("placeholder", "title", "aria-label", "alt")
_VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "track", "wbr"}


class _Reader(HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.parts, self.scripted, self.skipping, self.language = [], [], [], ""

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "html":
            self.language = attrs.get("lang", "")
        elsewhere = attrs.get("lang") not in (None, self.language)
        if tag not in _VOID and (tag in _SKIPPED or attrs.get("translate") == "no" or elsewhere or self.skipping):
            self.skipping.append(tag)
        if self.skipping:
            return
        self.parts += [attrs[name] for name in _SAID if attrs.get(name)]
        self.scripted += [value for name, value in attrs.items() if name.startswith("data-i18n-") and value]
        if tag == "input" and attrs.get("type") in ("submit", "button") and attrs.get("value"):
            self.parts.append(attrs["value"])

    def handle_endtag(self, tag):
        if self.skipping and self.skipping[-1] == tag:
            self.skipping.pop()

    def handle_data(self, data):
        if not self.skipping and data.strip():
            self.parts.append(data.strip())


def visible_text(html: str) -> tuple[list[str], list[str]]:
    """The page's texts as a reader meets them (text, placeholders, tooltips), one per element or attribute;
    and the strings its script fills in (their {placeholders} are the script's to fill)."""
    reader = _Reader()
    reader.feed(html)
    return reader.parts, reader.scripted


_ISO = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}")


# A catalogue key shown as it is (its text is missing), or a text's {placeholder} left unfilled.
_KEY = re.compile(r"\b(?:%s)\.[a-z_]+(?:\.[a-z_]+)*\b" % "|".join(sorted({key.split(".")[0] for key in catalogue("zh")})))
_PLACEHOLDER = re.compile(r"\{[a-z_]*\}")


def untranslated_in(texts: list[str]) -> list[str]:
    return [m.group(0) for text in texts for pattern in (_KEY, _PLACEHOLDER) for m in pattern.finditer(text)]


def iso_times_in(texts: list[str]) -> list[str]:
    return [m.group(0) for text in texts for m in _ISO.finditer(text)]
