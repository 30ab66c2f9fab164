"""The group mapping: which directory groups give which Houqin roles and department.

A hospital that signs people in against its LDAP / Active Directory
(HOUQIN_LDAP_URL) may let the directory's groups decide who does what in
Houqin, in a YAML file named by HOUQIN_LDAP_GROUPS:

    groups:
      - group: cn=houqin-dispatch,ou=groups,dc=hospital,dc=example   # a group's DN...
        roles: [dispatcher]
      - group: orthopaedics                                          # ...or its name (cn) alone
        roles: [requester]
        department: 骨科
    deactivate_unmapped: false

At each directory sign-in the person's roles become those of all their listed
groups (when any rule gives roles: a person in none of them then has no roles)
and their department that of the first listed group naming one (in none: the
department set in Houqin stays). With `deactivate_unmapped: true` a person in
none of the listed groups is deactivated and refused. Without a file (or with
no rules) roles and departments are set in Houqin alone.

Like a schedule, a file is read with positions and every problem is reported
at once with its line and column. Nothing here talks to a directory: group
DNs come in as text and are compared case- and space-insensitively, as
directories compare them.
"""
import re
from dataclasses import dataclass
from pathlib import Path

from pydantic import Field, ValidationError, field_validator, model_validator

from workflows.errors import DefinitionError, Problem
from workflows.loader import _plain, _schema_problem, parse_yaml
from workflows.schema import ROLES, Strict

_RDN_SEPARATOR = re.compile(r"(?<!\\),")


def dn_key(dn: str) -> str:
    """A DN as directories compare it: `CN=Dispatch, OU=Groups` and `cn=dispatch,ou=groups` are one."""
    rdns = []
    for rdn in _RDN_SEPARATOR.split(dn):
        attribute, _, value = rdn.partition("=")
        rdns.append(f"{attribute.strip().lower()}={value.strip().lower()}")
    return ",".join(rdns)


def group_name(dn: str) -> str:
    """The value of a group DN's first part, lower-cased: `cn=Orthopaedics,ou=groups,...` -> orthopaedics."""
    return _RDN_SEPARATOR.split(dn, maxsplit=1)[0].partition("=")[2].strip().lower()


class GroupRule(Strict):
    group: str = Field(min_length=1, max_length=500)  # a DN (has '='), or a group's name (its cn)
    roles: list[str] = []
    department: str | None = Field(default=None, min_length=1, max_length=100)

    @field_validator("roles")
    @classmethod
    def _known_roles(cls, roles: list[str]) -> list[str]:
        unknown = [role for role in roles if role not in ROLES]
        if unknown:
            raise ValueError(f"unknown role {', '.join(unknown)}: use one of {', '.join(ROLES)}")
        return roles

    @model_validator(mode="after")
    def _gives_something(self):
        if not self.roles and self.department is None:
            raise ValueError(f"group '{self.group}' gives neither roles nor a department: add 'roles' or 'department'")
        return self

    @property
    def key(self) -> str:
        return dn_key(self.group) if "=" in self.group else self.group.strip().lower()

    def matches(self, dn: str) -> bool:
        return dn_key(dn) == self.key if "=" in self.group else group_name(dn) == self.key


@dataclass(frozen=True)
class Placement:
    """What the directory's groups say about one person."""

    roles: frozenset[str] | None  # None: roles are set in Houqin
    department: str | None        # None: the department set in Houqin stays
    listed: bool                  # in at least one listed group


class GroupMapping(Strict):
    groups: list[GroupRule] = []
    deactivate_unmapped: bool = False  # a person in none of the listed groups is deactivated and refused

    @property
    def gives_roles(self) -> bool:
        return any(rule.roles for rule in self.groups)

    def place(self, group_dns: list[str] | tuple[str, ...]) -> Placement:
        matched = [rule for rule in self.groups if any(rule.matches(dn) for dn in group_dns)]
        roles = frozenset(role for rule in matched for role in rule.roles) if self.gives_roles else None
        department = next((rule.department for rule in matched if rule.department), None)
        return Placement(roles=roles, department=department, listed=bool(matched))


def load_group_mapping(text: str, file: str = "<ldap groups>") -> GroupMapping:
    """Parse and check a group mapping; raise DefinitionError listing every problem found."""
    located = parse_yaml(text, file)
    try:
        mapping = GroupMapping.model_validate(_plain(located.document))
    except ValidationError as exc:
        raise DefinitionError([_schema_problem(located, error) for error in exc.errors()]) from None
    problems, seen = [], set()
    for index, rule in enumerate(mapping.groups):
        if rule.key in seen:
            problems.append(located.problem(("groups", index, "group"), f"group '{rule.group}' is listed twice"))
        seen.add(rule.key)
    if problems:
        raise DefinitionError(problems)
    return mapping


def load_group_file(path: Path) -> GroupMapping:
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise DefinitionError([Problem(str(path), 1, 1, f"cannot read the file: {exc}")]) from None
    return load_group_mapping(text, str(path))
