"""Follow-up evaluation: modules ranked by proven gain (planted effects), difference-in-
differences on planted KPI shifts, KPI and follow-up imports (all or nothing, faults by line),
the report's "applied at work" and "team results", and the commands.

The seeded checks here are a few seeds of bench/evaluation.py's 100 (the rates are measured
there, not asserted here)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml
from click.testing import CliRunner

from api.cli import main
from recommender import current_catalog, load_catalog
from recommender.catalog.types import build_catalog
from recommender.cycles.csv_import import (
    FollowupForm,
    ImportFile,
    ImportInvalidError,
    import_results,
)
from recommender.cycles.export import to_html, to_markdown
from recommender.cycles.followup import FollowupError, schedule_followup, scheduled
from recommender.cycles.kpi import did_estimate, import_kpis, team_results
from recommender.cycles.report import build_report, load_cycle_state
from recommender.errors import InvalidValueError
from recommender.rules.next_module import next_module
from recommender.rules.plan import plan_modules
from recommender.rules.proven import EvidenceRule, gain_evidence, measure_gains
from recommender.state.sqlite import CatalogStore
from tests.recommender.evaluation_cohort import (
    KPI_TAKING,
    PLANTED,
    SKILL,
    cohort,
    kpi_catalog,
    kpi_csv,
    kpi_events,
    kpi_rows,
)

SEEDS = (0, 1, 2, 3, 4)


def write_raw(folder: Path, raw: dict[str, Any]) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for name, entries in raw.items():
        (folder / f"{name}.yaml").write_text(yaml.safe_dump(entries, sort_keys=False))
    return folder


# -- modules ranked by proven gain -------------------------------------------------------------


@pytest.mark.parametrize("seed", SEEDS)
def test_the_planted_module_ranks_first_and_its_interval_covers_the_planted_gain(seed: int) -> None:
    raw, events = cohort(seed)
    catalog = build_catalog(raw)
    evidence = measure_gains(catalog, events)
    planted = evidence.overall[(PLANTED, SKILL)]
    assert planted.n == 14 and planted.low is not None and planted.high is not None
    assert planted.low <= 1.0 <= planted.high
    assert evidence.ranked()[0].module == PLANTED
    for module in ("fe-short", "fe-lab"):
        null = evidence.overall[(module, SKILL)]
        assert null.low is not None and null.high is not None and null.low <= 0 <= null.high
    # without evidence the shortest module comes first; with it, the one that proved a gain
    assert next_module(catalog, "newcomer").option.module.id == "fe-short"  # type: ignore[union-attr]
    result = next_module(catalog, "newcomer", evidence=evidence)
    assert result.option is not None and result.option.module.id == PLANTED
    assert [a.to_dict()["evidence"] for a in result.alternatives] == ["near-zero", "near-zero"]
    # 93 of bench/evaluation.py's 100 seeds clear the threshold; seed 3 is one that does not
    # (its interval's lower end is under 0.25 levels), and then the reason claims nothing
    proven = planted.verdict == "proven"
    assert proven == (seed != 3)
    assert result.option.to_dict()["evidence"] == ("proven" if proven else "unmeasured")
    claim = "proved: raised feature engineering by"
    assert (claim in result.reason and "for 14 colleagues" in result.reason) == proven


def test_a_gain_interval_is_students_computed_by_hand() -> None:
    from recommender.rules.proven import interval

    # gains 0, 1, 2: mean 1, sd 1, t(0.975, 2) = 4.3027, so 1 +- 4.3027 / sqrt(3)
    low, high = interval([0.0, 1.0, 2.0])
    assert (low, high) == (pytest.approx(1 - 2.4841, abs=1e-4), pytest.approx(1 + 2.4841, abs=1e-4))
    assert interval([0.5]) == (None, None) and interval([0.5, 0.5]) == (0.5, 0.5)


def test_evidence_below_the_threshold_changes_nothing() -> None:
    raw, events = cohort(0, per_cycle=5)  # 5 measured: under the 8 the rule asks for
    catalog = build_catalog(raw)
    evidence = measure_gains(catalog, events)
    assert {g.verdict for g in evidence.overall.values()} == {"not-enough"}
    plain = next_module(catalog, "newcomer")
    assert next_module(catalog, "newcomer", evidence=evidence).reason == plain.reason


def test_a_team_with_strong_evidence_of_its_own_is_named_in_the_reason() -> None:
    raw, events = cohort(1, per_cycle=30)  # 10 per team
    catalog = build_catalog(raw)
    evidence = measure_gains(catalog, events)
    mine = evidence.for_learner(PLANTED, SKILL, "support-ai")
    assert mine is not None and mine.team == "support-ai" and mine.n == 10
    result = next_module(catalog, "newcomer", evidence=evidence)
    assert "colleagues in support-ai" in result.reason
    # a stricter rule than the team's sample: everyone's evidence is used instead
    strict = measure_gains(catalog, events, EvidenceRule(min_participants=12))
    assert strict.for_learner(PLANTED, SKILL, "support-ai").team is None  # type: ignore[union-attr]


def test_plans_leave_out_modules_measured_near_zero_and_name_proven_gains() -> None:
    raw, events = cohort(2)
    catalog = build_catalog(raw)
    assert [s.module.id for s in plan_modules(catalog, "newcomer", 6).steps] == ["fe-short"]
    plan = plan_modules(catalog, "newcomer", 6, measure_gains(catalog, events))
    assert [s.module.id for s in plan.steps] == [PLANTED]
    assert "proved: raised feature engineering" in plan.steps[0].reason


def test_a_skill_taught_by_two_modules_of_one_cycle_is_not_credited_to_either() -> None:
    raw, events = cohort(0)
    raw["cycles"][2]["modules"] = ["fe-lab", PLANTED]
    catalog = build_catalog(raw)
    evidence = measure_gains(catalog, events)
    assert evidence.shared == 14
    assert (PLANTED, SKILL) not in evidence.overall


# -- difference-in-differences -----------------------------------------------------------------


@pytest.mark.parametrize("seed", SEEDS)
def test_did_recovers_a_planted_shift_and_covers_zero_without_one(seed: int) -> None:
    catalog = build_catalog(kpi_catalog())
    cycle = catalog.cycles["kpi-cycle"]
    for shift in (5.0, 0.0):
        (effect,) = team_results(catalog, cycle, kpi_events(kpi_rows(seed, shift))).metrics
        d = effect.did
        assert d.low is not None and d.high is not None
        # a 95% interval misses 1 time in 20: seed 3 is one of the 2 of bench/evaluation.py's
        # 100 panels it misses (the same noise, so with and without the shift)
        assert (d.low <= shift <= d.high) == (seed != 3), (seed, shift, d)
        assert (d.participating_teams, d.other_teams) == (6, 6)
    assert {t.team for t in effect.teams if t.participating} == set(KPI_TAKING)


def test_did_interval_is_welchs_computed_by_hand() -> None:
    # changes 1, 2, 3 against 0, 0.5, -0.2: means 2 and 0.1, variances 1 and 0.13, standard
    # error sqrt(1/3 + 0.13/3) = 0.6137, Welch's df = 2.511, t(0.975, 2.511) = 3.563
    d = did_estimate([1.0, 2.0, 3.0], [0.0, 0.5, -0.2])
    assert d.estimate == pytest.approx(1.9)
    assert d.low == pytest.approx(1.9 - 2.1868, abs=2e-3)
    assert d.high == pytest.approx(1.9 + 2.1868, abs=2e-3)


def test_did_with_one_team_on_a_side_gives_no_interval() -> None:
    one = did_estimate([3.0], [1.0, 0.5])
    assert one.estimate == pytest.approx(2.25) and one.low is None and "fewer than two" in one.note
    none = did_estimate([], [1.0])
    assert none.estimate is None and "participating" in none.note


# -- KPI imports -------------------------------------------------------------------------------


@pytest.fixture
def kpi_store(tmp_path: Path) -> Any:
    with CatalogStore.open(tmp_path / "home") as opened:
        load_catalog(opened, write_raw(tmp_path / "catalog", kpi_catalog()))
        yield opened


def test_kpi_faults_are_named_by_line_and_nothing_is_imported(kpi_store: CatalogStore) -> None:
    text = (
        "Team;Metric;Date;Value\n"
        "team-00;tickets;2024-05-01;12\n"
        "team-99;tickets;2024-05-01;12\n"
        "team-01;tickets;01/05/2024;12\n"
        "team-01;tickets;2024-05-02;lots\n"
        "team-00;tickets;2024-05-01;13\n"
        "team-02;;2024-05-01;1\n"
    )
    with pytest.raises(ImportInvalidError) as caught:
        import_kpis(kpi_store, current_catalog(kpi_store), [ImportFile("k.csv", text.encode())])
    assert [str(f) for f in caught.value.faults] == [
        "k.csv: line 3: unknown team 'team-99'",
        "k.csv: line 4: date '01/05/2024' must be written YYYY-MM-DD",
        "k.csv: line 5: value 'lots' is not a number",
        "k.csv: line 6: repeats line 2 (tickets of team-00 on 2024-05-01); keep one row",
        "k.csv: line 7: no metric",
    ]
    assert kpi_store.events() == []
    with pytest.raises(ImportInvalidError, match="missing value"):
        import_kpis(
            kpi_store, current_catalog(kpi_store), [ImportFile("h.csv", b"team,metric,date\n")]
        )


def test_kpis_import_once_and_a_later_value_replaces(kpi_store: CatalogStore) -> None:
    catalog = current_catalog(kpi_store)
    first = ImportFile("a.csv", b"team,metric,date,value\nteam-00,t,2024-05-01,12\n")
    (report,) = import_kpis(kpi_store, catalog, [first])
    assert (report.imported, report.already_imported) == (1, False)
    (again,) = import_kpis(kpi_store, catalog, [first])
    assert (again.imported, again.already_imported) == (0, True)
    later = ImportFile("b.csv", b"team;metric;date;value\nteam-00;t;2024-05-01;82,5\n")
    import_kpis(kpi_store, catalog, [later])
    from recommender.cycles.kpi import kpi_values

    assert kpi_values(kpi_store.events()) == {("team-00", "t", "2024-05-01"): 82.5}


def test_the_report_shows_team_results_from_imported_kpis(kpi_store: CatalogStore) -> None:
    import_kpis(
        kpi_store, current_catalog(kpi_store), [ImportFile("k.csv", kpi_csv(kpi_rows(7, 5.0)))]
    )
    report = build_report(load_cycle_state(kpi_store), "kpi-cycle")
    assert report.team_results is not None
    (effect,) = report.team_results.metrics
    assert effect.did.low is not None and effect.did.low <= 5.0 <= (effect.did.high or 0)
    text = to_markdown(report)
    assert "## Team results (KPIs before and after)" in text
    assert "Difference-in-differences: +" in text and "parallel trends" in text
    assert "Team results" in to_html(report) and "parallel trends" in to_html(report)


# -- follow-up surveys -------------------------------------------------------------------------


SELF = """employee,applied,frequency,impact,support,comment
e-team-00,5,4,4,3,Use it every week
e-team-01,agree,3,,2,
"""
MANAGER = """employee,manager,applied,impact
e-team-00,kpi-trainer,4,4
e-team-02,kpi-trainer,2,1
"""


def test_followups_are_scheduled_answered_and_reported(kpi_store: CatalogStore) -> None:
    catalog = current_catalog(kpi_store)
    made = schedule_followup(kpi_store, catalog, "kpi-cycle", [90, 30], ["self", "manager"])
    assert [(f.id, f.due) for f in made] == [("d30", "2024-07-14"), ("d90", "2024-09-12")]
    schedule_followup(kpi_store, catalog, "kpi-cycle", [90], ["self"])  # replaces d90's forms
    found = scheduled(catalog.cycles["kpi-cycle"], kpi_store.events())
    assert [(f.id, f.forms) for f in found] == [("d30", ("self", "manager")), ("d90", ("self",))]
    with pytest.raises(FollowupError, match="has no manager form"):
        import_results(
            kpi_store,
            catalog,
            "kpi-cycle",
            [ImportFile("m.csv", MANAGER.encode())],
            followup=FollowupForm("d90", "manager"),
        )
    with pytest.raises(FollowupError, match="no follow-up 'd60'.*schedule it first"):
        import_results(
            kpi_store,
            catalog,
            "kpi-cycle",
            [ImportFile("s.csv", SELF.encode())],
            followup=FollowupForm("d60", "self"),
        )
    bad = SELF.replace("5,4,4,3", "7,4,4,3")
    with pytest.raises(ImportInvalidError, match="line 2: applied '7' must be a rating 1..5"):
        import_results(
            kpi_store,
            catalog,
            "kpi-cycle",
            [ImportFile("s.csv", bad.encode())],
            followup=FollowupForm("d30", "self"),
        )
    import_results(
        kpi_store,
        catalog,
        "kpi-cycle",
        [ImportFile("s.csv", SELF.encode())],
        followup=FollowupForm("d30", "self"),
    )
    import_results(
        kpi_store,
        catalog,
        "kpi-cycle",
        [ImportFile("m.csv", MANAGER.encode())],
        followup=FollowupForm("d30", "manager"),
    )
    report = build_report(load_cycle_state(kpi_store), "kpi-cycle")
    assert report.survey.responses == 0  # follow-up answers never count as the end survey
    assert report.applied is not None
    d30 = report.applied.followups[0]
    own, managers = d30.forms
    assert (own.responses, own.agree_applied, own.comments) == (2, 1.0, ("Use it every week",))
    assert own.questions[0].mean == 4.5 and own.questions[2].answers == 1
    assert (managers.responses, managers.agree_applied) == (2, 0.5)
    manager_rows = [e for e in kpi_store.events() if e.details.get("form") == "manager"]
    assert {e.details.get("rater") for e in manager_rows} == {"kpi-trainer"}
    text = to_markdown(report)
    assert "## Applied at work" in text and "They have applied what they learned" in text
    assert "**self form**: no answers yet" in text  # d90


def test_scheduling_refuses_what_cannot_be(kpi_store: CatalogStore) -> None:
    catalog = current_catalog(kpi_store)
    with pytest.raises(InvalidValueError, match="1..730"):
        schedule_followup(kpi_store, catalog, "kpi-cycle", [0])
    with pytest.raises(InvalidValueError, match="forms must be among"):
        schedule_followup(kpi_store, catalog, "kpi-cycle", [30], ["peer"])
    assert kpi_store.events() == []


# -- the command line --------------------------------------------------------------------------


def test_the_commands(tmp_path: Path) -> None:
    home = tmp_path / "home"
    raw, events = cohort(4)
    runner = CliRunner()

    def kb(*args: str) -> Any:
        result = runner.invoke(main, ["--home", str(home), *args], catch_exceptions=False)
        assert result.exit_code == 0, result.output
        return result.output

    kb("catalog", "load", str(write_raw(tmp_path / "cohort", raw)))
    with CatalogStore.open(home) as store:
        store.add_events(events)
    gains = json.loads(kb("cycle", "gains", "--json"))
    assert gains["modules"][0]["module"] == PLANTED and gains["modules"][0]["verdict"] == "proven"
    assert {g["module"] for g in gains["near_zero"]} == {"fe-short", "fe-lab"}
    assert json.loads(kb("next", "newcomer", "--json"))["module"]["id"] == PLANTED
    kb("cycle", "followup", "schedule", f"cycle-{PLANTED}", "--days", "30", "--form", "self")
    answers = tmp_path / "d30.csv"
    answers.write_text(f"employee,applied,comment\n{PLANTED}-p0,4,yes\n")
    out = kb("cycle", "followup", "import", f"cycle-{PLANTED}", "d30", str(answers))
    assert "1 self-form answers to d30 imported" in out
    kpis = tmp_path / "k.csv"
    kpis.write_text(
        "team,metric,date,value\nsupport-ai,csat,2024-02-01,4.1\nnope,csat,2024-02-01,1\n"
    )
    failed = runner.invoke(main, ["--home", str(home), "cycle", "kpi", "import", str(kpis)])
    assert failed.exit_code != 0 and "line 3: unknown team 'nope'" in failed.output
    kpis.write_text("team,metric,date,value\nsupport-ai,csat,2024-02-01,4.1\n")
    assert "1 values of 1 team(s) imported (csat)" in kb("cycle", "kpi", "import", str(kpis))
    assert "csat: 1 values of 1 team(s)" in kb("cycle", "kpi", "list")
    report = json.loads(kb("cycle", "report", f"cycle-{PLANTED}", "--json"))
    assert report["applied"]["followups"][0]["forms"][0]["responses"] == 1
    assert report["team_results"]["metrics"][0]["metric"] == "csat"
    with CatalogStore.open(home) as store:
        assert gain_evidence(store).overall[(PLANTED, SKILL)].n == 14
