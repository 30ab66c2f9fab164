"""Admin: people, their roles, departments and teams; notification channels and what failed to go out."""
from datetime import datetime, timezone

import pytest
from sqlmodel import select

from engine.people.users import actor_for
from engine.storage.models import Channel, Outbox, User
from page_support import text_of, visitor


@pytest.fixture
def people(api):
    api.user("admin", "admin")
    api.user("nurse", "requester", department="心内科")
    return api


def test_the_admin_adds_a_technician_who_can_then_sign_in_and_gets_work(app, people, session):
    admin = visitor(app, "admin")
    admin.get("/admin")
    response = admin.post("/admin/users", {"username": "tech3", "display_name": "王师傅", "password": "long-enough-1",
                                          "department": "后勤保障部", "team": "电梯班", "roles": "technician"})
    page = admin.follow(response)
    assert "已添加用户 tech3" in text_of(page.text)
    assert "王师傅" in page.text and "电梯班" in page.text
    tech = visitor(app)
    assert tech.sign_in("tech3", "long-enough-1").status_code == 303
    assert tech.get("/").headers["location"] == "/work"


def test_a_bad_new_user_is_refused_with_the_reason(app, people, session):
    admin = visitor(app, "admin")
    admin.get("/admin")
    page = admin.follow(admin.post("/admin/users", {"username": "x y", "password": "short", "roles": "requester"}))
    assert "请修改后重试" in text_of(page.text)
    assert session.exec(select(User).where(User.username == "x y")).first() is None


def test_a_user_added_with_the_box_ticked_chooses_their_own_password_at_first_sign_in(app, people, session):
    admin = visitor(app, "admin")
    admin.get("/admin")
    assert 'name="must_change" value="yes" checked' in admin.get("/admin").text  # ticked unless the admin unticks it
    admin.post("/admin/users", {"username": "tech4", "password": "long-enough-1", "roles": "technician",
                                "must_change": "yes"})
    tech = visitor(app)
    assert tech.sign_in("tech4", "long-enough-1").status_code == 303
    assert tech.get("/work").headers["location"].startswith("/account/password")


def test_a_new_users_weak_password_is_refused_in_the_admins_language(app, people, session):
    admin = visitor(app, "admin")
    admin.get("/admin")
    page = admin.follow(admin.post("/admin/users", {"username": "tech9", "password": "tech9-pw", "roles": "requester"}))
    assert "密码至少需要 10 个字符。" in text_of(page.text) and "密码不能包含用户名。" in text_of(page.text)
    assert "at least" not in text_of(page.text)
    assert session.exec(select(User).where(User.username == "tech9")).first() is None


def test_roles_can_be_changed_and_a_user_deactivated(app, people, session):
    nurse_id = session.exec(select(User.id).where(User.username == "nurse")).one()
    admin = visitor(app, "admin")
    admin.get("/admin")
    admin.post(f"/admin/users/{nurse_id}/roles", {"roles": ["requester", "dept_head"]})
    session.expire_all()
    assert actor_for(session, session.get(User, nurse_id)).roles == {"requester", "dept_head"}
    admin.get("/admin")
    admin.post(f"/admin/users/{nurse_id}/active", {"active": "no"})
    assert visitor(app).sign_in("nurse").status_code == 401
    admin.get("/admin")
    page = admin.follow(admin.post(f"/admin/users/{nurse_id}/roles", {}))
    assert "用户至少要有一个角色" in text_of(page.text)


def test_departments_and_teams_are_added_once(app, people):
    admin = visitor(app, "admin")
    admin.get("/admin")
    assert "已添加科室 儿科" in text_of(admin.follow(admin.post("/admin/departments", {"name": "儿科"})).text)
    assert "科室 儿科 已存在" in text_of(admin.follow(admin.post("/admin/departments", {"name": "儿科"})).text)
    assert "已添加班组 木工班" in text_of(admin.follow(admin.post("/admin/teams", {"name": "木工班"})).text)


def test_channels_show_their_deliveries_and_the_failures_with_their_errors(app, people, session):
    channel = Channel(name="企业微信-后勤群", kind="wecom", target="https://qyapi.example/hook")
    session.add(channel)
    session.flush()
    now = datetime.now(timezone.utc)
    session.add(Outbox(channel_id=channel.id, payload={"title": "RP-2026-000001 漏水"}, status="failed", attempts=5,
                       next_attempt_at=now, last_error="HTTP 502 from qyapi.example", created_at=now))
    session.add(Outbox(channel_id=channel.id, payload={"title": "RP-2026-000002"}, status="sent", attempts=1,
                       next_attempt_at=now, created_at=now, sent_at=now))
    session.commit()
    words = text_of(visitor(app, "admin").get("/admin").text)
    assert "企业微信-后勤群" in words and "成功 1 · 待发 0 · 失败 1" in words
    assert "HTTP 502 from qyapi.example" in words and "RP-2026-000001 漏水" in words


def test_only_admins_open_admin(app, people):
    nurse = visitor(app, "nurse")
    assert nurse.get("/admin").status_code == 403
    assert nurse.post("/admin/departments", {"name": "黑客科"}).status_code == 403
