"""Recommender: what each employee should learn next, from skill gaps, teams and the kb.

Rules (gaps, next module, plan, team) work on a `Catalog` alone; materials need a
`MaterialSource` (the knowledge base, or anything with its `search` and `get_document`).
The catalogue's types are in `catalog.py`, its rules in `validate.py`, reading a folder in
`loading.py`; state (the catalogue and events) lives behind `RecommenderStore` (`store.py`):
in `<home>/catalog.sqlite`, or in PostgreSQL given a database URL (`pg_store.py`), and
`copy_state` moves it from one to the other.
Training cycles: `cycles.py` (creating one, replaying their events), `cycle_import.py` (results
from CSV), `cycle_report.py` (their effect), `cycle_export.py` (Markdown, HTML), `themes.py`
(comments grouped by theme).
The knowledge graph: `graph.py` (building it, views, the cache), `graph_questions.py` (paths,
experts, bottlenecks, bridges).
A new rule is a module of its own over `Catalog`, exported here.
"""

from recommender.catalog.loading import load_catalog_dir, read_catalog_dir
from recommender.catalog.types import (
    CATEGORY_WEIGHTS,
    Catalog,
    Completion,
    Course,
    Cycle,
    Employee,
    Module,
    Skill,
    Team,
    build_catalog,
    default_weight,
)
from recommender.catalog.validate import validate_catalog
from recommender.cycles.csv_import import (
    ImportFile,
    ImportInvalidError,
    ImportReport,
    import_results,
)
from recommender.cycles.export import to_html, to_markdown
from recommender.cycles.replay import (
    SURVEY_QUESTIONS,
    CycleExistsError,
    CycleInvalidError,
    create_cycle,
    replay_events,
)
from recommender.cycles.report import (
    CycleReport,
    CycleSummary,
    build_report,
    list_cycles,
    load_cycle_state,
    my_cycles,
)
from recommender.errors import (
    CatalogInvalidError,
    Fault,
    InvalidValueError,
    NoCatalogError,
    RecommenderError,
    UnknownIdError,
)
from recommender.rules.colleagues import Colleague, who_to_ask
from recommender.rules.feedback import (
    CompletionResult,
    RatingResult,
    apply_events,
    completed_level,
    record_completion,
    record_rating,
)
from recommender.rules.gaps import GapReport, SkillGap, employee_gaps
from recommender.rules.materials import MaterialItem, MaterialSource, recommend_materials
from recommender.rules.next_module import ModuleOption, NextModuleResult, next_module
from recommender.rules.plan import Plan, PlanStep, greedy_plan, plan_modules
from recommender.rules.recommend import Recommendation, RecommendedModule, recommend
from recommender.rules.team import TeamReport, team_report
from recommender.state.base import RecommenderStore
from recommender.state.current import (
    LoadReport,
    copy_state,
    current_catalog,
    load_catalog,
)
from recommender.state.events import Event
from recommender.state.postgres import PgCatalogStore
from recommender.state.sqlite import CatalogStore

__all__ = [
    "CATEGORY_WEIGHTS",
    "SURVEY_QUESTIONS",
    "Catalog",
    "CatalogInvalidError",
    "CatalogStore",
    "Colleague",
    "Completion",
    "CompletionResult",
    "Course",
    "Cycle",
    "CycleExistsError",
    "CycleInvalidError",
    "CycleReport",
    "CycleSummary",
    "Employee",
    "Event",
    "Fault",
    "GapReport",
    "ImportFile",
    "ImportInvalidError",
    "ImportReport",
    "InvalidValueError",
    "LoadReport",
    "MaterialItem",
    "MaterialSource",
    "Module",
    "ModuleOption",
    "NextModuleResult",
    "NoCatalogError",
    "PgCatalogStore",
    "Plan",
    "PlanStep",
    "RatingResult",
    "Recommendation",
    "RecommendedModule",
    "RecommenderError",
    "RecommenderStore",
    "Skill",
    "SkillGap",
    "Team",
    "TeamReport",
    "UnknownIdError",
    "apply_events",
    "build_catalog",
    "build_report",
    "completed_level",
    "copy_state",
    "create_cycle",
    "current_catalog",
    "default_weight",
    "employee_gaps",
    "greedy_plan",
    "import_results",
    "list_cycles",
    "load_catalog",
    "load_catalog_dir",
    "load_cycle_state",
    "my_cycles",
    "read_catalog_dir",
    "next_module",
    "plan_modules",
    "recommend",
    "recommend_materials",
    "record_completion",
    "record_rating",
    "replay_events",
    "team_report",
    "to_html",
    "to_markdown",
    "validate_catalog",
    "who_to_ask",
]
