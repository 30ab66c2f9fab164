"""The demo hospital's staff at full size: clinical departments with their nurses and heads, technicians in
every team, more dispatchers, inspectors and logistics staff. Added beside the few people of engine/demo/__init__.py.

Everyone shares the demo password through one hash computed once: argon2 is slow on purpose, and two
hundred people hashed one by one would take longer than the whole six months of history.
"""
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import insert
from sqlmodel import Session, select

from engine import settings
from engine.dispatch import rotas
from engine.people.users import department_named, hash_password, team_named
from engine.storage.models import RotaEntry, Shift, TeamMember, User, UserRole

# Clinical departments of a 1,500-bed hospital: (name, username prefix, building, floor, how much it reports)
DEPARTMENTS = [
    ("心内科", "xnk", "住院楼", 5, 1.4), ("急诊科", "jzk", "急诊楼", 1, 1.6), ("呼吸内科", "hxnk", "住院楼", 6, 1.2),
    ("消化内科", "xhnk", "住院楼", 7, 1.1), ("神经内科", "sjnk", "住院楼", 8, 1.1), ("肾内科", "snk", "住院楼", 9, 0.9),
    ("内分泌科", "nfm", "住院楼", 10, 0.8), ("血液科", "xyk", "住院楼", 11, 0.8), ("肿瘤科", "zlk", "住院楼", 12, 1.0),
    ("普外科", "pwk", "外科楼", 5, 1.2), ("骨科", "gk", "外科楼", 6, 1.2), ("神经外科", "sjwk", "外科楼", 7, 0.9),
    ("心胸外科", "xxwk", "外科楼", 8, 0.8), ("泌尿外科", "mnwk", "外科楼", 9, 0.8), ("妇科", "fk", "妇儿楼", 3, 0.9),
    ("产科", "ck", "妇儿楼", 4, 1.0), ("儿科", "ek", "妇儿楼", 5, 1.1), ("新生儿科", "xsek", "妇儿楼", 6, 0.7),
    ("眼科", "yk", "门诊楼", 4, 0.5), ("耳鼻喉科", "ebh", "门诊楼", 4, 0.5), ("口腔科", "kqk", "门诊楼", 3, 0.5),
    ("康复科", "kfk", "住院楼", 13, 0.6), ("重症医学科", "icu", "住院楼", 2, 1.3), ("麻醉手术科", "mzss", "医技楼", 3, 1.1),
    ("检验科", "jyk", "医技楼", 2, 0.8), ("放射科", "fsk", "医技楼", 1, 0.8), ("药剂科", "yjk", "门诊楼", 1, 0.6),
]
NURSES = 3  # per department, beside its head

# Team: (technicians added, their skills, the calendar offers run on). The first four are the shipped
# dispatch rules' teams; the last three get work by hand (medical equipment, building, rounds).
TEAMS = {
    "水电班": (9, ["electrical", "plumbing"]),
    "空调班": (5, ["hvac"]),
    "电梯班": (4, ["elevator"]),
    "医用气体班": (3, ["medical_gas"]),
    "综合维修班": (8, ["building", "other"]),
    "医学工程班": (5, ["medical_equipment"]),
    "保洁消毒班": (6, ["disinfection"]),
}
NEW_TEAMS = ("综合维修班", "医学工程班", "保洁消毒班")
LOGISTICS = "后勤保障部"
# Logistics staff: (username, display name, roles, department)
STAFF = [
    ("dispatcher2", "钱调度", ["dispatcher"], LOGISTICS), ("dispatcher3", "孙调度", ["dispatcher"], LOGISTICS),
    ("dispatcher4", "李调度", ["dispatcher"], LOGISTICS),
    ("inspector3", "韩安全员", ["inspector"], "保卫科"), ("inspector4", "杨巡检员", ["inspector"], "保卫科"),
    ("canteen", "朱食堂主管", ["logistics"], LOGISTICS), ("cleaning", "秦保洁主管", ["logistics"], LOGISTICS),
    ("security", "许保安队长", ["logistics"], "保卫科"), ("logistics2", "何科员", ["logistics"], LOGISTICS),
    ("purchaser2", "吕采购", ["purchaser"], "采购中心"), ("supervisor2", "施副科长", ["supervisor"], LOGISTICS),
]
SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘蔡蒋余杜叶程苏魏吕丁任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯龙史陶黎贺顾毛郝龚邵万钱严覃武戴莫孔向汤"
GIVEN = "伟芳娜秀英敏静丽强磊军洋勇艳杰娟涛明超兰霞平刚桂华建国红玉萍鹏飞斌宇浩凯瑶婷雪琳欣悦晨阳"
SHIFTS = [("day", "08:00-17:30", "workdays"), ("night", "17:30-08:00", "all"), ("standby", "08:00-08:00", "restdays")]


@dataclass
class Staff:
    """Who works in the demo hospital, by what the history needs to pick them."""

    usernames: dict[int, str] = field(default_factory=dict)
    ids: dict[str, int] = field(default_factory=dict)
    roles: dict[int, set[str]] = field(default_factory=dict)
    department_of: dict[int, int | None] = field(default_factory=dict)
    team_of: dict[int, int | None] = field(default_factory=dict)
    departments: dict[str, int] = field(default_factory=dict)
    teams: dict[str, int] = field(default_factory=dict)
    members: dict[int, list[tuple[int, frozenset[str]]]] = field(default_factory=dict)  # team id → (user, skills)
    leads: dict[int, list[int]] = field(default_factory=dict)
    _found: dict = field(default_factory=dict)  # answers already given: asked thousands of times each

    def with_role(self, role: str) -> list[int]:
        return self._memo(("role", role), lambda: sorted(uid for uid, roles in self.roles.items() if role in roles))

    def in_department(self, department_id: int, role: str) -> list[int]:
        return self._memo(("department", department_id, role), lambda: [
            uid for uid in self.with_role(role) if self.department_of.get(uid) == department_id])

    def team_members(self, team: str, skill: str | None = None) -> list[int]:
        return self._memo(("team", team, skill), lambda: [
            uid for uid, skills in self.members.get(self.teams[team], []) if skill is None or skill in skills])

    def know(self, uid: int, username: str) -> None:
        """Someone added since the roster was read (the account recurring work is filed by)."""
        self.usernames[uid], self.ids[username], self.roles[uid] = username, uid, set()
        self._found.clear()

    def _memo(self, key, compute):
        if key not in self._found:
            self._found[key] = compute()
        return self._found[key]


def hire(session: Session, now: datetime, password: str) -> int:
    """Add the departments' and teams' people (skipped when present); returns how many were added."""
    if session.exec(select(User.id).where(User.username == "dispatcher2")).first() is not None:
        return 0
    digest = hash_password(password)
    names = _names()
    # (username, display name, roles, department, team, skills, team lead)
    people: list[tuple[str, str, list[str], str, str | None, list[str], bool]] = []
    for name, prefix, *_ in DEPARTMENTS:
        if name != "心内科":  # 心内科 has its head among the demo's first people
            people.append((f"{prefix}.head", next(names) + "主任", ["dept_head", "requester"], name, None, [], False))
        people += [(f"{prefix}.nurse{n}", next(names) + "护士", ["requester"], name, None, [], False)
                   for n in range(1, NURSES + 1)]
    for team, (count, skills) in TEAMS.items():
        for n in range(1, count + 1):
            # in a team of several trades each technician has one, so skilled offers go to the right people
            people.append((f"{_code(team)}{n}", next(names) + "师傅", ["technician"], LOGISTICS, team,
                           [skills[n % len(skills)]], team in NEW_TEAMS and n == 1))
    people += [(username, name, roles, department, None, [], False) for username, name, roles, department in STAFF]
    for team in NEW_TEAMS:
        rotas.ensure_team(session, team)
    departments = {name: department_named(session, name, create=True).id for name in {p[3] for p in people}}
    teams = {name: team_named(session, name).id for name in TEAMS}
    rows = [dict(username=username, display_name=name, password_hash=digest, department_id=departments[department],
                 team_id=teams[team] if team else None, language="zh", active=True, auth_epoch=0,
                 must_change_password=False, auth_source="local")
            for username, name, _, department, team, _, _ in people]
    session.execute(insert(User), rows)
    ids = dict(session.exec(select(User.username, User.id)).all())
    session.execute(insert(UserRole), [dict(user_id=ids[p[0]], role=role) for p in people for role in p[2]])
    session.execute(insert(TeamMember), [dict(team_id=teams[team], user_id=ids[username], skills=",".join(skills), lead=lead)
                                        for username, _, _, _, team, skills, lead in people if team])
    _rota(session, now, teams, {team: [ids[p[0]] for p in people if p[4] == team] for team in TEAMS})
    return len(people)


def _rota(session: Session, now: datetime, teams: dict[str, int], added: dict[str, list[int]]) -> None:
    """The new technicians on their team's day shift; the new teams' nights and standbys go round, as in
    engine/demo/__init__.py, over the same window of days."""
    from engine.demo import ROTA_DAYS

    today = now.astimezone(ZoneInfo(settings.timezone())).date()
    entries = []
    for team, people in added.items():
        if not people:
            continue
        team_id = teams[team]
        shifts = {s.name: s for s in session.exec(select(Shift).where(Shift.team_id == team_id)).all()}
        if not shifts:
            team_row = rotas.get_team(session, team)
            shifts = {name: rotas.add_shift(session, team_row, name, hours, days=days) for name, hours, days in SHIFTS}
        fresh = team in NEW_TEAMS
        for offset in range(*ROTA_DAYS):
            day: date = today + timedelta(days=offset)
            entries += [dict(shift_id=shifts["day"].id, day=day, user_id=uid) for uid in people]
            if fresh:
                entries += [dict(shift_id=shifts[name].id, day=day, user_id=people[(offset + turn) % len(people)])
                            for turn, name in enumerate(("night", "standby"), start=1)]
    if entries:
        session.execute(insert(RotaEntry), entries)


def roster(session: Session) -> Staff:
    """Everyone, with roles, departments and teams: read once."""
    from engine.storage.models import Department, Team

    staff = Staff()
    for uid, username, department_id, team_id, active in session.exec(
            select(User.id, User.username, User.department_id, User.team_id, User.active)).all():
        if not active and username != "system":
            continue
        staff.usernames[uid], staff.ids[username] = username, uid
        staff.department_of[uid], staff.team_of[uid] = department_id, team_id
        staff.roles[uid] = set()
    for uid, role in session.exec(select(UserRole.user_id, UserRole.role)).all():
        if uid in staff.roles:
            staff.roles[uid].add(role)
    staff.departments = dict(session.exec(select(Department.name, Department.id)).all())
    staff.teams = dict(session.exec(select(Team.name, Team.id)).all())
    for team_id, uid, skills, lead in session.exec(
            select(TeamMember.team_id, TeamMember.user_id, TeamMember.skills, TeamMember.lead)
            .order_by(TeamMember.team_id, TeamMember.user_id)).all():
        staff.members.setdefault(team_id, []).append((uid, frozenset(filter(None, skills.split(",")))))
        if lead:
            staff.leads.setdefault(team_id, []).append(uid)
    return staff


def _code(team: str) -> str:
    return {"水电班": "sd", "空调班": "kt", "电梯班": "dt", "医用气体班": "qt", "综合维修班": "zh", "医学工程班": "yg",
            "保洁消毒班": "bj"}[team]


def _names():
    """Chinese names, always the same ones in the same order."""
    n = 0
    while True:
        yield SURNAMES[n % len(SURNAMES)] + GIVEN[(n * 7) % len(GIVEN)]
        n += 1
