"""What Houqin shows: the response models of the API, which the pages render too.

Model families as in FastAPI's full-stack template: `…Base` holds what a
requester gives and everybody sees, `…Create` (in the routers) adds the checks
on what comes in, `…Public` is what goes out. Declaring them on every route puts
each response in the OpenAPI document, so clients (and the fuzzing test) can
rely on it; `extra="forbid"` makes a field the code returns but the model does
not declare fail the tests instead of vanishing from the response.

Times go out as `datetime.isoformat()` (`…+00:00`, `…+08:00`), as they always have.
"""
from dataclasses import fields as dataclass_fields
from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, PlainSerializer, WithJsonSchema, create_model

from engine.sla.escalation import Fired
from workflows.schema import Label

Timestamp = Annotated[
    datetime,
    PlainSerializer(lambda value: value.isoformat(), return_type=str, when_used="json"),
    WithJsonSchema({"type": "string", "format": "date-time"}),
]
Number = int | float  # a whole figure stays whole (5, not 5.0)
Priority = Literal["urgent", "high", "normal", "low"]


class Public(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True, from_attributes=True)


# --- errors --------------------------------------------------------------------------------------

class ErrorPublic(Public):
    """Every refusal, in the caller's Accept-Language (Chinese when absent): `detail` says what to fix, `code`
    names the refusal for scripts; `errors` (when given) says it per field or per line, each with its `code`."""

    detail: str
    code: str | None = Field(default=None, description="what went wrong, stable across languages, e.g. "
                                                        "event_not_allowed, fields_invalid, http_404")
    errors: list[dict[str, Any]] | None = Field(default=None, description="per field ({field, code, message}) or per "
                                                                              "line ({line, column, message})")


ERROR_TEXT = {
    400: "the request is malformed", 401: "not signed in", 403: "the caller may not do this",
    404: "no such thing (or not visible to the caller)", 409: "conflicts with the current state or version",
    411: "the upload has no Content-Length", 413: "the body is over the limit the message names",
    415: "not a media type this route takes: a body that is not JSON, or a file type Houqin does not accept",
    422: "invalid input, per field", 429: "too many, too soon: failed sign-ins, or an urge within the hour",
}


def errors(*codes: int) -> dict[int | str, dict[str, Any]]:
    """The `responses=` of a route: the refusals it really gives, all shaped as ErrorPublic."""
    return {code: {"model": ErrorPublic, "description": ERROR_TEXT[code]} for code in codes}


def files(*media_types: str, description: str) -> dict[int | str, dict[str, Any]]:
    """A 200 that is a file download, in one of `media_types`."""
    binary = {"schema": {"type": "string", "format": "binary"}}
    return {200: {"description": description, "content": {media: binary for media in media_types}}}


# --- auth ----------------------------------------------------------------------------------------

class TokenPublic(Public):
    access_token: str
    token_type: Literal["bearer"]


class MePublic(Public):
    username: str
    display_name: str | None
    roles: list[str]
    department_id: int | None
    language: str
    must_change_password: bool = Field(default=False, description="true: only /me, /auth/password and /auth/logout "
                                                                   "answer until the password is changed")


class PasswordResetPublic(Public):
    username: str
    temporary_password: str = Field(description="hand it to the user, who must replace it at the next sign-in")
    must_change_password: bool


# --- work orders ---------------------------------------------------------------------------------

class TimerPublic(Public):
    """One SLA timer of a work order; `breached` is engine.sla.lateness's "late" at the time of the response."""

    name: str
    label: Label | None
    cycle: int
    calendar: str
    calendar_version: int | None = Field(default=None, description="the calendars version its due time is computed on")
    started_at: Timestamp
    due_at: Timestamp
    state: str
    breached: bool
    level: int
    remaining_seconds: Number | None = Field(description="working time left; negative once late; null once stopped")
    stopped_at: Timestamp | None
    working_seconds: Number | None


class HistoryEntryPublic(Public):
    id: int
    at: Timestamp
    kind: str
    actor: str | None = Field(description="username; null for the system")
    event: str | None
    from_: str | None = Field(alias="from", serialization_alias="from")
    to: str | None
    comment: str | None
    data: dict[str, Any]


class EscalationPublic(Public):
    level: int
    fired_at: Timestamp
    recipients: list[str]


class WorkOrderBase(Public):
    """What a requester gives; stored as given."""

    title: str
    description: str
    priority: Priority
    location: str
    fields: dict[str, Any]


class WorkOrderRowPublic(WorkOrderBase):
    """A work order in a list: who, where, which state, and its timers."""

    location_id: int | None = Field(description="its node of the location tree")
    place: str | None = Field(description="that node's full name, e.g. 本部 / 住院楼 / 5F / 512病房")
    asset_id: int | None = Field(description="the device it is about")
    asset: str | None = Field(description="that device's asset number and name")
    origin_id: int | None = Field(default=None, description="the work order this one was raised from (a round's follow-up)")
    id: int
    number: str
    process: str
    definition_version: int
    version: int
    state: str
    department: str | None
    reporter: str | None
    assignee: str | None
    first_contact: str | None
    escalation_level: int
    reopen_count: int
    urge_count: int = Field(description="how often the requesting department urged it (催办)")
    urged_at: Timestamp | None = Field(description="when it was last urged; it may be urged again an hour later")
    closed: bool
    auto_confirmed: bool
    created_at: Timestamp
    updated_at: Timestamp
    closed_at: Timestamp | None
    sla: list[TimerPublic]


class LinkedOrderPublic(Public):
    """Another work order named by this one: its origin or one of its follow-ups."""

    id: int
    number: str
    process: str
    title: str
    state: str
    closed: bool


class CallerPublic(Public):
    """Someone without an account who phoned the request in (电话报修); their department answers for them."""

    name: str
    phone: str | None


class WorkOrderPublic(WorkOrderRowPublic):
    """One work order with what the caller may do now, its escalations and its whole history."""

    caller: CallerPublic | None = Field(default=None, description="the caller without an account the service desk "
                                        "filed it for; null when the reporter is the requester")
    available_events: list[str]
    escalations: list[EscalationPublic]
    history: list[HistoryEntryPublic]
    origin: LinkedOrderPublic | None = Field(default=None, description="the work order this one was raised from")
    follow_ups: list[LinkedOrderPublic] = Field(default=[], description="repairs and hazards raised from this one "
                                                "(POST /workorders/{id}/follow-ups), oldest first")


class RiskReasonPublic(Public):
    """Why: the group of similar timers that answered, how many of them were still running at this share."""

    text: str = Field(description="in the caller's language, e.g. 同类工单 82% 在剩余时间内未完成")
    group: dict[str, Any] = Field(description="what the similar work orders share: process, timer, and as many of "
                                              "priority, category, team, state as had enough of them")
    similar: int = Field(description="similar timers still running at this share of their target")
    used: float = Field(description="share of its target the timer has used (pauses left out)")


class RiskPublic(Public):
    """The chance the work order misses a deadline: its riskiest running timer's."""

    probability: float
    timer: str
    threshold: float = Field(description="its timer's `at_risk`: listed from this probability")
    reason: RiskReasonPublic


class WorkOrderListItemPublic(WorkOrderRowPublic):
    risk: RiskPublic | None = Field(default=None, description="with at_risk=true: why it is listed; null otherwise")


class WorkOrdersPublic(Public):
    items: list[WorkOrderListItemPublic]
    total: int
    limit: int
    offset: int


# --- inbox ---------------------------------------------------------------------------------------

class InboxItemPublic(WorkOrderRowPublic):
    """A work order waiting for the caller, with every event they may fire on it now."""

    available_events: list[str]


class InboxGroupPublic(Public):
    """The work orders waiting for one event of one process, oldest first (up to `limit`)."""

    process: str
    event: str
    label: Label
    verdict: bool = Field(description="the event is the reporter's verdict on the result: "
                                      "waiting for the caller's confirmation")
    count: int = Field(description="how many wait, all of them, whatever the limit")
    items: list[InboxItemPublic]


class InboxPublic(Public):
    total: int
    groups: list[InboxGroupPublic]


# --- follow-up calls -----------------------------------------------------------------------------

class CallDuePublic(WorkOrderRowPublic):
    """A work order due its follow-up call (回访), with the attempts that reached nobody so far."""

    call_by: Timestamp | None = Field(description="past this it is no longer called (the definition's "
                                                  "calls.within after closing); null: no limit")
    picked: Literal["always", "sampled"] = Field(description="always: its priority (or every work order) is "
                                                             "called; sampled: its number fell in the sampled share")
    attempts: int = Field(description="calls recorded that reached nobody")
    last_attempt_at: Timestamp | None


class CallsPublic(Public):
    """GET /calls: the follow-up calls the caller may make, longest waiting first."""

    items: list[CallDuePublic]
    total: int
    limit: int
    offset: int


# --- processes -----------------------------------------------------------------------------------

class ProcessVersionPublic(Public):
    version: int
    published_at: Timestamp


class ProcessSummaryPublic(ProcessVersionPublic):
    key: str
    title: Label


class StatePublic(Public):
    name: str
    label: Label
    initial: bool
    final: bool


class EventPublic(Public):
    name: str
    label: Label
    from_: list[str] = Field(alias="from", serialization_alias="from")
    to: str
    roles: list[str]
    fields: dict[str, str]
    assigns: str | None
    comment: str
    condition: str | None


class ProcessDescribed(ProcessSummaryPublic):
    number_prefix: str
    initial_state: str
    states: list[StatePublic]
    events: list[EventPublic]
    fields: dict[str, dict[str, Any]]
    sla: dict[str, dict[str, Any]]
    feedback: dict[str, Any] | None
    yaml: str
    diagram: str = Field(description="Mermaid state diagram")


class ProcessPublic(ProcessDescribed):
    versions: list[ProcessVersionPublic]


class ProcessPublished(ProcessDescribed):
    created: bool = Field(description="false: the text was the current version already")


class DefinitionProblemPublic(Public):
    line: int
    column: int
    code: str | None = Field(default=None, description="what is wrong, stable across languages (when known)")
    message: str = Field(description="in the caller's Accept-Language")


class DefinitionCheckPublic(Public):
    valid: bool
    errors: list[DefinitionProblemPublic]
    diagram: str | None = Field(default=None, description="only when valid")


# --- SLA sweep -----------------------------------------------------------------------------------

# One rung that fired: the engine's own record (engine.sla.escalation.Fired), field for field.
FiredPublic = create_model("FiredPublic", __base__=Public, **{
    item.name: (Timestamp | None if item.name == "at" else item.type, ...) for item in dataclass_fields(Fired)})


class SweepPublic(Public):
    now: Timestamp
    count: int
    fired: list[FiredPublic]


# --- dashboard -----------------------------------------------------------------------------------

class OnTimePublic(Public):
    met: int
    ended: int
    rate: float | None
    average_minutes: float | None


class TimerFiguresPublic(OnTimePublic):
    process: str
    timer: str
    label: Label | None


class ResponseTimesPublic(Public):
    count: int
    average: float | None
    median: float | None
    p90: float | None


class ProcessResponseTimesPublic(ResponseTimesPublic):
    timer: str


class LabourPublic(Public):
    technician: str | None
    minutes: Number
    work_orders: int


class CategoryCountPublic(Public):
    process: str
    category: str
    count: int


class LocationCountPublic(Public):
    location: str
    count: int


class TargetPublic(Public):
    """One target of definitions/targets.yaml against its figure (engine/reports/targets.py)."""

    name: str
    label: Label
    figure: str
    unit: Literal["rate", "minutes"]
    lower_is_better: bool
    target: float | None = Field(description="the value to reach; none for a faster-than target with no baseline figure")
    actual: float | None = Field(description="the figure; none when nothing was measured")
    met: bool | None = Field(description="none when either side is missing")
    gap: float | None = Field(description="how far past the target (positive) or short of it (negative)")
    baseline: float | None = Field(description="the figure over the baseline months")
    change: float | None = Field(description="actual minus baseline")


class FiguresPublic(Public):
    total: int
    by_state: dict[str, int]
    by_process: dict[str, int]
    by_department: dict[str, int]
    on_time_rate: float | None
    on_time: dict[str, OnTimePublic]
    average_response_minutes: float | None
    satisfaction_rate: float | None
    ratings: int
    overdue: int = Field(description="open work orders late now (engine.sla.lateness)")
    escalated: int
    completed: int
    completion_rate: float | None
    response_minutes: ResponseTimesPublic
    response_by_process: dict[str, ProcessResponseTimesPublic]
    timers: list[TimerFiguresPublic]
    reopened: int
    reached_feedback: int
    reopen_rate: float | None
    urged: int = Field(description="work orders their department urged (催办) at least once")
    urges: int = Field(description="urges in all")
    calls: int = Field(description="follow-up calls (回访) that reached the requester; never counted as ratings")
    calls_unreached: int = Field(description="follow-up calls that reached nobody (each may be tried again)")
    call_satisfaction_rate: float | None = Field(description="share of the calls that reached someone who was satisfied")
    average_rating: float | None
    auto_confirmed: int
    auto_confirmed_share: float | None
    breached: int = Field(description="work orders that were late at some point")
    escalated_total: int
    hazards_open: int
    hazards_closed_out: int
    labour_minutes: Number
    labour_by_technician: list[LabourPublic]
    top_categories: list[CategoryCountPublic]
    top_locations: list[LocationCountPublic]
    targets: list[TargetPublic] = Field(description="each target of definitions/targets.yaml against this figure")


class MonthFiguresPublic(FiguresPublic):
    month: str = Field(description="YYYY-MM, local time")


class TrendLinePublic(Public):
    id: int | None = Field(description="the device's or place's id; none for a device class")
    name: str
    counts: list[int] = Field(description="failures in each month of `months`")
    total: int


class DeviceFailuresPublic(Public):
    asset_id: int
    name: str
    asset_class: str
    failures: int


class DeviceRepairTimePublic(Public):
    asset_id: int
    name: str
    asset_class: str
    repaired: int
    mttr_hours: float = Field(description="mean calendar time from report to repair")


class FaultTrendsPublic(Public):
    """Failures (repair work orders not cancelled) month by month: engine/reports/fault_trends.py."""

    level: Literal["building", "floor"]
    months: list[str]
    by_class: list[TrendLinePublic]
    by_asset: list[TrendLinePublic]
    by_location: list[TrendLinePublic]
    most_failures: list[DeviceFailuresPublic]
    longest_repairs: list[DeviceRepairTimePublic]


class DashboardPublic(FiguresPublic):
    by_month: list[MonthFiguresPublic]
    fault_trends: FaultTrendsPublic


# --- appraisal -----------------------------------------------------------------------------------

class AppraisalFiguresPublic(Public):
    """What one person or team finished in the month (engine/reports/appraisal.py)."""

    done: int = Field(description="work orders closed in the month in a state that is work done")
    points: float = Field(description="piece-rate points (计件) of those, per definitions/appraisal.yaml")
    on_time_rate: float | None
    on_time_met: int
    on_time_ended: int
    satisfaction_rate: float | None = Field(description="of the requesters' real ratings, never confirmations by silence")
    ratings: int
    satisfied: int
    reworked: int = Field(description="done work orders sent back for rework at least once")
    rework_rate: float | None
    urged: int = Field(description="done work orders their department urged")
    labour_minutes: Number = Field(description="labour recorded in the month, on any work order")


class AppraisalPersonPublic(AppraisalFiguresPublic):
    user: str
    name: str
    team: str | None


class AppraisalTeamPublic(AppraisalFiguresPublic):
    team: str


class AppraisalPublic(Public):
    month: str
    people: list[AppraisalPersonPublic]
    teams: list[AppraisalTeamPublic] = Field(description="empty for a technician, who sees their own line only")


# --- notifications -------------------------------------------------------------------------------

class NotificationPublic(Public):
    id: int
    kind: str
    title: str
    body: str
    work_order_id: int | None
    created_at: Timestamp
    read_at: Timestamp | None


class NotificationReadPublic(Public):
    id: int
    read_at: Timestamp


class NotificationsReadPublic(Public):
    """After `POST /notifications/read`: how many were marked now, and how many stay unread."""

    read: int
    unread: int


# --- channels ------------------------------------------------------------------------------------

class ChannelPublic(Public):
    id: int
    name: str
    kind: str
    target: str
    kinds: list[str]
    recipients: list[str]
    options: dict[str, Any]
    has_secret: bool
    active: bool
    language: str = Field(description="what the group or mailbox reads (zh, en): every delivery is written in it")
    deliveries: dict[str, int] = Field(description="deliveries by status: pending, sent, failed")


class DeliveryPublic(Public):
    id: int
    channel_id: int
    channel: str
    status: str
    attempts: int
    last_error: str | None
    created_at: Timestamp
    next_attempt_at: Timestamp | None
    sent_at: Timestamp | None
    kind: str | None
    title: str | None
    work_order: Any = None


class DeliveriesPublic(Public):
    total: int
    items: list[DeliveryPublic]


# --- ledger --------------------------------------------------------------------------------------

class LedgerColumnPublic(Public):
    key: str
    label: str


class InspectionPublic(Public):
    round: int
    result: Literal["passed", "failed"]
    event: str
    by: str | None
    at: Timestamp
    comment: str | None


class LedgerRowPublic(Public):
    id: int
    number: str
    found_at: Timestamp
    title: str
    place: str | None = Field(default=None, description="the place of the location tree (full name)")
    location: str
    found_by: str | None
    department: Any = None
    fields: dict[str, Any]
    deadline: Timestamp | None
    status: str
    status_label: Label | None
    overdue: bool
    inspections: list[InspectionPublic]
    failed_rounds: int
    closed_out_by: str | None
    closed_out_at: Timestamp | None


class LedgerPublic(Public):
    process: str
    title: Label
    columns: list[LedgerColumnPublic]
    items: list[LedgerRowPublic]
    total: int
    limit: int
    offset: int


# --- attachments, test clock ---------------------------------------------------------------------

class AttachmentPublic(Public):
    id: int
    work_order_id: int
    filename: str
    content_type: str
    size: int
    sha256: str
    uploaded_at: Timestamp
    url: str


class ClockPublic(Public):
    now: Timestamp
