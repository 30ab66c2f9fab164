"""A real directory for the sign-in tests: OpenLDAP's slapd on loopback, its own throwaway config.

python-ldap's `slapdtest` does the lifting: it writes a cn=config with slapadd into a temporary
folder, starts slapd on a free loopback port (and a private ldapi socket for seeding), waits
until slapd answers `ldapwhoami` (a bounded poll of the process, no fixed sleep), and removes
it all when stopped. Here it gets the schemas people and groups need, the memberOf overlay
(as Active Directory keeps `memberOf` on each person), access rules like a hospital's (only a
bound account reads; passwords are only ever compared), and TLS with slapdtest's own test CA
for StartTLS.

Without slapd or python-ldap the directory tests skip on a developer's machine; under CI
(CI=true, as .ci/run is run) they fail instead, so a missing install step cannot hide.
"""
import os
import shutil
import tempfile

import pytest

try:
    from slapdtest import SlapdObject
    from slapdtest._slapdtest import SLAPD_CONF_TEMPLATE
except ImportError:  # python-ldap is not installed: `directory_server` skips, or fails under CI
    SlapdObject, SLAPD_CONF_TEMPLATE = object, ""

SUFFIX = "dc=hospital,dc=example"
SERVICE_DN = f"cn=houqin,ou=services,{SUFFIX}"
SERVICE_PASSWORD = "service-account-secret"
PASSWORDS = {"alice": "alice-directory-pw", "wang": "wang-directory-pw", "zhou": "zhou-directory-pw",
             "admin": "directory-admin-pw"}


def person_dn(uid: str) -> str:
    return f"uid={uid},ou=people,{SUFFIX}"


def group_dn(cn: str) -> str:
    return f"cn={cn},ou=groups,{SUFFIX}"


def _person(uid: str, display_name: str) -> str:
    return (f"dn: {person_dn(uid)}\nobjectClass: inetOrgPerson\nuid: {uid}\ncn: {uid}\nsn: {uid}\n"
            f"displayName: {display_name}\nmail: {uid}@hospital.example\nuserPassword: {PASSWORDS[uid]}\n")


def _group(cn: str, *members: str) -> str:
    # groupOfNames needs a member: each group holds a placeholder nobody is, so any person can leave.
    lines = "".join(f"member: {person_dn(uid)}\n" for uid in ("nobody", *members))
    return f"dn: {group_dn(cn)}\nobjectClass: groupOfNames\ncn: {cn}\n{lines}"


SEED = "\n".join([
    f"dn: {SUFFIX}\nobjectClass: dcObject\nobjectClass: organization\no: Hospital\ndc: hospital\n",
    *(f"dn: ou={ou},{SUFFIX}\nobjectClass: organizationalUnit\nou: {ou}\n" for ou in ("people", "groups", "services")),
    f"dn: {SERVICE_DN}\nobjectClass: applicationProcess\nobjectClass: simpleSecurityObject\ncn: houqin\n"
    f"userPassword: {SERVICE_PASSWORD}\n",
    _person("alice", "李爱丽"),
    _person("wang", "王伟"),
    _person("zhou", "周舟"),
    _person("admin", "Directory Admin"),
    _group("houqin-dispatch", "alice"),
    _group("orthopaedics", "wang"),
    _group("houqin-tech"),
])

_ACCESS = """olcAccess: {0}to attrs=userPassword by anonymous auth by * none
olcAccess: {1}to * by users read by * none
"""

_MEMBEROF = """dn: olcOverlay=memberof,olcDatabase={1}%(database)s,cn=config
objectClass: olcOverlayConfig
objectClass: olcMemberOf
olcOverlay: memberof
olcMemberOfRefInt: TRUE
"""


class HospitalDirectory(SlapdObject):
    TMPDIR = tempfile.gettempdir()  # slapdtest's default is the working directory
    suffix = SUFFIX
    slapd_loglevel = "none"
    openldap_schema_files = ("core.ldif", "cosine.ldif", "inetorgperson.ldif")
    # bind_anon_dn: a name with an empty password binds "successfully" without any check, as an
    # Active Directory may allow (an unauthenticated bind); Houqin must never take that for a sign-in.
    slapd_conf_template = SLAPD_CONF_TEMPLATE.replace(
        "olcModuleLoad: back_%(database)s\n", "olcModuleLoad: back_%(database)s\nolcModuleLoad: memberof\n",
    ).replace("olcAllows: bind_v2\n", "olcAllows: bind_v2 bind_anon_dn\n") + _ACCESS

    def _write_config(self):
        super()._write_config()
        # After the schemas: the overlay needs their `member` attribute.
        self.slapadd(_MEMBEROF % {"database": self.database}, ["-n0"])

    def move(self, uid: str, *, leave: tuple[str, ...] = (), join: tuple[str, ...] = ()) -> None:
        """Take a person out of groups and put them into others, as the hospital's IT would."""
        changes = [f"dn: {group_dn(cn)}\nchangetype: modify\ndelete: member\nmember: {person_dn(uid)}\n" for cn in leave]
        changes += [f"dn: {group_dn(cn)}\nchangetype: modify\nadd: member\nmember: {person_dn(uid)}\n" for cn in join]
        self.ldapmodify("\n".join(changes))


def _missing() -> str | None:
    if SlapdObject is object:
        return "python-ldap is not installed (pip install -e '.[test]')"
    if shutil.which("slapd", path=os.pathsep.join([os.environ.get("PATH", ""), "/usr/sbin", "/sbin"])) is None:
        return "slapd is not installed (apt-get install slapd ldap-utils)"
    return None


@pytest.fixture
def directory_server():
    """A running directory seeded with SEED; stopped and removed after the test."""
    missing = _missing()
    if missing:
        if os.environ.get("CI", "").lower() in ("true", "1", "yes"):
            pytest.fail(f"{missing}: CI runs the directory sign-in tests")
        pytest.skip(missing)
    server = HospitalDirectory()
    server.start()
    try:
        server.ldapadd(SEED)
        yield server
    finally:
        server.stop()
