"""Recommender: what each employee should learn next, from skill gaps, teams and the kb.

This module is the recommender's face: everything `api/` uses is exported here, and nothing
past it is imported from outside the package. Inside, the groups are subpackages:

- `catalog/`: the catalogue's types (`types`), its rules (`validate`), reading a folder
  (`loading`).
- `state/`: the catalogue and events behind `RecommenderStore` (`base`), kept in
  `<home>/catalog.sqlite` (`sqlite`) or PostgreSQL (`postgres`), the catalogue as it stands
  (`current`) and `copy_state`, which moves it from one to the other; `api.backends` opens it.
- `rules/`: gaps, next module, plan, materials, recommend, team, colleagues, collaborative
  signals, feedback: work on
  a `Catalog` alone; materials need a `MaterialSource` (the knowledge base, or anything with
  its `search` and `get_document`).
- `cycles/`: training cycles (replaying their events, results from CSV, their effect, the
  report as Markdown or HTML, comments grouped by theme).
- `graph/`: the knowledge graph (`build`: the graph, views, the cache; `questions`: paths,
  experts, bottlenecks, bridges).
- `frameworks/`: skills frameworks (ESCO, the company's own): reading one, its store
  (`base`, `sqlite`, `postgres`), mapping proposals, answers in its terms.
- `content_gaps.py`: what the knowledge base is missing, from the search log.
- `xapi/`: xAPI statements in (checked, mapped, imported as events) and out (exported, and
  pushed to a Learning Record Store through an outbox: `xapi/outbox/`).

A new rule is a module of its own in `rules/` over `Catalog`, exported here.
"""

from typing import TYPE_CHECKING

from kb.lazy import lazy_attributes
from recommender.catalog.loading import load_catalog_dir, read_catalog_dir
from recommender.catalog.types import (
    CATEGORY_WEIGHTS,
    CYCLE_FORMATS,
    Catalog,
    Completion,
    Course,
    Cycle,
    Employee,
    GroupRule,
    Module,
    SignInMapping,
    Skill,
    Team,
    build_catalog,
    default_weight,
)
from recommender.catalog.validate import validate_catalog
from recommender.cycles.csv_import import (
    IMPORT_KINDS,
    FollowupForm,
    ImportFile,
    ImportInvalidError,
    ImportKind,
    ImportReport,
    import_results,
)
from recommender.cycles.export import to_html, to_markdown
from recommender.cycles.followup import (
    FOLLOWUP_QUESTIONS,
    FORMS,
    Followup,
    FollowupError,
    schedule_followup,
    scheduled,
)
from recommender.cycles.kpi import KpiImportReport, import_kpis, kpi_summary
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
    MyCycle,
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
from recommender.frameworks.base import FrameworkStore
from recommender.frameworks.service import (
    ImportReport as FrameworkImportReport,
)
from recommender.frameworks.service import (
    NoFrameworkError,
    approve_framework_skill,
    framework_terms,
    import_framework,
    mapping_view,
    propose_mapping,
    reject_framework_skill,
)
from recommender.frameworks.terms import FrameworkTerms
from recommender.frameworks.types import FORMATS as FRAMEWORK_FORMATS
from recommender.frameworks.types import FrameworkInvalidError
from recommender.people import (
    PersonTerms,
    catalog_mentions,
    catalog_without,
    events_without,
    person_events,
    terms_for,
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
from recommender.rules.next_module import ModuleOption, NextModuleResult, NextStatus, next_module
from recommender.rules.plan import Plan, PlanMethod, PlanStep, greedy_plan, plan_modules
from recommender.rules.proven import (
    EvidenceRule,
    GainEvidence,
    ModuleGain,
    gain_evidence,
    measure_gains,
)
from recommender.rules.recommend import Recommendation, RecommendedModule, recommend
from recommender.rules.team import TeamReport, TeamSkillGap, team_report
from recommender.state.base import RecommenderStore, now_iso
from recommender.state.current import (
    LoadReport,
    add_employee,
    copy_state,
    current_catalog,
    load_catalog,
)
from recommender.state.events import Event

if TYPE_CHECKING:
    from recommender.content_gaps import (
        DEFAULT_WEEKS,
        LITTLE_MATERIAL,
        ContentReport,
        Coverage,
        content_report,
    )
    from recommender.graph.build import (
        GraphCache,
        KnowledgeGraph,
        NodeKind,
        focus,
        graph_for,
        graph_summary,
        graphml,
        node_link,
        without_private_levels,
    )
    from recommender.graph.questions import (
        Bottleneck,
        Bridge,
        ExpertsAnswer,
        LearningPath,
        bottlenecks,
        bridges,
        experts,
        learning_path,
    )
    from recommender.xapi.exporting import (
        XAPI_DEFAULT_LIMIT,
        XAPI_MAX_LIMIT,
        StatementPage,
        export_statements,
    )
    from recommender.xapi.importing import (
        StatementFault,
        XapiImportReport,
        XapiInvalidError,
        import_statements,
    )
    from recommender.xapi.mapping import XapiMapping
    from recommender.xapi.outbox.base import (
        OutboxStatus,
        PushReport,
        SendError,
        XapiOutbox,
        push_statements,
    )
    from recommender.xapi.vocabulary import XAPI_DEFAULT_BASE, XAPI_VERSION

# The graph (networkx), the content-gaps report and xAPI (pydantic) are imported on first
# use, so that the catalogue, the rules and the state cost nothing more to import.
_LAZY = {
    "OutboxStatus": "recommender.xapi.outbox.base",
    "PushReport": "recommender.xapi.outbox.base",
    "SendError": "recommender.xapi.outbox.base",
    "StatementFault": "recommender.xapi.importing",
    "StatementPage": "recommender.xapi.exporting",
    "XAPI_DEFAULT_BASE": "recommender.xapi.vocabulary",
    "XAPI_DEFAULT_LIMIT": "recommender.xapi.exporting",
    "XAPI_MAX_LIMIT": "recommender.xapi.exporting",
    "XAPI_VERSION": "recommender.xapi.vocabulary",
    "XapiImportReport": "recommender.xapi.importing",
    "XapiInvalidError": "recommender.xapi.importing",
    "XapiMapping": "recommender.xapi.mapping",
    "XapiOutbox": "recommender.xapi.outbox.base",
    "export_statements": "recommender.xapi.exporting",
    "import_statements": "recommender.xapi.importing",
    "push_statements": "recommender.xapi.outbox.base",
    "Bottleneck": "recommender.graph.questions",
    "Bridge": "recommender.graph.questions",
    "ContentReport": "recommender.content_gaps",
    "Coverage": "recommender.content_gaps",
    "DEFAULT_WEEKS": "recommender.content_gaps",
    "ExpertsAnswer": "recommender.graph.questions",
    "GraphCache": "recommender.graph.build",
    "KnowledgeGraph": "recommender.graph.build",
    "LITTLE_MATERIAL": "recommender.content_gaps",
    "LearningPath": "recommender.graph.questions",
    "NodeKind": "recommender.graph.build",
    "bottlenecks": "recommender.graph.questions",
    "bridges": "recommender.graph.questions",
    "content_report": "recommender.content_gaps",
    "experts": "recommender.graph.questions",
    "focus": "recommender.graph.build",
    "graph_for": "recommender.graph.build",
    "graph_summary": "recommender.graph.build",
    "graphml": "recommender.graph.build",
    "learning_path": "recommender.graph.questions",
    "node_link": "recommender.graph.build",
    "without_private_levels": "recommender.graph.build",
}


__getattr__ = lazy_attributes(__name__, _LAZY)


__all__ = [
    "FRAMEWORK_FORMATS",
    "FrameworkImportReport",
    "FrameworkInvalidError",
    "FrameworkStore",
    "FrameworkTerms",
    "NoFrameworkError",
    "approve_framework_skill",
    "framework_terms",
    "import_framework",
    "mapping_view",
    "propose_mapping",
    "reject_framework_skill",
    "FOLLOWUP_QUESTIONS",
    "FORMS",
    "EvidenceRule",
    "Followup",
    "FollowupError",
    "FollowupForm",
    "GainEvidence",
    "KpiImportReport",
    "ModuleGain",
    "gain_evidence",
    "import_kpis",
    "kpi_summary",
    "measure_gains",
    "schedule_followup",
    "scheduled",
    "PersonTerms",
    "catalog_mentions",
    "catalog_without",
    "events_without",
    "person_events",
    "terms_for",
    "OutboxStatus",
    "PushReport",
    "SendError",
    "StatementFault",
    "StatementPage",
    "XAPI_DEFAULT_BASE",
    "XAPI_DEFAULT_LIMIT",
    "XAPI_MAX_LIMIT",
    "XAPI_VERSION",
    "XapiImportReport",
    "XapiInvalidError",
    "XapiMapping",
    "XapiOutbox",
    "export_statements",
    "import_statements",
    "push_statements",
    "CYCLE_FORMATS",
    "IMPORT_KINDS",
    "ImportKind",
    "MyCycle",
    "NextStatus",
    "PlanMethod",
    "TeamSkillGap",
    "now_iso",
    "Bottleneck",
    "Bridge",
    "ContentReport",
    "Coverage",
    "DEFAULT_WEEKS",
    "ExpertsAnswer",
    "GraphCache",
    "KnowledgeGraph",
    "LITTLE_MATERIAL",
    "LearningPath",
    "NodeKind",
    "bottlenecks",
    "bridges",
    "content_report",
    "experts",
    "focus",
    "graph_for",
    "graph_summary",
    "graphml",
    "learning_path",
    "node_link",
    "without_private_levels",
    "CATEGORY_WEIGHTS",
    "SURVEY_QUESTIONS",
    "Catalog",
    "CatalogInvalidError",
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
    "GroupRule",
    "SignInMapping",
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
    "add_employee",
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
