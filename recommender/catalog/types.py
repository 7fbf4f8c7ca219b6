"""The training catalogue as typed, read-only values: skills, teams, courses, modules, employees.

Raw YAML is validated first (`recommender.catalog.validate`); `build_catalog` then trusts its input,
so every rule module works on clean, typed data and never re-checks references.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from recommender.errors import UnknownIdError

LEVEL_MIN = 0
LEVEL_MAX = 5
FORMATS = ("lecture", "hands-on")
CATALOG_FILES = ("skills", "teams", "courses", "employees")
# Files a catalogue may have: `cycles.yaml`, the training cycles run (or planned), and
# `sign_in.yaml`, the identity provider's groups mapped to roles and teams (docs/sign-in.md).
OPTIONAL_FILES = ("cycles", "sign_in")
# The roles a sign-in group may grant, lowest first (api.http.auth's roles, same order).
SIGN_IN_ROLES = ("employee", "organiser", "admin")
STORED_KINDS = CATALOG_FILES + OPTIONAL_FILES
# How a cycle was delivered; "mixed" when its modules' formats differ.
CYCLE_FORMATS = ("lecture", "hands-on", "workshop", "mixed", "self-paced")
# The share of an assessment's points that passes, when a cycle gives no `pass_mark`.
DEFAULT_PASS_MARK = 0.6
# A catalogue file is bigger than front matter (hundreds of employees), but stays bounded:
# at most 10,000,000 characters (KB_CATALOG_MAX_MB caps uploads at 10 MB by default) and
# 1,000,000 values once aliases are expanded; nesting 64 levels deep at most.
CATALOG_MAX_CHARS = 10_000_000
CATALOG_MAX_NODES = 1_000_000

# The training programme's own model: optimisation and innovation count most, then preparing
# data; every other category counts half.
CATEGORY_WEIGHTS: Mapping[str, float] = {
    "model optimisation": 1.5,
    "algorithm innovation": 1.5,
    "data preprocessing": 1.0,
    "data cleaning": 1.0,
}
OTHER_WEIGHT = 0.5

RawCatalog = dict[str, Any]


def normalise_category(category: str) -> str:
    """Spelling-tolerant key: 'Model-Optimization' and 'model optimisation' are one category."""
    text = re.sub(r"[\s_\-]+", " ", category.strip().lower())
    return text.replace("optimization", "optimisation")


def default_weight(category: str) -> float:
    """Weight of a skill whose entry gives none, from its category."""
    return CATEGORY_WEIGHTS.get(normalise_category(category), OTHER_WEIGHT)


@dataclass(frozen=True)
class Skill:
    id: str
    name: str
    category: str
    weight: float
    description: str = ""
    # days after which material on this skill may be out of date (kb.freshness); None: the
    # service's default (KB_STALE_AFTER_DAYS)
    stale_after_days: int | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "name": self.name,
            "category": self.category,
            "weight": self.weight,
            "description": self.description,
            "stale_after_days": self.stale_after_days,
        }


@dataclass(frozen=True)
class Team:
    id: str
    name: str
    targets: Mapping[str, int] = field(default_factory=dict)


@dataclass(frozen=True)
class Module:
    id: str
    title: str
    format: str
    hours: float
    skills: Mapping[str, int]
    course: str
    team: str
    order: int  # position in the whole catalogue: course order, then module order
    prerequisites: tuple[str, ...] = ()
    materials: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "title": self.title,
            "course": self.course,
            "team": self.team,
            "format": self.format,
            "hours": self.hours,
            "skills": dict(self.skills),
            "prerequisites": list(self.prerequisites),
            "materials": list(self.materials),
        }


@dataclass(frozen=True)
class Course:
    id: str
    title: str
    team: str
    modules: tuple[str, ...]


@dataclass(frozen=True)
class Completion:
    module: str
    score: float | None = None
    source: str = "catalogue"  # or "event" when recorded with `kb complete`

    def to_dict(self) -> dict[str, Any]:
        return {"module": self.module, "score": self.score, "source": self.source}


@dataclass(frozen=True)
class Employee:
    id: str
    name: str
    team: str
    skills: Mapping[str, int] = field(default_factory=dict)
    completed: tuple[Completion, ...] = ()
    targets: Mapping[str, int] = field(default_factory=dict)
    ratings: Mapping[str, int] = field(default_factory=dict)  # doc id -> 1..5, from events

    def level(self, skill: str) -> int:
        return self.skills.get(skill, LEVEL_MIN)

    @property
    def completed_modules(self) -> frozenset[str]:
        return frozenset(c.module for c in self.completed)

    @property
    def has_history(self) -> bool:
        """A newcomer has neither completions nor ratings: only content can guide them."""
        return bool(self.completed or self.ratings)


@dataclass(frozen=True)
class Cycle:
    """A run of one or more modules for a set of participants: who taught it, when, for how
    many hours each participant, in which format. From `cycles.yaml` or created through the
    API (`source` "catalogue" or "api")."""

    id: str
    title: str
    modules: tuple[str, ...]
    start: str  # ISO dates, YYYY-MM-DD
    end: str
    trainers: tuple[str, ...]
    participants: tuple[str, ...]
    teams: tuple[str, ...]
    hours: float  # training hours per participant
    format: str
    pass_mark: float = DEFAULT_PASS_MARK
    description: str = ""
    source: str = "catalogue"

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "title": self.title,
            "modules": list(self.modules),
            "start": self.start,
            "end": self.end,
            "trainers": list(self.trainers),
            "participants": list(self.participants),
            "teams": list(self.teams),
            "hours": self.hours,
            "format": self.format,
            "pass_mark": self.pass_mark,
            "description": self.description,
            "source": self.source,
        }


@dataclass(frozen=True)
class GroupRule:
    """One line of `sign_in.yaml`: members of the identity provider's `group` get `role`
    (the highest of their groups' roles wins) and/or `team` (the first group with one)."""

    group: str
    role: str | None = None
    team: str | None = None


@dataclass(frozen=True)
class SignInMapping:
    """What a signed-in person's groups make them: a role and a team (None: no group gives one)."""

    role: str
    team: str | None


@dataclass(frozen=True)
class Catalog:
    skills: Mapping[str, Skill]
    teams: Mapping[str, Team]
    courses: Mapping[str, Course]
    modules: Mapping[str, Module]
    employees: Mapping[str, Employee]
    cycles: Mapping[str, Cycle] = field(default_factory=dict)
    sign_in: tuple[GroupRule, ...] = ()

    def employee(self, employee_id: str) -> Employee:
        try:
            return self.employees[employee_id]
        except KeyError:
            raise UnknownIdError("employee", employee_id) from None

    def module(self, module_id: str) -> Module:
        try:
            return self.modules[module_id]
        except KeyError:
            raise UnknownIdError("module", module_id) from None

    def team(self, team_id: str) -> Team:
        try:
            return self.teams[team_id]
        except KeyError:
            raise UnknownIdError("team", team_id) from None

    def target(self, employee: Employee, skill: str) -> tuple[int, str] | None:
        """The level asked of this employee in a skill, and whose ask it is (personal over team)."""
        if skill in employee.targets:
            return employee.targets[skill], "personal"
        team = self.teams.get(employee.team)
        if team is not None and skill in team.targets:
            return team.targets[skill], "team"
        return None

    def cycle(self, cycle_id: str) -> Cycle:
        try:
            return self.cycles[cycle_id]
        except KeyError:
            raise UnknownIdError("cycle", cycle_id) from None

    def weight(self, skill: str) -> float:
        return self.skills[skill].weight

    def map_groups(self, groups: Iterable[str]) -> SignInMapping:
        """The role and team that `groups` (as the identity provider names them) map to by
        `sign_in.yaml`: the highest role of any matching rule (employee when none matches),
        the team of the first matching rule that names one, in the file's order."""
        member = set(groups)
        role, team = SIGN_IN_ROLES[0], None
        for rule in self.sign_in:
            if rule.group not in member:
                continue
            if rule.role is not None and SIGN_IN_ROLES.index(rule.role) > SIGN_IN_ROLES.index(role):
                role = rule.role
            if team is None and rule.team is not None:
                team = rule.team
        return SignInMapping(role=role, team=team)

    def members(self, team_id: str) -> list[Employee]:
        return [e for e in self.employees.values() if e.team == team_id]


def _levels(value: Any) -> dict[str, int]:
    return {str(k): int(v) for k, v in (value or {}).items()}


def _completion(item: Any) -> Completion:
    if isinstance(item, str):
        return Completion(module=item)
    score = item.get("score")
    return Completion(module=str(item["module"]), score=None if score is None else float(score))


def build_cycle(
    entry: Mapping[str, Any],
    modules: Mapping[str, Module],
    employees: Mapping[str, Employee],
    source: str = "catalogue",
) -> Cycle:
    """A typed cycle from an entry that validation accepted; defaults filled in: teams from
    the participants', hours the sum of the modules' hours, format from the modules'."""
    ids = tuple(str(m) for m in entry["modules"])
    participants = tuple(str(p) for p in entry["participants"])
    teams = entry.get("teams")
    if not teams:
        teams = sorted({employees[p].team for p in participants if p in employees})
    hours = entry.get("hours")
    if hours is None:
        hours = sum(modules[m].hours for m in ids if m in modules)
    fmt = entry.get("format")
    if fmt is None:
        formats = {modules[m].format for m in ids if m in modules}
        fmt = formats.pop() if len(formats) == 1 else "mixed"
    pass_mark = entry.get("pass_mark")
    return Cycle(
        id=str(entry["id"]),
        title=str(entry["title"]),
        modules=ids,
        start=str(entry["start"]),
        end=str(entry["end"]),
        trainers=tuple(str(t) for t in entry["trainers"]),
        participants=participants,
        teams=tuple(str(t) for t in teams),
        hours=float(hours),
        format=str(fmt),
        pass_mark=DEFAULT_PASS_MARK if pass_mark is None else float(pass_mark),
        description=str(entry.get("description") or "").strip(),
        source=source,
    )


def build_catalog(raw: RawCatalog) -> Catalog:
    """Typed catalogue from raw entries that `validate_catalog` accepted."""
    skills = {}
    for entry in raw.get("skills") or []:
        weight = entry.get("weight")
        skills[entry["id"]] = Skill(
            id=entry["id"],
            name=entry["name"],
            category=entry["category"],
            weight=float(weight) if weight is not None else default_weight(entry["category"]),
            description=str(entry.get("description") or "").strip(),
            stale_after_days=(
                None if entry.get("stale_after_days") is None else int(entry["stale_after_days"])
            ),
        )
    teams = {
        e["id"]: Team(id=e["id"], name=e["name"], targets=_levels(e.get("targets")))
        for e in raw.get("teams") or []
    }
    courses: dict[str, Course] = {}
    modules: dict[str, Module] = {}
    for entry in raw.get("courses") or []:
        ids = []
        for m in entry.get("modules") or []:
            ids.append(m["id"])
            modules[m["id"]] = Module(
                id=m["id"],
                title=m["title"],
                format=m["format"],
                hours=float(m["hours"]),
                skills=_levels(m.get("skills")),
                course=entry["id"],
                team=entry["team"],
                order=len(modules),
                prerequisites=tuple(m.get("prerequisites") or ()),
                materials=tuple(str(x) for x in m.get("materials") or ()),
            )
        courses[entry["id"]] = Course(
            id=entry["id"], title=entry["title"], team=entry["team"], modules=tuple(ids)
        )
    employees = {
        e["id"]: Employee(
            id=e["id"],
            name=e["name"],
            team=e["team"],
            skills=_levels(e.get("skills")),
            completed=tuple(_completion(c) for c in e.get("completed") or ()),
            targets=_levels(e.get("targets")),
        )
        for e in raw.get("employees") or []
    }
    cycles = {str(e["id"]): build_cycle(e, modules, employees) for e in raw.get("cycles") or []}
    return Catalog(
        skills=skills,
        teams=teams,
        courses=courses,
        modules=modules,
        employees=employees,
        cycles=cycles,
        sign_in=tuple(
            GroupRule(group=e["group"], role=e.get("role"), team=e.get("team"))
            for e in raw.get("sign_in") or []
        ),
    )
