"""Demo data: departments, a user of every role, the hospital's places and devices, and work orders in every
stage (some about a device, and a round with the repair it found)."""
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import insert
from sqlmodel import Session, select

from engine import settings
from engine.demo import history as demo_history
from engine.demo.places import load_places
from engine.dispatch import rotas
from engine.errors import HouqinError
from engine.orders import feedback, follow_ups, workorders
from engine.people.users import actor_for, department_named, hash_password, team_named
from engine.storage.models import RotaEntry, User, UserRole, WorkOrder

DEMO_PASSWORD = "houqin-demo"
PEOPLE = [
    # username, display name, roles, department, team
    ("nurse", "王护士", ["requester"], "心内科", None),
    ("nurse2", "李护士", ["requester"], "急诊科", None),
    ("head", "张主任", ["dept_head", "requester"], "心内科", None),
    ("dispatcher", "赵调度", ["dispatcher"], "后勤保障部", None),
    ("tech", "刘师傅", ["technician"], "后勤保障部", "水电班"),
    ("tech2", "陈师傅", ["technician"], "后勤保障部", "空调班"),
    ("tech3", "黄师傅", ["technician"], "后勤保障部", "电梯班"),
    ("tech4", "林师傅", ["technician"], "后勤保障部", "电梯班"),
    ("tech5", "马师傅", ["technician"], "后勤保障部", "水电班"),
    ("tech6", "罗师傅", ["technician"], "后勤保障部", "医用气体班"),
    ("logistics", "孙科员", ["logistics"], "后勤保障部", None),
    ("purchaser", "周采购", ["purchaser"], "采购中心", None),
    ("leader", "吴院长", ["leader"], "院办", None),
    ("inspector", "郑安全员", ["inspector"], "保卫科", None),
    ("inspector2", "冯巡检员", ["inspector"], "保卫科", None),
    ("supervisor", "钱科长", ["supervisor"], "后勤保障部", None),
    ("designer", "何设计", ["designer"], "信息中心", None),
]
REPAIRS = [
    ("病房水龙头漏水", "plumbing", "住院楼5F 512病房", "normal"),
    ("走廊灯不亮", "electrical", "门诊楼2F 东走廊", "low"),
    ("手术室空调不制冷", "hvac", "手术部3号手术间", "urgent"),
    ("电梯异响", "elevator", "住院楼2号电梯", "high"),
    ("监护仪报警失灵", "medical_equipment", "ICU 8床", "urgent"),
    ("门锁损坏", "building", "行政楼301", "normal"),
]
# Where each repair above is in the tree, and the device it is about (None: not in the register).
REPAIR_PLACES = [("ZY-5F-512", None), ("MZ-2F-E", None), ("YJ-3F-OR3", "AHU-SS-03"), (None, "EL-ZY-02"),
                 ("ZY-2F-ICU", None), (None, None)]
# How far each demo repair is driven: (event, actor, extra request fields)
STEPS = [
    ("assign", "dispatcher", {"assignee": "tech"}),
    ("accept", "tech", {}),
    ("start", "tech", {}),
    ("resolve", "tech", {"fields": {"labour_minutes": 45, "parts": ["阀芯"]}}),
]


# Teams the shipped repair rules route to: (team, members with skills, the team lead). Each keeps a day
# shift on workdays, a night shift every day and a 24-hour standby on rest days; members take turns.
TEAMS = [
    ("水电班", {"tech": ["plumbing", "electrical"], "tech5": ["electrical"]}, "tech"),
    ("空调班", {"tech2": ["hvac"]}, "tech2"),
    ("电梯班", {"tech3": ["elevator"], "tech4": ["elevator"]}, "tech3"),
    ("医用气体班", {"tech6": ["medical_gas"]}, "tech6"),
]
SHIFTS = [("day", "08:00-17:30", "workdays"), ("night", "17:30-08:00", "all"), ("standby", "08:00-08:00", "restdays")]
ROTA_DAYS = (-40, 60)
# Under a history (engine/demo/history.py) today's examples are filed now: the history holds the past, and an
# example filed days ago with no sweeper since would be late with none of its escalations fired.
ZERO = timedelta(0)  # from 40 days ago (the oldest demo repairs) to two months ahead


def load_demo(session: Session, now: datetime, *, months: float = 0, seed: int | None = None) -> list[str]:
    """Demo people and work orders, all written in the caller's one transaction; with `months`, that much
    history before `now` (engine/demo/history.py, drawn from `seed`) under today's work orders."""
    if session.exec(select(User).where(User.username == "nurse")).first():
        return ["demo data already present"]
    digest = hash_password(DEMO_PASSWORD)  # one hash for everyone: argon2 is slow on purpose
    for username, name, roles, department, team in PEOPLE:
        user = User(username=username, display_name=name, password_hash=digest,
                    department_id=department_named(session, department, create=True).id,
                    team_id=team_named(session, team, create=True).id if team else None)
        session.add(user)
        session.flush()
        session.add_all([UserRole(user_id=user.id, role=role) for role in roles])
    _teams(session, now)
    places, devices = load_places(session, now)
    session.flush()
    past = demo_history.load(session, now, months=months, seed=demo_history.DEFAULT_SEED if seed is None else seed,
                             password=DEMO_PASSWORD) if months else []
    actors = {u.username: actor_for(session, u) for u in session.exec(select(User)).all()}
    count = 0
    for round_ in range(5):
        for index, (title, category, location, priority) in enumerate(REPAIRS):
            reporter = actors["nurse" if index % 2 == 0 else "head"]
            place, device = REPAIR_PLACES[index]
            order = workorders.create(session, reporter, process="repair", title=title, location=location,
                                      priority=priority, fields={"category": category},
                                      location_id=places.get(place), asset_id=devices.get(device),
                                      now=now - (timedelta(days=round_ * 6, hours=index * 3) if not past else ZERO))
            count += 1
            _drive(session, actors, order.id, STEPS[: (index + round_) % (len(STEPS) + 1)], now)
            if (index + round_) % (len(STEPS) + 1) == len(STEPS) and round_ % 2 == 0:
                feedback.give(session, reporter, order.id, satisfied=True, rating=5, comment="很好", now=now)
    _other_processes(session, actors, now)
    _follow_up(session, actors, now)
    return [f"demo: {len(PEOPLE)} users (password '{DEMO_PASSWORD}'), {len(places)} places, {len(devices)} devices, "
            f"{count} repairs and more work orders",
            "demo users: " + ", ".join(p[0] for p in PEOPLE), *past]


def create_database(url: str, now: datetime, *, months: float, seed: int) -> None:
    """A new database at `url` holding what `houqin init --demo` writes there (its tables made from the models, not
    migrated): the shipped definitions and schedules published, and the demo hospital with `months` of history."""
    from sqlmodel import SQLModel

    from engine.orders import recurring
    from engine.published import definitions
    from engine.storage import db
    from engine.storage.unit_of_work import unit_of_work

    SQLModel.metadata.create_all(db.get_engine(url))
    with Session(db.get_engine(url), expire_on_commit=False) as session:
        with unit_of_work(session):
            definitions.publish_directory(session, now=now)
            recurring.publish_file(session, now=now)
        with unit_of_work(session):
            load_demo(session, now, months=months, seed=seed)


def _teams(session: Session, now: datetime) -> None:
    by_name = {user.username: user for user in session.exec(select(User)).all()}
    today = now.astimezone(ZoneInfo(settings.timezone())).date()
    for name, skills, lead in TEAMS:
        team = rotas.ensure_team(session, name)
        members = [by_name[username] for username in skills]
        for user in members:
            rotas.add_member(session, team, user, skills=skills[user.username], lead=user.username == lead)
        shifts = [rotas.add_shift(session, team, shift, hours, days=days) for shift, hours, days in SHIFTS]
        entries = []
        for offset in range(*ROTA_DAYS):
            day = today + timedelta(days=offset)
            for turn, shift in enumerate(shifts):
                # the day shift has everyone; nights and standbys go round one member at a time
                on = members if turn == 0 else [members[(offset + turn) % len(members)]]
                entries += [dict(shift_id=shift.id, day=day, user_id=user.id) for user in on]
        session.execute(insert(RotaEntry), entries)  # a fresh rota: one statement, not one per day


def _drive(session, actors, order_id, steps, now) -> None:
    order = session.get(WorkOrder, order_id)
    if steps and steps[0][0] == "assign" and order.assignee_id is not None:
        # routed on creation (offered to whoever was on duty): that person works it, nobody assigns it
        holder = next(actor for actor in actors.values() if actor.id == order.assignee_id)
        steps = [(event, holder.username if who == "tech" else who, extra) for event, who, extra in steps[1:]]
    for event, who, extra in steps:
        try:
            workorders.fire(session, actors[who], order_id, event, workorders.EventInput(**extra), now)
        except HouqinError:  # refused before anything was written: the demo order stops here
            return


def _other_processes(session, actors, now) -> None:
    nurse, inspector = actors["nurse"], actors["inspector"]
    for title, amount in (("采购输液泵 2 台", 36000), ("采购病床 20 张", 180000), ("领用打印纸", 800)):
        order = workorders.create(session, nurse, process="procurement", title=title, priority="normal",
                                  fields={"items": [title], "amount": amount}, now=now)
        _drive(session, actors, order.id, [("approve", "head", {}), ("review", "logistics", {})], now)
    for title, category, risk in (("消防通道堆放杂物", "fire", "high"), ("配电房门禁损坏", "security", "medium")):
        order = workorders.create(session, inspector, process="hazard", title=title, location="门诊楼B1",
                                  fields={"category": category, "risk_level": risk}, now=now)
        _drive(session, actors, order.id, [("register", "inspector", {}), ("assign", "supervisor", {"assignee": "tech"})], now)
    order = workorders.create(session, actors["dispatcher"], process="complaint", title="食堂饭菜偏凉",
                              fields={"channel": "hotline"}, now=now)
    _drive(session, actors, order.id, [("accept", "dispatcher", {})], now)



def _follow_up(session, actors, now) -> None:
    """The elevator repair's technician found a hazard beside the fault and raised it from the repair."""
    repair = session.exec(select(WorkOrder).where(WorkOrder.title == "电梯异响", WorkOrder.assignee_id.is_not(None))
                          .order_by(WorkOrder.id)).first()
    if repair is None:
        return
    holder = next(actor for actor in actors.values() if actor.id == repair.assignee_id)
    follow_ups.raise_from(session, holder, repair.id, process="hazard", title="电梯机房防火门闭门器损坏",
                          description="维修电梯时发现", fields={"category": "facility", "risk_level": "medium"}, now=now)
