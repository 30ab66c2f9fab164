"""What happens to each work order of the demo history: its steps, who takes them and when, drawn at random.

Each story walks its process by event names only; the definition says where each event leads (and refuses
an event its state does not allow), so a story cannot invent a transition. Steps falling after "now" are
not taken: the work order is still open there, in whatever state it had reached, with its timers running.

Durations are lognormal around a median per category and team: some categories (lifts, medical equipment)
and some teams systematically slower, nights slower to answer, repairs put on hold while parts are awaited.
Steps on a working-hours target are mostly taken in working hours, as people work them.
"""
import math
import random
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import numpy as np

from engine.demo.staff import Staff
from workflows.calendars import BusinessCalendar
from workflows.schema import ProcessDefinition

MINUTE = timedelta(minutes=1)


@dataclass(frozen=True)
class Verdict:
    satisfied: bool
    rating: int | None
    auto: bool = False
    comment: str = ""


@dataclass
class Move:
    """One step: at `at`, `event` (None: the creation) took the work order into `state`."""

    at: datetime
    event: str | None
    from_state: str | None
    state: str
    actor: int | None
    values: dict = field(default_factory=dict)
    assignee: int | None = None
    comment: str = ""
    verdict: Verdict | None = None


@dataclass
class Order:
    process: str
    filed: datetime
    reporter: int
    title: str
    priority: str
    fields: dict
    department_id: int | None
    location: str = ""
    location_id: int | None = None
    asset_id: int | None = None
    team_id: int | None = None
    routing: dict | None = None  # the dispatch decision written when it was filed
    run: tuple[str, datetime, str] | None = None  # recurring: (key, period, rule)
    moves: list[Move] = field(default_factory=list)


class Story:
    """Writes an order's moves in time order, up to `until`."""

    def __init__(self, order: Order, definition: ProcessDefinition, until: datetime, calendars):
        self.order, self.definition, self.until, self.calendars = order, definition, until, calendars
        self.workday: BusinessCalendar = calendars("workday")
        self.state, self.at, self.open = definition.initial_state, order.filed, True
        self.assignee: int | None = None
        order.moves.append(Move(order.filed, None, None, self.state, order.reporter))

    def do(self, event: str, at: datetime, actor: int | None, *, values: dict | None = None,
           assignee: int | None = None, comment: str = "", verdict: Verdict | None = None) -> bool:
        """Take `event` at `at` (never before the last step); False once past `until` (nothing more happens)."""
        at = max(at, self.at + timedelta(seconds=1)).replace(microsecond=0)
        if not self.open or at > self.until:
            self.open = False
            return False
        spec = self.definition.event(event, self.state)
        if spec is None:
            raise ValueError(f"{self.order.process}: no event {event!r} from {self.state!r}")
        if assignee is not None:
            self.assignee = assignee
        self.order.moves.append(Move(at, event, self.state, spec.to, actor, values or {}, assignee, comment, verdict))
        self.state, self.at = spec.to, at
        return True

    def wall(self, minutes: float) -> datetime:
        return self.at + minutes * MINUTE

    def working(self, minutes: float) -> datetime:
        """`minutes` of working time later, on the hospital's working hours."""
        return self.workday.add(self.at, minutes=minutes)


class Chance:
    """The random draws, all from one seed: Python's generator for the many small draws (numpy's costs more
    per call than it saves), numpy's for the daily counts (Poisson)."""

    def __init__(self, seed: int):
        self.rng = random.Random(seed)
        self.counts = np.random.default_rng(seed)

    def lognormal(self, median: float, sigma: float) -> float:
        return median * math.exp(sigma * self.rng.gauss(0.0, 1.0))

    def p(self, probability: float) -> bool:
        return self.rng.random() < probability

    def pick(self, items, weights=None):
        if weights is None:
            return items[self.rng.randrange(len(items))]
        return self.rng.choices(items, weights)[0]


def night(at: datetime, zone) -> bool:
    hour = at.astimezone(zone).hour
    return hour >= 22 or hour < 7


# --- repair -------------------------------------------------------------------------------------------

# Work on site in minutes (median), how often parts are waited for, and how the team's pace compares.
WORK = {"electrical": 45, "plumbing": 40, "hvac": 80, "elevator": 110, "medical_equipment": 130, "medical_gas": 35,
        "building": 70, "other": 35}
PARTS = {"electrical": 0.05, "plumbing": 0.06, "hvac": 0.15, "elevator": 0.18, "medical_equipment": 0.22,
         "medical_gas": 0.05, "building": 0.08, "other": 0.03}
PACE = {"水电班": 1.0, "空调班": 1.15, "电梯班": 1.1, "医用气体班": 0.9, "综合维修班": 1.25, "医学工程班": 1.35}
PART_NAMES = {"electrical": ["空气开关", "LED灯管", "插座面板"], "plumbing": ["阀芯", "软管", "下水管件"],
              "hvac": ["冷凝水泵", "温控面板", "滤网"], "elevator": ["门机皮带", "按钮板", "限位开关"],
              "medical_equipment": ["电池组", "传感器", "打印头"], "medical_gas": ["密封圈", "流量表"],
              "building": ["门锁", "合页", "石膏板"], "other": ["轨道滑轮", "螺丝"]}
COMPLAINTS_ABOUT_REPAIRS = ["还是漏水", "修完第二天又坏了", "声音还在", "温度还是不对", "没有修好"]
CANCEL_REASONS = ["重复报修", "已自行处理", "报错科室"]


def repair(story: Story, staff: Staff, chance: Chance, routing: dict, zone) -> None:
    order, c = story.order, chance
    category, priority = order.fields["category"], order.priority
    team = routing.get("team")
    pace = PACE.get(team, 1.2)
    dispatcher = c.pick(staff.with_role("dispatcher"))
    if c.p(0.025):  # filed by mistake, or fixed by the ward itself
        if routing["strategy"] == "offer":
            story.do("assign", story.at, None, assignee=routing["person_id"], comment=routing["comment"])
        story.do("cancel", story.wall(c.lognormal(15, 0.8)), order.reporter, comment=c.pick(CANCEL_REASONS))
        return
    quick = priority in ("urgent", "high")
    # response: minutes to take it, slower at night; working-hours targets are mostly answered in working hours
    if quick:
        respond = c.lognormal(6 if priority == "urgent" else 10, 0.6) * (1.7 if night(order.filed, zone) else 1.0)
        accepted_at = story.wall(respond)
    elif c.p(0.3):
        accepted_at = story.wall(c.lognormal(45, 0.9) * (2 if night(order.filed, zone) else 1))
    else:
        accepted_at = story.working(c.lognormal(30 if priority == "normal" else 150, 0.85) * pace)
    technician = routing.get("person_id")
    if routing["strategy"] == "offer":
        story.do("assign", story.at, None, assignee=technician, comment=routing["comment"])
        story.do("accept", accepted_at, technician)
    elif routing["strategy"] == "pool":
        technician = c.pick(staff.team_members(team))
        story.do("claim", accepted_at, technician)
        story.assignee = technician
    else:
        team = {"medical_equipment": "医学工程班"}.get(category, "综合维修班")
        technician = c.pick(staff.team_members(team))
        assign_at = story.at + (accepted_at - story.at) * c.rng.uniform(0.2, 0.6)
        story.do("assign", assign_at, dispatcher, assignee=technician)
        story.do("accept", accepted_at, technician)
    for visit in range(2):
        if not _fix(story, c, category, pace, quick, technician, zone):
            return
        verdict_at, verdict = _verdict(story, c, reopened=visit > 0)
        if verdict.auto:
            story.do("confirm", verdict_at, None, verdict=verdict)
            return
        if verdict.satisfied:
            story.do("confirm", verdict_at, order.reporter, verdict=verdict)
            return
        if not story.do("reopen", verdict_at, order.reporter, comment=verdict.comment, verdict=verdict):
            return
        story.do("accept", story.wall(c.lognormal(40, 0.8)), technician)


def _fix(story: Story, c: Chance, category: str, pace: float, quick: bool, technician: int, zone) -> bool:
    """Travel, work (perhaps waiting for parts) and resolve; False once past `until`."""
    travel = c.lognormal(10 if quick else 35, 0.7)
    started = story.wall(travel) if quick else story.working(travel)
    if not story.do("start", started, technician):
        return False
    work = c.lognormal(WORK[category] * pace, 0.75)
    if c.p(PARTS[category]):
        if not story.do("hold", story.wall(work * c.rng.uniform(0.2, 0.5)), technician,
                        values={"hold_reason": "waiting_parts" if c.p(0.85) else "waiting_access"}):
            return False
        if not story.do("resume", story.working(c.lognormal(600, 0.8)), technician):
            return False
    labour = max(5, int(round(work * c.rng.uniform(0.55, 0.95) / 5)) * 5)
    values = {"labour_minutes": labour}
    if c.p(0.4):
        values["parts"] = [c.pick(PART_NAMES[category])]
    done = story.wall(work) if quick or c.p(0.6) else story.working(work)
    return story.do("resolve", done, technician, values=values)


def _verdict(story: Story, c: Chance, *, reopened: bool, comment_field: str | None = None) -> tuple[datetime, Verdict]:
    """The requester's verdict and when: silence past the declared wait confirms it by itself."""
    wait = story.definition.feedback.auto_confirm
    due = story.calendars(wait.calendar).add(story.at, minutes=wait.after.minutes, working_days=wait.after.days) if wait else None
    answer = story.wall(c.lognormal(240, 1.3))
    if due is not None and (c.p(0.22) or answer >= due):
        return due, Verdict(True, None, auto=True)
    if c.p(0.02 if reopened else 0.045):
        return answer, Verdict(False, c.pick([1, 2, None]), comment=c.pick(COMPLAINTS_ABOUT_REPAIRS))
    return answer, Verdict(True, c.pick([5, 4, 3, 2], [72, 21, 6, 1]))


# --- material request ------------------------------------------------------------------------------

REJECTIONS = ["预算不足，下季度再申请", "请与上月申领合并", "规格不符，请重新填写"]


def procurement(story: Story, staff: Staff, chance: Chance) -> None:
    order, c = story.order, chance
    heads = staff.in_department(order.department_id, "dept_head")
    head, logistics, purchaser = c.pick(heads), c.pick(staff.with_role("logistics")), c.pick(staff.with_role("purchaser"))
    urgent = order.priority == "urgent"
    step = (lambda median: story.wall(c.lognormal(median / 3, 0.7))) if urgent else (
        lambda median: story.working(c.lognormal(median, 0.9)))
    if c.p(0.05):
        story.do("reject", step(120), head, comment=c.pick(REJECTIONS))
        return
    if not story.do("approve", step(90), head):
        return
    if c.p(0.03):
        story.do("reject", step(120), logistics, comment=c.pick(REJECTIONS))
        return
    from_stock = urgent or c.p(0.45)
    if not story.do("review", step(100), logistics, values={"from_stock": from_stock}):
        return
    if not from_stock:
        if order.fields["amount"] >= 50000 and not story.do("approve_leader", step(420), c.pick(staff.with_role("leader"))):
            return
        if not story.do("purchase", step(240), purchaser, values={"purchase_method": c.pick(["inquiry", "framework", "tender"], [6, 3, 1])}):
            return
        if not story.do("order", step(420), purchaser, values={"supplier": c.pick(SUPPLIERS)}):
            return
        if not story.do("receive", step(900), purchaser):
            return
    for attempt in range(2):
        if not story.do("deliver", step(240), logistics):
            return
        at, verdict = _verdict(story, c, reopened=attempt > 0)
        if verdict.satisfied or attempt:
            story.do("confirm", at, None if verdict.auto else order.reporter,
                     verdict=verdict if verdict.satisfied else Verdict(True, 3))
            return
        if not story.do("reopen", at, order.reporter, comment="数量不符", verdict=Verdict(False, None, comment="数量不符")):
            return


SUPPLIERS = ["国药控股", "九州通医药", "本地五金商行", "京东企业购", "联想医疗"]


# --- hazard --------------------------------------------------------------------------------------------

FIX_DAYS = {"major": 0.4, "high": 1.3, "medium": 3.0, "low": 6.0}  # rectification, in working days (major: days)
RESPONSIBLE = {"fire": ("水电班", "保卫科"), "security": ("综合维修班", "保卫科"), "facility": ("综合维修班", "后勤保障部"),
               "special_equipment": ("电梯班", "后勤保障部")}
FAILED = ["灭火器仍未更换", "通道仍有杂物", "整改不彻底，需加装防护", "标识未张贴"]


def hazard(story: Story, staff: Staff, chance: Chance) -> None:
    order, c = story.order, chance
    inspector, risk = order.reporter, order.fields["risk_level"]
    team, department = RESPONSIBLE[order.fields["category"]]
    technician = c.pick(staff.team_members(team))
    supervisor = c.pick(staff.with_role("supervisor"))
    if not story.do("register", story.wall(c.lognormal(20, 0.6)), inspector):
        return
    if not story.do("assign", story.working(c.lognormal(90, 0.8)), supervisor, assignee=technician,
                    values={"responsible_department": department}):
        return
    if not story.do("start", story.working(c.lognormal(120, 0.9)), technician):
        return
    major = risk == "major"
    for attempt in range(3):
        days = c.lognormal(FIX_DAYS[risk] * (0.5 if attempt else 1), 0.6)
        done = story.wall(days * 24 * 60) if major else story.working(days * 9.5 * 60)
        if not story.do("submit_fix", done, technician, values={"measures": "已按要求整改并拍照留档"}):
            return
        checker = c.pick([uid for uid in staff.with_role("inspector") if uid != technician])
        checked = story.wall(c.lognormal(180, 0.7)) if major else story.working(c.lognormal(420, 0.8))
        if attempt < 2 and c.p(0.15):
            if not story.do("fail", checked, checker, comment=c.pick(FAILED)):
                return
            continue
        story.do("pass", checked, checker)
        return


# --- complaint -----------------------------------------------------------------------------------------

HANDLERS = {"食堂": "canteen", "保洁": "cleaning", "停车": "security", "维修": "logistics2", "服务": "logistics"}
UNSATISFIED = ["答复不具体", "问题仍然存在", "希望领导出面"]


def complaint(story: Story, staff: Staff, chance: Chance, topic: str) -> None:
    order, c = story.order, chance
    desk = staff.with_role("dispatcher")
    accepter = order.reporter if order.reporter in desk else c.pick(desk)
    quick = order.priority == "urgent"
    if not story.do("accept", story.wall(c.lognormal(8, 0.6)) if quick else story.working(c.lognormal(40, 0.9)), accepter):
        return
    handler = staff.ids.get(HANDLERS[topic]) or c.pick(staff.with_role("logistics"))
    for attempt in range(2):
        if not story.do("assign", story.wall(c.lognormal(20, 0.7)), accepter, assignee=handler):
            return
        if not story.do("start", story.working(c.lognormal(90, 0.8)), handler):
            return
        replied = story.wall(c.lognormal(100, 0.6)) if quick else story.working(c.lognormal(700 if attempt == 0 else 400, 0.8))
        if not story.do("reply", replied, handler, values={"reply": "已核实情况并整改，感谢您的监督"}):
            return
        caller = c.pick([uid for uid in desk if uid != handler])
        called = story.working(c.lognormal(240, 0.8))
        if attempt == 0 and c.p(0.08):
            comment = c.pick(UNSATISFIED)
            if not story.do("reopen", called, caller, values={"followup_answer": comment}, comment=comment,
                            verdict=Verdict(False, c.pick([1, 2]), comment=comment)):
                return
            continue
        comment = "回访满意"
        story.do("confirm", called, caller, values={"followup_answer": comment}, comment=comment,
                 verdict=Verdict(True, c.pick([5, 4, 3], [70, 24, 6]), comment=comment))
        return


# --- rounds ------------------------------------------------------------------------------------------------

ROUND_TEAMS = {"elevator": "电梯班", "hvac": "空调班", "power": "水电班", "disinfection": "保洁消毒班",
               "air_purification": "空调班", "medical_gas": "医用气体班", "safety_inspection": "综合维修班", "other": "综合维修班"}
ROUND_MINUTES = {"elevator": 60, "hvac": 70, "power": 45, "disinfection": 50, "air_purification": 240,
                 "medical_gas": 40, "safety_inspection": 300, "other": 60}
FINDINGS = {"elevator": "轿厢照明一处不亮", "hvac": "冷凝水盘积水", "power": "一路电缆温度偏高", "disinfection": "消毒液浓度偏低",
            "air_purification": "初效滤网需更换", "medical_gas": "一处终端轻微漏气", "safety_inspection": "两处灭火器压力不足",
            "other": "需跟进"}


def round_(story: Story, staff: Staff, chance: Chance) -> None:
    order, c = story.order, chance
    category = order.fields["category"]
    technician = c.pick(staff.team_members(ROUND_TEAMS[category]))
    dispatcher = c.pick(staff.with_role("dispatcher"))
    if c.p(0.015):
        story.do("skip", story.wall(c.lognormal(30, 0.5)), dispatcher, comment="设备停用检修，本次取消")
        return
    if not story.do("assign", story.wall(c.lognormal(12, 0.6)), dispatcher, assignee=technician):
        return
    quick = order.priority in ("urgent", "high")
    start = story.wall(c.lognormal(20, 0.7)) if quick or c.p(0.7) else story.working(c.lognormal(120, 1.0))
    if not story.do("start", start, technician):
        return
    minutes = c.lognormal(ROUND_MINUTES[category], 0.4)
    issues = c.p(0.08)
    values = {"result": "issues_found" if issues else "normal",
              "labour_minutes": max(10, int(round(minutes * c.rng.uniform(0.8, 1.0) / 5)) * 5)}
    if issues:
        values["findings"] = FINDINGS[category]
    story.do("complete", story.wall(minutes), technician, values=values)
