"""A cycle's report as one page an organiser can send on: Markdown, or a self-contained HTML
file (styles and SVG charts inline, no script, nothing fetched from elsewhere).

Every text that people wrote (names, titles, comments) is escaped for the format it goes
into, so a comment holding markup shows as text.
"""

from __future__ import annotations

import html
import re
from collections.abc import Sequence

from recommender.cycles.kpi import DidEstimate
from recommender.cycles.report import CycleReport, CycleSummary, LevelStats

_MD_SPECIAL = re.compile(r"([\\`*_\[\]|#])")


def _md(text: object) -> str:
    """Plain text for Markdown: its markup characters escaped, HTML's too, on one line."""
    escaped = html.escape(" ".join(str(text).split()), quote=False)
    return _MD_SPECIAL.sub(r"\\\1", escaped)


def _pct(value: float | None) -> str:
    return "–" if value is None else f"{value:.0%}"


def _num(value: float | None, places: int = 2) -> str:
    if value is None:
        return "–"
    text = f"{value:.{places}f}".rstrip("0").rstrip(".")
    return text or "0"


def _signed(value: float) -> str:
    return ("+" if value > 0 else "") + _num(value)


def distribution_text(stats: LevelStats) -> str:
    """'2×L1, 3×L2': how many participants stand at each level, levels with none left out."""
    parts = [f"{n}×L{level}" for level, n in enumerate(stats.distribution) if n]
    return ", ".join(parts) or "–"


def _facts(report: CycleReport) -> list[str]:
    cycle = report.cycle
    trainers = ", ".join(t.name for t in cycle.trainers)
    return [
        f"{cycle.start} to {cycle.end}",
        cycle.format,
        f"{_num(cycle.hours)} h per participant",
        f"trainers: {trainers}",
        f"teams: {', '.join(cycle.teams)}",
    ]


def _figures(report: CycleReport) -> list[tuple[str, str]]:
    cycle = report.cycle
    att = report.attendance
    assessment = report.assessment
    survey = report.survey
    answered = [q.mean for q in survey.questions if q.mean is not None]
    overall = sum(answered) / len(answered) if answered else None
    rows = [
        (
            "Figure of merit (weighted skill levels gained per participant training hour)",
            _num(report.figure_of_merit, 3),
        ),
        (
            "Weighted skill levels gained",
            f"{_num(report.weighted_gain)} over {report.participants} participants × "
            f"{_num(cycle.hours)} h = {_num(report.participant_hours)} participant hours",
        ),
        (
            "Completion (took the post-assessment)",
            f"{report.completion.completed} of {report.completion.participants} "
            f"({_pct(report.completion.rate)})",
        ),
        (
            "Attendance",
            f"{_pct(att.rate)} over {len(att.sessions)} sessions"
            if att.sessions
            else "not recorded",
        ),
        (
            f"Pass rate (pass mark {_pct(assessment.pass_mark)} of the points)",
            f"{assessment.passed} of {assessment.assessed} ({_pct(assessment.pass_rate)})",
        ),
        (
            "Mean assessment score, before → after",
            f"{_pct(assessment.pre_mean)} → {_pct(assessment.post_mean)}",
        ),
        (
            "Survey",
            f"{survey.responses} responses ({_pct(survey.response_rate)}), "
            f"mean {_num(overall)} / 5 over all questions",
        ),
    ]
    return rows


def _comparison_rows(report: CycleReport) -> list[tuple[CycleSummary, bool]]:
    return [(c, c.id == report.cycle.id) for c in report.comparison]


# -- Markdown ---------------------------------------------------------------------------------


def to_markdown(report: CycleReport, generated: str = "") -> str:
    cycle = report.cycle
    lines = [f"# Cycle report: {_md(cycle.title)} ({_md(cycle.id)})", ""]
    lines.append(" · ".join(_md(f) for f in _facts(report)))
    lines.append("")
    modules = "; ".join(f"{_md(m.title)} ({_md(m.id)}, {_num(m.hours)} h)" for m in cycle.modules)
    lines += [f"Modules: {modules}", ""]
    if cycle.description:
        lines += [_md(cycle.description), ""]
    lines += ["## Key figures", "", "| | |", "|---|---|"]
    lines += [f"| {_md(k)} | **{_md(v)}** |" for k, v in _figures(report)]
    lines += ["", "## Levels per skill (0-5)", ""]
    lines += [
        "| skill | weight | before | after | gain per participant | weighted gain "
        "| before → after (participants × level) |",
        "|---|---:|---:|---:|---:|---:|---|",
    ]
    for s in report.skills:
        lines.append(
            f"| {_md(s.name)} | {_num(s.weight)} | {_num(s.before.mean)} | {_num(s.after.mean)} "
            f"| {_signed(s.mean_gain)} | {_num(s.weighted_gain)} "
            f"| {distribution_text(s.before)} → {distribution_text(s.after)} |"
        )
    lines += ["", "## Beside earlier cycles", ""]
    lines += [
        "| cycle | start | format | trainers | hours | participants | weighted gain "
        "| figure of merit |",
        "|---|---|---|---|---:|---:|---:|---:|",
    ]
    for c, current in _comparison_rows(report):
        name = f"**{_md(c.title)}** (this cycle)" if current else _md(c.title)
        trainers = ", ".join(_md(t.name) for t in c.trainers)
        lines.append(
            f"| {name} | {c.start} | {_md(c.format)} | {trainers} | {_num(c.hours)} "
            f"| {c.participants} | {_num(c.weighted_gain)} | {_num(c.figure_of_merit, 3)} |"
        )
    lines += ["", "## Survey (1 = disagree, 5 = agree)", ""]
    lines += ["| question | mean | answers |", "|---|---:|---:|"]
    for q in report.survey.questions:
        lines.append(f"| {_md(q.text)} | {_num(q.mean)} | {q.answers} |")
    if report.survey.themes:
        lines += ["", "### Comments by theme", ""]
        for theme in report.survey.themes:
            count = len(theme.comments)
            lines.append(f"**{_md(theme.label)}** ({count} comment{'s' if count != 1 else ''})")
            lines += [f"- “{_md(c)}”" for c in theme.comments]
            lines.append("")
    else:
        lines.append("")
    lines += ["## For follow-up (gained least)", ""]
    lines += [f"- **{_md(f.name)}** ({_md(f.employee)}): {_md(f.reason)}" for f in report.follow_up]
    lines += _applied_md(report) + _team_results_md(report)
    lines += [
        "",
        "_Levels before: where participants stood when the post-assessment came in; after: "
        "raised by it as a completion would (max(now, round(now + (taught - now) × score))). "
        "Weighted gain: levels gained × the skill's weight (model optimisation and algorithm "
        "innovation 1.5, data preprocessing and cleaning 1.0, others 0.5, unless the catalogue "
        "sets one)." + (f" Generated {generated}." if generated else "") + "_",
        "",
    ]
    return "\n".join(lines)


def _did_text(d: DidEstimate) -> str:
    if d.estimate is None:
        return f"no estimate: {d.note}"
    text = f"{_signed(d.estimate)}"
    if d.low is not None and d.high is not None:
        text += f" (95% interval {_num(d.low)} to {_num(d.high)})"
    else:
        text += f" (no interval: {d.note})"
    return text


def _applied_md(report: CycleReport) -> list[str]:
    lines = ["", "## Applied at work (follow-up surveys, 1 = disagree, 5 = agree)", ""]
    applied = report.applied
    if applied is None or not applied.followups:
        return [*lines, f"_{_md(applied.note if applied else '')}_"]
    for f in applied.followups:
        lines += [f"### {f.days} days after (due {f.due})", ""]
        for form in f.forms:
            if not form.responses:
                lines += [f"**{form.form} form**: no answers yet", ""]
                continue
            agree = "" if form.agree_applied is None else f", {_pct(form.agree_applied)} apply it"
            rate = _pct(form.response_rate)
            lines.append(f"**{form.form} form**: {form.responses} responses ({rate}){agree}")
            lines += ["", "| question | mean | answers |", "|---|---:|---:|"]
            lines += [f"| {_md(q.text)} | {_num(q.mean)} | {q.answers} |" for q in form.questions]
            if form.comments:
                lines.append("")
            lines += [f"- “{_md(c)}”" for c in form.comments]
            lines.append("")
    return lines


def _team_results_md(report: CycleReport) -> list[str]:
    lines = ["", "## Team results (KPIs before and after)", ""]
    results = report.team_results
    if results is None or not results.metrics:
        return [*lines, f"_{_md(results.note if results else '')}_"]
    for m in results.metrics:
        d = m.did
        lines += [
            f"### {_md(m.metric)}",
            "",
            f"Before: {m.before[0]} to {m.before[1]}; after: {m.after[0]} to {m.after[1]}.",
            "",
            "| team | took part | before | after | change |",
            "|---|---|---:|---:|---:|",
        ]
        for t in m.teams:
            lines.append(
                f"| {_md(t.team)} | {'yes' if t.participating else 'no'} | {_num(t.before)} "
                f"| {_num(t.after)} | {_signed(t.change)} |"
            )
        lines += [
            "",
            f"Mean change: participating teams {_num(d.participating_change)} "
            f"({d.participating_teams}), other teams {_num(d.others_change)} ({d.other_teams}). "
            f"**Difference-in-differences: {_did_text(d)}**.",
            "",
        ]
    lines += ["What this can and cannot show:", ""]
    lines += [f"- {_md(c)}" for c in results.caveats]
    return lines


def _applied_html(report: CycleReport) -> list[str]:
    out = ["<h2>Applied at work (follow-up surveys, 1 = disagree, 5 = agree)</h2>"]
    applied = report.applied
    if applied is None or not applied.followups:
        return [*out, f'<p class="muted">{_h(applied.note if applied else "")}</p>']
    for f in applied.followups:
        out.append(f"<h3>{f.days} days after <span class=muted>(due {_h(f.due)})</span></h3>")
        for form in f.forms:
            if not form.responses:
                out.append(f"<p><b>{_h(form.form)} form</b>: no answers yet</p>")
                continue
            agree = "" if form.agree_applied is None else f", {_pct(form.agree_applied)} apply it"
            out.append(
                f"<p><b>{_h(form.form)} form</b>: {form.responses} responses "
                f"({_pct(form.response_rate)}){_h(agree)}</p><table><tbody>"
            )
            out += [
                f"<tr><td>{_h(q.text)}</td><td class=n>{_num(q.mean)}</td>"
                f"<td class=n>{q.answers} answers</td></tr>"
                for q in form.questions
            ]
            out.append("</tbody></table>")
            out += [f"<blockquote>“{_h(c)}”</blockquote>" for c in form.comments]
    return out


def _team_results_html(report: CycleReport) -> list[str]:
    out = ["<h2>Team results (KPIs before and after)</h2>"]
    results = report.team_results
    if results is None or not results.metrics:
        return [*out, f'<p class="muted">{_h(results.note if results else "")}</p>']
    for m in results.metrics:
        d = m.did
        out.append(
            f"<h3>{_h(m.metric)}</h3><p class=muted>before: {m.before[0]} to {m.before[1]}; "
            f"after: {m.after[0]} to {m.after[1]}</p>"
            "<table><thead><tr><th>team</th><th>took part</th><th class=n>before</th>"
            "<th class=n>after</th><th class=n>change</th></tr></thead><tbody>"
        )
        out += [
            f"<tr{' class=current' if t.participating else ''}><td>{_h(t.team)}</td>"
            f"<td>{'yes' if t.participating else 'no'}</td><td class=n>{_num(t.before)}</td>"
            f"<td class=n>{_num(t.after)}</td><td class=n>{_signed(t.change)}</td></tr>"
            for t in m.teams
        ]
        out.append(f"</tbody></table><p>Difference-in-differences: <b>{_h(_did_text(d))}</b></p>")
    out.append("<p>What this can and cannot show:</p><ul>")
    out += [f"<li>{_h(c)}</li>" for c in results.caveats]
    out.append("</ul>")
    return out


# -- HTML -------------------------------------------------------------------------------------

_STYLE = """
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI","Noto Sans","PingFang SC",
"Microsoft YaHei",sans-serif;color:#1d2733;max-width:60rem;margin:1.5rem auto;padding:0 1rem}
h1{font-size:1.5rem;margin:0 0 .25rem}h2{font-size:1.1rem;margin:1.4rem 0 .4rem;
border-bottom:1px solid #d5dbe3;padding-bottom:.2rem}h3{font-size:1rem;margin:1rem 0 .3rem}
.muted{color:#5b6878}table{border-collapse:collapse;width:100%;margin:.3rem 0}
th,td{text-align:left;padding:.25rem .5rem;border-bottom:1px solid #e6eaf0;vertical-align:top}
td.n,th.n{text-align:right}tr.current td{font-weight:600;background:#eef5ff}
.figures{display:grid;grid-template-columns:repeat(auto-fit,minmax(12rem,1fr));gap:.5rem}
.figure{border:1px solid #d5dbe3;border-radius:6px;padding:.5rem .7rem}
.figure b{display:block;font-size:1.05rem}svg{max-width:100%;height:auto}
blockquote{margin:.2rem 0 .2rem 1rem;color:#34404d}
@media print{body{margin:0}h2{break-after:avoid}}
"""

_BEFORE, _AFTER, _OTHER, _THIS = "#9aa8b8", "#1f6fd1", "#9aa8b8", "#1f6fd1"


def _h(text: object) -> str:
    return html.escape(str(text))


def _svg_open(width: int, height: int, label: str) -> str:
    """An SVG drawn at its own size (shrunk, never stretched, to fit the page)."""
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" role="img" aria-label="{_h(label)}">'
    )


def _clip(text: str, most: int) -> str:
    return text if len(text) <= most else text[: most - 1] + "…"


def _bars_svg(report: CycleReport) -> str:
    """Per skill: mean level before (grey) and after (blue), on the 0..5 scale."""
    row, label_w, chart_w = 34, 190, 380
    height = 30 + row * len(report.skills)
    scale = chart_w / 5
    parts = [_svg_open(label_w + chart_w + 60, height, "Mean level before and after, per skill")]
    for level in range(6):
        x = label_w + level * scale
        parts.append(
            f'<line x1="{x:.1f}" y1="16" x2="{x:.1f}" y2="{height}" stroke="#e6eaf0"/>'
            f'<text x="{x:.1f}" y="12" font-size="10" text-anchor="middle" fill="#5b6878">'
            f"{level}</text>"
        )
    for i, s in enumerate(report.skills):
        y = 22 + i * row
        parts.append(
            f'<text x="{label_w - 8}" y="{y + 14}" font-size="12" text-anchor="end">'
            f"{_h(s.name)} ×{_num(s.weight)}</text>"
        )
        for j, (value, colour) in enumerate(((s.before.mean, _BEFORE), (s.after.mean, _AFTER))):
            parts.append(
                f'<rect x="{label_w}" y="{y + j * 12}" width="{value * scale:.1f}" height="10" '
                f'fill="{colour}"><title>{"before" if j == 0 else "after"} {_num(value)}'
                "</title></rect>"
            )
        parts.append(
            f'<text x="{label_w + s.after.mean * scale + 6:.1f}" y="{y + 21}" font-size="11" '
            f'fill="#1d2733">{_signed(s.mean_gain)}</text>'
        )
    parts.append("</svg>")
    return "".join(parts)


def _merit_svg(rows: Sequence[tuple[CycleSummary, bool]]) -> str:
    """The figure of merit of this cycle (blue) beside earlier ones (grey)."""
    row, label_w, chart_w = 26, 330, 290
    values = [c.figure_of_merit or 0.0 for c, _ in rows]
    top = max([*values, 1e-9])
    height = 10 + row * len(rows)
    parts = [_svg_open(label_w + chart_w + 70, height, "Figure of merit per cycle")]
    for i, (c, current) in enumerate(rows):
        y = 6 + i * row
        width = (c.figure_of_merit or 0.0) / top * chart_w
        weight = ' font-weight="600"' if current else ""
        parts.append(
            f'<text x="{label_w - 8}" y="{y + 13}" font-size="12" text-anchor="end"{weight}>'
            f"{_h(_clip(c.title, 42))}</text>"
            f'<rect x="{label_w}" y="{y + 2}" width="{width:.1f}" height="14" '
            f'fill="{_THIS if current else _OTHER}"/>'
            f'<text x="{label_w + width + 6:.1f}" y="{y + 13}" font-size="11">'
            f"{_num(c.figure_of_merit, 3)}</text>"
        )
    parts.append("</svg>")
    return "".join(parts)


def to_html(report: CycleReport, generated: str = "") -> str:
    cycle = report.cycle
    out = [
        "<!doctype html>",
        '<html lang="en"><head><meta charset="utf-8">',
        f"<title>Cycle report: {_h(cycle.title)}</title>",
        f"<style>{_STYLE}</style></head><body>",
        f"<h1>Cycle report: {_h(cycle.title)} <span class=muted>({_h(cycle.id)})</span></h1>",
        f'<p class="muted">{" · ".join(_h(f) for f in _facts(report))}</p>',
        "<p>Modules: "
        + "; ".join(f"{_h(m.title)} ({_h(m.id)}, {_num(m.hours)} h)" for m in cycle.modules)
        + "</p>",
    ]
    if cycle.description:
        out.append(f"<p>{_h(cycle.description)}</p>")
    out.append('<h2>Key figures</h2><div class="figures">')
    out += [
        f'<div class="figure"><span class="muted">{_h(k)}</span><b>{_h(v)}</b></div>'
        for k, v in _figures(report)
    ]
    out.append("</div>")
    out.append("<h2>Levels per skill (0-5): before (grey) and after (blue)</h2>")
    out.append(_bars_svg(report))
    out.append(
        "<table><thead><tr><th>skill</th><th class=n>weight</th><th class=n>before</th>"
        "<th class=n>after</th><th class=n>gain per participant</th>"
        "<th class=n>weighted gain</th><th>before → after (participants × level)</th>"
        "</tr></thead><tbody>"
    )
    for s in report.skills:
        out.append(
            f"<tr><td>{_h(s.name)}</td><td class=n>{_num(s.weight)}</td>"
            f"<td class=n>{_num(s.before.mean)}</td><td class=n>{_num(s.after.mean)}</td>"
            f"<td class=n>{_signed(s.mean_gain)}</td><td class=n>{_num(s.weighted_gain)}</td>"
            f"<td>{distribution_text(s.before)} → {distribution_text(s.after)}</td></tr>"
        )
    out.append("</tbody></table>")
    rows = _comparison_rows(report)
    out.append("<h2>Figure of merit beside earlier cycles</h2>")
    out.append(_merit_svg(rows))
    out.append(
        "<table><thead><tr><th>cycle</th><th>start</th><th>format</th><th>trainers</th>"
        "<th class=n>hours</th><th class=n>participants</th><th class=n>weighted gain</th>"
        "<th class=n>figure of merit</th></tr></thead><tbody>"
    )
    for c, current in rows:
        out.append(
            f"<tr{' class=current' if current else ''}><td>{_h(c.title)}</td><td>{c.start}</td>"
            f"<td>{_h(c.format)}</td><td>{_h(', '.join(t.name for t in c.trainers))}</td>"
            f"<td class=n>{_num(c.hours)}</td><td class=n>{c.participants}</td>"
            f"<td class=n>{_num(c.weighted_gain)}</td>"
            f"<td class=n>{_num(c.figure_of_merit, 3)}</td></tr>"
        )
    out.append("</tbody></table>")
    out.append("<h2>Survey (1 = disagree, 5 = agree)</h2><table><tbody>")
    for q in report.survey.questions:
        out.append(
            f"<tr><td>{_h(q.text)}</td><td class=n>{_num(q.mean)}</td>"
            f"<td class=n>{q.answers} answers</td></tr>"
        )
    out.append("</tbody></table>")
    if report.survey.themes:
        out.append("<h3>Comments by theme</h3>")
        for theme in report.survey.themes:
            out.append(
                f"<p><b>{_h(theme.label)}</b> <span class=muted>({len(theme.comments)})</span></p>"
            )
            out += [f"<blockquote>“{_h(c)}”</blockquote>" for c in theme.comments]
    out.append("<h2>For follow-up (gained least)</h2><ul>")
    out += [
        f"<li><b>{_h(f.name)}</b> ({_h(f.employee)}): {_h(f.reason)}</li>" for f in report.follow_up
    ]
    out.append("</ul>")
    out += _applied_html(report) + _team_results_html(report)
    note = (
        "Levels before: where participants stood when the post-assessment came in; after: "
        "raised by it as a completion would. Weighted gain: levels gained × the skill's weight."
    )
    if generated:
        note += f" Generated {generated}."
    out.append(f'<p class="muted">{_h(note)}</p></body></html>')
    return "\n".join(out) + "\n"
