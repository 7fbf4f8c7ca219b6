// The organiser page's skills-framework section (docs/frameworks.md): import a framework
// (POST /frameworks), propose a mapping (POST /frameworks/mapping/propose), and approve, edit,
// reject or undo each catalogue skill's framework skill (PUT /frameworks/mapping/{skill}).
// Laid out as a list, not a table, so that it fits a phone's 390 px.
import "./frameworks.i18n.js";
import { api, el, fill } from "./api.js";
import { language, translate } from "./i18n.js";

const panel = document.getElementById("framework-panel");

const note = (message, kind = "info") =>
  el("p", {
    class: "status",
    "data-kind": kind,
    role: kind === "error" ? "alert" : null,
    ...(Array.isArray(message) ? { i18n: message } : { text: message }),
  });

/** A framework skill's label in the page's language (Chinese where the framework has it). */
const labelOf = (concept) => (concept.labels && concept.labels[language().startsWith("zh") ? "zh" : "en"]) || concept.label;

const status = el("div", { "aria-live": "polite" });
const summary = el("p", { class: "small muted" });
const list = el("ul", { class: "fw-skills" });
const proposeButton = el("button", { type: "button", i18n: "fw.propose" });

function importForm() {
  const files = el("input", { id: "fw-files", name: "files", type: "file", multiple: true, required: true, accept: ".csv,.ttl,.rdf,.nt,.jsonld" });
  const format = el(
    "select",
    { id: "fw-format", name: "format" },
    el("option", { value: "esco", i18n: "fw.format.esco" }),
    el("option", { value: "csv", i18n: "fw.format.csv" }),
    el("option", { value: "skos", i18n: "fw.format.skos" }),
  );
  const name = el("input", { id: "fw-name", name: "name", type: "text", maxlength: "120", "i18n-placeholder": "fw.namePlaceholder" });
  const button = el("button", { type: "submit", i18n: "fw.import" });
  const form = el(
    "form",
    { id: "fw-import", class: "row" },
    el("div", { class: "field wide" }, el("label", { for: "fw-files", i18n: "fw.files" }), files),
    el("div", { class: "field" }, el("label", { for: "fw-format", i18n: "fw.format" }), format),
    el("div", { class: "field" }, el("label", { for: "fw-name", i18n: "fw.name" }), name),
    el("div", { class: "field actions" }, button),
  );
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    button.disabled = true;
    fill(status, note(["fw.importing"]));
    try {
      const answer = await api("/frameworks", { method: "POST", form: new FormData(form) });
      const f = answer.framework;
      fill(
        status,
        note(["fw.imported", { name: f.name, skills: f.skills, languages: f.languages.join(", ") }]),
        answer.dropped_decisions.length ? note(["fw.dropped", { skills: answer.dropped_decisions.join(", ") }]) : null,
      );
      files.value = "";
      await refresh();
    } catch (error) {
      const faults = error.error?.faults || [];
      fill(
        status,
        note(error.message, "error"),
        faults.length ? el("ul", { class: "small" }, faults.map((f) => el("li", { text: `${f.file}: ${f.entry}: ${f.message}` }))) : null,
      );
    } finally {
      button.disabled = false;
    }
  });
  return form;
}

/** One catalogue skill: its status, its framework skill or the proposals, and the controls. */
function skillItem(row) {
  const id = `fw-pick-${row.skill}`;
  const chosen = row.framework_skill;
  const head = el(
    "div",
    { class: "fw-head" },
    el("strong", { text: row.name }),
    " ",
    el("code", { class: "small", text: row.skill }),
    " ",
    el("span", { class: `fw-status fw-${row.status}`, i18n: `fw.status.${row.status}` }),
  );
  const mapped = chosen ? el("p", { class: "small fw-mapped", i18n: ["fw.mapped", { label: labelOf(chosen), id: chosen.id }] }) : null;
  const pick = el(
    "select",
    { id, "i18n-aria-label": ["fw.candidate", { skill: row.name }] },
    row.candidates.map((c) =>
      el("option", { value: c.framework_id, selected: chosen?.id === c.framework_id, i18n: ["fw.score", { label: labelOf(c), score: c.score.toFixed(2) }] }),
    ),
  );
  const other = el("input", { type: "text", class: "fw-other", "i18n-placeholder": "fw.otherId", "i18n-aria-label": "fw.otherId", autocapitalize: "none", spellcheck: "false" });
  const send = (body) => async () => {
    try {
      const answer = await api(`/frameworks/mapping/${encodeURIComponent(row.skill)}`, { method: "PUT", json: body });
      show(answer);
      fill(status, note(["fw.saved"]));
    } catch (error) {
      fill(status, note(error.message, "error"));
    }
  };
  const approve = el("button", { type: "button", i18n: "fw.approve" });
  approve.addEventListener("click", () => send({ status: "approved", framework_id: other.value.trim() || pick.value || null })());
  const reject = el("button", { type: "button", class: "secondary", i18n: "fw.reject", onclick: send({ status: "rejected" }) });
  const undo = el("button", { type: "button", class: "secondary", i18n: "fw.undo", onclick: send({ status: "proposed" }) });
  const controls = el(
    "div",
    { class: "fw-controls" },
    row.candidates.length ? pick : null,
    other,
    el("div", { class: "fw-buttons" }, approve, reject, row.status === "approved" || row.status === "rejected" ? undo : null),
  );
  return el("li", {}, head, mapped, controls);
}

function show(view) {
  const f = view.framework;
  const c = view.counts;
  summary.hidden = false;
  fill(summary);
  summary.append(
    el("span", {
      i18n: ["fw.summary", { name: f.name, skills: f.skills, languages: f.languages.join(", "), approved: c.approved, rejected: c.rejected, proposed: c.proposed, unproposed: c.none }],
    }),
  );
  proposeButton.hidden = false;
  fill(list, view.skills.map(skillItem));
}

async function refresh() {
  try {
    // asked first, so that a page with no framework yet makes no failing request
    const { framework } = await api("/frameworks");
    if (framework) return show(await api("/frameworks/mapping"));
    fill(summary, el("span", { i18n: "fw.none" }));
  } catch (error) {
    fill(summary, el("span", { text: error.message }));
  }
  fill(list);
  proposeButton.hidden = true;
}

proposeButton.addEventListener("click", async () => {
  proposeButton.disabled = true;
  fill(status, note(["fw.proposing"]));
  try {
    show(await api("/frameworks/mapping/propose", { method: "POST" }));
    fill(status);
  } catch (error) {
    fill(status, note(error.message, "error"));
  } finally {
    proposeButton.disabled = false;
  }
});

if (panel) {
  fill(
    panel,
    el("h2", { id: "framework-title", i18n: "fw.heading" }),
    el("p", { class: "small muted", i18n: "fw.hint" }),
    importForm(),
    status,
    summary,
    el("div", { class: "row" }, proposeButton),
    list,
  );
  translate(panel);
  refresh();
}
