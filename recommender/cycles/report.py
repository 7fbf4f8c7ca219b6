"""The effect of a training cycle: levels before and after per skill, the weighted gain, the
programme's figure of merit beside every earlier cycle, completion, attendance, pass rate,
survey means and comments by theme, and who gained least.

Definitions (docs/cycles.md, "The report", says the same):

- a participant's level **before** is where they stood when the cycle's first
  post-assessment came in (the catalogue with every earlier event replayed); **after** is
  that level raised by the cycle's post-assessments alone (the rule of `cycles`). Without a
  post-assessment, after = before.
- **weighted gain** = sum over participants and skills of (after - before) x the skill's
  weight (the catalogue's: `weight`, or its category's default).
- **figure of merit** = weighted gain / participant training hours, where participant
  training hours = participants x the cycle's hours (every enrolled participant's hours count,
  attended or not). None until a post-assessment is imported.
- **for follow-up**: the `FOLLOW_UP` participants with the least weighted gain among those
  who gained less than they could (max(0, level taught - level before) x weight, over the
  skills the post-assessments score).
- **completed**: took a post-assessment; **passed**: the mean of one's post scores is at least
  the cycle's pass mark (default 60%); **attendance**: sessions attended / (participants x
  sessions recorded), a participant without a record for a session counting as absent.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from statistics import fmean

from recommender.catalog.types import LEVEL_MAX, LEVEL_MIN, Catalog, Cycle, Employee, build_catalog
from recommender.cycles.followup import AppliedAtWork, applied_at_work
from recommender.cycles.kpi import DEFAULT_WINDOW_DAYS, TeamResults, team_results
from recommender.cycles.replay import (
    SURVEY_QUESTIONS,
    Replay,
    apply_post_assessment,
    cycle_skills,
    mismatch,
    target_skills,
    taught_level,
)
from recommender.cycles.themes import Encode, Theme, group_comments
from recommender.errors import NoCatalogError, UnknownIdError
from recommender.rules.feedback import LevelChange
from recommender.state.base import RecommenderStore
from recommender.state.events import Event

# Participants listed for follow-up: those who gained least, among those the cycle could still
# have raised (someone already at every level it teaches has nothing to follow up).
FOLLOW_UP = 3
RESULT_KINDS = ("assessment", "survey", "attendance")


def _round(value: float | None, places: int = 4) -> float | None:
    return None if value is None else round(value, places)


def _mean(values: Sequence[float]) -> float | None:
    return _round(fmean(values)) if values else None


# -- the report's values ----------------------------------------------------------------------


@dataclass(frozen=True)
class Person:
    id: str
    name: str


@dataclass(frozen=True)
class ModuleInfo:
    id: str
    title: str
    format: str
    hours: float


@dataclass(frozen=True)
class CycleInfo:
    id: str
    title: str
    description: str
    start: str
    end: str
    format: str
    hours: float
    pass_mark: float
    teams: tuple[str, ...]
    trainers: tuple[Person, ...]
    modules: tuple[ModuleInfo, ...]
    participants: tuple[Person, ...]
    source: str


@dataclass(frozen=True)
class LevelStats:
    """Levels of the participants in one skill: their mean, and how many stand at each level
    0..5 (`distribution[level]`)."""

    mean: float
    distribution: tuple[int, ...]

    @classmethod
    def of(cls, levels: Sequence[int]) -> LevelStats:
        counts = [0] * (LEVEL_MAX - LEVEL_MIN + 1)
        for level in levels:
            counts[level - LEVEL_MIN] += 1
        return cls(mean=round(fmean(levels), 4) if levels else 0.0, distribution=tuple(counts))


@dataclass(frozen=True)
class SkillEffect:
    """One skill the cycle teaches: levels before and after over all participants, the gain,
    and the mean assessment scores (0..1) that scored it."""

    skill: str
    name: str
    weight: float
    participants: int
    assessed: int  # participants with a post-assessment scoring this skill
    before: LevelStats
    after: LevelStats
    mean_gain: float  # levels per participant
    weighted_gain: float  # sum of gains x weight
    pre_score: float | None
    post_score: float | None


@dataclass(frozen=True)
class ParticipantResult:
    employee: str
    name: str
    team: str
    changes: tuple[LevelChange, ...]  # each skill the cycle teaches
    weighted_gain: float
    # what the cycle could have given: the sum over the skills its post-assessments score of
    # max(0, level taught - level before) x weight
    possible_gain: float
    pre_score: float | None  # mean of the participant's pre-assessment scores, 0..1
    post_score: float | None
    passed: bool | None  # None: no post-assessment
    sessions_attended: int
    sessions: int
    surveyed: bool


@dataclass(frozen=True)
class FollowUp:
    employee: str
    name: str
    weighted_gain: float
    possible_gain: float
    post_score: float | None
    reason: str


@dataclass(frozen=True)
class CycleSummary:
    """A cycle in a list, and in the comparison of figures of merit."""

    id: str
    title: str
    start: str
    end: str
    format: str
    hours: float
    trainers: tuple[Person, ...]
    teams: tuple[str, ...]
    modules: tuple[str, ...]
    participants: int
    participant_hours: float
    assessed: int  # participants with a post-assessment
    surveyed: int
    sessions: int
    weighted_gain: float
    figure_of_merit: float | None  # None until a post-assessment is imported
    source: str


@dataclass(frozen=True)
class CompletionStats:
    participants: int
    completed: int  # took a post-assessment
    rate: float | None


@dataclass(frozen=True)
class SessionAttendance:
    session: str
    date: str | None
    attended: int
    participants: int


@dataclass(frozen=True)
class AttendanceStats:
    sessions: tuple[SessionAttendance, ...]
    rate: float | None  # None: no attendance imported


@dataclass(frozen=True)
class AssessmentStats:
    pass_mark: float
    assessed: int
    passed: int
    pass_rate: float | None
    pre_mean: float | None  # mean score, 0..1, over every pre-assessment row
    post_mean: float | None


@dataclass(frozen=True)
class QuestionStats:
    id: str
    text: str
    answers: int
    mean: float | None
    distribution: tuple[int, ...]  # answers rated 1..5 (`distribution[rating - 1]`)


@dataclass(frozen=True)
class SurveyStats:
    responses: int
    response_rate: float | None
    questions: tuple[QuestionStats, ...]
    comments: int
    themes: tuple[Theme, ...]


@dataclass(frozen=True)
class CycleReport:
    cycle: CycleInfo
    participants: int
    participant_hours: float
    weighted_gain: float
    figure_of_merit: float | None
    skills: tuple[SkillEffect, ...]
    comparison: tuple[CycleSummary, ...]  # this cycle and every one that started before it
    completion: CompletionStats
    attendance: AttendanceStats
    assessment: AssessmentStats
    survey: SurveyStats
    people: tuple[ParticipantResult, ...]
    follow_up: tuple[FollowUp, ...]
    applied: AppliedAtWork | None = None  # level 3: the follow-up surveys
    team_results: TeamResults | None = None  # level 4: team KPIs, difference-in-differences


@dataclass(frozen=True)
class SurveyAnswer:
    answers: Mapping[str, int]
    comment: str | None


@dataclass(frozen=True)
class MyCycle:
    """What an employee may see of a cycle they took part in: the cycle, and their own results."""

    cycle: CycleInfo
    result: ParticipantResult
    survey: SurveyAnswer | None


# -- computing ----------------------------------------------------------------------------


@dataclass
class _Effect:
    """One cycle's results, replayed: levels before and after per participant, and the
    result events that count (the latest of each key)."""

    cycle: Cycle
    catalog: Catalog  # the catalogue before the cycle's post-assessments
    before: dict[str, Employee]
    after: dict[str, Employee]
    events: list[Event] = field(default_factory=list)

    def of(self, kind: str, phase: str | None = None) -> list[Event]:
        return [
            e
            for e in self.events
            if e.kind == kind and (phase is None or e.details.get("phase") == phase)
        ]


@dataclass(frozen=True)
class CycleState:
    """Every cycle's effect, from one replay of the store's events."""

    catalog: Catalog  # the current catalogue (every event applied)
    effects: Mapping[str, _Effect]
    events: Sequence[Event] = ()  # every stored event (follow-ups and KPIs are read from them)

    def effect(self, cycle_id: str) -> _Effect:
        if cycle_id not in self.effects:
            raise UnknownIdError("cycle", cycle_id)
        return self.effects[cycle_id]


def cycle_state(base: Catalog, events: Sequence[Event]) -> CycleState:
    """Replay `events` over the catalogue as loaded, stopping before each cycle's first
    post-assessment to take its participants' levels before."""
    replay = Replay(base, events)
    first_post: dict[str, int] = {}
    for position, event in enumerate(replay.events):
        if event.kind == "assessment" and event.details.get("phase") == "post":
            first_post.setdefault(event.cycle or "", position)
    snapshots = {}
    for cycle_id, position in sorted(first_post.items(), key=lambda item: item[1]):
        snapshots[cycle_id] = replay.until(position)
    final = replay.result().catalog
    effects = {}
    for cycle in final.cycles.values():
        start = replace(snapshots.get(cycle.id, final), cycles=final.cycles)
        counted = [
            e
            for position, e in enumerate(replay.events)
            if e.cycle == cycle.id
            and e.kind in RESULT_KINDS
            and not e.details.get("followup")  # follow-up answers: "applied at work"
            and position not in replay.replaced
            and mismatch(final, e) is None
        ]
        before = {p: start.employees[p] for p in cycle.participants}
        after = dict(before)
        for event in counted:
            if event.kind == "assessment" and event.details.get("phase") == "post":
                after[event.employee] = apply_post_assessment(start, after[event.employee], event)
        effects[cycle.id] = _Effect(cycle, start, before, after, counted)
    return CycleState(final, effects, tuple(replay.events))


def load_cycle_state(store: RecommenderStore) -> CycleState:
    raw = store.load_raw()
    if raw is None:
        raise NoCatalogError()
    return cycle_state(build_catalog(raw), store.events())


def _changes(catalog: Catalog, effect: _Effect, employee: str) -> tuple[LevelChange, ...]:
    before, after = effect.before[employee], effect.after[employee]
    return tuple(
        LevelChange(s, before.level(s), after.level(s)) for s in cycle_skills(catalog, effect.cycle)
    )


def _weighted(catalog: Catalog, changes: Sequence[LevelChange]) -> float:
    return sum((c.after - c.before) * catalog.weight(c.skill) for c in changes)


def _sessions(effect: _Effect) -> list[tuple[str, str | None]]:
    found: dict[str, str | None] = {}
    for event in effect.of("attendance"):
        session = str(event.details.get("session"))
        found.setdefault(session, event.details.get("date"))
        found[session] = found[session] or event.details.get("date")
    return sorted(found.items(), key=lambda item: (item[1] or "", item[0]))


def summary(state: CycleState, cycle_id: str) -> CycleSummary:
    catalog = state.catalog
    effect = state.effect(cycle_id)
    cycle = effect.cycle
    gain = sum(_weighted(catalog, _changes(catalog, effect, p)) for p in cycle.participants)
    hours = len(cycle.participants) * cycle.hours
    assessed = len({e.employee for e in effect.of("assessment", "post")})
    return CycleSummary(
        id=cycle.id,
        title=cycle.title,
        start=cycle.start,
        end=cycle.end,
        format=cycle.format,
        hours=cycle.hours,
        trainers=tuple(_person(catalog, t) for t in cycle.trainers),
        teams=cycle.teams,
        modules=cycle.modules,
        participants=len(cycle.participants),
        participant_hours=hours,
        assessed=assessed,
        surveyed=len({e.employee for e in effect.of("survey")}),
        sessions=len(_sessions(effect)),
        weighted_gain=_round(gain) or 0.0,
        figure_of_merit=_round(gain / hours) if assessed and hours else None,
        source=cycle.source,
    )


def list_cycles(state: CycleState, participant: str | None = None) -> list[CycleSummary]:
    """Every cycle (or those `participant` took part in), latest start first."""
    cycles = [
        c
        for c in state.catalog.cycles.values()
        if participant is None or participant in c.participants
    ]
    cycles.sort(key=lambda c: (c.start, c.id), reverse=True)
    return [summary(state, c.id) for c in cycles]


def _person(catalog: Catalog, employee: str) -> Person:
    found = catalog.employees.get(employee)
    return Person(employee, found.name if found else employee)


def _info(catalog: Catalog, cycle: Cycle, with_participants: bool = True) -> CycleInfo:
    return CycleInfo(
        id=cycle.id,
        title=cycle.title,
        description=cycle.description,
        start=cycle.start,
        end=cycle.end,
        format=cycle.format,
        hours=cycle.hours,
        pass_mark=cycle.pass_mark,
        teams=cycle.teams,
        trainers=tuple(_person(catalog, t) for t in cycle.trainers),
        modules=tuple(
            ModuleInfo(
                m, catalog.modules[m].title, catalog.modules[m].format, catalog.modules[m].hours
            )
            for m in cycle.modules
        ),
        participants=tuple(_person(catalog, p) for p in cycle.participants)
        if with_participants
        else (),
        source=cycle.source,
    )


def _scored_skills(catalog: Catalog, effect: _Effect) -> set[str]:
    """The skills the cycle's post-assessments score (all it teaches, before any is in)."""
    scored = {s for e in effect.of("assessment", "post") for s in target_skills(catalog, e)}
    return scored or set(cycle_skills(catalog, effect.cycle))


def _participant(catalog: Catalog, effect: _Effect, employee: str) -> ParticipantResult:
    cycle = effect.cycle
    mine = [e for e in effect.events if e.employee == employee]
    pre = [
        e.score or 0.0 for e in mine if e.kind == "assessment" and e.details.get("phase") == "pre"
    ]
    post = [
        e.score or 0.0 for e in mine if e.kind == "assessment" and e.details.get("phase") == "post"
    ]
    post_mean = _mean(post)
    changes = _changes(catalog, effect, employee)
    person = catalog.employees[employee]
    scored = _scored_skills(catalog, effect)
    possible = sum(
        max(0, taught_level(catalog, cycle, c.skill) - c.before) * catalog.weight(c.skill)
        for c in changes
        if c.skill in scored
    )
    return ParticipantResult(
        employee=employee,
        name=person.name,
        team=person.team,
        changes=changes,
        weighted_gain=_round(_weighted(catalog, changes)) or 0.0,
        possible_gain=_round(possible) or 0.0,
        pre_score=_mean(pre),
        post_score=post_mean,
        passed=None if post_mean is None else post_mean >= cycle.pass_mark - 1e-9,
        sessions_attended=len(
            {
                str(e.details.get("session"))
                for e in mine
                if e.kind == "attendance" and e.details.get("attended")
            }
        ),
        sessions=len(_sessions(effect)),
        surveyed=any(e.kind == "survey" for e in mine),
    )


def _skill_effects(
    catalog: Catalog, effect: _Effect, people: Sequence[ParticipantResult]
) -> list[SkillEffect]:
    order = {s: i for i, s in enumerate(catalog.skills)}
    rows = []
    for skill in cycle_skills(catalog, effect.cycle):
        before = [next(c.before for c in p.changes if c.skill == skill) for p in people]
        after = [next(c.after for c in p.changes if c.skill == skill) for p in people]
        scored = {
            phase: [e for e in effect.of("assessment", phase) if skill in target_skills(catalog, e)]
            for phase in ("pre", "post")
        }
        gains = [a - b for a, b in zip(after, before, strict=True)]
        weight = catalog.weight(skill)
        rows.append(
            SkillEffect(
                skill=skill,
                name=catalog.skills[skill].name,
                weight=weight,
                participants=len(people),
                assessed=len({e.employee for e in scored["post"]}),
                before=LevelStats.of(before),
                after=LevelStats.of(after),
                mean_gain=round(fmean(gains), 4) if gains else 0.0,
                weighted_gain=_round(sum(gains) * weight) or 0.0,
                pre_score=_mean([e.score or 0.0 for e in scored["pre"]]),
                post_score=_mean([e.score or 0.0 for e in scored["post"]]),
            )
        )
    rows.sort(key=lambda r: (-r.weight, order[r.skill]))
    return rows


def _survey(effect: _Effect, encode: Encode | None) -> SurveyStats:
    responses = effect.of("survey")
    questions = []
    for question in SURVEY_QUESTIONS:
        ratings = [
            int(r.details["answers"][question.id])
            for r in responses
            if question.id in r.details.get("answers", {})
        ]
        counts = [0] * 5
        for rating in ratings:
            counts[rating - 1] += 1
        questions.append(
            QuestionStats(question.id, question.text, len(ratings), _mean(ratings), tuple(counts))
        )
    comments = [str(r.details["comment"]) for r in responses if r.details.get("comment")]
    participants = len(effect.cycle.participants)
    return SurveyStats(
        responses=len(responses),
        response_rate=_round(len(responses) / participants) if participants else None,
        questions=tuple(questions),
        comments=len(comments),
        themes=tuple(group_comments(comments, encode)),
    )


def _attendance(effect: _Effect) -> AttendanceStats:
    sessions = _sessions(effect)
    records = effect.of("attendance")
    rows = tuple(
        SessionAttendance(
            session=session,
            date=date,
            attended=sum(
                1
                for e in records
                if str(e.details.get("session")) == session and e.details.get("attended")
            ),
            participants=len(effect.cycle.participants),
        )
        for session, date in sessions
    )
    seats = len(sessions) * len(effect.cycle.participants)
    rate = sum(r.attended for r in rows) / seats if seats else None
    return AttendanceStats(rows, _round(rate))


def _follow_up(people: Sequence[ParticipantResult]) -> list[FollowUp]:
    def order(p: ParticipantResult) -> tuple[float, float, float, str]:
        attendance = p.sessions_attended / p.sessions if p.sessions else 1.0
        post = -1.0 if p.post_score is None else p.post_score
        return (p.weighted_gain, post, attendance, p.employee)

    out = []
    left = [p for p in people if p.weighted_gain < p.possible_gain - 1e-9]  # not at the top
    for p in sorted(left, key=order)[:FOLLOW_UP]:
        reasons = [f"gained {p.weighted_gain:g} of {p.possible_gain:g} possible weighted levels"]
        if p.post_score is None:
            reasons.append("took no post-assessment")
        else:
            below = " (below the pass mark)" if not p.passed else ""
            reasons.append(f"post score {p.post_score:.0%}{below}")
        if p.sessions:
            reasons.append(f"attended {p.sessions_attended} of {p.sessions} sessions")
        if not p.surveyed:
            reasons.append("no survey answer")
        out.append(
            FollowUp(
                p.employee,
                p.name,
                p.weighted_gain,
                p.possible_gain,
                p.post_score,
                "; ".join(reasons),
            )
        )
    return out


def build_report(
    state: CycleState,
    cycle_id: str,
    encode: Encode | None = None,
    window_days: int = DEFAULT_WINDOW_DAYS,
) -> CycleReport:
    """The whole report of one cycle, for organisers; `window_days`: the KPI windows before
    the cycle's start and after its end (team results)."""
    catalog = state.catalog
    effect = state.effect(cycle_id)
    cycle = effect.cycle
    people = [_participant(catalog, effect, p) for p in cycle.participants]
    this = summary(state, cycle.id)
    earlier = [
        summary(state, c.id)
        for c in catalog.cycles.values()
        if (c.start, c.id) <= (cycle.start, cycle.id)
    ]
    earlier.sort(key=lambda s: (s.start, s.id))
    assessed = [p for p in people if p.post_score is not None]
    passed = [p for p in assessed if p.passed]
    pre_rows = effect.of("assessment", "pre")
    post_rows = effect.of("assessment", "post")
    return CycleReport(
        cycle=_info(catalog, cycle),
        participants=len(people),
        participant_hours=this.participant_hours,
        weighted_gain=this.weighted_gain,
        figure_of_merit=this.figure_of_merit,
        skills=tuple(_skill_effects(catalog, effect, people)),
        comparison=tuple(earlier),
        completion=CompletionStats(
            len(people), len(assessed), _round(len(assessed) / len(people)) if people else None
        ),
        attendance=_attendance(effect),
        assessment=AssessmentStats(
            pass_mark=cycle.pass_mark,
            assessed=len(assessed),
            passed=len(passed),
            pass_rate=_round(len(passed) / len(assessed)) if assessed else None,
            pre_mean=_mean([e.score or 0.0 for e in pre_rows]),
            post_mean=_mean([e.score or 0.0 for e in post_rows]),
        ),
        survey=_survey(effect, encode),
        people=tuple(people),
        follow_up=tuple(_follow_up(people)),
        applied=applied_at_work(cycle, state.events),
        team_results=team_results(catalog, cycle, state.events, window_days),
    )


def my_cycles(state: CycleState, employee: str) -> list[MyCycle]:
    """An employee's own view: the cycles they took part in, with their results only."""
    catalog = state.catalog
    catalog.employee(employee)
    out = []
    for summary_ in list_cycles(state, participant=employee):
        effect = state.effect(summary_.id)
        surveys = [e for e in effect.of("survey") if e.employee == employee]
        answer = (
            SurveyAnswer(
                dict(surveys[-1].details.get("answers", {})), surveys[-1].details.get("comment")
            )
            if surveys
            else None
        )
        out.append(
            MyCycle(
                cycle=_info(catalog, effect.cycle, with_participants=False),
                result=_participant(catalog, effect, employee),
                survey=answer,
            )
        )
    return out
