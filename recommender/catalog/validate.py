"""Catalogue validation: every fault in one pass, each naming its file and entry.

Organisers write the YAML by hand, so a typo must come back as a sentence they can act on
("employees.yaml: employee 'e07': skills: unknown skill 'nlp-magic'"), all of them at once.
"""

from __future__ import annotations

import datetime as dt
import difflib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from recommender.catalog.types import (
    CATALOG_FILES,
    CYCLE_FORMATS,
    FORMATS,
    LEVEL_MAX,
    LEVEL_MIN,
    OPTIONAL_FILES,
    SIGN_IN_ROLES,
    Catalog,
    RawCatalog,
)
from recommender.errors import Fault

_FIELDS: Mapping[str, tuple[frozenset[str], frozenset[str]]] = {
    # kind: (required, optional)
    "skills": (
        frozenset({"id", "name", "category"}),
        frozenset({"description", "weight", "stale_after_days"}),
    ),
    "teams": (frozenset({"id", "name"}), frozenset({"targets"})),
    "courses": (frozenset({"id", "title", "team", "modules"}), frozenset()),
    "modules": (
        frozenset({"id", "title", "format", "hours", "skills"}),
        frozenset({"prerequisites", "materials"}),
    ),
    "employees": (
        frozenset({"id", "name", "team"}),
        frozenset({"skills", "completed", "targets", "email"}),
    ),
    "cycles": (
        frozenset({"id", "title", "modules", "start", "end", "trainers", "participants"}),
        frozenset({"teams", "hours", "format", "pass_mark", "description"}),
    ),
    # company sign-in (docs/sign-in.md): one identity-provider group -> a role and/or a team
    "sign_in": (frozenset({"group"}), frozenset({"role", "team"})),
}
_SINGULAR = {
    "skills": "skill",
    "teams": "team",
    "courses": "course",
    "employees": "employee",
    "cycles": "cycle",
    "sign_in": "group",
}
_FILES = [f"{kind}.yaml" for kind in (*CATALOG_FILES, *OPTIONAL_FILES)]
CYCLE_HOURS_MAX = 10_000


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


@dataclass
class _Checker:
    raw: RawCatalog
    faults: list[Fault] = field(default_factory=list)
    skills: set[str] = field(default_factory=set)
    teams: set[str] = field(default_factory=set)
    modules: dict[str, str] = field(default_factory=dict)  # module id -> its entry label
    employees: dict[str, str] = field(default_factory=dict)  # employee id -> team id
    prerequisites: dict[str, list[str]] = field(default_factory=dict)

    def fault(self, file: str, entry: str, message: str) -> None:
        self.faults.append(Fault(file, entry, message))

    # -- shape --------------------------------------------------------------------------------

    def entries(self, kind: str) -> list[tuple[str, dict[str, Any]]]:
        """(label, entry) pairs of a file's well-shaped entries; faults for the rest."""
        value = self.raw.get(kind)
        file = f"{kind}.yaml"
        if value is None:
            return []
        if not isinstance(value, list):
            self.fault(file, "file", f"must be a list of entries, found {type(value).__name__}")
            return []
        out = []
        for index, entry in enumerate(value, start=1):
            label = self.label(_SINGULAR[kind], entry, index)
            if not isinstance(entry, dict):
                self.fault(file, label, "must be a mapping of fields")
                continue
            self.check_fields(file, label, kind, entry)
            out.append((label, entry))
        return out

    @staticmethod
    def label(kind: str, entry: Any, index: int) -> str:
        ident = entry.get("group" if kind == "group" else "id") if isinstance(entry, dict) else None
        if isinstance(ident, str) and ident:
            return f"{kind} '{ident}'"
        return f"{kind} entry #{index}"

    def check_fields(self, file: str, label: str, kind: str, entry: Mapping[str, Any]) -> None:
        required, optional = _FIELDS[kind]
        allowed = required | optional
        for name in sorted(required - entry.keys()):
            self.fault(file, label, f"missing field '{name}'")
        for name in sorted(str(k) for k in entry.keys() - allowed):
            close = difflib.get_close_matches(name, sorted(allowed), n=1)
            hint = f" (did you mean '{close[0]}'?)" if close else ""
            self.fault(file, label, f"unknown field '{name}'{hint}")
        for name in ("id", "name", "title", "category", "team", "format"):
            if name in entry and name in allowed:
                value = entry[name]
                if not isinstance(value, str) or not value.strip():
                    self.fault(file, label, f"field '{name}' must be a non-empty string")

    def unique(
        self, file: str, kind: str, items: Iterable[tuple[str, Mapping[str, Any]]]
    ) -> set[str]:
        """Known ids of one file; every repeat is a fault naming both positions."""
        seen: dict[str, int] = {}
        for position, (label, entry) in enumerate(items, start=1):
            ident = entry.get("id")
            if not isinstance(ident, str) or not ident:
                continue
            if ident in seen:
                message = f"duplicate {kind} id '{ident}' (entries {seen[ident]} and {position})"
                self.fault(file, label, message)
            else:
                seen[ident] = position
        return set(seen)

    # -- values -------------------------------------------------------------------------------

    def levels(self, file: str, label: str, name: str, value: Any) -> None:
        """A {skill id: level} mapping: known skills, integer levels 0..5."""
        if value is None:
            return
        if not isinstance(value, dict):
            self.fault(file, label, f"{name}: must be a mapping of skill id to level")
            return
        for skill, level in value.items():
            if skill not in self.skills:
                self.fault(file, label, f"{name}: unknown skill '{skill}'{self.hint(skill)}")
            if not isinstance(level, int) or isinstance(level, bool):
                self.fault(
                    file, label, f"{name}: level of '{skill}' must be an integer, got {level!r}"
                )
            elif not LEVEL_MIN <= level <= LEVEL_MAX:
                self.fault(
                    file,
                    label,
                    f"{name}: level {level} of '{skill}' out of range {LEVEL_MIN}..{LEVEL_MAX}",
                )

    def hint(self, skill: Any) -> str:
        close = difflib.get_close_matches(str(skill), sorted(self.skills), n=1)
        return f" (did you mean '{close[0]}'?)" if close else ""

    def team_ref(self, file: str, label: str, value: Any) -> None:
        if isinstance(value, str) and value and value not in self.teams:
            self.fault(file, label, f"unknown team '{value}'")

    def module_ref(self, file: str, label: str, name: str, value: Any) -> None:
        if not isinstance(value, str) or not value:
            self.fault(file, label, f"{name}: module id must be a non-empty string, got {value!r}")
        elif value not in self.modules:
            self.fault(file, label, f"{name}: unknown module '{value}'")

    def string_list(self, file: str, label: str, name: str, value: Any) -> list[Any]:
        if value is None:
            return []
        if not isinstance(value, list):
            self.fault(file, label, f"{name}: must be a list")
            return []
        return value

    # -- files --------------------------------------------------------------------------------

    def run(self) -> list[Fault]:
        skills = self.entries("skills")
        teams = self.entries("teams")
        courses = self.entries("courses")
        employees = self.entries("employees")
        cycles = self.entries("cycles")
        self.skills = self.unique("skills.yaml", "skill", skills)
        self.teams = self.unique("teams.yaml", "team", teams)
        self.unique("courses.yaml", "course", courses)
        known = self.unique("employees.yaml", "employee", employees)
        self.employees = {e["id"]: str(e.get("team")) for _, e in employees if e.get("id") in known}
        self.unique("cycles.yaml", "cycle", cycles)
        modules = self.collect_modules(courses)
        self.check_skills(skills)
        for label, entry in teams:
            self.levels("teams.yaml", label, "targets", entry.get("targets"))
        for label, entry in courses:
            self.team_ref("courses.yaml", label, entry.get("team"))
        for label, entry in modules:
            self.check_module(label, entry)
        self.check_cycles()
        for label, entry in employees:
            self.check_employee(label, entry)
        for label, entry in cycles:
            self.check_training_cycle("cycles.yaml", label, entry)
        self.check_sign_in(self.entries("sign_in"))
        return sorted(self.faults, key=lambda f: _FILES.index(f.file) if f.file in _FILES else -1)

    def check_sign_in(self, rules: list[tuple[str, dict[str, Any]]]) -> None:
        """`sign_in.yaml`: each group named once, mapped to a known role and/or a known team
        (a rule that maps to nothing is a typo, not a no-op)."""
        file = "sign_in.yaml"
        seen: dict[str, int] = {}
        for position, (label, entry) in enumerate(rules, start=1):
            group = entry.get("group")
            if not isinstance(group, str) or not group.strip():
                self.fault(
                    file,
                    label,
                    "field 'group' must be a non-empty string (the group's "
                    "name as the identity provider sends it)",
                )
            elif group in seen:
                self.fault(
                    file,
                    label,
                    f"duplicate group '{group}' (entries {seen[group]} and "
                    f"{position}): give one entry both its role and its team",
                )
            else:
                seen[group] = position
            role, team = entry.get("role"), entry.get("team")
            if role is None and team is None:
                self.fault(
                    file,
                    label,
                    "maps to nothing: give it a 'role' (employee, organiser "
                    "or admin), a 'team', or both",
                )
            if role is not None and role not in SIGN_IN_ROLES:
                self.fault(file, label, f"role {role!r} is not one of {', '.join(SIGN_IN_ROLES)}")
            if team is not None:
                self.team_ref(file, label, team)

    def check_skills(self, skills: list[tuple[str, dict[str, Any]]]) -> None:
        for label, entry in skills:
            weight = entry.get("weight")
            if weight is not None and (not _is_number(weight) or weight <= 0):
                self.fault(
                    "skills.yaml", label, f"weight must be a positive number, got {weight!r}"
                )
            description = entry.get("description")
            if description is not None and not isinstance(description, str):
                self.fault("skills.yaml", label, "description must be text")
            days = entry.get("stale_after_days")
            whole = isinstance(days, int) and not isinstance(days, bool)
            if days is not None and (not whole or days < 1):
                self.fault(
                    "skills.yaml",
                    label,
                    "stale_after_days must be a whole number of days, 1 or more "
                    f"(365 for a year), got {days!r}",
                )

    def collect_modules(
        self, courses: list[tuple[str, dict[str, Any]]]
    ) -> list[tuple[str, dict[str, Any]]]:
        """Modules of all courses, ids unique across the whole catalogue."""
        out: list[tuple[str, dict[str, Any]]] = []
        for course_label, course in courses:
            modules = course.get("modules")
            if modules is None:
                continue
            if not isinstance(modules, list) or not modules:
                self.fault("courses.yaml", course_label, "modules: must be a non-empty list")
                continue
            for index, module in enumerate(modules, start=1):
                label = f"{course_label}, {self.label('module', module, index)}"
                if not isinstance(module, dict):
                    self.fault("courses.yaml", label, "must be a mapping of fields")
                    continue
                self.check_fields("courses.yaml", label, "modules", module)
                out.append((label, module))
        for label, module in out:
            ident = module.get("id")
            if not isinstance(ident, str) or not ident:
                continue
            if ident in self.modules:
                self.fault(
                    "courses.yaml",
                    label,
                    f"duplicate module id '{ident}' (first as {self.modules[ident]})",
                )
            else:
                self.modules[ident] = label
        return out

    def check_module(self, label: str, module: Mapping[str, Any]) -> None:
        file = "courses.yaml"
        fmt = module.get("format")
        if isinstance(fmt, str) and fmt not in FORMATS:
            self.fault(file, label, f"format '{fmt}' must be one of {', '.join(FORMATS)}")
        hours: Any = module.get("hours")
        if "hours" in module and (not _is_number(hours) or hours <= 0):
            self.fault(file, label, f"hours must be a positive number, got {hours!r}")
        skills = module.get("skills")
        self.levels(file, label, "skills", skills)
        if isinstance(skills, dict) and not skills:
            self.fault(file, label, "skills: a module must teach at least one skill")
        prerequisites = self.string_list(file, label, "prerequisites", module.get("prerequisites"))
        for prerequisite in prerequisites:
            self.module_ref(file, label, "prerequisites", prerequisite)
        ident = module.get("id")
        if isinstance(ident, str) and self.modules.get(ident) == label:
            self.prerequisites[ident] = [p for p in prerequisites if p in self.modules]
        for material in self.string_list(file, label, "materials", module.get("materials")):
            if not isinstance(material, str) or not material.strip():
                self.fault(file, label, f"materials: entries must be text, got {material!r}")

    def check_cycles(self) -> None:
        for cycle in find_cycles(self.prerequisites):
            path = " -> ".join([*cycle, cycle[0]])
            self.fault(
                "courses.yaml",
                self.modules[cycle[0]],
                f"prerequisite cycle: {path} (each requires the next)",
            )

    def check_employee(self, label: str, entry: Mapping[str, Any]) -> None:
        file = "employees.yaml"
        self.team_ref(file, label, entry.get("team"))
        self.levels(file, label, "skills", entry.get("skills"))
        self.levels(file, label, "targets", entry.get("targets"))
        for item in self.string_list(file, label, "completed", entry.get("completed")):
            if isinstance(item, str):
                self.module_ref(file, label, "completed", item)
                continue
            if not isinstance(item, dict) or "module" not in item:
                self.fault(
                    file, label, f"completed: entries must be {{module, score}}, got {item!r}"
                )
                continue
            extra = set(item) - {"module", "score"}
            if extra:
                self.fault(
                    file, label, f"completed: unknown field(s) {', '.join(sorted(map(str, extra)))}"
                )
            self.module_ref(file, label, "completed", item["module"])
            score = item.get("score")
            if score is not None and (not _is_number(score) or not 0 <= score <= 1):
                self.fault(
                    file, label, f"completed: score {score!r} of '{item['module']}' must be in 0..1"
                )

    # -- training cycles ----------------------------------------------------------------------

    def employee_refs(self, file: str, label: str, name: str, value: Any) -> list[str]:
        """A non-empty list of known employee ids, each once."""
        if not isinstance(value, list) or not value:
            self.fault(file, label, f"{name}: must be a non-empty list of employee ids")
            return []
        seen: list[str] = []
        for item in value:
            if not isinstance(item, str) or not item:
                self.fault(file, label, f"{name}: employee id must be text, got {item!r}")
            elif item in seen:
                self.fault(file, label, f"{name}: '{item}' is listed twice")
            elif item not in self.employees:
                close = difflib.get_close_matches(item, sorted(self.employees), n=1)
                hint = f" (did you mean '{close[0]}'?)" if close else ""
                self.fault(file, label, f"{name}: unknown employee '{item}'{hint}")
            else:
                seen.append(item)
        return seen

    def date(self, file: str, label: str, name: str, value: Any) -> dt.date | None:
        if isinstance(value, dt.date) and not isinstance(value, dt.datetime):
            return value
        if isinstance(value, str):
            try:
                return dt.date.fromisoformat(value.strip())
            except ValueError:
                pass
        self.fault(file, label, f"{name}: must be a date written YYYY-MM-DD, got {value!r}")
        return None

    def check_training_cycle(self, file: str, label: str, entry: Mapping[str, Any]) -> None:
        modules = entry.get("modules")
        if "modules" in entry:
            if not isinstance(modules, list) or not modules:
                self.fault(file, label, "modules: must be a non-empty list of module ids")
            else:
                for index, module in enumerate(modules):
                    if module in modules[:index]:
                        self.fault(file, label, f"modules: '{module}' is listed twice")
                    else:
                        self.module_ref(file, label, "modules", module)
        start = self.date(file, label, "start", entry["start"]) if "start" in entry else None
        end = self.date(file, label, "end", entry["end"]) if "end" in entry else None
        if start and end and end < start:
            self.fault(file, label, f"end {end} is before start {start}")
        trainers = (
            self.employee_refs(file, label, "trainers", entry["trainers"])
            if "trainers" in entry
            else []
        )
        participants = (
            self.employee_refs(file, label, "participants", entry["participants"])
            if "participants" in entry
            else []
        )
        for both in sorted(set(trainers) & set(participants)):
            self.fault(file, label, f"'{both}' is both a trainer and a participant")
        teams = entry.get("teams")
        if teams is not None:
            if not isinstance(teams, list) or not teams:
                self.fault(file, label, "teams: must be a non-empty list of team ids")
            else:
                for team in teams:
                    if not isinstance(team, str) or not team:
                        self.fault(file, label, f"teams: team id must be text, got {team!r}")
                    else:
                        self.team_ref(file, label, team)
                for person in participants:
                    team = self.employees[person]
                    if team not in teams:
                        self.fault(
                            file,
                            label,
                            f"participants: '{person}' is in team '{team}', which is not one "
                            f"of the cycle's teams ({', '.join(map(str, teams))})",
                        )
        hours: Any = entry.get("hours")
        if "hours" in entry and (not _is_number(hours) or not 0 < hours <= CYCLE_HOURS_MAX):
            self.fault(
                file,
                label,
                f"hours must be a positive number of at most {CYCLE_HOURS_MAX}, got {hours!r}",
            )
        fmt = entry.get("format")
        if isinstance(fmt, str) and fmt and fmt not in CYCLE_FORMATS:
            self.fault(file, label, f"format '{fmt}' must be one of {', '.join(CYCLE_FORMATS)}")
        mark: Any = entry.get("pass_mark")
        if "pass_mark" in entry and (not _is_number(mark) or not 0 < mark <= 1):
            self.fault(
                file,
                label,
                f"pass_mark must be a share of the points in (0, 1], e.g. 0.6, got {mark!r}",
            )
        description = entry.get("description")
        if description is not None and not isinstance(description, str):
            self.fault(file, label, "description must be text")


def validate_cycle(entry: Any, catalog: Catalog, where: str = "request") -> list[Fault]:
    """Faults of one cycle (as `cycles.yaml` holds them) against a catalogue; `where` names
    the source in each fault. Ids already taken are the caller's to check."""
    checker = _Checker(raw={})
    checker.skills = set(catalog.skills)
    checker.teams = set(catalog.teams)
    checker.modules = {m: m for m in catalog.modules}
    checker.employees = {e.id: e.team for e in catalog.employees.values()}
    label = checker.label("cycle", entry, 1)
    if not isinstance(entry, dict):
        return [Fault(where, label, "must be a mapping of fields")]
    checker.check_fields(where, label, "cycles", entry)
    checker.check_training_cycle(where, label, entry)
    return checker.faults


def find_cycles(graph: Mapping[str, list[str]]) -> list[list[str]]:
    """One cycle per strongly connected component that has one, in catalogue order.

    `graph` maps each module to the modules it requires. Each cycle starts at its component's
    first module in catalogue order and is the shortest way back to it, so an organiser reads
    the fewest modules that explain the fault ("m1 -> m3 -> m2 -> m1"). networkx walks the
    graph without recursion: a prerequisite chain of thousands of modules is checked in
    linear time instead of ending `kb catalog load` with a RecursionError.
    """
    import networkx as nx  # here, not at the top: `import recommender` loads no networkx

    order = {node: i for i, node in enumerate(graph)}
    last = len(order)
    prerequisites: nx.DiGraph = nx.DiGraph()
    prerequisites.add_nodes_from(graph)
    prerequisites.add_edges_from((m, p) for m, needs in graph.items() for p in needs)
    cycles = []
    for component in nx.strongly_connected_components(prerequisites):
        start = min(component, key=lambda node: (order.get(node, last), node))
        if len(component) == 1 and not prerequisites.has_edge(start, start):
            continue
        cycles.append(_shortest_cycle_through(prerequisites.subgraph(component), start, order))
    cycles.sort(key=lambda c: order.get(c[0], last))
    return cycles


def _shortest_cycle_through(component: Any, start: str, order: Mapping[str, int]) -> list[str]:
    """The shortest cycle through `start` inside one strongly connected component: a
    breadth-first path from `start` to the nearest module that requires it."""
    import networkx as nx

    if component.has_edge(start, start):
        return [start]
    paths = nx.single_source_shortest_path(component, start)
    back = min(
        component.predecessors(start),
        key=lambda node: (len(paths[node]), order.get(node, len(order)), node),
    )
    return list(paths[back])


def validate_catalog(raw: RawCatalog) -> list[Fault]:
    """All faults of a raw catalogue (empty list: it is valid)."""
    return _Checker(raw).run()
