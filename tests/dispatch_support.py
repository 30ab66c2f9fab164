"""Teams and rotas for the dispatch tests: the elevator team's night standby, the plumbers' day shift."""
from datetime import date

from sqlmodel import Session, select

from engine.dispatch import rotas
from engine.storage.models import User


def team(session: Session, name: str, shifts: dict[str, tuple[str, str]], rota: dict[tuple[str, str], list[str]],
         skills: dict[str, list[str]] | None = None, lead: str | None = None, calendar: str = "24x7"):
    """shifts: {name: (hours, days)}; rota: {(YYYY-MM-DD, shift): [usernames]}; every one on the rota a member."""
    found = rotas.ensure_team(session, name, calendar=calendar)
    made = {shift: rotas.add_shift(session, found, shift, hours, days=days) for shift, (hours, days) in shifts.items()}
    people = {username for names in rota.values() for username in names} | set(skills or {}) | ({lead} if lead else set())
    users = {user.username: user for user in session.exec(select(User).where(User.username.in_(people))).all()}
    for username, user in users.items():
        rotas.add_member(session, found, user, skills=(skills or {}).get(username, []), lead=username == lead)
    for (day, shift), names in rota.items():
        rotas.put_on(session, made[shift], date.fromisoformat(day), [users[name] for name in names])
    session.commit()
    return found
