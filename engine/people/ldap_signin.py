"""Signing in against the hospital's LDAP / Active Directory (HOUQIN_LDAP_URL).

One short connection per sign-in: the service account (HOUQIN_LDAP_BIND_DN)
finds the person with the configured filter, the typed name escaped so that
`*`, `(` or `)` in it match nothing but themselves; the same connection then
binds as the DN found with the typed password, so the directory alone judges
the password. This works alike with OpenLDAP and Active Directory. Every step
has a time limit (HOUQIN_LDAP_TIMEOUT): a dead or silent directory costs a
sign-in seconds and is logged, never a hung worker or a 500.

The person's row in Houqin follows the directory at each sign-in: name and
email, and roles and department where the group mapping says so
(workflows/ldap_groups.py). Its password hash is of a random secret nobody
knows, and `auth_source` "ldap" sends every sign-in of that name here: a
local password can never let a directory user in, and a directory account can
never take over a local user of the same name.
"""
import logging
import secrets
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, select

from engine.people.directory import set_active
from engine.people.users import department_named, hash_password, valid_username
from engine.storage.models import User, UserRole
from engine.storage.unit_of_work import unit_of_work
from workflows.ldap_groups import GroupMapping, load_group_file

try:
    import ldap
    from ldap.filter import escape_filter_chars
except ImportError:  # the optional extra: pip install 'houqin[ldap]'
    ldap = None

log = logging.getLogger(__name__)


class DirectoryUnavailable(Exception):
    """The directory could not answer: down, too slow, TLS refused, or the service account refused."""


@dataclass(frozen=True)
class DirectoryEntry:
    """A person as the directory describes them."""

    dn: str
    display_name: str
    email: str | None
    groups: tuple[str, ...]  # the DNs of the groups they belong to


class LdapDirectory:
    def __init__(self, *, url: str, base_dn: str, user_filter: str = "(uid={username})", bind_dn: str = "",
                 bind_password: str = "", group_filter: str = "", starttls: bool = False,
                 ca_file: Path | None = None, timeout: float = 5.0, name_attribute: str = "displayName",
                 email_attribute: str = "mail", mapping: GroupMapping | None = None):
        if ldap is None:
            raise RuntimeError("HOUQIN_LDAP_URL is set but python-ldap is not installed: pip install 'houqin[ldap]' "
                               "(building it needs Debian's libldap-dev and libsasl2-dev)")
        if "{username}" not in user_filter:
            raise ValueError(f"HOUQIN_LDAP_USER_FILTER '{user_filter}' must contain {{username}}, e.g. (uid={{username}})")
        if group_filter and "{dn}" not in group_filter:
            raise ValueError(f"HOUQIN_LDAP_GROUP_FILTER '{group_filter}' must contain {{dn}}, "
                             "e.g. (&(objectClass=groupOfNames)(member={dn}))")
        if not timeout > 0:
            raise ValueError("HOUQIN_LDAP_TIMEOUT must be a number of seconds above 0")
        self.url, self.base_dn, self.user_filter, self.group_filter = url, base_dn, user_filter, group_filter
        self.bind_dn, self._bind_password = bind_dn, bind_password
        self.starttls, self.ca_file, self.timeout = starttls, ca_file, timeout
        self.name_attribute, self.email_attribute = name_attribute, email_attribute
        self.mapping = mapping or GroupMapping()

    @classmethod
    def from_settings(cls, settings) -> "LdapDirectory | None":
        """The directory the settings describe; None while HOUQIN_LDAP_URL is empty.

        A bad group mapping raises DefinitionError (file:line:column), so the server does not start with it."""
        if not settings.ldap_url:
            return None
        return cls(
            url=settings.ldap_url, base_dn=settings.ldap_base_dn, user_filter=settings.ldap_user_filter,
            bind_dn=settings.ldap_bind_dn, bind_password=settings.ldap_bind_password.get_secret_value(),
            group_filter=settings.ldap_group_filter, starttls=settings.ldap_starttls, ca_file=settings.ldap_ca_file,
            timeout=settings.ldap_timeout, name_attribute=settings.ldap_name_attribute,
            email_attribute=settings.ldap_email_attribute,
            mapping=load_group_file(settings.ldap_groups) if settings.ldap_groups else None,
        )

    # ---- asking the directory ------------------------------------------------

    def check(self, username: str, password: str) -> DirectoryEntry | None:
        """The one person `username` finds, if the directory accepts `password` for them; None otherwise.

        Raises DirectoryUnavailable when the directory cannot answer."""
        if not username or not password:
            return None  # an empty password is an unauthenticated bind, which directories let "succeed"
        connection = ldap.initialize(self.url)
        try:
            self._open(connection)
            entry = self._find(connection, username)
            if entry is None:
                return None
            try:
                connection.simple_bind_s(entry.dn, password)
            except (ldap.INVALID_CREDENTIALS, ldap.UNWILLING_TO_PERFORM, ldap.INAPPROPRIATE_AUTH):
                return None  # a wrong password; a disabled or locked account
            return entry
        except ldap.LDAPError as exc:
            details = exc.args[0] if exc.args and isinstance(exc.args[0], dict) else {}
            reason = " ".join(str(details.get(key, "")) for key in ("desc", "info")).strip() or repr(exc)
            log.error("directory %s cannot check %r: %s", self.url, username, reason)
            raise DirectoryUnavailable(f"the directory {self.url} cannot be used: {reason}") from None
        finally:
            try:
                connection.unbind_s()
            except ldap.LDAPError:
                pass

    def _open(self, connection) -> None:
        """Time limits and TLS, then the service account's bind."""
        connection.set_option(ldap.OPT_PROTOCOL_VERSION, 3)
        connection.set_option(ldap.OPT_REFERRALS, 0)  # Active Directory: never chase referrals anonymously
        connection.set_option(ldap.OPT_NETWORK_TIMEOUT, self.timeout)  # connecting
        connection.set_option(ldap.OPT_TIMEOUT, self.timeout)  # each synchronous call, StartTLS included
        connection.timeout = self.timeout  # python-ldap's own wait for each result
        connection.set_option(ldap.OPT_X_TLS_REQUIRE_CERT, ldap.OPT_X_TLS_DEMAND)
        if self.ca_file:
            connection.set_option(ldap.OPT_X_TLS_CACERTFILE, str(self.ca_file))
        connection.set_option(ldap.OPT_X_TLS_NEWCTX, 0)  # the TLS options above take effect from here
        if self.starttls:
            connection.start_tls_s()
        try:
            connection.simple_bind_s(self.bind_dn, self._bind_password)
        except ldap.INVALID_CREDENTIALS:
            log.error("directory %s refused the service account %r: check HOUQIN_LDAP_BIND_DN and "
                      "HOUQIN_LDAP_BIND_PASSWORD", self.url, self.bind_dn)
            raise

    def _find(self, connection, username: str) -> DirectoryEntry | None:
        query = self.user_filter.replace("{username}", escape_filter_chars(username))
        wanted = [self.name_attribute, "cn", self.email_attribute, "memberOf"]
        try:
            found = connection.search_ext_s(self.base_dn, ldap.SCOPE_SUBTREE, query, wanted,
                                            timeout=self.timeout, sizelimit=2)
        except ldap.SIZELIMIT_EXCEEDED:
            found = None
        people = [(dn, attributes) for dn, attributes in found or [] if dn]  # Active Directory adds referrals
        if found is None or len(people) > 1:
            log.warning("directory %s: %r matches more than one person; refused", self.url, username)
            return None
        if not people:
            return None
        dn, attributes = people[0]
        values = {name.lower(): [value.decode("utf-8", "replace") for value in found_values]
                  for name, found_values in attributes.items()}
        groups = self._groups(connection, dn) if self.group_filter else values.get("memberof", [])
        name = (values.get(self.name_attribute.lower()) or values.get("cn") or [""])[0]
        email = (values.get(self.email_attribute.lower()) or [None])[0]
        return DirectoryEntry(dn=dn, display_name=name, email=email, groups=tuple(groups))

    def _groups(self, connection, dn: str) -> list[str]:
        query = self.group_filter.replace("{dn}", escape_filter_chars(dn))
        found = connection.search_ext_s(self.base_dn, ldap.SCOPE_SUBTREE, query, ["1.1"], timeout=self.timeout)
        return [group for group, _ in found if group]

    # ---- the person's row in Houqin --------------------------------------------

    def sign_in(self, session: Session, username: str, password: str) -> User | None:
        """The directory's person as a Houqin user, created or brought up to date; None when refused.

        Raises DirectoryUnavailable when the directory cannot answer. What the directory said is
        written in a transaction of its own, committed at once: it stays whether or not this sign-in
        succeeds (a person left every group: deactivated, so their sessions end too; the API's 401
        rolls the request back), and the request holds no write lock while the sign-in limiter,
        on a connection of its own, records the outcome (SQLite has one writer at a time)."""
        if len(username) > 64:
            return None  # no Houqin username is longer; the directory need not be asked
        entry = self.check(username, password)
        if entry is None:
            return None
        name = username.lower()  # directories match names regardless of case; Houqin keeps one row
        if not valid_username(name):
            log.warning("directory user %r: not a name Houqin can use (letters, digits, '.', '-', '_'); refused", username)
            return None
        for attempt in range(2):  # a second try when a simultaneous first sign-in made the row
            try:
                with Session(session.get_bind(), expire_on_commit=False) as own, unit_of_work(own):
                    user_id = self._update(own, name, entry)
                break
            except IntegrityError:
                if attempt:
                    raise
        if user_id is None:
            return None
        return session.exec(select(User).where(User.id == user_id).execution_options(populate_existing=True)).one()

    def _update(self, session: Session, name: str, entry: DirectoryEntry) -> int | None:
        """The row of the person the directory accepted, created or brought up to date; None when refused."""
        user = session.exec(select(User).where(User.username == name)).first()
        if user is not None and user.auth_source != "ldap":
            log.warning("directory user %r has the name of a local Houqin user; refused", name)
            return None
        if user is not None and not user.active:
            return None
        placement = self.mapping.place(entry.groups)
        if self.mapping.deactivate_unmapped and not placement.listed:
            if user is not None:
                set_active(session, user.id, False)
                log.info("directory user %r is in none of the mapped groups: deactivated", name)
            return None
        if user is None:
            user = User(username=name, password_hash=hash_password(secrets.token_urlsafe(32)), auth_source="ldap")
        user.display_name = (entry.display_name or name)[:100]
        user.email = entry.email[:200] if entry.email else user.email
        if placement.department:
            user.department_id = department_named(session, placement.department, create=True).id
        session.add(user)
        session.flush()
        if placement.roles is not None:
            _set_roles(session, user.id, placement.roles)
        return user.id


def _set_roles(session: Session, user_id: int, roles: frozenset[str]) -> None:
    """Exactly `roles` (none at all when the person left every mapped group)."""
    held = {row.role: row for row in session.exec(select(UserRole).where(UserRole.user_id == user_id)).all()}
    for role, row in held.items():
        if role not in roles:
            session.delete(row)
    for role in roles - held.keys():
        session.add(UserRole(user_id=user_id, role=role))
    session.flush()
