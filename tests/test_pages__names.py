"""People are shown by their names (王护士, 刘师傅) wherever a page names them; a username only where it is the
account itself (the admin's "账号" column, what one types into a rota)."""
import re

import pytest
from sqlmodel import select

from engine.dispatch import rotas
from engine.storage.models import User
from page_support import text_of, visitor

NAMES = {"nurse": "王护士", "dispatcher": "赵调度", "tech": "刘师傅", "admin": "系统管理员"}


@pytest.fixture
def people(api, session):
    api.user("nurse", "requester", department="心内科")
    api.user("dispatcher", "dispatcher", department="后勤保障部")
    api.user("tech", "technician", department="后勤保障部", team="水电班")
    api.user("admin", "admin")
    for user in session.exec(select(User)).all():
        user.display_name = NAMES[user.username]
        session.add(user)
    session.commit()
    return api


def test_the_timeline_names_whom_a_repair_was_assigned_to(app, people):
    order = people.new_order("nurse")
    people.fire("dispatcher", order["id"], "assign", assignee="tech")
    timeline = text_of(visitor(app, "nurse").get(f"/orders/{order['id']}").text.split('id="timeline"')[1])
    assert "处理人: 刘师傅" in timeline and "赵调度 派单" in timeline
    assert not re.search(r"\b(tech|dispatcher|nurse)\b", timeline)


def test_the_rota_names_its_members_and_says_their_skills_in_words(app, people, session):
    team = rotas.ensure_team(session, "水电班")
    rotas.add_member(session, team, session.exec(select(User).where(User.username == "tech")).one(),
                     skills=["electrical", "plumbing"])
    session.commit()
    members = text_of(visitor(app, "admin").get("/admin/teams/水电班").text.split('id="members"')[1].split("<form")[0])
    assert "刘师傅 tech · 电气、给排水" in members  # the account beside the name: it is what the rota is typed in


def test_the_admin_resets_a_password_by_the_persons_name(app, people):
    page = text_of(visitor(app, "admin").get("/admin").text)
    assert "确认重置 王护士 的密码" in page and "确认重置 nurse 的密码" not in page
