// My learning: an employee's skill gaps as bars, the next module and why, a plan for the hours
// they have, materials and people. Completing a module or rating a material posts an event
// and then asks the API again, so the page always shows the recommender's current answer.
import { api, documentHref, el, fill, renderHeader, requireSession, say, snippetNodes } from "./api.js";
import { localize, translate } from "./i18n.js";

translate();
const me = requireSession();
renderHeader("learning");

const MAX_LEVEL = 5;
const status = document.getElementById("learning-status");
const whoForm = document.getElementById("who-form");
const planForm = document.getElementById("plan-form");
const boxes = Object.fromEntries(
  ["gaps", "next", "plan", "people", "materials"].map((id) => [id, document.getElementById(id)]),
);
let employee = new URLSearchParams(location.search).get("employee") || me.employee || "";
whoForm.employee.value = employee;

const path = (tail) => `/employees/${encodeURIComponent(employee)}/${tail}`;
const pct = (level) => `${(Math.max(0, Math.min(MAX_LEVEL, level)) / MAX_LEVEL) * 100}%`;
const num = (x) => (Math.round(x * 100) / 100).toString();
const hoursOf = (hours) => el("span", { i18n: ["learning.hoursShort", { hours }] });
/** The parts that are there, separated by " · ". */
const dotted = (...parts) => parts.filter(Boolean).flatMap((part, i) => (i ? [" · ", part] : [part]));

/** One bar per skill: current level filled, target as a red line; numbers in words too. */
function gapChart(report) {
  if (!report.gaps.length) return el("p", { i18n: "learning.noGaps" });
  const rows = report.gaps.map((g) => {
    const current = el("span", { class: "bar-current" });
    current.style.width = pct(g.current);
    const target = el("span", { class: "bar-target" });
    target.style.left = `calc(${pct(g.target)} - 1px)`;
    return el(
      "li",
      { class: "bar-row" },
      el("span", { class: "name" }, g.name),
      el("span", { class: "bar-track", "aria-hidden": "true" }, current, target),
      el("span", {
        class: "numbers",
        i18n: [
          "learning.levels",
          { current: g.current, target: g.target, weight: num(g.weight), gap: num(g.weighted_gap) },
        ],
      }),
    );
  });
  return [
    el(
      "p",
      { class: "legend", "aria-hidden": "true" },
      el("span", {}, el("span", { class: "swatch current" }), el("span", { i18n: "learning.legendCurrent" })),
      el("span", {}, el("span", { class: "swatch target" }), el("span", { i18n: "learning.legendTarget" })),
    ),
    el("ul", { class: "bars", "i18n-aria-label": "learning.gapList" }, rows),
    el("p", {
      class: "small muted",
      i18n: ["learning.totalGap", { total: num(report.total_weighted_gap), team: report.team }],
    }),
  ];
}

function nextModule(answer) {
  if (!answer.module) return el("p", {}, answer.reason);
  const m = answer.module;
  const score = el(
    "select",
    { id: "score", name: "score" },
    [100, 90, 80, 70, 60, 50].map((p) => el("option", { value: p / 100 }, `${p}%`)),
  );
  const button = el("button", { type: "submit", i18n: "learning.markCompleted" });
  const form = el(
    "form",
    { class: "actions", onsubmit: (e) => complete(e, m, Number(score.value), button) },
    el("span", { class: "inline" }, el("label", { for: "score", i18n: "learning.score" }), score),
    button,
  );
  return [
    el("p", { class: "next-title", id: "next-module" }, m.title),
    el("p", { class: "small muted" }, dotted(m.id, m.format, m.hours ? hoursOf(m.hours) : null)),
    el("p", {}, el("strong", { i18n: "learning.why" }), answer.reason),
    form,
    answer.alternatives?.length
      ? el(
          "p",
          { class: "small muted" },
          el("span", { i18n: "learning.or" }),
          answer.alternatives.map((a) => a.title).join("; "),
        )
      : null,
  ];
}

function people(rec) {
  if (!rec.colleagues.length) return el("p", { class: "muted", i18n: "learning.noColleague" });
  return el(
    "ul",
    { class: "list" },
    rec.colleagues.map((c) =>
      el("li", {}, el("strong", {}, c.name), el("span", { i18n: ["learning.colleagueTeam", { team: c.team }] }), c.reason),
    ),
  );
}

function materials(rec) {
  const notes = rec.notes?.length ? el("ul", { class: "small muted" }, rec.notes.map((n) => el("li", {}, n))) : null;
  if (!rec.materials.length) return [el("p", { class: "muted", i18n: "learning.noMaterials" }), notes];
  const items = rec.materials.map((m, i) => {
    const select = el(
      "select",
      { id: `rate-${i}`, name: "rating" },
      [5, 4, 3, 2, 1].map((n) => el("option", { value: n }, `${n} / 5`)),
    );
    const button = el("button", { type: "submit", class: "secondary", i18n: "learning.rate" });
    return el(
      "li",
      { class: "hit" },
      el("h3", {}, el("a", { href: documentHref(m.doc_id, m.chunk_id) }, m.title)),
      el("p", { class: "place" }, el("span", { i18n: "learning.forSkill" }), el("span", { class: "where" }, m.skill), " · ", m.location),
      el("p", { class: "snippet" }, snippetNodes(m.snippet)),
      el("p", { class: "small muted" }, m.reason),
      el(
        "form",
        { class: "actions", onsubmit: (e) => rate(e, m, Number(select.value), button) },
        el("span", { class: "inline" }, el("label", { for: `rate-${i}`, i18n: ["learning.rateTitle", { title: m.title }] }), select),
        button,
      ),
    );
  });
  return [el("ol", { class: "hits" }, items), notes];
}

function plan(answer) {
  if (!answer.modules.length) return el("p", {}, answer.reason);
  return [
    el(
      "ol",
      { class: "list" },
      answer.modules.map((m) =>
        el("li", {}, el("strong", {}, m.title), " · ", hoursOf(m.hours)),
      ),
    ),
    el("p", {
      class: "small",
      i18n: [
        "learning.planTotals",
        {
          total: num(answer.total_hours),
          budget: num(answer.hours_budget),
          closed: num(answer.gap_closed),
          before: num(answer.gap_before),
        },
      ],
    }),
    el("p", { class: "small muted" }, answer.reason),
  ];
}

const problem = (error) => el("p", { class: "status", "data-kind": "error" }, error.message);

async function show(box, load, render) {
  try {
    fill(box, render(await load()));
  } catch (error) {
    fill(box, problem(error));
  }
}

/** Materials and people come from one answer, shown in two places. */
async function showRecommendations() {
  try {
    const rec = await api(path("recommendations"), { query: { k: 6 } });
    fill(boxes.materials, materials(rec));
    fill(boxes.people, people(rec));
  } catch (error) {
    fill(boxes.materials, problem(error));
    fill(boxes.people, problem(error));
  }
}

async function refreshPlan() {
  const hours = Number(planForm.hours.value);
  if (!(hours > 0)) return;
  await show(boxes.plan, () => api(path("plan"), { query: { hours } }), plan);
}

/** Everything the page shows, asked again (after any change). */
async function refresh() {
  if (!employee) {
    say(status, ["learning.needEmployee"], "error");
    whoForm.employee.focus();
    return;
  }
  const title = document.getElementById("learning-title");
  if (employee === me.employee) localize(title, "learning.heading");
  else localize(title, "learning.headingOf", { employee });
  await Promise.all([
    show(boxes.gaps, () => api(path("gaps")), gapChart),
    show(boxes.next, () => api(path("next-module")), nextModule),
    showRecommendations(),
    refreshPlan(),
  ]);
}

async function complete(event, module, score, button) {
  event.preventDefault();
  button.disabled = true;
  try {
    await api(path("events"), { method: "POST", json: { kind: "completion", module: module.id, score } });
    await refresh();
    const next = document.getElementById("next-module");
    const done = next ? ["learning.recordedNext", { title: module.title, next: next.textContent }] : ["learning.recorded", { title: module.title }];
    say(status, done, "ok");
  } catch (error) {
    say(status, error, "error");
    button.disabled = false;
  }
}

async function rate(event, material, rating, button) {
  event.preventDefault();
  button.disabled = true;
  try {
    await api(path("events"), { method: "POST", json: { kind: "rating", doc_id: material.doc_id, rating } });
    say(status, ["learning.rated", { title: material.title, rating }], "ok");
    await refresh();
  } catch (error) {
    say(status, error, "error");
    button.disabled = false;
  }
}

whoForm.addEventListener("submit", (event) => {
  event.preventDefault();
  employee = whoForm.employee.value.trim();
  say(status, "");
  refresh();
});

planForm.addEventListener("submit", (event) => {
  event.preventDefault();
  refreshPlan();
});

refresh();
