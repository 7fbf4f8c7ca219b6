// Organiser: a teams x skills heat map of weighted gaps and the trainings that close the most,
// what the knowledge base is missing (from the search log), bulk upload of write-ups with live
// progress and per-file results, and loading the catalogue with its validation faults shown in
// the page.
import { api, documentHref, el, fill, renderHeader, requireSession } from "./api.js";
import { has, t, translate } from "./i18n.js";
import { showStale } from "./freshness.js";

translate();
requireSession();
renderHeader("organiser");

const TEAMS_KEY = "kb.organiser.teams";
const POLL_MS = 400;
const teamsForm = document.getElementById("teams-form");
const heat = document.getElementById("heat");
const trainings = document.getElementById("trainings");
const uploadForm = document.getElementById("upload-form");
const jobBox = document.getElementById("job");
const catalogForm = document.getElementById("catalog-form");
const catalogBox = document.getElementById("catalog");

/** A message: the pages' own words as [key, params], or text (the API's sentence). */
const note = (message, kind = "info") =>
  el("p", {
    class: "status",
    "data-kind": kind,
    role: kind === "error" ? "alert" : null,
    ...(Array.isArray(message) ? { i18n: message } : { text: message }),
  });
/** Column headings from their keys. */
const headings = (keys) => el("tr", {}, keys.map((key) => el("th", { scope: "col", i18n: key })));
/** A value the API names (a file's status, a job's state) in words, when the pages have them. */
const named = (prefix, value) => (has(prefix + value) ? { i18n: prefix + value } : { text: value });
const num = (x) => (Math.round(x * 10) / 10).toString();
const ids = (text) => [...new Set(text.split(",").map((t) => t.trim()).filter(Boolean))];

/** The heat map: rows are teams, columns skills (largest gap overall first). */
function heatTable(reports) {
  const totals = new Map();
  for (const r of reports) for (const s of r.skills) totals.set(s.skill, (totals.get(s.skill) || 0) + s.weighted_gap);
  const skills = [...totals.keys()].sort((a, b) => totals.get(b) - totals.get(a));
  const names = new Map(reports.flatMap((r) => r.skills.map((s) => [s.skill, s.name])));
  const max = Math.max(1e-9, ...reports.flatMap((r) => r.skills.map((s) => s.weighted_gap)));
  const header = el("tr", {}, el("th", { scope: "col", i18n: "field.team" }), skills.map((s) => el("th", { scope: "col" }, names.get(s))));
  const rows = reports.map((r) => {
    const bySkill = new Map(r.skills.map((s) => [s.skill, s]));
    return el(
      "tr",
      {},
      el(
        "th",
        { scope: "row" },
        r.name,
        el("div", {
          class: "small muted",
          i18n: ["organiser.teamSummary", { n: r.members.length, total: num(r.total_weighted_gap) }],
        }),
      ),
      skills.map((id) => {
        const s = bySkill.get(id);
        if (!s || !s.weighted_gap) return el("td", { class: "muted" }, "–");
        const share = s.weighted_gap / max;
        const cell = el(
          "td",
          {
            class: share > 0.55 ? "hot" : null,
            "i18n-title": [
              "organiser.cellTitle",
              { n: s.members_with_gap.length, names: s.members_with_gap.join(", "), weight: s.weight },
            ],
          },
          num(s.weighted_gap),
        );
        cell.style.backgroundColor = `rgb(${255 - 55 * share}, ${255 - 215 * share}, ${255 - 225 * share})`;
        return cell;
      }),
    );
  });
  return [
    el(
      "div",
      { class: "scroll", tabindex: "0", role: "region", "i18n-aria-label": "organiser.heatRegion" },
      el(
        "table",
        { class: "heat" },
        el("caption", { class: "small muted", i18n: "organiser.heatCaption" }),
        el("thead", {}, header),
        el("tbody", {}, rows),
      ),
    ),
    el("p", { class: "heat-legend", "aria-hidden": "true" }, "0", el("span", { class: "heat-scale" }), num(max)),
  ];
}

function trainingList(reports) {
  const rows = reports.flatMap((r) =>
    r.modules.slice(0, 3).map((m, i) =>
      el(
        "tr",
        {},
        i === 0 ? el("th", { scope: "row", rowspan: Math.min(3, r.modules.length) }, r.name) : null,
        el(
          "td",
          {},
          el("strong", {}, m.title),
          el(
            "div",
            { class: "small muted" },
            m.id,
            m.hours ? [m.id ? " · " : "", el("span", { i18n: ["learning.hoursShort", { hours: m.hours }] })] : null,
          ),
        ),
        el("td", { class: "small" }, m.reason || ""),
      ),
    ),
  );
  if (!rows.length) return el("p", { class: "muted", i18n: "organiser.noTraining" });
  return el(
    "div",
    { class: "scroll", tabindex: "0", role: "region", "i18n-aria-label": "organiser.trainingsRegion" },
    el(
      "table",
      {},
      el("thead", {}, headings(["field.team", "organiser.training", "organiser.why"])),
      el("tbody", {}, rows),
    ),
  );
}

async function showTeams() {
  const teams = ids(teamsForm.teams.value);
  if (!teams.length) {
    fill(heat, note(["organiser.nameTeams"]));
    return;
  }
  localStorage.setItem(TEAMS_KEY, teams.join(", "));
  fill(heat, note(["site.loading"]));
  const answers = await Promise.allSettled(teams.map((t) => api(`/teams/${encodeURIComponent(t)}`)));
  const reports = answers.filter((a) => a.status === "fulfilled").map((a) => a.value);
  const problems = answers.filter((a) => a.status === "rejected").map((a) => a.reason.message);
  const problemNotes = [...new Set(problems)].map((p) => note(p, "error"));
  fill(heat, reports.length ? heatTable(reports) : [], problemNotes);
  fill(trainings, reports.length ? trainingList(reports) : note(["organiser.noTeam"]));
}

/**
 * The API lists no teams, so the page starts from the ones it was last shown, else from the
 * teams that documents name; organisers can edit the list.
 */
async function initialTeams() {
  const saved = localStorage.getItem(TEAMS_KEY);
  if (saved) return saved;
  try {
    const body = await api("/documents", { query: { limit: 100 } });
    return [...new Set(body.documents.map((d) => d.team).filter(Boolean))].sort().join(", ");
  } catch {
    return "";
  }
}

// -- upload -----------------------------------------------------------------------------
function jobView(job) {
  const { done, total, current } = job.progress;
  const finished = ["done", "failed", "interrupted"].includes(job.state);
  const bar = el("progress", { max: total || 1, value: finished ? total || 1 : done, "i18n-aria-label": "organiser.progress" });
  const parts = [
    el(
      "p",
      {},
      el("strong", named("job.", job.state)),
      total ? el("span", { i18n: ["organiser.fileCount", { n: total, done, total }] }) : null,
      current ? ` · ${current}` : "",
    ),
    bar,
  ];
  if (job.error) parts.push(note(job.error, "error"));
  if (finished && job.files.length) {
    const failed = job.files.filter((f) => f.status === "failed").length;
    parts.push(
      note(["organiser.stored", { stored: job.files.length - failed, failed }], failed ? "error" : "ok"),
      el(
        "div",
        { class: "scroll" },
        el(
          "table",
          { id: "job-files" },
          el("thead", {}, headings(["organiser.file", "organiser.result", "organiser.detail"])),
          el(
            "tbody",
            {},
            job.files.map((f) =>
              el(
                "tr",
                {},
                el("td", {}, f.source),
                el("td", { class: f.status, ...named("file.", f.status) }),
                el(
                  "td",
                  { class: "small" },
                  f.error ? f.error : f.doc_id ? el("a", { href: documentHref(f.doc_id), i18n: "organiser.open" }) : "",
                ),
              ),
            ),
          ),
        ),
      ),
    );
  }
  return parts;
}

async function poll(jobId) {
  for (;;) {
    const job = await api(`/ingest/jobs/${encodeURIComponent(jobId)}`);
    fill(jobBox, jobView(job));
    if (["done", "failed", "interrupted"].includes(job.state)) return job;
    await new Promise((resolve) => setTimeout(resolve, POLL_MS));
  }
}

uploadForm.addEventListener("submit", async (event) => {
  event.preventDefault();
  const files = uploadForm.files.files;
  if (!files.length) {
    fill(jobBox, note(["organiser.chooseFiles"], "error"));
    uploadForm.files.focus();
    return;
  }
  const form = new FormData();
  for (const file of files) form.append("files", file, file.name);
  for (const name of ["team", "course", "visibility"]) {
    const value = uploadForm[name].value.trim();
    if (value) form.append(name, value);
  }
  const button = uploadForm.querySelector("button");
  button.disabled = true;
  fill(jobBox, note(["organiser.uploading", { n: files.length }]));
  try {
    const accepted = await api("/ingest", { method: "POST", form });
    await poll(accepted.job_id);
    uploadForm.files.value = "";
  } catch (error) {
    const file = error.error?.file;
    const detail = file ? el("p", {}, el("span", { i18n: "organiser.fileLabel" }), el("strong", {}, file)) : null;
    fill(jobBox, note(error.message, "error"), detail);
  } finally {
    button.disabled = false;
  }
});

// -- catalogue --------------------------------------------------------------------------
function faultTable(faults) {
  return el(
    "div",
    { class: "scroll" },
    el(
      "table",
      { id: "catalog-faults" },
      el("thead", {}, headings(["organiser.file", "organiser.entry", "organiser.whatToFix"])),
      el("tbody", {}, faults.map((f) => el("tr", {}, el("td", {}, f.file), el("td", {}, f.entry), el("td", {}, f.message)))),
    ),
  );
}

catalogForm.addEventListener("submit", async (event) => {
  event.preventDefault();
  const files = catalogForm.files.files;
  if (!files.length) {
    fill(catalogBox, note(["organiser.chooseCatalog"], "error"));
    return;
  }
  const form = new FormData();
  for (const file of files) form.append("files", file, file.name);
  const button = catalogForm.querySelector("button");
  button.disabled = true;
  fill(catalogBox, note(["organiser.loadingCatalog"]));
  try {
    const loaded = await api("/catalog", { method: "PUT", form });
    const counts = Object.entries(loaded.counts).map(([k, v]) => (has("organiser.count." + k) ? t("organiser.count." + k, { n: v }) : `${v} ${k}`));
    fill(catalogBox, note(["organiser.catalogLoaded", { counts: counts.join(t("organiser.listSeparator")) }], "ok"));
    showTeams();
  } catch (error) {
    const faults = error.error?.faults || [];
    fill(catalogBox, note(error.message, "error"), faults.length ? faultTable(faults) : null);
  } finally {
    button.disabled = false;
  }
});

// -- what the knowledge base is missing (GET /analytics/content) ----------------------------
const missingForm = document.getElementById("missing-form");
const missingBox = document.getElementById("missing");

const subheading = (key, params) => el("h3", { i18n: params ? [key, params] : key });
const tableOf = (id, keys, rows) =>
  el("div", { class: "scroll" }, el("table", { id }, el("thead", {}, headings(keys)), el("tbody", {}, rows)));

/** Searches per week as bars: all searches, and in red the ones that found nothing good. */
function trendBars(trend) {
  const max = Math.max(1, ...trend.map((w) => w.searches));
  const bar = (value, color) => {
    const span = el("span", { class: "bar-current" });
    span.style.width = `${(100 * value) / max}%`;
    if (color) span.style.background = color;
    return span;
  };
  const failedSwatch = el("span", { class: "swatch" });
  failedSwatch.style.background = "var(--bad)";
  return [
    el(
      "div",
      { class: "legend", "aria-hidden": "true" },
      el("span", {}, el("span", { class: "swatch current" }), el("span", { i18n: "missing.legendSearches" })),
      el("span", {}, failedSwatch, el("span", { i18n: "missing.legendFailed" })),
    ),
    el(
      "ul",
      { class: "bars", id: "missing-trend" },
      trend.map((w) =>
        el(
          "li",
          { class: "bar-row" },
          el("span", { class: "name" }, w.week),
          el(
            "span",
            { class: "bar-track", role: "img", "i18n-aria-label": ["missing.weekBar", { week: w.week, n: w.searches, failed: w.failed }] },
            bar(w.searches),
            bar(w.failed, "var(--bad)"),
          ),
          el("span", {
            class: "numbers",
            i18n: ["missing.weekNumbers", { n: w.searches, failed: w.failed, unopened: w.unopened, opens: w.opens }],
          }),
        ),
      ),
    ),
  ];
}

function topicTable(topics) {
  if (!topics.length) return el("p", { class: "muted", i18n: "missing.noTopics" });
  const query = (q) =>
    el(
      "li",
      {},
      el("span", {}, `“${q.query}”`),
      el("span", { class: "muted small" }, ` ×${q.searches} · `),
      el("span", { class: "small " + (q.reason === "not_opened" ? "muted" : "failed"), i18n: "missing.reason." + q.reason }),
    );
  return tableOf(
    "missing-topics",
    ["missing.topic", "missing.searches", "missing.queries"],
    topics.map((t) =>
      el("tr", {}, el("th", { scope: "row" }, t.label), el("td", {}, String(t.searches)), el("td", {}, el("ul", { class: "list" }, t.queries.map(query)))),
    ),
  );
}

function coverageTable(id, rows, little) {
  const short = rows.filter((r) => r.little);
  if (!short.length) return el("p", { class: "muted", i18n: ["missing.allCovered", { n: little }] });
  return tableOf(
    id,
    ["missing.item", "missing.documents", "missing.filtered"],
    short.map((r) =>
      el(
        "tr",
        {},
        el("th", { scope: "row" }, r.name, el("div", { class: "small muted" }, r.id)),
        el("td", { class: r.documents ? null : "failed" }, String(r.documents)),
        el("td", {}, String(r.searches)),
      ),
    ),
  );
}

function unopenedList(report) {
  const items = report.unopened_documents.map((d) =>
    el(
      "li",
      {},
      el("a", { href: documentHref(d.doc_id) }, d.title || d.source),
      " ",
      el("span", { class: "small muted", i18n: d.shown ? ["missing.shown", { n: d.shown }] : "missing.neverShown" }),
    ),
  );
  const more = report.unopened_documents_total - report.unopened_documents.length;
  return [
    items.length ? el("ul", { class: "list", id: "missing-unopened" }, items) : el("p", { class: "muted", i18n: "missing.noUnopened" }),
    more > 0 ? el("p", { class: "small muted", i18n: ["missing.more", { n: more }] }) : null,
    report.hidden_unopened ? el("p", { class: "small muted", i18n: ["missing.hidden", { n: report.hidden_unopened }] }) : null,
  ];
}

function missingView(report) {
  const summary = {
    n: report.searches,
    weeks: report.weeks,
    failed: report.failed,
    unopened: report.unopened,
    opens: report.opens,
  };
  return [
    el("p", { id: "missing-summary", i18n: ["missing.summary", summary] }),
    subheading("missing.trendHeading"),
    trendBars(report.trend),
    subheading("missing.topicsHeading"),
    el("p", { class: "small muted", i18n: "missing.topicsHint" }),
    topicTable(report.topics),
    report.catalog_loaded
      ? el(
          "div",
          { class: "cols" },
          el("div", {}, subheading("missing.skillsHeading"), el("p", { class: "small muted", i18n: ["missing.littleHint", { n: report.little_material }] }), coverageTable("missing-skills", report.skills, report.little_material)),
          el("div", {}, subheading("missing.modulesHeading"), el("p", { class: "small muted", i18n: ["missing.littleHint", { n: report.little_material }] }), coverageTable("missing-modules", report.modules, report.little_material)),
        )
      : note(["missing.noCatalog"]),
    subheading("missing.unopenedHeading"),
    unopenedList(report),
  ].flat(); // the trend and the list are several nodes each
}

async function showMissing() {
  const weeks = Number(missingForm.weeks.value) || 8;
  fill(missingBox, note(["site.loading"]));
  try {
    fill(missingBox, missingView(await api("/analytics/content", { query: { weeks } })));
  } catch (error) {
    fill(missingBox, note(error.message, "error"));
  }
}

// -- readers' thumbs per query and document (GET /analytics/feedback) -----------------------
const feedbackForm = document.getElementById("feedback-form");
const feedbackBox = document.getElementById("feedback");

function feedbackView(answer) {
  const rows = answer.items.map((row) =>
    el(
      "tr",
      {},
      el("td", {}, row.query),
      el("td", {}, row.title ? el("a", { href: documentHref(row.doc_id) }, row.title) : el("span", { i18n: ["feedback.gone", { doc: row.doc_id }] })),
      el("td", { class: "num" }, String(row.up)),
      el("td", { class: "num" }, String(row.down)),
      el("td", {}, new Date(row.last_vote).toLocaleString()),
    ),
  );
  return [
    el("p", { class: "small muted", i18n: "feedback.hint" }),
    rows.length
      ? tableOf("feedback-votes", ["feedback.query", "feedback.document", "feedback.up", "feedback.down", "feedback.last"], rows)
      : el("p", { class: "muted", i18n: "feedback.none" }),
    answer.hidden ? el("p", { class: "small muted", i18n: ["feedback.hidden", { n: answer.hidden }] }) : null,
  ];
}

async function showFeedback() {
  const since = Number(feedbackForm.days.value) || 90;
  fill(feedbackBox, note(["site.loading"]));
  try {
    fill(feedbackBox, feedbackView(await api("/analytics/feedback", { query: { since } })));
  } catch (error) {
    fill(feedbackBox, note(error.message, "error"));
  }
}

feedbackForm.addEventListener("submit", (event) => {
  event.preventDefault();
  showFeedback();
});

// -- the term pairs search uses across languages (GET /glossary) ------------------------------
const glossaryBox = document.getElementById("glossary");

function glossaryView(answer) {
  const rows = answer.pairs.map((pair) =>
    el(
      "tr",
      {},
      el("td", { lang: "zh" }, pair.chinese),
      el("td", { lang: "en" }, pair.english),
      el("td", { i18n: pair.source === "organisers" ? "glossary.theirs" : "glossary.mined" }),
      el("td", { class: "num" }, String(pair.count)),
      el("td", { i18n: pair.used ? "glossary.used" : "glossary.unused" }),
    ),
  );
  const blocked = answer.blocked.map((pair) => `${pair.chinese} = ${pair.english}`).join(", ");
  return [
    rows.length
      ? tableOf("glossary-pairs", ["glossary.chinese", "glossary.english", "glossary.source", "glossary.count", "glossary.inUse"], rows)
      : el("p", { class: "muted", i18n: "glossary.none" }),
    blocked ? el("p", { class: "small muted", i18n: ["glossary.blocked", { pairs: blocked }] }) : null,
  ];
}

async function showGlossary() {
  fill(glossaryBox, note(["site.loading"]));
  try {
    fill(glossaryBox, glossaryView(await api("/glossary")));
  } catch (error) {
    fill(glossaryBox, note(error.message, "error"));
  }
}

// -- near-duplicate groups (GET /analytics/duplicates) ------------------------------------------
const duplicatesBox = document.getElementById("duplicates");

function duplicatesView(answer) {
  const link = (doc) => el("a", { href: documentHref(doc.doc_id, null, null) }, doc.title || doc.source);
  const rows = answer.groups.flatMap((group) =>
    group.members.map((member, i) =>
      el(
        "tr",
        {},
        el("td", {}, i ? "" : link(group.canonical)),
        el("td", {}, link(member)),
        el("td", { class: "num" }, member.similarity === null ? "" : member.similarity.toFixed(2)),
      ),
    ),
  );
  return rows.length
    ? tableOf("duplicate-groups", ["duplicates.canonical", "duplicates.copy", "duplicates.similarity"], rows)
    : el("p", { class: "muted", i18n: "duplicates.none" });
}

async function showDuplicates() {
  if (!duplicatesBox) return;
  fill(duplicatesBox, note(["site.loading"]));
  try {
    fill(duplicatesBox, duplicatesView(await api("/analytics/duplicates")));
  } catch (error) {
    fill(duplicatesBox, note(error.message, "error"));
  }
}

// -- named sources (GET /sources, POST /sources/{name}/sync) ------------------------------------
const sourcesBox = document.getElementById("sources");
const when = (iso) => (iso ? new Date(iso).toLocaleString() : "");

function sourcesView(sources) {
  if (!sources.length) return el("p", { class: "muted", i18n: "sources.none" });
  const rows = sources.map((source) => {
    const sync = el("button", { type: "button", i18n: "sources.syncNow" });
    sync.addEventListener("click", async () => {
      sync.disabled = true;
      try {
        await api(`/sources/${encodeURIComponent(source.name)}/sync`, { method: "POST" });
        setTimeout(showSources, 2000);
      } catch (error) {
        fill(sourcesBox, note(error.message, "error"));
      }
    });
    const status = source.running
      ? el("span", { i18n: "sources.running" })
      : source.error
        ? el("span", { class: "error", text: source.error })
        : el("span", { i18n: source.last_sync_at ? "sources.ok" : "sources.never" });
    const failures = source.failures.length
      ? el("details", {}, el("summary", { text: String(source.failures.length) }),
          el("ul", {}, source.failures.map((f) => el("li", { text: `${f.path}: ${f.error}` }))))
      : el("span", { text: "0" });
    return el(
      "tr",
      {},
      el("td", {}, el("strong", { text: source.name }), el("br"), el("span", { class: "small muted", text: `${source.kind} · ${source.location}` })),
      el("td", { text: when(source.last_sync_at) }),
      el("td", { class: "num", text: String(source.documents) }),
      el("td", {}, failures),
      el("td", {}, source.next_run_at ? el("span", { text: when(source.next_run_at) }) : el("span", { i18n: "sources.manual" })),
      el("td", {}, status),
      el("td", {}, sync),
    );
  });
  return tableOf(
    "source-list",
    ["sources.name", "sources.lastSync", "sources.documents", "sources.failures", "sources.nextRun", "sources.status", "sources.actions"],
    rows,
  );
}

async function showSources() {
  if (!sourcesBox) return;
  fill(sourcesBox, note(["site.loading"]));
  try {
    fill(sourcesBox, sourcesView(await api("/sources")));
  } catch (error) {
    fill(sourcesBox, note(error.message, "error"));
  }
}

missingForm.addEventListener("submit", (event) => {
  event.preventDefault();
  showMissing();
});

teamsForm.addEventListener("submit", (event) => {
  event.preventDefault();
  showTeams();
});

showMissing();
showFeedback();
showGlossary();
showDuplicates();
showSources();
showStale(document.getElementById("stale"));
teamsForm.teams.value = await initialTeams();
showTeams();
