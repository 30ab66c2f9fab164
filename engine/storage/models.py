"""The stored nouns of Houqin.

State lives in a column, history as appended rows, timers as indexed rows with
a due time: a transition writes a handful of small rows, never a blob.
"""
from datetime import date, datetime, timezone

from sqlalchemy import JSON, Column, DateTime, Index, UniqueConstraint, text
from sqlalchemy.orm import declared_attr
from sqlalchemy.types import TypeDecorator
from sqlmodel import Field, SQLModel

from engine.storage.stored_json import StoredJSON
from workflows.limits import MAX_FIELDS_BYTES


class UTCDateTime(TypeDecorator):
    """Stored as naive UTC (SQLite has no time zones), always returned aware."""

    impl = DateTime
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is not None:
            if value.tzinfo is None:
                raise ValueError("naive datetime given to the database; use an aware one")
            value = value.astimezone(timezone.utc).replace(tzinfo=None)
        return value

    def process_result_value(self, value, dialect):
        return value.replace(tzinfo=timezone.utc) if value is not None else None


def _json(**kwargs):
    return Field(default_factory=dict, sa_column=Column(JSON, nullable=False), **kwargs)


def _typed_json(max_length: int):
    """A JSON mapping holding what people typed, read within bounds whatever an old row holds (stored_json)."""
    return Field(default_factory=dict, sa_column=Column(StoredJSON(max_length), nullable=False))


# Read bounds, in characters of stored JSON text (non-ASCII characters are stored escaped, up to 12 characters
# for one), well past what the write bounds let in: a work order's fields, and a history row (its fields, an
# edit's description before and after, 10,000 characters each).
FIELDS_READ_LENGTH = 4 * MAX_FIELDS_BYTES
HISTORY_READ_LENGTH = 1024 * 1024


def _when(**kwargs):
    return Field(sa_type=UTCDateTime, **kwargs)


class Department(SQLModel, table=True):
    __tablename__ = "departments"
    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(unique=True, max_length=100)


class Team(SQLModel, table=True):
    __tablename__ = "teams"
    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(unique=True, max_length=100)
    # The calendar an offer's acceptance time runs on (a team on call day and night: 24x7).
    calendar: str = Field(default="24x7", max_length=64)
    # Round-robin offers start after this member (the last one offered).
    round_robin_after: int | None = None


class User(SQLModel, table=True):
    __tablename__ = "users"
    id: int | None = Field(default=None, primary_key=True)
    username: str = Field(unique=True, index=True, max_length=64)
    display_name: str = Field(default="", max_length=100)
    password_hash: str
    department_id: int | None = Field(default=None, foreign_key="departments.id", index=True)
    team_id: int | None = Field(default=None, foreign_key="teams.id", index=True)
    language: str = Field(default="zh", max_length=8)
    email: str | None = Field(default=None, max_length=200)
    active: bool = True
    # Every session and token carries the epoch it was issued in; raising it (sign-out, a new
    # password, deactivation) ends them all at once.
    auth_epoch: int = Field(default=0)
    # Set by an admin's reset and on the first admin: the next sign-in must choose a new password.
    must_change_password: bool = Field(default=False)
    password_changed_at: datetime | None = _when(default=None)
    # "local" (password kept here) or "ldap" (checked against the hospital's directory).
    auth_source: str = Field(default="local", max_length=16)


class UserRole(SQLModel, table=True):
    __tablename__ = "user_roles"
    user_id: int = Field(foreign_key="users.id", primary_key=True)
    role: str = Field(primary_key=True, max_length=32, index=True)


class Definition(SQLModel, table=True):
    """One published version of a process definition, with the exact YAML text."""

    __tablename__ = "definitions"
    __table_args__ = (UniqueConstraint("key", "version"),)
    id: int | None = Field(default=None, primary_key=True)
    key: str = Field(index=True, max_length=64)
    version: int
    yaml_text: str
    checksum: str = Field(max_length=64)
    published_at: datetime = _when()
    published_by: int | None = Field(default=None, foreign_key="users.id")


class Counter(SQLModel, table=True):
    """Sequence behind work order numbers such as RP-2026-000123."""

    __tablename__ = "counters"
    prefix: str = Field(primary_key=True, max_length=8)
    year: int = Field(primary_key=True)
    value: int = 0


class Location(SQLModel, table=True):
    """A place in the hospital's tree (位置): campus → building → floor → room or area.

    `path` holds the ids from the root down ("/1/4/17/"), so "this building and everything in it"
    is one indexed prefix match, whatever the depth."""

    __tablename__ = "locations"
    id: int | None = Field(default=None, primary_key=True)
    code: str = Field(unique=True, max_length=64)
    name: str = Field(max_length=100)
    kind: str = Field(max_length=16)  # campus, building, floor, room, area
    parent_id: int | None = Field(default=None, foreign_key="locations.id")
    path: str = Field(default="", max_length=400, index=True)
    full_name: str = Field(default="", max_length=400)  # the names from the root down, as a place is spoken of
    depth: int = 0
    active: bool = True


class Asset(SQLModel, table=True):
    """A device of the equipment register (设备台账): where it is, who keeps it, and its state."""

    __tablename__ = "assets"
    id: int | None = Field(default=None, primary_key=True)
    asset_no: str = Field(unique=True, max_length=64)
    name: str = Field(max_length=100)
    asset_class: str = Field(max_length=48, index=True)  # one of the classes of definitions/equipment.yaml
    location_id: int | None = Field(default=None, foreign_key="locations.id", index=True)
    department_id: int | None = Field(default=None, foreign_key="departments.id")
    team_id: int | None = Field(default=None, foreign_key="teams.id")
    model: str = Field(default="", max_length=100)
    manufacturer: str = Field(default="", max_length=100)
    supplier: str = Field(default="", max_length=100)
    contractor: str = Field(default="", max_length=100)  # 外包维保: the maintenance contractor
    commissioned_on: date | None = None
    warranty_end: date | None = None
    status: str = Field(default="in_service", max_length=16)  # in_service, under_repair, retired
    repeat_fault_at: datetime | None = _when(default=None)  # when the repeat-fault flag last told the supervisor
    created_at: datetime = _when()


class WorkOrder(SQLModel, table=True):
    __tablename__ = "work_orders"
    __table_args__ = (
        Index("ix_work_orders_dept_state", "department_id", "state"),
        Index("ix_work_orders_assignee_state", "assignee_id", "state"),
        Index("ix_work_orders_process_state", "process", "state"),
        Index("ix_work_orders_created", "created_at"),
        # Open work: the dispatch board, the escalated list; few open rows among years of closed ones.
        Index("ix_work_orders_open", "closed", "assignee_id"),
        # Open work oldest first (the inbox): only the open rows, so years of closed ones are never walked.
        Index("ix_work_orders_open_created", "created_at", "id",
              sqlite_where=text("closed = 0"), postgresql_where=text("closed = false")),
        # Visibility of a clinical user ORs reporter, assignee, first contact and department:
        # each needs an index or the OR becomes a scan of every work order.
        Index("ix_work_orders_first_contact", "first_contact_id"),
    )
    id: int | None = Field(default=None, primary_key=True)
    number: str = Field(unique=True, max_length=32)
    process: str = Field(max_length=64)
    definition_version: int
    state: str = Field(max_length=64, index=True)
    priority: str = Field(default="normal", max_length=16)
    department_id: int | None = Field(default=None, foreign_key="departments.id")
    location: str = Field(default="", max_length=200)  # free text: the detail ("靠窗第二张床"), or all there is
    location_id: int | None = Field(default=None, foreign_key="locations.id", index=True)
    asset_id: int | None = Field(default=None, foreign_key="assets.id", index=True)
    # The work order this one was raised from (a round that found a fault or a hazard): its follow-ups list back.
    origin_id: int | None = Field(default=None, foreign_key="work_orders.id", index=True)
    title: str = Field(max_length=200)
    description: str = ""
    fields: dict = _typed_json(FIELDS_READ_LENGTH)
    reporter_id: int = Field(foreign_key="users.id", index=True)
    assignee_id: int | None = Field(default=None, foreign_key="users.id")
    team_id: int | None = Field(default=None, foreign_key="teams.id")
    first_contact_id: int | None = Field(default=None, foreign_key="users.id")
    # 电话报修 for a caller without an account (engine/orders/callers.py): their name and phone; the work order's
    # department answers for them (confirms, rates, is told). None when the requester has an account.
    caller_name: str | None = Field(default=None, max_length=100)
    caller_phone: str | None = Field(default=None, max_length=32)
    version: int = 1
    escalation_level: int = 0
    reopen_count: int = 0
    urge_count: int = 0  # 催办: how often the department chased it (engine/orders/urging.py)
    urged_at: datetime | None = _when(default=None)
    closed: bool = False
    auto_confirmed: bool = False
    # Facts the cockpit counts, kept as the work order moves (never by a query over its history or timers):
    # it has entered its process's feedback state at least once; one of its SLA timers stopped late.
    reached_feedback: bool = False
    deadline_missed: bool = False
    created_at: datetime = _when()
    updated_at: datetime = _when()
    closed_at: datetime | None = _when(default=None)

    @declared_attr
    def __mapper_args__(cls):
        # Optimistic locking: every UPDATE checks and bumps `version`, so a stale write fails
        # instead of silently overwriting somebody else's change.
        return {"version_id_col": cls.__table__.c.version}


class History(SQLModel, table=True):
    """Append-only: every transition, edit, escalation, notification and feedback, with who and when."""

    __tablename__ = "history"
    __table_args__ = (
        Index("ix_history_order_at", "work_order_id", "id"),
        # The labour the cockpit and the appraisal add up: only the entries that recorded some, with all they read.
        Index("ix_history_labour", "work_order_id", "actor_id", "labour_minutes",
              sqlite_where=text("labour_minutes IS NOT NULL"), postgresql_where=text("labour_minutes IS NOT NULL")),
    )
    id: int | None = Field(default=None, primary_key=True)
    work_order_id: int = Field(foreign_key="work_orders.id")
    at: datetime = _when()
    actor_id: int | None = Field(default=None, foreign_key="users.id")
    kind: str = Field(max_length=32)  # create, transition, update, escalation, notification, feedback, attachment
    event: str | None = Field(default=None, max_length=64)
    from_state: str | None = Field(default=None, max_length=64)
    to_state: str | None = Field(default=None, max_length=64)
    comment: str = ""
    data: dict = _typed_json(HISTORY_READ_LENGTH)
    # A step's labour (计件制工时): the number its process's labour field recorded, when a plain one.
    labour_minutes: float | None = None


class SlaTimer(SQLModel, table=True):
    """One run of a named timer on one work order; a reopened order starts a new cycle."""

    __tablename__ = "sla_timers"
    __table_args__ = (
        UniqueConstraint("work_order_id", "name", "cycle"),
        Index("ix_sla_timers_next_check", "next_check_at"),
        # Overdue now: live timers past their due time, few among the stopped ones.
        Index("ix_sla_timers_status_due", "status", "due_at"),
    )
    id: int | None = Field(default=None, primary_key=True)
    work_order_id: int = Field(foreign_key="work_orders.id", index=True)
    name: str = Field(max_length=64)
    cycle: int = 1
    calendar: str = Field(max_length=64)
    # The published calendars version the due time is computed on (DataVersion "calendars"); a new
    # calendars.yaml never moves it, `houqin sla recompute` does. NULL: started before calendars were
    # versioned, read as the first version stored.
    calendar_version: int | None = None
    target_minutes: float = 0
    target_days: int = 0
    started_at: datetime = _when()
    due_at: datetime = _when(index=True)
    status: str = Field(default="running", max_length=16)  # running, paused, met, breached, cancelled
    paused_at: datetime | None = _when(default=None)
    paused_seconds: float = 0
    stopped_at: datetime | None = _when(default=None)
    working_seconds: float | None = None
    breached: bool = False
    level: int = -1  # highest ladder level fired; -1 none
    # When the sweeper must next look at this timer (the next rung); NULL once nothing is left to fire.
    next_check_at: datetime | None = _when(default=None)


class AutoConfirmTimer(SQLModel, table=True):
    """The wait for a silent requester: started when a work order enters its feedback state,
    cancelled when it leaves, fired by the sweep at `next_check_at` (the system confirms).

    Its own rows, beside the SLA timers and swept through the same kind of index, so that it can
    never be counted as an SLA timer in on-time, overdue or escalated figures.
    """

    __tablename__ = "auto_confirm_timers"
    __table_args__ = (
        UniqueConstraint("work_order_id", "cycle"),
        Index("ix_auto_confirm_timers_next_check", "next_check_at"),
    )
    id: int | None = Field(default=None, primary_key=True)
    work_order_id: int = Field(foreign_key="work_orders.id", index=True)
    cycle: int = 1
    calendar: str = Field(max_length=64)
    calendar_version: int | None = None  # as on SlaTimer
    wait_minutes: float = 0
    wait_days: int = 0
    started_at: datetime = _when()
    due_at: datetime = _when()
    status: str = Field(default="running", max_length=16)  # running, confirmed, cancelled
    stopped_at: datetime | None = _when(default=None)
    next_check_at: datetime | None = _when(default=None)  # the due time while running; NULL after


class DataVersion(SQLModel, table=True):
    """One published version of a data file other than a process: `calendars` or `schedules`.

    Like a definition: the exact text, its checksum, a version number per key. A timer names
    the calendars version it computes on, so a new version never moves a running deadline.
    """

    __tablename__ = "data_versions"
    __table_args__ = (UniqueConstraint("key", "version"),)
    id: int | None = Field(default=None, primary_key=True)
    key: str = Field(max_length=32)
    version: int
    text: str
    checksum: str = Field(max_length=64)
    published_at: datetime = _when()
    published_by: int | None = Field(default=None, foreign_key="users.id")


class Escalation(SQLModel, table=True):
    """A ladder rung that fired. The unique key makes each rung fire once, whoever sweeps."""

    __tablename__ = "escalations"
    __table_args__ = (UniqueConstraint("timer_id", "level"),)
    id: int | None = Field(default=None, primary_key=True)
    timer_id: int = Field(foreign_key="sla_timers.id")
    work_order_id: int = Field(foreign_key="work_orders.id", index=True)
    level: int
    fired_at: datetime = _when()
    recipients: list = Field(default_factory=list, sa_column=Column(JSON, nullable=False))


class Watcher(SQLModel, table=True):
    __tablename__ = "watchers"
    work_order_id: int = Field(foreign_key="work_orders.id", primary_key=True)
    user_id: int = Field(foreign_key="users.id", primary_key=True)


class Notification(SQLModel, table=True):
    """In-app message for one user."""

    __tablename__ = "notifications"
    __table_args__ = (Index("ix_notifications_user_read", "user_id", "read_at"),)
    id: int | None = Field(default=None, primary_key=True)
    user_id: int = Field(foreign_key="users.id")
    work_order_id: int | None = Field(default=None, foreign_key="work_orders.id")
    kind: str = Field(max_length=32)  # assignment, escalation, warning, feedback
    title: str = Field(max_length=300)
    body: str = ""  # what a person wrote (an urge's note, a reason); the engine's own words are in `message`
    # {"code", "params"} said in the reader's language (engine/notify/messages.py); None on rows from before
    message: dict | None = Field(default=None, sa_column=Column(JSON, nullable=True))
    created_at: datetime = _when()
    read_at: datetime | None = _when(default=None)


class Channel(SQLModel, table=True):
    """An outside destination for notifications: webhook, wecom, dingtalk or email."""

    __tablename__ = "channels"
    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(unique=True, max_length=64)
    kind: str = Field(max_length=16)
    target: str = Field(max_length=500)  # robot/webhook URL; for email the SMTP server, smtp://host:port or smtps://host:port
    kinds: str = Field(default="", max_length=200)  # notification kinds sent here; empty = all
    active: bool = True
    recipients: list = Field(default_factory=list, sa_column=Column(JSON, nullable=False))  # email: To addresses
    # email: sender, starttls, username; webhook: headers. Never secret: the API shows it.
    options: dict = _json()
    secret: str = Field(default="", max_length=500)  # DingTalk signing secret or SMTP password; never shown
    language: str = Field(default="zh", max_length=8)  # what its group or mailbox reads: zh or en


class Outbox(SQLModel, table=True):
    """A delivery to send after commit, retried with backoff; failures stay visible."""

    __tablename__ = "outbox"
    __table_args__ = (
        Index("ix_outbox_pending", "status", "next_attempt_at"),
        Index("ix_outbox_channel_status", "channel_id", "status"),  # a channel's delivery counts (admin)
    )
    id: int | None = Field(default=None, primary_key=True)
    channel_id: int = Field(foreign_key="channels.id")
    payload: dict = _json()
    status: str = Field(default="pending", max_length=16)  # pending, sent, failed
    attempts: int = 0
    next_attempt_at: datetime = _when()
    last_error: str = ""
    created_at: datetime = _when()
    sent_at: datetime | None = _when(default=None)


class Feedback(SQLModel, table=True):
    __tablename__ = "feedback"
    id: int | None = Field(default=None, primary_key=True)
    work_order_id: int = Field(foreign_key="work_orders.id", index=True)
    satisfied: bool
    rating: int | None = None
    comment: str = ""
    auto: bool = False
    at: datetime = _when()
    by_id: int | None = Field(default=None, foreign_key="users.id")


class Call(SQLModel, table=True):
    """One follow-up call (回访) the desk made about a work order: kept apart from the requester's ratings
    (`feedback`), so the cockpit counts what the desk heard on the phone on its own (engine/orders/calls.py)."""

    __tablename__ = "calls"
    id: int | None = Field(default=None, primary_key=True)
    work_order_id: int = Field(foreign_key="work_orders.id", index=True)
    reached: bool
    satisfied: bool | None = None  # only when someone was reached
    comment: str = ""
    at: datetime = _when()
    by_id: int = Field(foreign_key="users.id")


class Setting(SQLModel, table=True):
    """Installation-wide values such as the token-signing key."""

    __tablename__ = "settings"
    key: str = Field(primary_key=True, max_length=64)
    value: str


class LoginFailure(SQLModel, table=True):
    """A failed sign-in, kept for the limit's window so every worker process counts the same failures."""

    __tablename__ = "login_failures"
    __table_args__ = (Index("ix_login_failures_who", "username", "address", "at"),)
    id: int | None = Field(default=None, primary_key=True)
    username: str = Field(max_length=64)
    address: str = Field(max_length=64)
    at: datetime = _when(index=True)


class RecurringRun(SQLModel, table=True):
    """One period of a recurring rule (定期工单). The unique key lets each period create one work
    order only, whichever worker gets there first and however often the server restarts."""

    __tablename__ = "recurring_runs"
    __table_args__ = (UniqueConstraint("rule", "scheduled_for"),)
    id: int | None = Field(default=None, primary_key=True)
    rule: str = Field(max_length=64)
    scheduled_for: datetime = _when()
    created_at: datetime = _when()
    late: bool = False  # created after its period had passed (the server was down)
    work_order_id: int | None = Field(default=None, foreign_key="work_orders.id")


class Attachment(SQLModel, table=True):
    """A photo or document on a work order: on disk under a random name, served only as a download."""

    __tablename__ = "attachments"
    id: int | None = Field(default=None, primary_key=True)
    work_order_id: int = Field(foreign_key="work_orders.id", index=True)
    filename: str = Field(max_length=200)  # as uploaded, for the download; never used as a path
    content_type: str = Field(max_length=100)  # found from the bytes, not taken from the upload
    size: int
    sha256: str = Field(max_length=64)
    stored_name: str = Field(unique=True, max_length=64)
    uploaded_by: int | None = Field(default=None, foreign_key="users.id")
    uploaded_at: datetime = _when()


class TeamMember(SQLModel, table=True):
    """A technician of a team, with the skills an offer may require."""

    __tablename__ = "team_members"
    team_id: int = Field(foreign_key="teams.id", primary_key=True)
    user_id: int = Field(foreign_key="users.id", primary_key=True, index=True)
    # Comma-separated (`elevator,plumbing`): read for hundreds of people per routing, so no JSON to decode.
    skills: str = Field(default="", max_length=500)
    lead: bool = False  # the team lead (班长): escalations may name `team_lead`


class Shift(SQLModel, table=True):
    """A team's shift (班次): local hours, on which days of the hospital's calendar.

    `ends` at or before `starts` runs past midnight (night: 17:30-08:00; standby 08:00-08:00 is 24h).
    """

    __tablename__ = "shifts"
    __table_args__ = (UniqueConstraint("team_id", "name"),)
    id: int | None = Field(default=None, primary_key=True)
    team_id: int = Field(foreign_key="teams.id", index=True)
    name: str = Field(max_length=32)  # day, night, standby, ...
    starts: str = Field(max_length=5)  # HH:MM local
    ends: str = Field(max_length=5)
    days: str = Field(default="all", max_length=16)  # all, workdays, restdays (holidays and weekends)
    calendar: str = Field(default="workday", max_length=64)  # which days are workdays (make-up days too)


class RotaEntry(SQLModel, table=True):
    """Who is on a shift on a date (排班): the shift starting that local date."""

    __tablename__ = "rota_entries"
    __table_args__ = (UniqueConstraint("shift_id", "day", "user_id"), Index("ix_rota_entries_day", "day", "shift_id"))
    id: int | None = Field(default=None, primary_key=True)
    shift_id: int = Field(foreign_key="shifts.id")
    day: date
    user_id: int = Field(foreign_key="users.id", index=True)
