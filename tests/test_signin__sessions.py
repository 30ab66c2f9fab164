"""Sessions end on the server: signing out, a new password and deactivation end every page session and
API token of that user at once, on every device, and nobody else's."""
from datetime import datetime, timedelta, timezone

import jwt
from sqlmodel import select

from conftest import PASSWORD
from engine.storage.models import User
from page_support import visitor
from web.security import ALGORITHM, secret_key

NEW_PASSWORD = "a-new-and-longer-one"


def _signed_in(person) -> bool:
    """Whether this browser is still signed in, as the API and the pages both see it."""
    by_api = person.client.get("/api/v1/me").status_code
    by_page = person.get("/department").status_code
    assert (by_api, by_page) in ((200, 200), (401, 303)), (by_api, by_page)
    return by_api == 200


def _token_works(api, username: str) -> bool:
    status = api.as_(username).get("/api/v1/me").status_code
    assert status in (200, 401)
    return status == 200


def test_signing_out_ends_every_browser_and_token_of_that_user_but_not_anothers(app, api):
    api.user("nurse", "requester", department="心内科")
    api.user("tech", "technician", department="后勤保障部")
    ward, phone, tech_browser = visitor(app, "nurse"), visitor(app, "nurse"), visitor(app, "tech")

    response = ward.post("/logout")

    assert response.status_code == 303 and response.headers["location"] == "/login"
    assert not _signed_in(ward)
    assert not _signed_in(phone)  # the other browser's cookie is dead too
    assert not _token_works(api, "nurse")
    assert _signed_in(tech_browser) and _token_works(api, "tech")
    assert _signed_in(visitor(app, "nurse"))  # signing in again works


def test_signing_out_through_the_api_ends_the_token_and_the_page_sessions(app, api):
    api.user("nurse", "requester", department="心内科")
    api.user("tech", "technician", department="后勤保障部")
    ward = visitor(app, "nurse")

    response = api.as_("nurse").post("/api/v1/auth/logout")

    assert response.status_code == 204
    assert not _token_works(api, "nurse") and not _signed_in(ward)
    assert _token_works(api, "tech")
    again = api.client.post("/api/v1/auth/token", data={"username": "nurse", "password": PASSWORD})
    assert api.client.get("/api/v1/me", headers={"Authorization": f"Bearer {again.json()['access_token']}"}).status_code == 200


def test_signing_out_through_the_api_with_the_page_cookie_needs_the_csrf_header(app, api):
    """Another site cannot sign a user out everywhere by posting with their cookie."""
    api.user("nurse", "requester", department="心内科")
    ward = visitor(app, "nurse")
    assert ward.client.post("/api/v1/auth/logout").status_code == 403
    assert _signed_in(ward)
    assert ward.client.post("/api/v1/auth/logout", headers={"X-CSRF-Token": ward.token}).status_code == 204
    assert not _signed_in(ward) and not _token_works(api, "nurse")


def test_a_password_change_keeps_this_page_session_and_ends_every_other(app, api):
    api.user("nurse", "requester", department="心内科")
    api.user("tech", "technician", department="后勤保障部")
    ward, phone, tech_browser = visitor(app, "nurse"), visitor(app, "nurse"), visitor(app, "tech")
    ward.get("/account/password")

    response = ward.post("/account/password", {"current_password": PASSWORD, "new_password": NEW_PASSWORD,
                                               "new_password_again": NEW_PASSWORD})

    assert response.status_code == 303
    assert _signed_in(ward)  # renewed in place
    assert not _signed_in(phone) and not _token_works(api, "nurse")
    assert _signed_in(tech_browser) and _token_works(api, "tech")
    assert visitor(app).sign_in("nurse", PASSWORD).status_code == 401
    assert visitor(app).sign_in("nurse", NEW_PASSWORD).status_code == 303


def test_a_password_change_through_the_api_answers_a_new_token_and_ends_the_old_ones(app, api):
    api.user("nurse", "requester", department="心内科")
    ward = visitor(app, "nurse")
    old = dict(api.tokens)

    response = api.as_("nurse").post("/api/v1/auth/password",
                                     json={"current_password": PASSWORD, "new_password": NEW_PASSWORD})

    assert response.status_code == 200, response.text
    assert not _token_works(api, "nurse") and not _signed_in(ward)
    api.tokens["nurse"] = response.json()["access_token"]
    assert _token_works(api, "nurse")
    assert api.tokens != old


def test_a_password_change_through_the_api_on_the_page_cookie_keeps_that_page_signed_in(app, api):
    api.user("nurse", "requester", department="心内科")
    ward, phone = visitor(app, "nurse"), visitor(app, "nurse")
    response = ward.client.post("/api/v1/auth/password", headers={"X-CSRF-Token": ward.token},
                                json={"current_password": PASSWORD, "new_password": NEW_PASSWORD})
    assert response.status_code == 200, response.text
    assert _signed_in(ward) and not _signed_in(phone)


def test_deactivation_ends_every_session_and_activating_again_does_not_revive_them(app, api, session):
    api.user("admin", "admin")
    api.user("nurse", "requester", department="心内科")
    ward = visitor(app, "nurse")
    nurse_id = session.exec(select(User.id).where(User.username == "nurse")).one()
    admin = visitor(app, "admin")
    admin.get("/admin")

    admin.post(f"/admin/users/{nurse_id}/active", {"active": "no"})
    assert not _signed_in(ward) and not _token_works(api, "nurse")

    admin.get("/admin")
    admin.post(f"/admin/users/{nurse_id}/active", {"active": "yes"})
    assert not _signed_in(ward) and not _token_works(api, "nurse")
    assert _signed_in(visitor(app, "nurse"))
    assert _signed_in(admin)


def test_a_token_without_a_sign_in_epoch_is_refused(app, api, session):
    """A token of the kind issued before sessions could be ended would outlive a sign-out: it is refused."""
    api.user("nurse", "requester", department="心内科")
    expires = datetime.now(timezone.utc) + timedelta(hours=1)  # PyJWT checks expiry against real time
    old_style = jwt.encode({"sub": "nurse", "exp": expires}, secret_key(session), algorithm=ALGORITHM)
    assert api.client.get("/api/v1/me", headers={"Authorization": f"Bearer {old_style}"}).status_code == 401
