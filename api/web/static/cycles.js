// Training cycles, for organisers: pick a cycle and see its effect - key figures, levels per
// skill before and after (means and how many stand at each level), the figure of merit
// beside earlier cycles, survey means, comments by theme, who gained least - as SVG charts
// drawn here; export the one-page report (Markdown or HTML); import results from CSV files;
// and the modules whose measured gain is near zero (GET /cycles/gains).
import { api, authHeaders, el, fill, renderHeader, requireSession, say } from "./api.js";
import { has, localize, t, translate } from "./i18n.js";

translate();
const who = requireSession();
renderHeader("cycles");
addNavItem();

const SVG_NS = "http://www.w3.org/2000/svg";
const select = document.getElementById("cycle");
const status = document.getElementById("cycles-status");
const reportBox = document.getElementById("report");
const importForm = document.getElementById("import-form");
const importResult = document.getElementById("import-result");
let shown = null; // the report on screen, drawn again when the language changes

/** The header lists the pages api.js knows; this one is added here, marked as current. */
function addNavItem() {
  const list = document.querySelector("header.site nav ul");
  if (!list || list.querySelector('a[href="/web/cycles"]')) return;
  for (const link of list.querySelectorAll("a[aria-current]")) link.removeAttribute("aria-current");
  list.append(el("li", {}, el("a", { href: "/web/cycles", "aria-current": "page", i18n: "page.cycles" })));
}

// -- formatting ---------------------------------------------------------------------------
const num = (x, places = 2) =>
  x === null || x === undefined ? "–" : String(Math.round(x * 10 ** places) / 10 ** places);
const pct = (x) => (x === null || x === undefined ? "–" : `${Math.round(x * 100)}%`);
const signed = (x) => (x > 0 ? "+" : "") + num(x);
/** A value the API names (a format, a question) in the pages' words when they have them. */
const named = (prefix, value) => (has(prefix + value) ? { i18n: prefix + value } : { text: value });

/** An SVG element: attributes, `text`, or `i18n` (translated again on a language switch). */
function svg(tag, attrs = {}, ...children) {
  const node = document.createElementNS(SVG_NS, tag);
  for (const [name, value] of Object.entries(attrs)) {
    if (value === null || value === undefined) continue;
    if (name === "text") node.textContent = value;
    else if (name === "i18n") localize(node, ...[value].flat());
    else node.setAttribute(name, value);
  }
  node.append(...children.flat(Infinity).filter(Boolean));
  return node;
}

/** A chart drawn at its own size, shrunk (never stretched) to fit a narrow panel. */
function chart(width, height, label, ...children) {
  return svg(
    "svg",
    { class: "chart", width, height, viewBox: `0 0 ${width} ${height}`, role: "img", "aria-label": label },
    ...children,
  );
}

const clip = (text, max) => (text.length > max ? text.slice(0, max - 1) + "…" : text);

const legend = (...items) =>
  el("p", { class: "legend" }, items.map(([cls, key]) => el("span", {}, el("span", { class: `swatch ${cls}` }), el("span", { i18n: key }))));

// -- charts -------------------------------------------------------------------------------
/** Per skill: the mean level before (grey) and after (blue) on the 0..5 scale. */
function levelsChart(skills) {
  const labelW = 190, plotW = 320, row = 42, top = 20;
  const x = (level) => labelW + (level / 5) * plotW;
  const height = top + row * skills.length + 4;
  const ticks = [0, 1, 2, 3, 4, 5].map((level) => [
    svg("line", { class: "grid-line", x1: x(level), x2: x(level), y1: top - 4, y2: height }),
    svg("text", { class: "axis", x: x(level), y: 11, "text-anchor": "middle", text: String(level) }),
  ]);
  const rows = skills.map((s, i) => {
    const y = top + i * row;
    return svg(
      "g",
      { "data-skill": s.skill },
      svg("text", { x: labelW - 8, y: y + 12, "text-anchor": "end", text: s.name }),
      svg("text", { class: "sub", x: labelW - 8, y: y + 26, "text-anchor": "end", i18n: ["cycles.weightShort", { weight: num(s.weight) }] }),
      svg("rect", { class: "before", x: labelW, y: y + 2, height: 12, width: Math.max(1, x(s.before.mean) - labelW) },
        svg("title", { i18n: ["cycles.meanBefore", { mean: num(s.before.mean) }] })),
      svg("rect", { class: "after", x: labelW, y: y + 16, height: 12, width: Math.max(1, x(s.after.mean) - labelW) },
        svg("title", { i18n: ["cycles.meanAfter", { mean: num(s.after.mean) }] })),
      svg("text", { class: "value", x: x(s.after.mean) + 6, y: y + 26, text: `${signed(s.mean_gain)}` }),
    );
  });
  return [
    legend(["before", "cycles.before"], ["after", "cycles.after"]),
    chart(labelW + plotW + 50, height, t("cycles.levelsChart"), ticks, rows),
  ];
}

const LEVEL_COLOURS = ["#e8edf5", "#c6d5ee", "#9cb8e6", "#6d96d8", "#3f73c6", "#1d4f9c"];

/** Per skill: how many participants stand at each level, before and after (stacked). */
function distributionChart(skills) {
  const labelW = 60, plotW = 420, row = 62;
  const height = row * skills.length + 4;
  const groups = skills.map((s, i) => {
    const y = 18 + i * row;
    const total = s.participants || 1;
    const bar = (dist, dy, key) => {
      let left = labelW;
      const parts = dist.map((count, level) => {
        if (!count) return null;
        const width = (count / total) * plotW;
        const rect = svg("rect", { x: left, y: y + dy, width, height: 15, fill: LEVEL_COLOURS[level] },
          svg("title", { i18n: ["cycles.atLevel", { n: count, level }] }));
        const label = width > 16 ? svg("text", { class: "value", x: left + width / 2, y: y + dy + 12, "text-anchor": "middle", fill: level > 2 ? "#fff" : "#1d2330", text: `L${level}` }) : null;
        left += width;
        return [rect, label];
      });
      return [svg("text", { class: "sub", x: labelW - 8, y: y + dy + 12, "text-anchor": "end", i18n: key }), parts];
    };
    return svg(
      "g",
      { "data-skill": s.skill },
      svg("text", { class: "strong", x: 0, y: y - 4, text: s.name }),
      bar(s.before.distribution, 2, "cycles.before"),
      bar(s.after.distribution, 21, "cycles.after"),
    );
  });
  const swatches = el(
    "p",
    { class: "legend" },
    LEVEL_COLOURS.map((colour, level) => {
      const swatch = el("span", { class: "swatch" });
      swatch.style.background = colour;
      return el("span", {}, swatch, `L${level}`);
    }),
  );
  return [swatches, chart(labelW + plotW + 10, height, t("cycles.distributionChart"), groups)];
}

/** The figure of merit of each cycle up to this one, this one in blue. */
function meritChart(comparison, currentId) {
  const labelW = 340, plotW = 320, row = 40;
  const top = Math.max(1e-9, ...comparison.map((c) => c.figure_of_merit || 0));
  const height = row * comparison.length + 6;
  const rows = comparison.map((c, i) => {
    const y = 6 + i * row;
    const current = c.id === currentId;
    const width = ((c.figure_of_merit || 0) / top) * plotW;
    const trainers = c.trainers.map((p) => p.name).join(", ");
    return svg(
      "g",
      { "data-cycle": c.id, class: current ? "is-current" : null },
      svg("text", { class: current ? "strong" : null, x: labelW - 8, y: y + 12, "text-anchor": "end", text: clip(c.title, 44) },
        svg("title", { text: c.title })),
      svg("text", { class: "sub", x: labelW - 8, y: y + 27, "text-anchor": "end", text: `${c.start} · ${has("cycles.format." + c.format) ? t("cycles.format." + c.format) : c.format} · ${trainers}` }),
      svg("rect", { class: current ? "current" : "other", x: labelW, y: y + 3, width: Math.max(1, width), height: 22 }),
      svg("text", c.figure_of_merit === null
        ? { class: "value", x: labelW + 6, y: y + 18, i18n: "cycles.noResults" }
        : { class: "value", x: labelW + width + 6, y: y + 18, text: num(c.figure_of_merit, 3) }),
    );
  });
  return chart(labelW + plotW + 110, height, t("cycles.meritChart"), rows);
}

/** Survey means per question, on the 1..5 scale. */
function surveyChart(questions) {
  const labelW = 290, plotW = 180, row = 30;
  const x = (v) => labelW + (v / 5) * plotW;
  const height = 18 + row * questions.length;
  const ticks = [1, 2, 3, 4, 5].map((v) => [
    svg("line", { class: "grid-line", x1: x(v), x2: x(v), y1: 14, y2: height }),
    svg("text", { class: "axis", x: x(v), y: 10, "text-anchor": "middle", text: String(v) }),
  ]);
  const rows = questions.map((q, i) => {
    const y = 18 + i * row;
    return svg(
      "g",
      { "data-question": q.id },
      svg("text", { x: labelW - 8, y: y + 14, "text-anchor": "end", ...(has("cycles.q." + q.id) ? { i18n: "cycles.q." + q.id } : { text: q.text }) }),
      svg("rect", { class: "after", x: labelW, y: y + 3, width: q.mean ? x(q.mean) - labelW : 1, height: 16 }),
      svg("text", { class: "value", x: (q.mean ? x(q.mean) : labelW) + 6, y: y + 15, text: q.mean === null ? "–" : `${num(q.mean)} (${q.answers})` }),
    );
  });
  return chart(labelW + plotW + 70, height, t("cycles.surveyChart"), ticks, rows);
}

// -- the report ---------------------------------------------------------------------------
function figure(key, value, params = {}, lead = false) {
  return el("div", { class: lead ? "figure lead" : "figure" }, el("span", { class: "value" }, value), el("span", { class: "label", i18n: [key, params] }));
}

function figures(r) {
  const att = r.attendance;
  const a = r.assessment;
  const means = r.survey.questions.map((q) => q.mean).filter((m) => m !== null);
  const overall = means.length ? means.reduce((s, m) => s + m, 0) / means.length : null;
  return [
    figure("cycles.figureOfMerit", num(r.figure_of_merit, 3), {}, true),
    figure("cycles.weightedGain", num(r.weighted_gain), { hours: num(r.participant_hours) }),
    figure("cycles.completion", pct(r.completion.rate), { done: r.completion.completed, n: r.completion.participants }),
    figure("cycles.attendance", pct(att.rate), { n: att.sessions.length }),
    figure("cycles.passRate", pct(a.pass_rate), { mark: pct(a.pass_mark), passed: a.passed, n: a.assessed }),
    figure("cycles.scores", `${pct(a.pre_mean)} → ${pct(a.post_mean)}`),
    figure("cycles.surveyMean", num(overall), { n: r.survey.responses }),
  ];
}

function facts(cycle) {
  return [
    `${cycle.start} – ${cycle.end}`,
    " · ",
    el("span", named("cycles.format.", cycle.format)),
    " · ",
    el("span", { i18n: ["cycles.hoursEach", { hours: num(cycle.hours) }] }),
    " · ",
    el("span", { i18n: ["cycles.trainers", { names: cycle.trainers.map((p) => p.name).join(", ") }] }),
    " · ",
    el("span", { i18n: ["cycles.modules", { names: cycle.modules.map((m) => m.title).join("; ") }] }),
  ];
}

function peopleTable(r) {
  const head = ["cycles.person", "field.team", "cycles.gainCol", "cycles.preCol", "cycles.postCol", "cycles.passedCol", "cycles.attendedCol"];
  return el(
    "div",
    { class: "scroll" },
    el(
      "table",
      { id: "people-table" },
      el("thead", {}, el("tr", {}, head.map((key, i) => el("th", { scope: "col", class: i > 1 ? "num" : null, i18n: key })))),
      el(
        "tbody",
        {},
        r.people.map((p) =>
          el(
            "tr",
            {},
            el("td", {}, p.name),
            el("td", {}, p.team),
            el("td", { class: "num" }, num(p.weighted_gain)),
            el("td", { class: "num" }, pct(p.pre_score)),
            el("td", { class: "num" }, pct(p.post_score)),
            el("td", { class: p.passed === null ? "num" : p.passed ? "num pass" : "num fail", i18n: p.passed === null ? "cycles.notAssessed" : p.passed ? "cycles.yes" : "cycles.no" }),
            el("td", { class: "num" }, p.sessions ? `${p.sessions_attended}/${p.sessions}` : "–"),
          ),
        ),
      ),
    ),
  );
}

/** Why someone is listed for follow-up, in the pages' words, from their results. */
function followUp(r) {
  if (!r.follow_up.length) return el("p", { class: "muted", i18n: "cycles.nobody" });
  const byId = new Map(r.people.map((p) => [p.employee, p]));
  return el(
    "ul",
    { class: "list", id: "follow-list" },
    r.follow_up.map((f) => {
      const p = byId.get(f.employee);
      const reasons = [el("span", { i18n: ["cycles.gained", { gain: num(f.weighted_gain), possible: num(f.possible_gain) }] })];
      if (p.post_score === null) reasons.push(el("span", { i18n: "cycles.noPost" }));
      else reasons.push(el("span", { i18n: [p.passed ? "cycles.postScore" : "cycles.postBelow", { score: pct(p.post_score) }] }));
      if (p.sessions) reasons.push(el("span", { i18n: ["cycles.attendedOf", { n: p.sessions_attended, of: p.sessions }] }));
      if (!p.surveyed) reasons.push(el("span", { i18n: "cycles.noSurvey" }));
      return el("li", {}, el("strong", {}, f.name), " ", el("span", { class: "muted small" }, `(${f.employee})`), el("div", { class: "small" }, reasons.flatMap((r, i) => (i ? ["; ", r] : [r]))));
    }),
  );
}

function themes(survey) {
  if (!survey.themes.length) return el("p", { class: "muted", i18n: "cycles.noComments" });
  return el(
    "ul",
    { class: "themes", id: "theme-list" },
    survey.themes.map((theme) =>
      el(
        "li",
        {},
        el("strong", {}, theme.label),
        " ",
        el("span", { class: "muted small", i18n: ["cycles.commentCount", { n: theme.comments.length }] }),
        theme.comments.map((c) => el("blockquote", {}, `“${c}”`)),
      ),
    ),
  );
}

function render(r) {
  shown = r;
  document.getElementById("summary-title").textContent = r.cycle.title;
  fill(document.getElementById("facts"), facts(r.cycle));
  fill(document.getElementById("figures"), figures(r));
  fill(document.getElementById("levels"), r.skills.length ? levelsChart(r.skills) : el("p", { class: "muted", i18n: "cycles.noSkills" }));
  fill(document.getElementById("distribution"), distributionChart(r.skills));
  fill(
    document.getElementById("merit"),
    meritChart(r.comparison, r.cycle.id),
    el("p", { class: "small muted", i18n: "cycles.meritNote" }),
  );
  fill(document.getElementById("survey"), surveyChart(r.survey.questions), el("p", { class: "small muted", i18n: ["cycles.responses", { n: r.survey.responses, rate: pct(r.survey.response_rate) }] }));
  fill(document.getElementById("themes"), themes(r.survey));
  fill(document.getElementById("people"), peopleTable(r));
  fill(document.getElementById("follow"), followUp(r));
  reportBox.hidden = false;
}

async function showReport() {
  const id = select.value;
  if (!id) return;
  const url = new URL(location.href);
  url.searchParams.set("id", id);
  history.replaceState(null, "", url);
  say(status, ["site.loading"]);
  try {
    render(await api(`/cycles/${encodeURIComponent(id)}/report`));
    say(status, "");
  } catch (error) {
    reportBox.hidden = true;
    say(status, error, "error");
  }
}

async function loadCycles(keep) {
  const { cycles } = await api("/cycles");
  fill(
    select,
    cycles.map((c) => el("option", { value: c.id }, `${c.title} (${c.start})`)),
  );
  if (!cycles.length) {
    say(status, ["cycles.none"]);
    return false;
  }
  const wanted = keep || new URL(location.href).searchParams.get("id");
  if (wanted && cycles.some((c) => c.id === wanted)) select.value = wanted;
  return true;
}

// -- export and import --------------------------------------------------------------------
async function download(format) {
  const id = select.value;
  if (!id) return;
  const response = await fetch(`/cycles/${encodeURIComponent(id)}/report?format=${format}`, {
    headers: authHeaders("GET"),
  });
  if (!response.ok) {
    const body = await response.json().catch(() => null);
    say(status, body?.error?.message || t("site.serviceAnswered", { status: response.status }), "error");
    return;
  }
  const link = el("a", { href: URL.createObjectURL(await response.blob()), download: `cycle-${id}.${format}` });
  document.body.append(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(link.href), 30_000);
}

document.getElementById("export-md").addEventListener("click", () => download("md"));
document.getElementById("export-html").addEventListener("click", () => download("html"));

function faultTable(faults) {
  return el(
    "div",
    { class: "scroll" },
    el(
      "table",
      { id: "import-faults" },
      el("thead", {}, el("tr", {}, ["cycles.file", "cycles.where", "cycles.whatToFix"].map((key) => el("th", { scope: "col", i18n: key })))),
      el("tbody", {}, faults.map((f) => el("tr", {}, el("td", {}, f.file), el("td", {}, f.entry), el("td", {}, f.message)))),
    ),
  );
}

importForm.addEventListener("submit", async (event) => {
  event.preventDefault();
  const files = importForm.files.files;
  if (!files.length || !select.value) {
    fill(importResult, el("p", { class: "status", "data-kind": "error", i18n: "cycles.chooseFiles" }));
    return;
  }
  const form = new FormData();
  for (const file of files) form.append("files", file, file.name);
  if (importForm.kind.value) form.append("kind", importForm.kind.value);
  const button = importForm.querySelector("button");
  button.disabled = true;
  try {
    const body = await api(`/cycles/${encodeURIComponent(select.value)}/imports`, { method: "POST", form });
    fill(
      importResult,
      body.files.map((f) =>
        el("p", {
          class: "status",
          "data-kind": "ok",
          i18n: f.already_imported ? ["cycles.importedBefore", { file: f.file }] : ["cycles.imported", { file: f.file, n: f.imported, kind: t("cycles.kind." + f.kind) }],
        }),
      ),
    );
    importForm.files.value = "";
    await showReport();
  } catch (error) {
    const faults = error.error?.faults || [];
    fill(importResult, el("p", { class: "status", "data-kind": "error", role: "alert" }, error.message), faults.length ? faultTable(faults) : null);
  } finally {
    button.disabled = false;
  }
});

// -- modules measured near zero ------------------------------------------------------------
async function showGains() {
  const box = document.getElementById("gains");
  try {
    const body = await api("/cycles/gains");
    fill(document.getElementById("gains-hint"), el("span", { i18n: ["cycles.gainsHint", { n: body.rule.min_participants }] }));
    if (!body.near_zero.length) {
      fill(box, el("p", { class: "muted", i18n: "cycles.gainsNone" }));
      return;
    }
    const head = ["cycles.gainModule", "cycles.gainSkill", "cycles.gainN", "cycles.gainLevels"];
    fill(
      box,
      el(
        "div",
        { class: "scroll" },
        el(
          "table",
          { id: "gains-table" },
          el("thead", {}, el("tr", {}, head.map((key) => el("th", { scope: "col", i18n: key })))),
          el(
            "tbody",
            {},
            body.near_zero.map((g) =>
              el(
                "tr",
                {},
                el("td", {}, g.module),
                el("td", {}, g.skill),
                el("td", { class: "num" }, String(g.participants)),
                el(
                  "td",
                  { class: "num" },
                  signed(g.gain),
                  el("br"),
                  el("span", { class: "muted small" }, g.ci95 ? `${num(g.ci95[0])} … ${num(g.ci95[1])}` : "–"),
                ),
              ),
            ),
          ),
        ),
      ),
    );
  } catch (error) {
    fill(box, el("p", { class: "status", "data-kind": "error" }, error.message));
  }
}

select.addEventListener("change", showReport);
window.addEventListener("kb:language", () => {
  if (shown) render(shown);
});

try {
  if (await loadCycles()) {
    await showReport();
    await showGains(); // organisers only, as the cycles are
  }
} catch (error) {
  say(status, error, "error");
}
