"""What keeps the pages safe: sign-in everywhere, CSRF on every form, department scoping, escaping, login limits."""
import pytest
from sqlmodel import select

from engine.storage.models import User, WorkOrder
from page_support import text_of, visitor


@pytest.fixture
def people(api):
    api.user("nurse", "requester", department="心内科")
    api.user("nurse2", "requester", department="急诊科")
    api.user("dispatcher", "dispatcher", department="后勤保障部")
    api.user("tech", "technician", department="后勤保障部")
    return api


def _orders(session) -> int:
    session.expire_all()
    return len(session.exec(select(WorkOrder)).all())


def test_every_page_sends_a_stranger_to_sign_in_but_static_files_are_open(app, people):
    stranger = visitor(app)
    for path in ("/", "/submit", "/department", "/dispatch", "/work", "/orders/1", "/designer", "/cockpit", "/admin"):
        response = stranger.get(path)
        assert response.status_code == 303, path
        assert response.headers["location"].startswith("/login"), path
    assert stranger.get("/department?late=true").headers["location"] == "/login?next=%2Fdepartment%3Flate%3Dtrue"
    assert stranger.get("/login").status_code == 200
    assert stranger.get("/static/houqin.css").status_code == 200
    assert stranger.post("/submit/repair", {"title": "x"}).status_code in (303, 403)


def test_signing_in_lands_each_user_on_their_main_page(app, people):
    assert visitor(app).sign_in("nurse").headers["location"] == "/"
    for username, home in (("nurse", "/submit"), ("dispatcher", "/dispatch"), ("tech", "/work")):
        assert visitor(app, username).get("/").headers["location"] == home


def test_the_session_cookie_is_signed_http_only_and_same_site(app, people):
    response = visitor(app).sign_in("nurse")
    cookie = response.headers["set-cookie"].lower()
    assert "houqin_session=" in cookie and "httponly" in cookie and "samesite=lax" in cookie


def test_a_wrong_password_keeps_the_user_out_with_a_message(app, people):
    person = visitor(app)
    response = person.sign_in("nurse", "not-the-password")
    assert response.status_code == 401
    assert "用户名或密码不正确" in text_of(response.text)
    assert person.get("/department").status_code == 303


def test_a_form_without_the_csrf_token_is_refused_and_changes_nothing(app, people, session):
    nurse = visitor(app, "nurse")
    form = {"title": "水龙头漏水", "f.category": "plumbing", "priority": "normal"}
    assert nurse.post("/submit/repair", form, csrf=False).status_code == 403
    assert nurse.post("/submit/repair", {**form, "csrf_token": "forged"}).status_code == 403
    assert _orders(session) == 0
    assert nurse.post("/submit/repair", form).status_code == 303
    assert _orders(session) == 1


def test_another_users_csrf_token_does_not_work(app, people, session):
    nurse, nurse2 = visitor(app, "nurse"), visitor(app, "nurse2")
    response = nurse2.post("/submit/repair", {"title": "漏水", "f.category": "plumbing", "csrf_token": nurse.token})
    assert response.status_code == 403 and _orders(session) == 0


def test_api_calls_riding_on_the_page_cookie_need_the_csrf_header(app, people, session):
    nurse = visitor(app, "nurse")
    body = {"process": "repair", "title": "漏水", "fields": {"category": "plumbing"}}
    refused = nurse.client.post("/api/v1/workorders", json=body)
    assert refused.status_code == 403 and "X-CSRF-Token" in refused.json()["detail"]
    assert _orders(session) == 0
    accepted = nurse.client.post("/api/v1/workorders", json=body, headers={"X-CSRF-Token": nurse.token})
    assert accepted.status_code == 201


def test_another_departments_work_order_is_not_found_by_changing_the_id(app, people):
    order = people.new_order("nurse", title="心内科的报修")
    emergency = visitor(app, "nurse2")
    for path in (f"/orders/{order['id']}", f"/orders/{order['id'] + 1000}"):
        response = emergency.get(path)
        assert response.status_code == 404
        assert "找不到该页面" in text_of(response.text) and "心内科的报修" not in response.text
    assert emergency.post(f"/orders/{order['id']}/events/cancel").status_code == 404
    assert emergency.post(f"/orders/{order['id']}/comment", {"comment": "看看"}).status_code == 404
    assert people.as_("nurse").get(f"/api/v1/workorders/{order['id']}").json()["state"] == "reported"
    assert "心内科的报修" in visitor(app, "nurse").get(f"/orders/{order['id']}").text


def test_a_title_with_a_script_tag_shows_as_text(app, people):
    title = '<script>alert("x")</script><img src=x onerror=alert(1)>'
    order = people.new_order("nurse", title=title, location="<b>5F</b>", description="</textarea><script>1</script>")
    for username, path in (("nurse", f"/orders/{order['id']}"), ("dispatcher", "/dispatch"), ("nurse", "/department")):
        html = visitor(app, username).get(path).text
        assert "<script>alert" not in html and "<img src=x" not in html and "<b>5F</b>" not in html, path
        assert "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;" in html, path


def test_pages_forbid_framing_and_load_scripts_only_from_this_site(app, people):
    response = visitor(app, "nurse").get("/submit")
    assert response.headers["x-frame-options"] == "DENY"
    assert "script-src 'self'" in response.headers["content-security-policy"]
    assert "<script>" not in response.text  # no inline script: everything is a vendored file


def test_five_failed_sign_ins_lock_that_username_from_that_address_for_a_while(app, people, test_clock):
    person = visitor(app)
    for _ in range(5):
        assert person.sign_in("nurse", "guess").status_code == 401
    locked = person.sign_in("nurse")  # even the right password waits
    assert locked.status_code == 429
    assert "登录失败次数过多" in text_of(locked.text) and "15 分钟" in text_of(locked.text)
    assert person.sign_in("dispatcher").status_code == 303  # another username is not locked out
    test_clock.advance(minutes=15)
    assert visitor(app).sign_in("nurse").status_code == 303


def test_a_successful_sign_in_clears_the_failures(app, people, test_clock):
    person = visitor(app)
    for _ in range(4):
        person.sign_in("nurse", "guess")
    assert person.sign_in("nurse").status_code == 303
    for _ in range(4):
        assert visitor(app).sign_in("nurse", "guess").status_code == 401
    assert visitor(app).sign_in("nurse").status_code == 303


def test_signing_out_ends_the_session(app, people):
    nurse = visitor(app, "nurse")
    assert nurse.get("/department").status_code == 200
    assert nurse.post("/logout").headers["location"] == "/login"
    assert nurse.get("/department").status_code == 303


def test_a_deactivated_user_is_signed_out_on_their_next_page(app, people, session):
    nurse = visitor(app, "nurse")
    user = session.exec(select(User).where(User.username == "nurse")).one()
    user.active = False
    session.add(user)
    session.commit()
    assert nurse.get("/department").status_code == 303


def test_after_sign_in_only_a_path_on_this_site_is_followed(app, people):
    for target, expected in (("//evil.example/x", "/"), ("https://evil.example", "/"), ("/department?late=true", "/department?late=true")):
        person = visitor(app)
        person.get("/login")
        response = person.post("/login", {"username": "nurse", "password": "correct-horse-battery", "next": target})
        assert response.headers["location"] == expected, target


def test_pages_for_other_roles_say_not_allowed(app, people):
    nurse = visitor(app, "nurse")
    for path in ("/dispatch", "/escalations", "/designer", "/cockpit", "/admin"):
        response = nurse.get(path)
        assert response.status_code == 403, path
        assert "无权访问" in text_of(response.text)
    assert "/dispatch" not in nurse.get("/submit").text  # nor are they in the menu


def test_the_api_token_endpoint_shares_the_sign_in_limit(app, people, test_clock, api):
    for _ in range(5):
        assert api.client.post("/api/v1/auth/token", data={"username": "tech", "password": "guess"}).status_code == 401
    locked = api.client.post("/api/v1/auth/token", data={"username": "tech", "password": "correct-horse-battery"})
    assert locked.status_code == 429 and locked.headers["retry-after"] == "900"
    assert visitor(app).sign_in("tech").status_code == 429  # the page counts the same failures
    test_clock.advance(minutes=15)
    assert api.client.post("/api/v1/auth/token", data={"username": "tech", "password": "correct-horse-battery"}).status_code == 200


def test_a_mangled_link_gets_a_page_saying_so_and_the_api_still_answers_json(app, people, api):
    nurse = visitor(app, "nurse")
    for path in ("/orders/abc", "/orders/0", "/department?page=0", "/orders/99999999999999999999"):
        response = nurse.get(path)
        assert response.status_code == 422, path
        assert "链接有误" in text_of(response.text)
    assert api.as_("nurse").get("/api/v1/workorders/abc").json()["detail"].startswith("order_id")
