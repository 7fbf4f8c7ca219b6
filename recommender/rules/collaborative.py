"""Collaborative signals: colleagues whose skills and history look like yours.

Used only where there is history (completions or ratings); a newcomer gets content alone,
since their nearest neighbours would be chosen by missing data.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from recommender.catalog.types import LEVEL_MAX, Catalog, Employee


@dataclass(frozen=True)
class Neighbour:
    employee: Employee
    similarity: float  # cosine similarity of profile vectors, 0..1


def _vectors(catalog: Catalog, people: list[Employee]) -> np.ndarray:
    """Skill levels (0..1), completed modules (0/1) and ratings (-1..1), one row per person."""
    docs = sorted({d for p in people for d in p.ratings})
    skills = list(catalog.skills)
    modules = list(catalog.modules)
    rows = []
    for person in people:
        row = [person.level(s) / LEVEL_MAX for s in skills]
        done = person.completed_modules
        row += [1.0 if m in done else 0.0 for m in modules]
        row += [(person.ratings[d] - 3) / 2 if d in person.ratings else 0.0 for d in docs]
        rows.append(row)
    return np.asarray(rows, dtype=np.float64)


def similar_colleagues(catalog: Catalog, employee: Employee, n: int = 5) -> list[Neighbour]:
    """Up to `n` nearest colleagues with history; empty for a newcomer or when nobody has any."""
    if not employee.has_history:
        return []
    others = [e for e in catalog.employees.values() if e.id != employee.id and e.has_history]
    if not others:
        return []
    matrix = _vectors(catalog, [employee, *others])
    from sklearn.neighbors import NearestNeighbors  # heavy import: only when history exists

    model = NearestNeighbors(n_neighbors=min(n, len(others)), metric="cosine")
    model.fit(matrix[1:])
    distances, indices = model.kneighbors(matrix[:1])
    out = []
    for distance, index in zip(distances[0], indices[0], strict=True):
        similarity = float(1.0 - distance)
        if similarity > 0:
            out.append(Neighbour(others[int(index)], similarity))
    return out


def module_support(neighbours: list[Neighbour], module_id: str) -> tuple[float, list[str]]:
    """Share of neighbour similarity that completed the module (0..1), and who they are."""
    total = sum(n.similarity for n in neighbours)
    who = [n for n in neighbours if module_id in n.employee.completed_modules]
    if total <= 0:
        return 0.0, []
    return sum(n.similarity for n in who) / total, [n.employee.name for n in who]


def doc_opinion(neighbours: list[Neighbour], doc_id: str) -> tuple[float, list[tuple[str, int]]]:
    """Similarity-weighted opinion of a document among neighbours (-1..1), and their ratings."""
    rated = [(n, n.employee.ratings[doc_id]) for n in neighbours if doc_id in n.employee.ratings]
    if not rated:
        return 0.0, []
    weight = sum(n.similarity for n, _ in rated)
    opinion = sum(n.similarity * (r - 3) / 2 for n, r in rated) / weight
    return opinion, [(n.employee.name, r) for n, r in rated]
