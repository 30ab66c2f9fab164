"""Months of history for the demo hospital (1,500 beds), before the demo's "now".

Work orders of every shipped process arrive with a hospital's rhythm: more in the morning, fewer at
night, on weekends and on public holidays (the `workday` calendar knows which days those are, make-up
working days included); rounds come from the published schedule, period by period, as the recurring
rules would have made them. What happens to each is drawn in engine/demo/stories.py and written in
engine/demo/rows.py through the engine's own timer rules, so the live engine carries on from "now": open
work orders wait in every state with their timers running, the sweeper finds nothing overdue that it
has not already fired.

Reproducible: one seeded generator draws everything, in a fixed order.
"""
import time
from collections import Counter as Tally
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from sqlmodel import Session, select

from engine import settings
from engine.demo.staff import DEPARTMENTS, Staff, hire, roster
from engine.demo.stories import Chance, Order, Story, complaint, hazard, procurement, repair, round_
from engine.demo.rows import Writer
from engine.dispatch import routing as dispatch_routing
from engine.foresight import journeys
from engine.orders import recurring
from engine.published import definitions as published
from engine.sla import calendar
from engine.storage.models import Asset, Location
from workflows.dispatch import ASSET_TEAM

DEFAULT_MONTHS = 6
DEFAULT_SEED = 2026
DAYS_PER_MONTH = 30.44

# Arrivals per hour of the day (local), as shares of a day; a hospital files most between 8 and 12.
REPAIR_HOURS = [0.6, 0.4, 0.3, 0.3, 0.3, 0.5, 1.0, 2.2, 5.0, 6.0, 5.6, 4.6, 2.8, 3.0, 4.4, 4.6, 4.0, 3.2, 2.2, 1.8,
                1.6, 1.4, 1.1, 0.8]
OFFICE_HOURS = [0.05] * 8 + [3, 4, 4, 3, 0.5, 2, 3, 3, 2, 0.5] + [0.05] * 6
ROUND_HOURS = [0.1] * 8 + [2, 4, 4, 3, 1, 3, 4, 3, 1, 0.3] + [0.1] * 6
DESK_HOURS = [0.1] * 7 + [0.5, 2, 3, 3, 2, 1, 2, 2.5, 2, 1.5, 1, 1, 0.8, 0.6, 0.3] + [0.1] * 2
# Per process: work orders on a working day, and the share of that on a weekend and on a public holiday.
VOLUMES = {"repair": (58, 0.6, 0.5), "procurement": (10.5, 0.12, 0.08), "hazard": (3.8, 0.35, 0.3),
           "complaint": (2.1, 0.8, 0.8)}
HOUR_OF_DAY = list(range(24))
HOURS = {"repair": REPAIR_HOURS, "procurement": OFFICE_HOURS, "hazard": ROUND_HOURS, "complaint": DESK_HOURS}

CATEGORIES = {"electrical": 22, "plumbing": 24, "hvac": 14, "building": 14, "medical_equipment": 9, "elevator": 6,
              "medical_gas": 4, "other": 7}
TITLES = {
    "electrical": ["插座没电", "走廊灯不亮", "病房照明灯闪烁", "空气开关跳闸", "床头呼叫器不响", "治疗室插座打火"],
    "plumbing": ["水龙头漏水", "卫生间下水道堵塞", "马桶堵塞", "热水器不出热水", "洗手池下水慢", "暖气片漏水"],
    "hvac": ["空调不制冷", "空调漏水", "新风口噪音大", "空调面板失灵", "病房温度过高"],
    "elevator": ["电梯异响", "电梯门关不上", "电梯按钮失灵", "电梯停层不准"],
    "medical_equipment": ["监护仪报警失灵", "输液泵报错", "血压计不准", "吸引器无负压", "心电图机打印故障"],
    "medical_gas": ["氧气终端漏气", "负压吸引终端无吸力", "氧气流量表损坏"],
    "building": ["门锁损坏", "窗户关不严", "墙皮脱落", "吊顶渗水", "床栏松动", "柜门合页坏了"],
    "other": ["窗帘轨道脱落", "护士站椅子坏了", "标识牌脱落", "输液架松动"],
}
PRIORITIES = {"repair": (["urgent", "high", "normal", "low"], [5, 13, 67, 15]),
              "procurement": (["urgent", "high", "normal", "low"], [4, 14, 70, 12]),
              "complaint": (["high", "normal", "low"], [15, 80, 5])}
# Which device classes a fault of a category may be about, and how often a report names a device.
DEVICES = {"elevator": (["elevator"], 0.9), "hvac": (["air_handler", "chiller"], 0.35),
           "medical_gas": (["medical_gas_outlet"], 0.6), "medical_equipment": (["infusion_pump", "autoclave"], 0.5),
           "electrical": (["generator", "fire_panel"], 0.06), "plumbing": (["water_pump", "boiler"], 0.06)}
# Places of the tree a repair without a device may name, by category.
ROOMS = ["ZY-5F-512", "ZY-5F-HS", "ZY-2F-ICU", "MZ-1F-DT", "MZ-2F-E", "YJ-1F-GY", "YJ-3F-SS"]
ROOMS_BY_CATEGORY = {"electrical": ["MZ-B1-PD", "ZY-5F-512", "MZ-2F-E", "ZY-5F-HS", "MZ-1F-DT"],
                     "plumbing": ["ZY-B1-SB", "ZY-5F-512", "ZY-2F-ICU", "MZ-1F-DT"],
                     "hvac": ["YJ-3F-KT", "YJ-3F-OR3", "YJ-3F-SS", "ZY-2F-ICU", "MZ-1F-DT"]}

ITEMS = [("打印纸 20 箱", 1600), ("一次性手套 50 盒", 1500), ("输液泵 2 台", 36000), ("病床 10 张", 85000),
         ("轮椅 4 台", 6400), ("治疗车 2 台", 5200), ("消毒湿巾 100 包", 1200), ("办公椅 6 把", 3000),
         ("血压计 5 台", 4500), ("除颤仪 1 台", 68000), ("床旁桌 10 张", 9000), ("储物柜 3 组", 7200)]
HAZARDS = [("消防通道堆放杂物", "fire"), ("灭火器过期", "fire"), ("应急照明不亮", "fire"), ("监控摄像头故障", "security"),
           ("门禁失效", "security"), ("楼梯扶手松动", "facility"), ("地面破损易绊倒", "facility"),
           ("电梯年检标志缺失", "special_equipment"), ("压力容器安全阀未校验", "special_equipment")]
RISKS = (["major", "high", "medium", "low"], [4, 20, 46, 30])
COMPLAINTS = [("食堂饭菜偏凉", "食堂"), ("病区卫生间不干净", "保洁"), ("停车难，保安态度差", "停车"),
              ("报修后迟迟无人来", "维修"), ("开水房排队太久", "服务"), ("夜间走廊噪音大", "服务")]


def load(session: Session, now: datetime, *, months: float = DEFAULT_MONTHS, seed: int = DEFAULT_SEED,
         password: str = "houqin-demo") -> list[str]:
    """Write `months` of history before `now` (the demo's people, teams and places must be there); one
    transaction, the caller's. Returns what to print."""
    if months <= 0:
        return []
    started = time.perf_counter()
    hire(session, now, password)
    session.flush()
    history = History(session, now, months, seed)
    orders = history.arrivals() + history.rounds()
    written = Writer(session, history.staff, history.definitions, history.calendars, calendar.newest(session),
                     now, history.zone).write(orders)
    session.flush()
    by_process = Tally(order.process for order in orders)
    return [f"demo history: {len(orders)} work orders over {months:g} months before now (seed {seed}): "
            + ", ".join(f"{key} {count}" for key, count in sorted(by_process.items()))
            + f"; {sum(written.values())} rows in {time.perf_counter() - started:.1f}s"]


class History:
    """The arrivals and their stories, drawn in a fixed order from one generator."""

    def __init__(self, session: Session, now: datetime, months: float, seed: int):
        self.session, self.now = session, now
        self.zone = ZoneInfo(settings.timezone())
        self.since = now - timedelta(days=round(months * DAYS_PER_MONTH))
        self.chance = Chance(seed)
        self.staff: Staff = roster(session)
        self.definitions = {row.key: (row.version, published.compiled(session, row.key, row.version).definition)
                            for row in published.current_rows(session)}
        self.calendars = journeys.calendars_in_force(session)
        self.workday = self.calendars("workday")
        self.devices = self._devices()
        self.places = dict(session.exec(select(Location.code, Location.id)).all())
        self.departments = [(self.staff.departments[name], name, building, floor, weight)
                            for name, _, building, floor, weight in DEPARTMENTS if name in self.staff.departments]

    # --- arrivals ---------------------------------------------------------------------------------------

    def arrivals(self) -> list[Order]:
        orders = []
        rng = self.chance.rng
        day = self.since.astimezone(self.zone).date()
        last = self.now.astimezone(self.zone).date()
        while day <= last:
            working = self.workday.is_working_day(day)
            for process, (base, weekend, holiday) in VOLUMES.items():
                if process not in self.definitions:
                    continue
                share = 1.0 if working else weekend if day.weekday() >= 5 else holiday
                for _ in range(int(self.chance.counts.poisson(base * share))):
                    hour = rng.choices(HOUR_OF_DAY, HOURS[process])[0]
                    filed = datetime(day.year, day.month, day.day, hour, tzinfo=self.zone) + timedelta(
                        seconds=rng.randrange(3600))
                    if self.since <= filed <= self.now:
                        orders.append(self._file(process, filed))
            day += timedelta(days=1)
        return orders

    def _file(self, process: str, filed: datetime) -> Order:
        c = self.chance
        department_id, name, building, floor, _ = c.pick(self.departments, [d[4] for d in self.departments])
        nurses = self.staff.in_department(department_id, "requester")
        heads = self.staff.in_department(department_id, "dept_head")
        reporter = c.pick([uid for uid in nurses if uid not in heads] or nurses)
        ward = f"{building}{floor}F {name}"
        if process == "repair":
            return self._repair(filed, department_id, name, reporter, ward)
        if process == "procurement":
            items, amount = c.pick(ITEMS)
            amount = round(amount * c.rng.uniform(0.8, 1.2), -1)
            order = Order("procurement", filed, reporter, f"申领{items}", c.pick(*PRIORITIES["procurement"]),
                          {"items": [items], "amount": amount}, department_id)
            procurement(self._story(order), self.staff, c)
            return order
        if process == "hazard":
            title, category = c.pick(HAZARDS)
            inspector = c.pick(self.staff.with_role("inspector"))
            order = Order("hazard", filed, inspector, title, "normal",
                          {"category": category, "risk_level": c.pick(*RISKS)},
                          self.staff.department_of.get(inspector), location=ward)
            hazard(self._story(order), self.staff, c)
            return order
        title, topic = c.pick(COMPLAINTS)
        hotline = c.p(0.6)
        filer = c.pick(self.staff.with_role("dispatcher")) if hotline else reporter
        order = Order("complaint", filed, filer, title, c.pick(*PRIORITIES["complaint"]),
                      {"channel": "hotline" if hotline else "web"},
                      self.staff.department_of.get(filer) if hotline else department_id, location=ward)
        complaint(self._story(order), self.staff, c, topic)
        return order

    def _repair(self, filed: datetime, department_id: int, department: str, reporter: int, ward: str) -> Order:
        c = self.chance
        category = c.pick(list(CATEGORIES), list(CATEGORIES.values()))
        priority = c.pick(*PRIORITIES["repair"])
        if category in ("elevator", "medical_gas") and priority == "normal" and c.p(0.4):
            priority = "high"  # a stuck lift or a leaking oxygen outlet is never routine
        order = Order("repair", filed, reporter, c.pick(TITLES[category]), priority, {"category": category},
                      department_id, location=ward)
        classes, share = DEVICES.get(category, ([], 0))
        devices = [device for device in self.devices if device[2] in classes]
        if devices and c.p(share):
            # some devices fail far more often than others: the fault trends have a top
            device = c.pick(devices, [1 / (rank + 1) ** 1.2 for rank in range(len(devices))])
            order.asset_id, order.location_id, order.location = device[0], device[3], ""
        elif c.p(0.25):
            order.location_id = self.places.get(c.pick(ROOMS_BY_CATEGORY.get(category, ROOMS)))
        order.routing = self._route(order, department, devices)
        repair(self._story(order), self.staff, c, order.routing, self.zone)
        return order

    def _route(self, order: Order, department: str, devices) -> dict:
        """The team and person the process's dispatch rules pick (workflows/dispatch.py), as the engine
        would write the decision."""
        definition = self.definitions["repair"][1]
        device = next((d for d in self.devices if d[0] == order.asset_id), None)
        facts = {**order.fields, "priority": order.priority, "department": department, "location": order.location,
                 "asset_class": device[2] if device else None, "asset_team": device[4] if device else None}
        index, rule = definition.dispatch.choose(facts)
        label = rule.label(index)
        team = facts["asset_team"] if rule.team == ASSET_TEAM else rule.team
        team_id = self.staff.teams.get(team) if team else None
        order.team_id = team_id
        if rule.strategy == "manual" or team_id is None:
            return {"strategy": "manual", "team": team}
        if rule.strategy == "pool":
            return {"strategy": "pool", "team": team, "history": _decision(
                label, "pool", team, None, None, f"规则「{label}」：进入「{team}」抢单池",
                f"rule '{label}': pooled for team {team} to claim")}
        person = self.chance.pick(self.staff.team_members(team, rule.skill) or self.staff.team_members(team))
        username, within = self.staff.usernames[person], dispatch_routing._span(rule)
        comment = (f"自动派单（规则 {label}，{within} 内接单）/ routed automatically (rule {label}; "
                   f"accept within {within})")
        return {"strategy": "offer", "team": team, "person_id": person, "comment": comment, "history": _decision(
            label, "offer", team, username, within, f"规则「{label}」：派给「{team}」在班的 {username}，{within} 内接单",
            f"rule '{label}': offered to {username} of team {team}, on duty; to accept within {within}")}

    def _story(self, order: Order) -> Story:
        return Story(order, self.definitions[order.process][1], self.now, self.calendars)

    def _devices(self) -> list[tuple]:
        from engine.storage.models import Team

        teams = dict(self.session.exec(select(Team.id, Team.name)).all())
        return [(id_, number, kind, place, teams.get(team)) for id_, number, kind, place, team in self.session.exec(
            select(Asset.id, Asset.asset_no, Asset.asset_class, Asset.location_id, Asset.team_id)
            .where(Asset.status != "retired").order_by(Asset.id)).all()]

    # --- rounds ------------------------------------------------------------------------------------------

    def rounds(self) -> list[Order]:
        """Every period of every published rule since the start, as engine/orders/recurring.py runs them."""
        schedule = recurring.current(self.session)
        if schedule is None or "maintenance" not in self.definitions:
            return []
        zone = ZoneInfo(schedule.timezone or settings.timezone())
        system = self.staff.ids.get(schedule.run_as) or self._system(schedule.run_as)
        places = {device[0]: device[3] for device in self.devices}
        orders = []
        for rule in schedule.rules:
            if not rule.active or rule.process not in self.definitions:
                continue
            closed_days = self.calendars(rule.calendar) if rule.skip_closed_days else None
            department = self.staff.departments.get(rule.department) if rule.department else None
            for key, device in recurring.targets(self.session, rule):
                periods = recurring.periods(rule, zone, after=self.since, now=self.now, limit=100_000,
                                            calendar=closed_days)
                for at in periods:
                    local = at.astimezone(zone)
                    title = rule.title.format(date=f"{local:%Y-%m-%d}", time=f"{local:%H:%M}",
                                              asset=device.name if device else "",
                                              asset_no=device.asset_no if device else "")[:200]
                    place = places.get(device.id) if device else None
                    order = Order(rule.process, at, self.staff.ids.get(rule.reporter) or system, title, rule.priority,
                                  dict(rule.fields), department, location=rule.location or "",
                                  location_id=place, asset_id=device.id if device else None,
                                  run=(key, at, rule.name))
                    round_(self._story(order), self.staff, self.chance)
                    orders.append(order)
        return orders

    def _system(self, username: str) -> int:
        user = recurring._reporter(self.session, username, default=True)
        self.staff.know(user.id, username)
        return user.id


def _decision(rule: str, strategy: str, team: str, person: str | None, within: str | None, zh: str, en: str) -> dict:
    """A routing decision as its history entry holds it (engine/dispatch/routing.Routing.as_dict)."""
    return {"rule": rule, "strategy": strategy, "team": team, "person": person,
            "waits_for": "person" if person else "team", "accept_within": within, "on_duty": [], "more_on_duty": 0,
            "candidates": [], "more_candidates": 0, "excluded": [], "reason_zh": zh, "reason_en": en,
            "message": {"code": "dispatch_reason", "params": {"reason": {"zh": zh, "en": en}}}}
