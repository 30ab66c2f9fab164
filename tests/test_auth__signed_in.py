"""Who is signed in: the same answer from a bearer token (API) and from the page cookie, read in one query."""
import pytest
from sqlalchemy import event
from sqlmodel import select

from engine.storage.db import get_engine
from engine.storage.models import User
from page_support import visitor


@pytest.fixture
def statements(db_url):
    """The SQL statements the app sends while the test runs."""
    seen: list[str] = []

    def record(conn, cursor, statement, *args):
        seen.append(statement)

    engine = get_engine(db_url)
    event.listen(engine, "before_cursor_execute", record)
    yield seen
    event.remove(engine, "before_cursor_execute", record)


def test_token_and_cookie_sign_in_give_the_same_user_with_roles_in_one_query(app, api, statements):
    api.user("zhao", "dispatcher", "supervisor", department="后勤保障部")
    by_cookie = visitor(app, "zhao")
    statements.clear()
    from_token = api.as_("zhao").get("/api/v1/me").json()
    token_queries = [s for s in statements if "users" in s]
    statements.clear()
    from_cookie = by_cookie.client.get("/api/v1/me").json()
    cookie_queries = [s for s in statements if "users" in s]
    assert from_token == from_cookie
    assert from_token["roles"] == ["dispatcher", "supervisor"]
    assert len(token_queries) == 1 and len(cookie_queries) == 1, (token_queries, cookie_queries)


def test_a_deactivated_user_is_refused_by_token_as_by_cookie(app, api, session):
    api.user("zhao", "dispatcher", department="后勤保障部")
    by_cookie = visitor(app, "zhao")
    user = session.exec(select(User).where(User.username == "zhao")).one()
    user.active = False
    session.add(user)
    session.commit()
    assert api.as_("zhao").get("/api/v1/me").status_code == 401
    assert by_cookie.client.get("/api/v1/me").status_code == 401
    assert by_cookie.get("/department").status_code == 303  # the pages send them to sign in
