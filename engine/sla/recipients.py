"""Who a ladder's rungs name, for a batch of work orders: each lookup read once per batch, not per rung.

A sweep fires hundreds of rungs that name the same people: the dispatchers, the supervisors, the
head of a department, the lead of a team. Each kind of lookup is read the first time a rung of the
batch needs it and kept for the others; the people a work order names itself (assignee, reporter,
first contact) and its watchers are read for every work order of the batch at once.
"""
from collections.abc import Iterable
from datetime import datetime

from sqlmodel import Session, select

from engine.dispatch import rotas
from engine.orders import callers
from engine.people.users import users_with_role
from engine.storage.models import User, UserRole, Watcher, WorkOrder
from workflows.schema import Recipient


class Directory:
    """The people of a batch's work orders (`orders`), as the ladder names them at `now`."""

    def __init__(self, session: Session, orders: Iterable[WorkOrder], now: datetime):
        self.session, self.now = session, now
        self.orders = {order.id: order for order in orders}
        self._users: dict[int, User] | None = None
        self._watchers: dict[int, list[int]] | None = None
        self._named: dict[tuple, list[User]] = {}

    def resolve(self, order: WorkOrder, targets: Iterable[Recipient]) -> list[User]:
        """The active users `targets` name: role:X, user:NAME, assignee, reporter, dept_head, watchers, first_contact,
        and the team_lead or those on_duty (at `now`) of the order's team."""
        people: dict[int, User] = {}
        for target in targets:
            for user in self._found(order, target):
                if user is not None and user.active:
                    people.setdefault(user.id, user)
        return list(people.values())

    def _found(self, order: WorkOrder, target: Recipient) -> list[User | None]:
        kind = target.kind
        if kind == "role":
            return self._once(("role", target.name), lambda: users_with_role(self.session, target.name))
        if kind == "user":
            return self._once(("user", target.name), lambda: list(self.session.exec(
                select(User).where(User.username == target.name)).all()))
        if kind == "dept_head":
            return self._once(("dept_head", order.department_id), lambda: _heads(self.session, order.department_id))
        if kind in ("team_lead", "on_duty"):
            return self._once((kind, order.team_id), lambda: team_people(self.session, order, kind, self.now))
        if kind == "reporter":  # for a caller without an account, the department that answers for them
            if order.caller_name is None:
                return [self.user(order.reporter_id)]
            return self._once(("callers", order.department_id), lambda: callers.requesters(self.session, order))
        if kind == "watchers":
            return [self.user(user_id) for user_id in self.watchers(order)]
        person = {"assignee": order.assignee_id, "first_contact": order.first_contact_id}.get(kind)
        return [self.user(person)] if person is not None else []

    def _once(self, key: tuple, read) -> list[User]:
        if key not in self._named:
            self._named[key] = read()
        return self._named[key]

    def user(self, user_id: int | None) -> User | None:
        """A user the batch's work orders name (read with all the others), or any other by id."""
        if user_id is None:
            return None
        users = self._named_users()
        if user_id not in users:
            users[user_id] = self.session.get(User, user_id)
        return users[user_id]

    def _named_users(self) -> dict[int, User]:
        """Everyone the batch's work orders name (assignee, reporter, first contact), read once for all of them."""
        if self._users is None:
            named = {person for order in self.orders.values()
                     for person in (order.assignee_id, order.reporter_id, order.first_contact_id)}
            named.discard(None)
            self._users = {user.id: user for user in self.session.exec(
                select(User).where(User.id.in_(named))).all()} if named else {}
        return self._users

    def known(self, user: User) -> None:
        """A user the batch has just read elsewhere (one picked for a reassignment)."""
        self._named_users()[user.id] = user

    def watchers(self, order: WorkOrder) -> list[int]:
        """The ids of the order's watchers, active or not; read for every work order of the batch at once."""
        if self._watchers is None:
            users = self._named_users()  # read before the watchers join them
            self._watchers = {order_id: [] for order_id in self.orders}
            for order_id, user in self.session.exec(
                    select(Watcher.work_order_id, User).join(User, User.id == Watcher.user_id)
                    .where(Watcher.work_order_id.in_(list(self.orders)))).all():
                self._watchers[order_id].append(user.id)
                users.setdefault(user.id, user)
        return self._watchers.setdefault(order.id, [])


def _heads(session: Session, department_id: int | None) -> list[User]:
    if department_id is None:
        return []
    return list(session.exec(
        select(User).join(UserRole, UserRole.user_id == User.id)
        .where(UserRole.role == "dept_head", User.department_id == department_id)
    ).all())


def team_people(session: Session, order: WorkOrder, which: str, now: datetime) -> list[User]:
    """The lead(s) of the order's team, or its members on duty at `now`: the night standby is woken, not the day staff."""
    if order.team_id is None:
        return []
    if which == "team_lead":
        return rotas.leads(session, order.team_id)
    ids = [user_id for user_id, _, _ in rotas.on_duty_roster(session, order.team_id, now)]
    return list(session.exec(select(User).where(User.id.in_(ids)))) if ids else []
