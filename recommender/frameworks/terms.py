"""Answers in the framework's terms: approved mappings add the framework skill's id and
labels beside each catalogue skill of a JSON answer (gaps, next module, plan, team report,
recommendations), never renaming or removing a field, so scripts that read `skill` keep
working and those that want the framework read `framework_skill`.

What is added, wherever the answer has it:

- beside `"skill": ID` (a mapped catalogue skill): `"framework_skill": {"id", "label",
  "labels", "framework"}`;
- beside `"skills": {ID: level, ...}` (a module's skills): `"framework_skills": {ID: term}`
  for the mapped ones;
- beside `"reason": TEXT` naming mapped skill ids: `"framework_reason"`, the same sentence
  with each such id replaced by the framework's label;
- at the top: `"framework": {"name", "source"}` once anything was added.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from recommender.frameworks.types import Decision, Framework


@dataclass(frozen=True)
class Term:
    """A catalogue skill's framework skill: its id and labels, and the framework's name."""

    id: str
    label: str
    labels: Mapping[str, str]
    framework: str

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "label": self.label,
            "labels": dict(self.labels),
            "framework": self.framework,
        }


@dataclass(frozen=True)
class FrameworkTerms:
    """The approved mappings, ready to annotate answers; empty when there are none."""

    framework: str
    source: str
    terms: Mapping[str, Term]

    @classmethod
    def of(cls, framework: Framework | None, decisions: Mapping[str, Decision]) -> FrameworkTerms:
        if framework is None:
            return cls("", "", {})
        terms = {}
        for skill, decision in decisions.items():
            if decision.status != "approved" or decision.framework_id is None:
                continue
            concept = framework.concept(decision.framework_id)
            if concept is not None:
                terms[skill] = Term(
                    concept.id, concept.label("en"), dict(concept.labels), framework.name
                )
        return cls(framework.name, framework.source, terms)

    def __bool__(self) -> bool:
        return bool(self.terms)

    def term(self, skill: str) -> Term | None:
        return self.terms.get(skill)

    def say(self, text: str) -> str:
        """`text` with every mapped skill id (as a whole word) replaced by its framework label."""
        if not self.terms:
            return text
        ids = sorted(self.terms, key=len, reverse=True)
        pattern = re.compile(r"(?<![\w-])(" + "|".join(map(re.escape, ids)) + r")(?![\w-])")
        return pattern.sub(lambda m: self.terms[m.group(1)].label, text)

    def annotate(self, payload: Any) -> Any:
        """`payload` (JSON values: dicts, lists...) with the framework's fields added (see the
        module's docstring); the same object when there is nothing to add."""
        if not self.terms:
            return payload
        result = self._walk(payload)
        if isinstance(result, dict):
            result["framework"] = {"name": self.framework, "source": self.source}
        return result

    def _walk(self, value: Any) -> Any:
        if isinstance(value, list | tuple):
            return [self._walk(item) for item in value]
        if not isinstance(value, dict):
            return value
        out = {key: self._walk(item) for key, item in value.items()}
        skill = value.get("skill")
        if isinstance(skill, str) and skill in self.terms:
            out["framework_skill"] = self.terms[skill].to_dict()
        skills = value.get("skills")
        if isinstance(skills, dict):
            mapped = {s: self.terms[s].to_dict() for s in skills if s in self.terms}
            if mapped:
                out["framework_skills"] = mapped
        reason = value.get("reason")
        if isinstance(reason, str):
            said = self.say(reason)
            if said != reason:
                out["framework_reason"] = said
        return out
