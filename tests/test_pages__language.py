"""One catalogue for every visible string: Chinese by default, English per user, the same keys in both."""
import re
from pathlib import Path

import pytest
from sqlmodel import select

from engine.storage.models import User
from page_support import text_of, visitor
from web.i18n import catalogue

WEB = Path(__file__).resolve().parents[1] / "web"


def _used_keys() -> set[str]:
    """Every literal key the templates and page handlers look up."""
    keys = set()
    for path in [*WEB.glob("templates/*.html"), *WEB.glob("pages/*.py")]:
        text = path.read_text(encoding="utf-8")
        keys |= set(re.findall(r"""\bt\(\s*['"]([a-z_]+(?:\.[a-z_]+)+)['"]""", text))
        keys |= set(re.findall(r"""(?:title|message)_key=['"]([a-z_]+(?:\.[a-z_]+)+)['"]""", text))
    return keys


def test_chinese_and_english_carry_the_same_keys():
    assert set(catalogue("zh")) == set(catalogue("en"))


def test_every_key_the_pages_use_is_in_the_catalogue():
    missing = sorted(_used_keys() - set(catalogue("zh")))
    assert missing == []


def test_every_role_priority_and_timer_state_has_a_name():
    from workflows.schema import PRIORITIES, ROLES

    for language in ("zh", "en"):
        names = catalogue(language)
        assert all(f"role.{r}" in names for r in ROLES)
        assert all(f"priority.{p}" in names for p in PRIORITIES)
        assert all(f"timer.status.{s}" in names for s in ("running", "paused", "met", "breached", "cancelled"))


@pytest.fixture
def people(api):
    api.user("nurse", "requester", department="心内科")
    return api


def test_pages_are_chinese_until_the_user_switches_and_the_choice_is_kept(app, people, session):
    nurse = visitor(app, "nurse")
    assert "科室工单" in text_of(nurse.get("/department").text)
    response = nurse.post("/language", {"language": "en", "next": "/department"})
    assert response.headers["location"] == "/department"
    page = text_of(nurse.get("/department").text)
    assert "My department" in page and "科室工单" not in page
    session.expire_all()
    assert session.exec(select(User.language).where(User.username == "nurse")).one() == "en"
    later = visitor(app, "nurse")  # another day, another browser
    assert "My department" in text_of(later.get("/department").text)
    assert '<html lang="en">' in later.get("/submit").text


def test_the_sign_in_page_switches_language_before_anyone_signs_in(app):
    stranger = visitor(app)
    assert "登录" in text_of(stranger.get("/login").text)
    assert "Sign in" in text_of(stranger.get("/login?lang=en").text)
    assert "Sign in" in text_of(stranger.get("/login").text)  # kept for the rest of the visit


def test_labels_from_the_definition_follow_the_language(app, people):
    order = people.new_order("nurse")
    nurse = visitor(app, "nurse")
    assert "已报修" in text_of(nurse.get(f"/orders/{order['id']}").text)
    nurse.post("/language", {"language": "en"})
    words = text_of(nurse.get(f"/orders/{order['id']}").text)
    assert "Reported" in words and "Plumbing" in words and "Cancel" in words
