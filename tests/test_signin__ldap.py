"""Signing in against the hospital's directory: a real slapd on loopback (tests/ldap_support.py).

The directory holds alice (group houqin-dispatch), wang (orthopaedics), zhou (no group) and a
directory account named admin; the group mapping gives dispatchers, technicians, and requesters
of 骨科. Local users, such as Houqin's own admin, sign in with their Houqin password as before.
"""
import socket
import time
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlmodel import select

from engine.people import directory
from engine.people.users import hash_password
from engine.settings import Settings
from engine.storage.models import Department, User
from conftest import PASSWORD
from ldap_support import PASSWORDS, SERVICE_DN, SERVICE_PASSWORD, SUFFIX, directory_server  # noqa: F401
from page_support import Visitor, text_of
from web.app import create_app
from web.i18n import Translator
from workflows.errors import DefinitionError
from workflows.ldap_groups import load_group_mapping
from workflows.schema import ROLES

MAPPING = f"""\
groups:
  - group: cn=houqin-dispatch,ou=groups,{SUFFIX}
    roles: [dispatcher]
  - group: CN=Houqin-Tech, OU=Groups, {SUFFIX.upper()}   # written as Active Directory tools show DNs
    roles: [technician]
  - group: orthopaedics                                  # a group's name alone
    roles: [requester]
    department: 骨科
"""


def directory_settings(db_url: str, server, tmp_path: Path, mapping: str = MAPPING, **overrides) -> Settings:
    groups = tmp_path / "ldap-groups.yaml"
    groups.write_text(mapping, encoding="utf-8")
    values = dict(database_url=db_url, ldap_url=server.ldap_uri, ldap_base_dn=SUFFIX, ldap_bind_dn=SERVICE_DN,
                  ldap_bind_password=SERVICE_PASSWORD, ldap_user_filter="(&(objectClass=inetOrgPerson)(uid={username}))",
                  ldap_groups=groups, ldap_timeout=5)
    return Settings(**{**values, **overrides})


@pytest.fixture
def app(db_url, directory_server, tmp_path):
    """The app under test (conftest's `api` uses it) signs people in against the directory."""
    return create_app(directory_settings(db_url, directory_server, tmp_path))


@pytest.fixture
def client(app):
    with TestClient(app) as client:
        yield client


def token(client: TestClient, username: str, password: str):
    return client.post("/api/v1/auth/token", data={"username": username, "password": password})


def me(client: TestClient, username: str, password: str) -> dict:
    response = token(client, username, password)
    assert response.status_code == 200, response.text
    answer = client.get("/api/v1/me", headers={"Authorization": f"Bearer {response.json()['access_token']}"})
    assert answer.status_code == 200, answer.text
    return answer.json()


def department_id(session, name: str) -> int:
    return session.exec(select(Department.id).where(Department.name == name)).one()


def test_a_directory_user_gets_a_token_with_roles_and_department_from_their_groups(client, session):
    alice = me(client, "alice", PASSWORDS["alice"])
    assert (alice["username"], alice["display_name"], alice["roles"]) == ("alice", "李爱丽", ["dispatcher"])
    wang = me(client, "wang", PASSWORDS["wang"])
    assert wang["roles"] == ["requester"] and wang["department_id"] == department_id(session, "骨科")
    row = session.exec(select(User).where(User.username == "wang")).one()
    assert (row.auth_source, row.email) == ("ldap", "wang@hospital.example")


def test_a_directory_user_signs_in_on_the_sign_in_page(app, session):
    visitor = Visitor(app)
    response = visitor.sign_in("wang", PASSWORDS["wang"])
    assert response.status_code == 303, text_of(response.text)[:300]
    mine = visitor.client.get("/api/v1/me").json()
    assert mine["roles"] == ["requester"] and mine["department_id"] == department_id(session, "骨科")
    assert visitor.get("/submit").status_code == 200


def test_the_admin_page_marks_directory_users_and_offers_no_reset_for_them(app, session, make_user):
    make_user("root", "admin")
    make_user("nurse", "requester", department="心内科")
    assert Visitor(app).sign_in("wang", PASSWORDS["wang"]).status_code == 303
    admin = Visitor(app)
    admin.sign_in("root", PASSWORD)
    page = admin.get("/admin").text
    wang_id, nurse_id = (session.exec(select(User.id).where(User.username == name)).one() for name in ("wang", "nurse"))
    assert "目录账号" in text_of(page) and "密码由医院目录（LDAP）管理" in text_of(page)
    assert f"/admin/users/{wang_id}/password" not in page and f"/admin/users/{nurse_id}/password" in page


def test_groups_are_found_by_a_group_search_where_the_directory_keeps_no_memberof(db_url, directory_server, tmp_path, session):
    settings = directory_settings(db_url, directory_server, tmp_path,
                                  ldap_group_filter="(&(objectClass=groupOfNames)(member={dn}))")
    with TestClient(create_app(settings)) as client:
        wang = me(client, "wang", PASSWORDS["wang"])
    assert wang["roles"] == ["requester"] and wang["department_id"] == department_id(session, "骨科")


def test_a_wrong_password_or_an_unknown_name_is_401(client, app, session):
    for username, password in (("alice", "not-her-password"), ("alice", PASSWORDS["wang"]), ("nobody", "whatever-pw")):
        response = token(client, username, password)
        assert response.status_code == 401 and response.json()["code"] == "wrong_sign_in"
    page = Visitor(app).sign_in("alice", "not-her-password")
    assert page.status_code == 401 and Translator("zh")("login.wrong") in text_of(page.text)
    assert session.exec(select(User).where(User.auth_source == "ldap")).all() == []
    # An empty password would be an anonymous bind, which the directory lets "succeed".
    assert app.state.ldap.check("alice", "") is None


def test_an_injection_in_the_username_matches_nobody(client, app, session):
    for username in ("*)(uid=*", "*", "al*", "alice)(uid=*"):
        response = token(client, username, PASSWORDS["alice"])
        assert response.status_code == 401, (username, response.text)
    assert session.exec(select(User).where(User.auth_source == "ldap")).all() == []
    # The directory is asked for the name itself: a wildcard matches no one, even with the right password.
    assert app.state.ldap.check("al*", PASSWORDS["alice"]) is None
    assert app.state.ldap.check("alice", PASSWORDS["alice"]).dn == f"uid=alice,ou=people,{SUFFIX}"


def test_a_local_admin_still_signs_in_and_a_directory_account_of_the_same_name_cannot(api, client, session):
    api.user("admin", "admin")  # a local user with conftest's password
    assert "admin" in api.as_("admin").get("/api/v1/me").json()["roles"]
    assert token(client, "admin", PASSWORDS["admin"]).status_code == 401  # the directory's admin password
    assert token(client, "Admin", PASSWORDS["admin"]).status_code == 401  # nor by another spelling
    assert session.exec(select(User.auth_source).where(User.username == "admin")).one() == "local"


def test_a_group_change_in_the_directory_changes_roles_at_the_next_sign_in(client, directory_server):
    assert me(client, "alice", PASSWORDS["alice"])["roles"] == ["dispatcher"]
    directory_server.move("alice", leave=("houqin-dispatch",), join=("houqin-tech",))
    assert me(client, "alice", PASSWORDS["alice"])["roles"] == ["technician"]
    directory_server.move("alice", leave=("houqin-tech",))
    assert me(client, "alice", PASSWORDS["alice"])["roles"] == []  # in no mapped group: no roles


def test_a_person_in_no_mapped_group_is_deactivated_when_the_mapping_says_so(db_url, directory_server, tmp_path, session):
    settings = directory_settings(db_url, directory_server, tmp_path, mapping=MAPPING + "deactivate_unmapped: true\n")
    with TestClient(create_app(settings)) as client:
        first = token(client, "alice", PASSWORDS["alice"]).json()["access_token"]
        assert client.get("/api/v1/me", headers={"Authorization": f"Bearer {first}"}).status_code == 200
        directory_server.move("alice", leave=("houqin-dispatch",))
        assert token(client, "alice", PASSWORDS["alice"]).status_code == 401
        assert client.get("/api/v1/me", headers={"Authorization": f"Bearer {first}"}).status_code == 401
        assert token(client, "zhou", PASSWORDS["zhou"]).status_code == 401  # never in a mapped group
    assert session.exec(select(User.active).where(User.username == "alice")).one() is False
    assert session.exec(select(User).where(User.username == "zhou")).first() is None


def test_without_a_mapping_roles_and_department_stay_as_set_in_houqin(db_url, directory_server, tmp_path, session):
    settings = directory_settings(db_url, directory_server, tmp_path, ldap_groups=None)
    with TestClient(create_app(settings)) as client:
        assert me(client, "alice", PASSWORDS["alice"])["roles"] == []  # first sign-in: an admin gives roles
        alice = session.exec(select(User).where(User.username == "alice")).one()
        directory.set_roles(session, alice.id, ["technician"])
        directory.set_placement(session, alice.id, department="后勤保障部", team=None)
        session.commit()
        again = me(client, "alice", PASSWORDS["alice"])
    assert again["roles"] == ["technician"] and again["department_id"] == department_id(session, "后勤保障部")


def test_a_directory_user_cannot_use_a_local_password(client, db_url, session):
    assert token(client, "alice", PASSWORDS["alice"]).status_code == 200
    alice = session.exec(select(User).where(User.username == "alice")).one()
    alice.password_hash = hash_password("a-local-password")  # as if someone set one in Houqin
    session.add(alice)
    session.commit()
    assert token(client, "alice", "a-local-password").status_code == 401
    with TestClient(create_app(Settings(database_url=db_url))) as without_directory:
        assert token(without_directory, "alice", "a-local-password").status_code == 401
        assert token(without_directory, "alice", PASSWORDS["alice"]).status_code == 401


def test_a_sign_in_over_starttls_checks_the_directory_certificate(db_url, directory_server, tmp_path):
    trusted = directory_settings(db_url, directory_server, tmp_path, ldap_starttls=True,
                                 ldap_ca_file=Path(directory_server.cafile))
    with TestClient(create_app(trusted)) as client:
        assert me(client, "alice", PASSWORDS["alice"])["roles"] == ["dispatcher"]
    untrusted = directory_settings(db_url, directory_server, tmp_path, ldap_starttls=True,
                                   ldap_ca_file=Path(directory_server.clientcert))  # not the CA that signed it
    with TestClient(create_app(untrusted)) as client:
        refused = token(client, "alice", PASSWORDS["alice"])
    assert refused.status_code == 401 and refused.json()["code"] == "directory_unreachable"


@pytest.fixture
def silent_directory():
    """A port that accepts connections and never says a word: a hung directory server."""
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(16)
        yield f"ldap://127.0.0.1:{listener.getsockname()[1]}"


@pytest.fixture
def closed_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    return f"ldap://127.0.0.1:{port}"


@pytest.mark.parametrize("starttls", [False, True])
def test_an_unreachable_directory_is_a_quick_401_not_a_500(db_url, directory_server, tmp_path, silent_directory,
                                                          closed_port, starttls, caplog):
    for url in (closed_port, silent_directory):
        settings = directory_settings(db_url, directory_server, tmp_path, ldap_url=url, ldap_timeout=0.5,
                                      ldap_starttls=starttls)
        app = create_app(settings)
        with TestClient(app) as client:
            started = time.monotonic()
            response = token(client, "alice", PASSWORDS["alice"])
            took = time.monotonic() - started
            page = Visitor(app).sign_in("alice", PASSWORDS["alice"])
        assert response.status_code == 401 and response.json()["code"] == "directory_unreachable"
        assert took < 3, f"{url}: a sign-in waited {took:.1f} s on a dead directory (limit 0.5 s a step)"
        assert page.status_code == 401 and Translator("zh")("login.directory_down") in text_of(page.text)
    assert any("directory" in record.getMessage() for record in caplog.records if record.levelname == "ERROR")


def test_a_mapping_with_mistakes_names_each_at_its_line():
    text = """\
groups:
  - group: cn=houqin-dispatch,ou=groups,dc=hospital,dc=example
    roles: [dispatcher, janitor]
  - group: orthopaedics
"""
    with pytest.raises(DefinitionError) as caught:
        load_group_mapping(text, "ldap-groups.yaml")
    problems = [(p.line, p.message) for p in caught.value.problems]
    assert problems == [
        (3, "groups.0.roles: unknown role janitor: use one of " + ", ".join(ROLES)),
        (4, "groups.1: group 'orthopaedics' gives neither roles nor a department: add 'roles' or 'department'"),
    ]
    twice = """\
groups:
  - group: cn=houqin-dispatch,ou=groups,dc=hospital,dc=example
    roles: [dispatcher]
  - group: CN=Houqin-Dispatch, OU=Groups, DC=Hospital, DC=Example
    roles: [technician]
"""
    with pytest.raises(DefinitionError) as caught:
        load_group_mapping(twice, "ldap-groups.yaml")
    assert [(p.line, p.column) for p in caught.value.problems] == [(4, 12)]
    assert "listed twice" in caught.value.problems[0].message


def test_a_bad_mapping_stops_the_server_at_start(db_url, tmp_path):
    groups = tmp_path / "ldap-groups.yaml"
    groups.write_text("groups:\n  - roles: [dispatcher]\n", encoding="utf-8")
    with pytest.raises(DefinitionError, match="ldap-groups.yaml:2:"):
        create_app(Settings(database_url=db_url, ldap_url="ldap://127.0.0.1:1", ldap_groups=groups))
