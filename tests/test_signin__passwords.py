"""Passwords: one's own change, an admin's reset that must be changed at the next sign-in, the first admin's
one-time password, and a policy that says what to fix."""
import base64
import re

import pytest
from fastapi.testclient import TestClient
from sqlmodel import select

from conftest import PASSWORD
from engine.errors import Invalid
from engine.storage.models import User
from language_support import raises_saying
from page_support import text_of, visitor
from web.cli import main

NEW_PASSWORD = "a-new-and-longer-one"
FORCED = "change your password first"


def _token(client, username: str, password: str) -> dict:
    response = client.post("/api/v1/auth/token", data={"username": username, "password": password})
    assert response.status_code == 200, response.text
    return {"Authorization": f"Bearer {response.json()['access_token']}"}


def _change(api, username: str, current: str, new: str):
    return api.as_(username).post("/api/v1/auth/password", json={"current_password": current, "new_password": new})


def _user(session, username: str) -> User:
    session.expire_all()
    return session.exec(select(User).where(User.username == username)).one()


# --- one's own change ----------------------------------------------------------------------------

def test_a_wrong_current_password_is_refused_and_changes_nothing(app, api, session):
    api.user("nurse", "requester", department="心内科")
    before = _user(session, "nurse")
    epoch, digest = before.auth_epoch, before.password_hash

    response = _change(api, "nurse", "not-my-password", NEW_PASSWORD)

    assert response.status_code == 422
    assert response.json()["errors"] == [{"field": "current_password", "code": "wrong_current",
                                          "message": "the current password is wrong"}]
    after = _user(session, "nurse")
    assert (after.auth_epoch, after.password_hash) == (epoch, digest)
    assert api.as_("nurse").get("/api/v1/me").status_code == 200  # nothing ended
    assert visitor(app).sign_in("nurse", NEW_PASSWORD).status_code == 401


def test_guessing_the_current_password_counts_as_failed_sign_ins(app, api, test_clock):
    """A stolen session cannot be used to guess the password: five wrong ones lock it like the sign-in page."""
    api.user("nurse", "requester", department="心内科")
    for _ in range(5):
        assert _change(api, "nurse", "guess-guess-guess", NEW_PASSWORD).status_code == 422
    locked = _change(api, "nurse", PASSWORD, NEW_PASSWORD)
    assert locked.status_code == 429 and "try again in" in locked.json()["detail"]
    test_clock.advance(minutes=16)
    assert _change(api, "nurse", PASSWORD, NEW_PASSWORD).status_code == 200


@pytest.mark.parametrize("new, says", [
    ("short-1", "at least 10 characters"),
    ("nurse-is-my-name", "must not contain the username"),
    ("Password123", "one of the most common passwords"),
    (PASSWORD, "must differ from the current one"),
    ("x" * 1025, "at most 1024 characters"),
])
def test_a_new_password_against_the_policy_is_refused_saying_what_to_fix(app, api, session, new, says):
    api.user("nurse", "requester", department="心内科")
    digest = _user(session, "nurse").password_hash

    response = _change(api, "nurse", PASSWORD, new)

    assert response.status_code == 422
    assert says in response.json()["detail"]
    assert [e["field"] for e in response.json()["errors"]] == ["new_password"]
    assert _user(session, "nurse").password_hash == digest
    assert api.as_("nurse").get("/api/v1/me").status_code == 200


def test_the_password_page_says_each_problem_in_the_readers_language(app, api):
    api.user("nurse", "requester", department="心内科")
    ward = visitor(app, "nurse")
    ward.get("/account/password")
    page = ward.post("/account/password", {"current_password": PASSWORD, "new_password": "nurse",
                                           "new_password_again": "nurse"})
    assert page.status_code == 422
    shown = text_of(page.text)
    assert "密码至少需要 10 个字符" in shown and "密码不能包含用户名" in shown
    page = ward.post("/account/password", {"current_password": PASSWORD, "new_password": NEW_PASSWORD,
                                           "new_password_again": NEW_PASSWORD + "x"})
    assert page.status_code == 422 and "两次输入的新密码不一致" in text_of(page.text)
    page = ward.post("/account/password", {"current_password": "wrong-wrong", "new_password": NEW_PASSWORD,
                                           "new_password_again": NEW_PASSWORD})
    assert page.status_code == 422 and "当前密码不正确" in text_of(page.text)
    assert visitor(app).sign_in("nurse", PASSWORD).status_code == 303  # still the old one


def test_the_minimum_length_is_a_setting_for_every_password_set(app, api, monkeypatch, make_user):
    api.user("admin", "admin")
    api.user("nurse", "requester", department="心内科")
    monkeypatch.setenv("HOUQIN_PASSWORD_MIN_LENGTH", "24")

    reset = api.as_("admin").post("/api/v1/users/nurse/password", json={"temporary_password": "only-twenty-three-chars"})
    assert reset.status_code == 422 and "at least 24 characters" in reset.json()["detail"]
    own = _change(api, "nurse", PASSWORD, NEW_PASSWORD)
    assert own.status_code == 422 and "at least 24 characters" in own.json()["detail"]
    with raises_saying(Invalid, "at least 24 characters"):
        make_user("wang", "requester")  # PASSWORD has 21
    assert _change(api, "nurse", PASSWORD, NEW_PASSWORD + "-and-more").status_code == 200


def test_the_admin_page_refuses_a_common_password_for_a_new_user(app, api, session):
    api.user("admin", "admin")
    admin = visitor(app, "admin")
    admin.get("/admin")
    page = admin.follow(admin.post("/admin/users", {"username": "wang", "password": "qwertyuiop", "roles": "requester"}))
    assert "这是最常见的密码之一，请换一个。" in text_of(page.text)  # in the admin's language
    assert session.exec(select(User).where(User.username == "wang")).first() is None


# --- an admin's reset ----------------------------------------------------------------------------

def test_after_an_admin_reset_the_user_must_change_the_password_before_anything_else(app, api, session):
    api.user("admin", "admin")
    api.user("nurse", "requester", department="心内科")
    ward = visitor(app, "nurse")

    response = api.as_("admin").post("/api/v1/users/nurse/password")

    assert response.status_code == 200, response.text
    temporary = response.json()["temporary_password"]
    assert response.json()["must_change_password"] is True
    assert api.as_("nurse").get("/api/v1/me").status_code == 401  # every session of theirs ended
    assert ward.client.get("/api/v1/me").status_code == 401
    assert visitor(app).sign_in("nurse", PASSWORD).status_code == 401

    # The API: only /me, /auth/password and /auth/logout answer until the password is changed.
    forced = _token(api.client, "nurse", temporary)
    refused = api.client.get("/api/v1/workorders", headers=forced)
    assert refused.status_code == 403 and FORCED in refused.json()["detail"]
    assert api.client.post("/api/v1/workorders", headers=forced, json={"process": "repair", "title": "漏水",
                                                                       "fields": {"category": "plumbing"}}).status_code == 403
    assert api.client.get("/api/v1/me", headers=forced).json()["must_change_password"] is True

    # The pages: every page sends them to choose a new password, then back where they were going.
    ward = visitor(app)
    assert ward.sign_in("nurse", temporary).status_code == 303
    sent = ward.get("/department")
    assert sent.status_code == 303 and sent.headers["location"] == "/account/password?next=%2Fdepartment"
    form = ward.follow(sent)
    assert "请先设置新密码" in text_of(form.text)
    assert 'href="/department"' not in form.text  # no menu to wander off into
    done = ward.post("/account/password", {"current_password": temporary, "new_password": NEW_PASSWORD,
                                           "new_password_again": NEW_PASSWORD, "next": "/department"})
    assert done.status_code == 303 and done.headers["location"] == "/department"
    assert ward.get("/department").status_code == 200

    assert api.client.get("/api/v1/me", headers=forced).status_code == 401  # the forced token ended with the change
    fresh = _token(api.client, "nurse", NEW_PASSWORD)
    assert api.client.get("/api/v1/workorders", headers=fresh).status_code == 200
    assert api.client.get("/api/v1/me", headers=fresh).json()["must_change_password"] is False


def test_a_forced_user_may_change_the_password_through_the_api_and_sign_out(app, api):
    api.user("admin", "admin")
    api.user("nurse", "requester", department="心内科")
    temporary = api.as_("admin").post("/api/v1/users/nurse/password").json()["temporary_password"]
    forced = _token(api.client, "nurse", temporary)
    same = api.client.post("/api/v1/auth/password", headers=forced,
                           json={"current_password": temporary, "new_password": temporary})
    assert same.status_code == 422 and "must differ" in same.json()["detail"]
    changed = api.client.post("/api/v1/auth/password", headers=forced,
                              json={"current_password": temporary, "new_password": NEW_PASSWORD})
    assert changed.status_code == 200
    fresh = {"Authorization": f"Bearer {changed.json()['access_token']}"}
    assert api.client.get("/api/v1/workorders", headers=fresh).status_code == 200
    assert api.client.post("/api/v1/auth/logout", headers=fresh).status_code == 204
    assert api.client.get("/api/v1/me", headers=fresh).status_code == 401


def test_an_admin_chooses_the_temporary_password_within_the_policy(app, api):
    api.user("admin", "admin")
    api.user("nurse", "requester", department="心内科")
    weak = api.as_("admin").post("/api/v1/users/nurse/password", json={"temporary_password": "12345678"})
    assert weak.status_code == 422 and weak.json()["errors"][0]["field"] == "temporary_password"
    assert api.as_("nurse").get("/api/v1/me").status_code == 200  # refused: nothing ended
    chosen = api.as_("admin").post("/api/v1/users/nurse/password", json={"temporary_password": "ward-7-temporary"})
    assert chosen.json()["temporary_password"] == "ward-7-temporary"
    assert visitor(app).sign_in("nurse", "ward-7-temporary").headers["location"] == "/"
    assert api.as_("admin").post("/api/v1/users/nobody/password").status_code == 404


def test_only_an_admin_may_reset_a_password(app, api, session):
    api.user("dispatcher", "dispatcher", "supervisor", department="后勤保障部")
    api.user("nurse", "requester", department="心内科")
    digest = _user(session, "nurse").password_hash
    for who in ("dispatcher", "nurse"):
        response = api.as_(who).post("/api/v1/users/nurse/password")
        assert response.status_code == 403 and "admin" in response.json()["detail"]
    assert _user(session, "nurse").password_hash == digest
    assert api.as_("nurse").get("/api/v1/me").status_code == 200
    page = visitor(app, "dispatcher")
    nurse_id = _user(session, "nurse").id
    assert page.post(f"/admin/users/{nurse_id}/password").status_code == 403
    assert _user(session, "nurse").password_hash == digest


def test_the_admin_page_resets_a_password_and_shows_the_temporary_one_once(app, api, session):
    api.user("admin", "admin")
    api.user("nurse", "requester", department="心内科")
    admin = visitor(app, "admin")
    listing = admin.get("/admin")
    assert "重置密码" in text_of(listing.text)
    nurse_id = _user(session, "nurse").id

    page = admin.post(f"/admin/users/{nurse_id}/password")

    assert page.status_code == 200 and page.headers["cache-control"] == "no-store"
    temporary = re.search(r"<code data-temporary-password>([^<]+)</code>", page.text).group(1)
    cookie = admin.client.cookies.get("houqin_session").split(".")[0]
    kept = base64.b64decode(cookie + "==").decode()
    assert '"csrf"' in kept and temporary not in kept  # not kept in the (readable) session cookie
    ward = visitor(app)
    ward.sign_in("nurse", temporary)
    assert ward.get("/").headers["location"] == "/account/password"
    assert temporary not in admin.get("/admin").text


def test_a_directory_users_password_is_changed_in_the_directory_not_here(app, api, session):
    api.user("admin", "admin")
    api.user("nurse", "requester", department="心内科")
    ward = visitor(app, "nurse")
    user = _user(session, "nurse")
    user.auth_source = "ldap"
    session.add(user)
    session.commit()

    own = _change(api, "nurse", PASSWORD, NEW_PASSWORD)
    assert own.status_code == 409 and "hospital directory" in own.json()["detail"]
    reset = api.as_("admin").post("/api/v1/users/nurse/password")
    assert reset.status_code == 409 and "hospital directory" in reset.json()["detail"]
    assert "医院统一身份目录" in text_of(ward.get("/account/password").text)
    assert api.as_("nurse").get("/api/v1/me").status_code == 200  # nothing ended


# --- the first admin -----------------------------------------------------------------------------

@pytest.fixture
def fresh_db(tmp_path, monkeypatch):
    url = f"sqlite:///{tmp_path / 'cli.db'}"
    monkeypatch.setenv("HOUQIN_DATABASE_URL", url)
    return url


def _printed_password(out: str) -> str:
    return re.search(r"password: (\S+)", out).group(1)


def test_the_first_admin_from_houqin_init_must_change_the_one_time_password(fresh_db, capsys):
    from web.app import create_app

    assert main(["init"]) == 0
    one_time = _printed_password(capsys.readouterr().out)
    client = TestClient(create_app(), headers={"Accept-Language": "en"})

    forced = _token(client, "admin", one_time)
    refused = client.get("/api/v1/workorders", headers=forced)
    assert refused.status_code == 403 and FORCED in refused.json()["detail"]

    page = visitor(client.app)
    assert page.sign_in("admin", one_time).status_code == 303
    sent = page.get("/admin")
    assert sent.headers["location"] == "/account/password?next=%2Fadmin"
    page.follow(sent)
    done = page.post("/account/password", {"current_password": one_time, "new_password": NEW_PASSWORD,
                                           "new_password_again": NEW_PASSWORD, "next": "/admin"})
    assert done.headers["location"] == "/admin" and page.get("/admin").status_code == 200
    assert client.get("/api/v1/workorders", headers=_token(client, "admin", NEW_PASSWORD)).status_code == 200


def test_demo_users_keep_their_published_password_and_the_command_line_resets_one(fresh_db, capsys):
    from engine.demo import DEMO_PASSWORD
    from web.app import create_app

    assert main(["init", "--demo", "--demo-months", "0"]) == 0
    capsys.readouterr()
    client = TestClient(create_app())
    assert client.get("/api/v1/workorders", headers=_token(client, "nurse", DEMO_PASSWORD)).status_code == 200

    assert main(["user", "reset-password", "nurse"]) == 0
    temporary = _printed_password(capsys.readouterr().out)
    assert client.get("/api/v1/workorders", headers=_token(client, "nurse", temporary)).status_code == 403
    assert main(["user", "reset-password", "nurse", "--password", "short"]) == 1
    assert "at least 10 characters" in capsys.readouterr().err
    assert main(["user", "reset-password", "nobody"]) == 1
    assert "no user named 'nobody'" in capsys.readouterr().err


def test_a_user_added_on_the_command_line_chooses_their_own_password_at_first_sign_in(fresh_db, capsys):
    from web.app import create_app

    assert main(["init"]) == 0
    assert main(["user", "add", "wang", "--role", "requester", "--password", "first-pass-123"]) == 0
    assert main(["user", "add", "li", "--role", "requester", "--password", "kept-pass-123", "--keep-password"]) == 0
    client = TestClient(create_app())
    assert client.get("/api/v1/workorders", headers=_token(client, "wang", "first-pass-123")).status_code == 403
    page = visitor(client.app)
    assert page.sign_in("wang", "first-pass-123").status_code == 303
    assert page.get("/submit").headers["location"] == "/account/password?next=%2Fsubmit"
    assert client.get("/api/v1/workorders", headers=_token(client, "li", "kept-pass-123")).status_code == 200
