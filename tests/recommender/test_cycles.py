"""Training cycles: cycles.yaml validated like the rest, results imported from CSV (all or
nothing, faults named by line), levels raised by the completion rule, and a report whose
figures are worked out here by hand."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import yaml
from click.testing import CliRunner

from api.cli import main
from api.cli.common import CliContext
from recommender import (
    CatalogInvalidError,
    current_catalog,
    load_catalog,
    load_catalog_dir,
)
from recommender.cycles.csv_import import ImportFile, ImportInvalidError, import_results
from recommender.cycles.export import to_html, to_markdown
from recommender.cycles.replay import CycleExistsError, CycleInvalidError, create_cycle
from recommender.cycles.report import build_report, list_cycles, load_cycle_state, my_cycles
from recommender.cycles.themes import cluster, group_comments
from recommender.state.base import RecommenderStore
from recommender.state.sqlite import CatalogStore
from tests.fakes import HashingEmbedder

SAMPLE = Path(__file__).resolve().parents[2] / "data" / "sample" / "catalog"

# -- the worked example's catalogue --------------------------------------------------------
# Weights: opt 1.5 (its category's default), clean 1.0 (default), eval 0.8 (its own weight).
SKILLS = [
    {"id": "opt", "name": "Optimisation", "category": "Model optimisation"},
    {"id": "clean", "name": "Cleaning", "category": "data cleaning"},
    {"id": "eval", "name": "Evaluation", "category": "evaluation", "weight": 0.8},
]
TEAMS = [{"id": "core", "name": "Core"}, {"id": "ops", "name": "Ops"}]
COURSES = [
    {
        "id": "c",
        "title": "Course",
        "team": "core",
        "modules": [
            {
                "id": "m1",
                "title": "Tuning lab",
                "format": "hands-on",
                "hours": 3,
                "skills": {"opt": 4, "clean": 3},
            },
            {
                "id": "m2",
                "title": "Metrics",
                "format": "lecture",
                "hours": 2,
                "skills": {"eval": 2},
            },
        ],
    }
]
EMPLOYEES = [
    {"id": "ann", "name": "Ann", "team": "core", "skills": {"opt": 1, "clean": 2}},
    {"id": "bob", "name": "Bob", "team": "core", "skills": {"opt": 2, "eval": 1}},
    {"id": "cid", "name": "Cid", "team": "core"},
    {"id": "tess", "name": "Tess", "team": "ops", "skills": {"opt": 5}},
]
CYCLES = [
    # earlier: cid alone, m2 (2 h); its post-assessment takes cid's eval 0 -> 1
    {
        "id": "c0",
        "title": "Metrics",
        "modules": ["m2"],
        "start": "2024-01-08",
        "end": "2024-01-09",
        "trainers": ["tess"],
        "participants": ["cid"],
    },
    # the worked example: m1 + m2, 5 h (the modules' hours), ann, bob and cid
    {
        "id": "c1",
        "title": "Tuning and metrics",
        "modules": ["m1", "m2"],
        "start": "2024-03-04",
        "end": "2024-03-15",
        "trainers": ["tess"],
        "participants": ["ann", "bob", "cid"],
        "teams": ["core"],
    },
    # later: not among c1's earlier cycles
    {
        "id": "c2",
        "title": "Later",
        "modules": ["m2"],
        "start": "2024-09-02",
        "end": "2024-09-03",
        "trainers": ["tess"],
        "participants": ["ann"],
    },
]

C0_RESULTS = """employee,phase,skill,score,max_score
cid,post,eval,10,20
"""
# ann: opt 15/20 (1 -> 3), clean 10/20 (2 -> 3), eval 20/20 (0 -> 2): 2x1.5 + 1 + 2x0.8 = 5.6
# bob: opt 10/20 (2 -> 3), clean 18/20 (0 -> 3), eval 4/20 (1 -> 1): 1.5 + 3 + 0 = 4.5
# cid: no post-assessment: 0
C1_RESULTS = """employee,name,phase,skill,score,max_score,taken_at
ann,Ann,pre,opt,5,20,2024-03-04
bob,Bob,pre,opt,8,20,2024-03-04
cid,Cid,pre,opt,2,20,2024-03-04
ann,Ann,post,opt,15,20,2024-03-15
ann,Ann,post,clean,10,20,2024-03-15
ann,Ann,post,eval,20,20,2024-03-15
bob,Bob,post,opt,10,20,2024-03-15
bob,Bob,post,clean,18,20,2024-03-15
bob,Bob,post,eval,4,20,2024-03-15
"""
C1_SURVEY = """Timestamp,Employee ID,relevance,pace,Comments
2024-03-15 17:00,ann,5,4,Loved the <b>labs</b>
2024-03-15 17:05,bob,3,2,
"""
C1_ATTENDANCE = """employee_id,session,date,attended
ann,s1,2024-03-04,yes
ann,s2,2024-03-11,present
bob,s1,2024-03-04,1
bob,s2,2024-03-11,absent
cid,s1,2024-03-04,no
"""


def write_catalog(folder: Path, cycles: list[dict[str, Any]] | None = CYCLES) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    files = {"skills": SKILLS, "teams": TEAMS, "courses": COURSES, "employees": EMPLOYEES}
    if cycles is not None:
        files["cycles"] = cycles
    for name, entries in files.items():
        (folder / f"{name}.yaml").write_text(yaml.safe_dump(entries, sort_keys=False))
    return folder


def csv(name: str, text: str) -> ImportFile:
    return ImportFile(name, text.encode())


@pytest.fixture
def store(tmp_path: Path) -> Any:
    with CatalogStore.open(tmp_path / "home") as opened:
        load_catalog(opened, write_catalog(tmp_path / "catalog"))
        yield opened


def run_example(store: RecommenderStore) -> None:
    import_results(store, current_catalog(store), "c0", [csv("c0.csv", C0_RESULTS)])
    catalog = current_catalog(store)
    import_results(
        store,
        catalog,
        "c1",
        [
            csv("c1.csv", C1_RESULTS),
            csv("c1-survey.csv", C1_SURVEY),
            csv("c1-attendance.csv", C1_ATTENDANCE),
        ],
    )


# -- the worked example -----------------------------------------------------------------------


def test_the_worked_example_gains_weighted_gain_and_figure_of_merit(
    store: RecommenderStore, fake_embedder: HashingEmbedder
) -> None:
    run_example(store)
    report = build_report(load_cycle_state(store), "c1", fake_embedder.encode_documents)
    skills = {s.skill: s for s in report.skills}
    assert [s.skill for s in report.skills] == ["opt", "clean", "eval"]  # heaviest first
    assert [s.weight for s in report.skills] == [1.5, 1.0, 0.8]

    opt = skills["opt"]  # ann 1 -> 3, bob 2 -> 3, cid 0 -> 0
    assert opt.before.distribution == (1, 1, 1, 0, 0, 0)
    assert opt.after.distribution == (1, 0, 0, 2, 0, 0)
    assert (opt.before.mean, opt.after.mean, opt.mean_gain) == (1.0, 2.0, 1.0)
    assert opt.weighted_gain == 4.5  # 3 levels x 1.5
    assert opt.assessed == 2
    assert opt.pre_score == 0.25  # (5 + 8 + 2) / 60
    assert opt.post_score == 0.625  # (15 + 10) / 40

    clean = skills["clean"]  # ann 2 -> 3, bob 0 -> 3, cid 0 -> 0
    assert clean.before.distribution == (2, 0, 1, 0, 0, 0)
    assert clean.after.distribution == (1, 0, 0, 2, 0, 0)
    assert clean.weighted_gain == 4.0 and clean.mean_gain == pytest.approx(4 / 3, abs=1e-4)

    evaluation = skills["eval"]  # ann 0 -> 2, bob 1 -> 1, cid 1 (after c0) -> 1
    assert evaluation.before.distribution == (1, 2, 0, 0, 0, 0)
    assert evaluation.after.distribution == (0, 2, 1, 0, 0, 0)
    assert evaluation.weighted_gain == pytest.approx(1.6)  # 2 levels x 0.8, the catalogue's

    people = {p.employee: p for p in report.people}
    assert people["ann"].weighted_gain == pytest.approx(5.6)  # 2 x 1.5 + 1 x 1.0 + 2 x 0.8
    assert people["bob"].weighted_gain == pytest.approx(4.5)  # 1 x 1.5 + 3 x 1.0 + 0
    assert people["cid"].weighted_gain == 0
    assert report.weighted_gain == pytest.approx(10.1)
    assert report.participant_hours == 15  # 3 participants x 5 h (m1 3 h + m2 2 h)
    assert report.figure_of_merit == pytest.approx(10.1 / 15, abs=1e-4)  # 0.6733

    # beside the earlier cycle only: c0, cid's eval 0 -> 1 (x0.8) over 1 x 2 h = 0.4
    assert [(c.id, c.figure_of_merit) for c in report.comparison] == [
        ("c0", 0.4),
        ("c1", pytest.approx(0.6733, abs=1e-4)),
    ]

    assert (report.completion.completed, report.completion.participants) == (2, 3)
    assert report.assessment.pass_mark == 0.6
    assert (report.assessment.passed, report.assessment.assessed) == (1, 2)  # ann 0.75, bob 0.53
    assert people["ann"].post_score == 0.75 and people["ann"].passed is True
    assert people["bob"].post_score == pytest.approx(0.5333, abs=1e-4)
    assert people["bob"].passed is False and people["cid"].passed is None
    assert report.attendance.rate == 0.5  # 3 attended of 3 participants x 2 sessions
    assert [(s.session, s.attended) for s in report.attendance.sessions] == [("s1", 2), ("s2", 1)]
    assert people["ann"].sessions_attended == 2 and people["cid"].sessions_attended == 0

    questions = {q.id: q for q in report.survey.questions}
    assert (questions["relevance"].mean, questions["relevance"].distribution) == (
        4.0,
        (0, 0, 1, 0, 1),
    )
    assert questions["pace"].mean == 3.0 and questions["clarity"].answers == 0
    assert report.survey.responses == 2 and report.survey.comments == 1
    assert [t.comments for t in report.survey.themes] == [("Loved the <b>labs</b>",)]
    assert report.survey.themes[0].words == ("loved", "labs")

    # what each could have gained: max(0, taught - before) x weight over opt, clean, eval
    # ann (4-1) x 1.5 + (3-2) x 1 + (2-0) x 0.8 = 7.1; bob 2 x 1.5 + 3 + 1 x 0.8 = 6.8;
    # cid 4 x 1.5 + 3 + 1 x 0.8 = 9.8 (eval already 1 after c0)
    possible = [people[e].possible_gain for e in ("ann", "bob", "cid")]
    assert possible == [pytest.approx(7.1), pytest.approx(6.8), pytest.approx(9.8)]
    assert [f.employee for f in report.follow_up] == ["cid", "bob", "ann"]
    assert "took no post-assessment" in report.follow_up[0].reason
    assert "below the pass mark" in report.follow_up[1].reason


def test_a_post_assessment_raises_levels_by_the_completion_rule(store: RecommenderStore) -> None:
    run_example(store)
    catalog = current_catalog(store)
    ann, bob, cid = (catalog.employee(e) for e in ("ann", "bob", "cid"))
    assert dict(ann.skills) == {"opt": 3, "clean": 3, "eval": 2}
    assert dict(bob.skills) == {"opt": 3, "clean": 3, "eval": 1}
    assert dict(cid.skills) == {"eval": 1}  # c0 only; no post-assessment in c1
    # the cycle's modules count as completed (prerequisites, not suggested again)
    assert {c.module for c in ann.completed} == {"m1", "m2"}
    assert {c.source for c in ann.completed} == {"cycle"}
    assert not catalog.employee("tess").completed


def test_results_are_events_that_outlive_catalogue_reloads(
    store: RecommenderStore, tmp_path: Path
) -> None:
    run_example(store)
    before = current_catalog(store)
    stored = store.events()
    assert {e.kind for e in stored} == {"assessment", "survey", "attendance"}
    assert all(e.cycle in ("c0", "c1") for e in stored)
    report = load_catalog(store, tmp_path / "catalog")  # the same folder again
    assert (report.events_applied, report.events_skipped) == (len(stored), 0)
    assert report.counts["cycles"] == 3
    assert current_catalog(store) == before
    # a catalogue without cycles.yaml keeps the events but cannot apply them
    bare = write_catalog(tmp_path / "bare", cycles=None)
    report = load_catalog(store, bare)
    assert report.events_skipped == len(stored) and report.counts["cycles"] == 0
    assert current_catalog(store).employee("ann").level("opt") == 1
    load_catalog(store, tmp_path / "catalog")  # and back: applied again
    assert current_catalog(store) == before


# -- imports ----------------------------------------------------------------------------------


def test_a_malformed_row_is_named_by_line_and_nothing_is_imported(
    store: RecommenderStore,
) -> None:
    bad = (
        "employee,phase,skill,score,max_score\n"
        "ann,post,opt,15,20\n"  # line 2: fine
        "bob,post,opt,25,20\n"  # line 3: above the maximum
        "\n"  # line 4: blank, skipped
        "zed,post,opt,5,20\n"  # line 5: unknown employee
        "tess,post,opt,5,20\n"  # line 6: not a participant
        "ann,during,opt,5,20\n"  # line 7: no such phase
        "bob,pre,ops,5,20\n"  # line 8: unknown skill
        '"cid","post","opt","ten",20\n'  # line 9: not a number
        "ann,post,opt,14,20\n"  # line 10: repeats line 2
        "bob,post,clean,3\n"  # line 11: a field short
    )
    good = csv("survey.csv", C1_SURVEY)
    with pytest.raises(ImportInvalidError) as info:
        import_results(store, current_catalog(store), "c1", [good, csv("bad.csv", bad)])
    where = {f.entry: f.message for f in info.value.faults}
    assert list(where) == [f"line {n}" for n in (3, 5, 6, 7, 8, 9, 10, 11)]
    assert "score 25 is outside 0..20" in where["line 3"]
    assert "unknown employee 'zed'" in where["line 5"]
    assert "not a participant of cycle 'c1'" in where["line 6"]
    assert "must be pre or post" in where["line 7"]
    assert "unknown skill 'ops'" in where["line 8"]
    assert "'ten' is not a number" in where["line 9"]
    assert "repeats line 2" in where["line 10"]
    assert "4 fields where the header has 5" in where["line 11"]
    assert all(f.file == "bad.csv" for f in info.value.faults)
    assert "bad.csv: line 3: score 25" in str(info.value)
    assert store.events() == []  # not even the good file


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "no header row"),
        ("name,email\nAnn,a@example.com\n", "cannot tell what the file holds"),
        ("employee,phase,skill,module,score\nann,pre,opt,m1,5\n", "either skills or modules"),
        ("employee,phase,module,score\nann,pre,m9,50\n", "not one of the cycle's modules"),
        ("employee,relevance\nann,6\n", "relevance '6' must be a rating 1..5"),
        ("employee,session,attended\nann,s1,maybe\n", "must be yes or no"),
        ("employee,phase,skill,score\n", "no rows under the header"),
    ],
)
def test_file_faults(store: RecommenderStore, text: str, message: str) -> None:
    with pytest.raises(ImportInvalidError, match=message):
        import_results(store, current_catalog(store), "c1", [csv("f.csv", text)])
    assert store.events() == []


def test_not_utf8_and_wrong_kind_are_refused(store: RecommenderStore) -> None:
    catalog = current_catalog(store)
    with pytest.raises(ImportInvalidError, match="line 2: not UTF-8"):
        import_results(
            store, catalog, "c1", [ImportFile("x.csv", b"employee,comment\nann,caf\xe9\n")]
        )
    with pytest.raises(ImportInvalidError, match="an attendance file needs the columns"):
        import_results(store, catalog, "c1", [csv("r.csv", C1_RESULTS)], kind="attendance")


def test_exports_as_tools_write_them_are_read(store: RecommenderStore) -> None:
    """Semicolons and a BOM (Excel), percentages, Likert words, a decimal comma, a module."""
    results = (
        "\ufeffUsername;Phase;Module;Grade;Completed\n"
        "ann;Pre-test;m1;40%;2024-03-04\n"
        "ann;Post-test;m1;82,5%;2024-03-15\n"
    )
    survey = "Employee ID,relevance,pace,Comments\nann,Strongly agree,neutral,fine\n"
    reports = import_results(
        store, current_catalog(store), "c1", [csv("r.csv", results), csv("s.csv", survey)]
    )
    assert [(r.kind, r.rows) for r in reports] == [("assessment", 2), ("survey", 1)]
    assert reports[0].ignored_columns == ()  # "Completed" is a date column
    post = [e for e in store.events() if e.details.get("phase") == "post"]
    assert post[0].module == "m1" and post[0].score == 0.825
    survey_event = [e for e in store.events() if e.kind == "survey"][0]
    assert survey_event.details["answers"] == {"relevance": 5, "pace": 3}
    # the module rule: ann's opt 1 -> round(1 + 3 x 0.825) = 3, clean 2 -> round(2.825) = 3
    ann = current_catalog(store).employee("ann")
    assert (ann.level("opt"), ann.level("clean")) == (3, 3)


def test_the_same_file_twice_imports_once_and_a_correction_replaces(
    store: RecommenderStore,
) -> None:
    first = csv("r.csv", "employee,phase,skill,score,max_score\nbob,post,clean,6,20\n")
    import_results(store, current_catalog(store), "c1", [first])
    again = import_results(store, current_catalog(store), "c1", [first])
    assert again[0].already_imported and again[0].imported == 0
    assert len(store.events()) == 1
    assert current_catalog(store).employee("bob").level("clean") == 1  # 0 + 3 x 0.3 = 0.9 -> 1
    corrected = csv("r2.csv", "employee,phase,skill,score,max_score\nbob,post,clean,18,20\n")
    import_results(store, current_catalog(store), "c1", [corrected])
    # the later result replaces the earlier one (applied from the same level, not on top)
    assert current_catalog(store).employee("bob").level("clean") == 3
    report = build_report(load_cycle_state(store), "c1")
    assert {s.skill: s.post_score for s in report.skills}["clean"] == 0.9


# -- validation of cycles.yaml and of created cycles ---------------------------------------


def test_cycles_yaml_faults_are_all_named(tmp_path: Path) -> None:
    bad = [
        {
            "id": "x1",
            "title": "A",
            "modules": ["m1", "m9"],
            "start": "2024-03-10",
            "end": "2024-03-01",
            "trainers": ["tes"],
            "participants": ["ann", "ann", "zed"],
            "teams": ["ops", "nope"],
            "hours": -2,
            "format": "webinar",
            "pass_mark": 60,
            "colour": "red",
        },
        {
            "id": "x1",
            "title": "B",
            "modules": [],
            "start": "soon",
            "end": "2024-01-01",
            "trainers": ["tess"],
            "participants": ["tess"],
        },
        {"title": "C"},
    ]
    with pytest.raises(CatalogInvalidError) as info:
        load_catalog_dir(write_catalog(tmp_path / "c", cycles=bad))
    text = [str(f) for f in info.value.faults]
    expected = [
        "cycles.yaml: cycle 'x1': unknown field 'colour'",
        "cycles.yaml: cycle 'x1': duplicate cycle id 'x1' (entries 1 and 2)",
        "cycles.yaml: cycle 'x1': modules: unknown module 'm9'",
        "cycles.yaml: cycle 'x1': end 2024-03-01 is before start 2024-03-10",
        "cycles.yaml: cycle 'x1': trainers: unknown employee 'tes' (did you mean 'tess'?)",
        "cycles.yaml: cycle 'x1': participants: 'ann' is listed twice",
        "cycles.yaml: cycle 'x1': participants: unknown employee 'zed'",
        "cycles.yaml: cycle 'x1': unknown team 'nope'",
        "cycles.yaml: cycle 'x1': participants: 'ann' is in team 'core', which is not one of "
        "the cycle's teams (ops, nope)",
        "cycles.yaml: cycle 'x1': hours must be a positive number",
        "cycles.yaml: cycle 'x1': format 'webinar' must be one of lecture, hands-on",
        "cycles.yaml: cycle 'x1': pass_mark must be a share of the points in (0, 1]",
        "cycles.yaml: cycle 'x1': modules: must be a non-empty list of module ids",
        "cycles.yaml: cycle 'x1': start: must be a date written YYYY-MM-DD, got 'soon'",
        "cycles.yaml: cycle 'x1': 'tess' is both a trainer and a participant",
        "cycles.yaml: cycle entry #3: missing field 'end'",
    ]
    for line in expected:
        assert any(t.startswith(line) for t in text), (line, text)


def test_the_sample_cycles_are_valid_and_read_from_cycles_yml() -> None:
    catalog, raw = load_catalog_dir(SAMPLE)
    assert list(catalog.cycles) == [
        "recsys-cf-2024-02",
        "llm-support-2024-04",
        "nlp-optimisation-2024-06",
    ]
    lab = catalog.cycle("nlp-optimisation-2024-06")
    assert (lab.hours, lab.format, lab.pass_mark) == (6.0, "hands-on", 0.6)
    assert list(raw) == ["skills", "teams", "courses", "employees", "cycles"]


def test_a_cycle_created_through_the_api_is_an_event(
    store: RecommenderStore, tmp_path: Path
) -> None:
    entry = {
        "id": "c9",
        "title": "New",
        "modules": ["m1"],
        "start": "2024-10-01",
        "end": "2024-10-02",
        "trainers": ["tess"],
        "participants": ["ann", "bob"],
    }
    cycle = create_cycle(store, current_catalog(store), entry)
    assert (cycle.hours, cycle.format, cycle.teams, cycle.source) == (
        3.0,
        "hands-on",
        ("core",),
        "api",
    )
    assert current_catalog(store).cycle("c9") == cycle
    with pytest.raises(CycleExistsError):
        create_cycle(store, current_catalog(store), entry)
    with pytest.raises(CycleExistsError):
        create_cycle(store, current_catalog(store), {**entry, "id": "c1"})  # cycles.yaml's
    with pytest.raises(CycleInvalidError) as info:
        create_cycle(store, current_catalog(store), {**entry, "id": "c8", "modules": ["nope"]})
    assert str(info.value.faults[0]) == "request: cycle 'c8': modules: unknown module 'nope'"
    import_results(
        store,
        current_catalog(store),
        "c9",
        [csv("r.csv", "employee,phase,skill,score\nann,post,opt,100\n")],
    )
    load_catalog(store, tmp_path / "catalog")  # a reload keeps it, and its results
    catalog = current_catalog(store)
    assert catalog.cycle("c9").source == "api" and catalog.employee("ann").level("opt") == 4
    assert [c.id for c in list_cycles(load_cycle_state(store))] == ["c9", "c2", "c1", "c0"]


def test_an_employee_sees_only_their_own_results(store: RecommenderStore) -> None:
    run_example(store)
    mine = my_cycles(load_cycle_state(store), "bob")
    assert [m.cycle.id for m in mine] == ["c1"]
    assert mine[0].cycle.participants == ()  # nobody else's name
    assert mine[0].result.employee == "bob" and mine[0].result.weighted_gain == 4.5
    assert mine[0].survey is not None and mine[0].survey.answers == {"relevance": 3, "pace": 2}
    assert "ann" not in json.dumps([m.result.__dict__ for m in mine], default=str)


# -- themes -----------------------------------------------------------------------------------


def test_comments_group_by_theme_and_one_comment_is_one_group(
    fake_embedder: HashingEmbedder,
) -> None:
    encode = fake_embedder.encode_documents
    assert group_comments([], encode) == []
    single = group_comments(["The pace was far too fast"], encode)
    assert len(single) == 1 and single[0].words == ("pace", "far", "fast")
    comments = [
        "optuna lab optuna exercises optuna",
        "distillation loss too fast distillation",
        "optuna exercises lab were optuna",
        "distillation loss slides distillation",
    ]
    themes = group_comments(comments, encode)
    assert sorted(sorted(t.comments) for t in themes) == [
        sorted(comments[1::2]),
        sorted(comments[0::2]),
    ]
    assert {t.words[0] for t in themes} == {"optuna", "distillation"}
    # without a model: one group
    assert len(group_comments(comments, None)) == 1


def test_clustering_is_deterministic_and_bounded() -> None:
    rng = np.random.default_rng(0)
    vectors = rng.normal(size=(12, 8))
    assert cluster(vectors) == cluster(vectors.copy())
    assert len(set(cluster(vectors))) <= 6
    assert cluster(np.ones((5, 4))) == [0] * 5  # identical comments: one group


# -- exports and the command line ---------------------------------------------------------


def test_exports_escape_what_people_wrote(
    store: RecommenderStore, fake_embedder: HashingEmbedder
) -> None:
    run_example(store)
    report = build_report(load_cycle_state(store), "c1", fake_embedder.encode_documents)
    markdown = to_markdown(report)
    assert "Loved the &lt;b&gt;labs&lt;/b&gt;" in markdown and "<b>" not in markdown
    assert "| **0.673** |" in markdown  # the figure of merit
    assert "**Tuning and metrics** (this cycle)" in markdown
    page = to_html(report)
    assert "Loved the &lt;b&gt;labs&lt;/b&gt;" in page and "<script" not in page
    assert page.count("<svg") == 2 and "http" not in page.replace(
        'xmlns="http://www.w3.org/2000/svg"', ""
    )


def test_the_cli_imports_reports_and_lists(
    tmp_path: Path, fake_embedder: HashingEmbedder, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("KB_DATABASE_URL", raising=False)
    home = tmp_path / "home"
    runner = CliRunner()

    def kb(*args: str, status: int = 0) -> Any:
        obj = CliContext(home=home, embedder=fake_embedder)
        result = runner.invoke(main, ["--home", str(home), *args], obj=obj)
        assert result.exit_code == status, result.output
        return result

    kb("catalog", "load", str(write_catalog(tmp_path / "catalog")))
    bad = tmp_path / "bad.csv"
    bad.write_text("employee,phase,skill,score\nann,post,opt,101\n")
    failed = kb("cycle", "import", "c1", str(bad), status=2)
    assert "bad.csv: line 2: score 101 is outside 0..100" in failed.output
    assert "nothing was imported" in failed.output
    files = []
    for name, text in (("r.csv", C1_RESULTS), ("s.csv", C1_SURVEY), ("a.csv", C1_ATTENDANCE)):
        (tmp_path / name).write_text(text)
        files.append(str(tmp_path / name))
    said = kb("cycle", "import", "c1", *files).output
    assert "r.csv: 9 assessment rows of 3 participant(s) imported into c1." in said
    assert "imported before" in kb("cycle", "import", "c1", files[0]).output
    listed = json.loads(kb("cycle", "list", "--json").stdout)["cycles"]
    assert [(c["id"], c["figure_of_merit"]) for c in listed] == [
        ("c2", None),
        ("c1", pytest.approx(0.6733, abs=1e-4)),
        ("c0", None),
    ]
    as_json = json.loads(kb("cycle", "report", "c1", "--json").stdout)
    assert as_json["weighted_gain"] == pytest.approx(10.1)
    assert as_json["skills"][0]["before"]["distribution"] == [1, 1, 1, 0, 0, 0]
    assert "# Cycle report: Tuning and metrics (c1)" in kb("cycle", "report", "c1").stdout
    out = tmp_path / "report.html"
    kb("cycle", "report", "c1", "--format", "html", "-o", str(out))
    assert out.read_text().startswith("<!doctype html>")
    assert "unknown cycle 'nope'" in kb("cycle", "report", "nope", status=2).output
    assert "unknown cycle 'nope'" in kb("cycle", "import", "nope", files[0], status=2).output
