"""Configuration: one typed object, read from HOUQIN_* environment variables in this one place.

`Settings` names every variable Houqin reads (HOUQIN_DATABASE_URL,
HOUQIN_TEST_CLOCK, ...). The web app holds one (`create_app(settings)`, read by
routes through `web.deps.SettingsDep`); tests pass their own instead of
changing the environment. The engine's few readers (time zone, directories,
upload limit) ask `current()`, which re-reads only when the environment changes,
so a template formatting a thousand times costs one parse.
"""
import ipaddress
import os
from pathlib import Path
from typing import Annotated
from urllib.parse import urlsplit

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

ROOT = Path(__file__).resolve().parents[1]
# A list of networks: `127.0.0.1, 10.0.0.0/8, ::1` in the environment (a bare address is its own /32 or /128).
Networks = Annotated[list[ipaddress.IPv4Network | ipaddress.IPv6Network], NoDecode]


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="HOUQIN_", extra="ignore")

    database_url: str = ""          # empty: the embedded SQLite file under the repository's var/
    definitions: Path = ROOT / "definitions"
    data_dir: Path = ROOT / "var"
    timezone: str = "Asia/Shanghai"  # the hospital's: work order numbers carry the local year
    calendars: Path | None = None    # default: <definitions>/calendars.yaml
    schedules: Path | None = None    # default: <definitions>/schedules.yaml
    equipment: Path | None = None    # the register's device classes; default: <definitions>/equipment.yaml
    targets: Path | None = None      # the cockpit's targets; default: <definitions>/targets.yaml
    appraisal: Path | None = None    # piece-rate points; default: <definitions>/appraisal.yaml
    attachments_dir: Path | None = None  # default: <data_dir>/attachments
    max_attachment_mb: float = 10.0
    max_body_bytes: int = Field(default=1024 * 1024, gt=0)  # a JSON or form body (uploads have the limit above)
    # Requests at work at once in each web process, and the seconds after which one still at work lets the
    # next in beside it (web/admission.py): the others wait their turn without a thread or a connection.
    requests_at_once: int = Field(default=2, ge=1, le=1000)
    request_turn: float = Field(default=0.05, gt=0, le=60)
    secret_key: str = ""             # empty: a random key made once and kept in the database
    secure_cookies: bool = False     # behind HTTPS: the session cookie gets Secure
    test_clock: bool = False         # PUT /api/v1/_test/clock sets the app's clock (tests and demos only)
    sweeper: bool = False            # `houqin serve` sets it: sweep timers inside the web process
    sweep_interval: float = 30.0     # seconds between the worker's rounds
    password_min_length: int = Field(default=10, ge=8, le=128)  # the password policy's minimum (engine.people.passwords)
    # Sign-in against the hospital's LDAP / Active Directory (engine/people/ldap_signin.py); off while
    # ldap_url is empty. Local users (the admin) still sign in with their Houqin password.
    ldap_url: str = ""               # ldap://dc1.hospital.local or ldaps://dc1.hospital.local
    ldap_starttls: bool = False      # upgrade ldap:// to TLS before any password is sent
    ldap_ca_file: Path | None = None  # the CA of the directory's certificate; default: the system's
    ldap_bind_dn: str = ""           # the service account that looks people up; empty: anonymous
    ldap_bind_password: SecretStr = SecretStr("")
    ldap_base_dn: str = ""           # where people (and groups) are looked for
    ldap_user_filter: str = "(uid={username})"  # Active Directory: (sAMAccountName={username})
    ldap_group_filter: str = ""      # empty: the person's memberOf; else e.g. (&(objectClass=groupOfNames)(member={dn}))
    ldap_name_attribute: str = "displayName"  # the name Houqin shows (cn when the person has none)
    ldap_email_attribute: str = "mail"
    ldap_timeout: float = 5.0        # seconds for each step: a dead directory never holds a sign-in longer
    ldap_groups: Path | None = None  # directory groups -> roles and departments (YAML); none: set in Houqin
    # Outside channels (engine/notify/targets.py): networks they may reach although loopback, link-local,
    # multicast or reserved (e.g. 127.0.0.1 for a mail relay on this server), and whether the intranet's
    # private ranges are reachable at all.
    channel_allowed_networks: Networks = []
    channel_allow_private: bool = True
    # The reverse proxies whose X-Forwarded-For names the client (the sign-in limit counts per address);
    # none by default: the client is whoever connects.
    trusted_proxies: Networks = []
    # Where phones reach Houqin (https://houqin.hospital.cn): the base of the URLs in printed QR codes.
    # Empty: the base URL of the request that asks for the code.
    public_url: str = ""

    @field_validator("channel_allowed_networks", "trusted_proxies", mode="before")
    @classmethod
    def _networks(cls, value):
        items = value.replace(";", ",").split(",") if isinstance(value, str) else value
        try:
            return [ipaddress.ip_network(item.strip() if isinstance(item, str) else item, strict=False)
                    for item in items if not isinstance(item, str) or item.strip()]
        except ValueError as exc:
            raise ValueError(f"{exc}: write addresses or networks separated by commas, e.g. 10.0.0.0/8, ::1") from None

    @field_validator("public_url")
    @classmethod
    def _public_url(cls, value: str) -> str:
        value = value.strip().rstrip("/")
        parts = urlsplit(value)
        if value and (parts.scheme not in ("http", "https") or not parts.netloc or parts.query or parts.fragment):
            raise ValueError("write the address phones open, e.g. https://houqin.hospital.cn")
        return value

    @property
    def database(self) -> str:
        return self.database_url or f"sqlite:///{ROOT / 'var' / 'houqin.db'}"

    @property
    def calendars_path(self) -> Path:
        return self.calendars or self.definitions / "calendars.yaml"

    @property
    def schedules_path(self) -> Path:
        return self.schedules or self.definitions / "schedules.yaml"

    @property
    def equipment_path(self) -> Path:
        return self.equipment or self.definitions / "equipment.yaml"

    @property
    def targets_path(self) -> Path:
        return self.targets or self.definitions / "targets.yaml"

    @property
    def appraisal_path(self) -> Path:
        return self.appraisal or self.definitions / "appraisal.yaml"

    @property
    def attachments_path(self) -> Path:
        return self.attachments_dir or self.data_dir / "attachments"


_read: tuple[tuple, Settings] | None = None


def current() -> Settings:
    """The settings the environment gives now (parsed again only after a HOUQIN_* variable changed)."""
    global _read
    key = tuple(sorted((k, v) for k, v in os.environ.items() if k.startswith("HOUQIN_")))
    if _read is None or _read[0] != key:
        _read = (key, Settings())
    return _read[1]


# Short names for the engine's readers.

def database_url() -> str:
    return current().database


def definitions_dir() -> Path:
    return current().definitions


def data_dir() -> Path:
    return current().data_dir


def timezone() -> str:
    """The hospital's local time zone: work order numbers carry the local year."""
    return current().timezone
