// Freshness (docs/freshness.md): a hit's date and its "may be out of date" mark on the search
// page, and the organisers' list of what needs review (GET /analytics/stale). The reason is
// said in the reader's language from the hit's own dates; the service's English sentence
// (stale_reason) is what the command line and JSON readers get.
import { api, el, fill } from "./api.js";

const today = () => new Date().toISOString().slice(0, 10);

/** Why a stale hit may be out of date, as [i18n key, params]. */
function reasonOf(hit) {
  if (hit.review_by && hit.review_by < today()) return ["fresh.pastReview", { date: hit.review_by }];
  return ["fresh.tooOld", { date: hit.date || "?" }];
}

/** The hit's date ("Dated 2025-03-01", or "Modified" for a file's own date) and, when stale,
 * the mark with its reason beside it and in its tooltip. Nodes for the hit's metadata line. */
export function freshnessNodes(hit) {
  const nodes = [];
  if (hit.date) {
    const key = hit.date_source === "file" ? "fresh.modified" : "fresh.dated";
    nodes.push(el("span", { class: "muted hit-date", i18n: [key, { date: hit.date.slice(0, 10) }] }));
  }
  if (hit.stale) nodes.push(" ", ...staleNodes(hit));
  return nodes;
}

/** The "may be out of date" mark and its reason, for a stale hit or document (else none). */
export function staleNodes(item) {
  if (!item.stale) return [];
  const reason = reasonOf(item);
  return [
    el("span", { class: "stale-mark", i18n: "fresh.stale", "i18n-title": reason }),
    " ",
    el("span", { class: "small muted stale-reason", i18n: reason }),
  ];
}

const headings = (keys) => el("tr", {}, keys.map((key) => el("th", { scope: "col", i18n: key })));

function staleView(answer) {
  if (!answer.skills.length) return [el("p", { class: "muted", i18n: ["fresh.none", { days: answer.stale_after_days }] })];
  const out = [el("p", { class: "small muted", i18n: ["fresh.total", { n: answer.total, days: answer.stale_after_days }] })];
  for (const group of answer.skills) {
    const title = group.skill ? group.name || group.skill : null;
    out.push(
      el("h3", title ? { i18n: ["fresh.skill", { skill: title, days: group.stale_after_days }] } : { i18n: "fresh.noSkill" }),
      el(
        "div",
        { class: "scroll" },
        el(
          "table",
          { class: "stale-docs" },
          el("thead", {}, headings(["fresh.document", "fresh.owner", "fresh.date", "fresh.reviewBy", "fresh.why"])),
          el(
            "tbody",
            {},
            group.documents.map((doc) =>
              el(
                "tr",
                {},
                el("td", {}, doc.title || doc.source),
                el("td", doc.owner ? { text: doc.owner } : { class: "muted", i18n: "fresh.noOwner" }),
                el("td", { text: doc.date || "" }),
                el("td", { text: doc.review_by || "" }),
                el("td", {
                  i18n: doc.kind === "review_by" ? ["fresh.pastReview", { date: doc.review_by }] : ["fresh.ageDays", { n: doc.age_days, days: group.stale_after_days }],
                }),
              ),
            ),
          ),
        ),
      ),
    );
  }
  return out;
}

/** Fill `box` with what may be out of date, per skill (organisers). */
export async function showStale(box) {
  fill(box, el("p", { class: "status", i18n: "site.loading" }));
  try {
    fill(box, staleView(await api("/analytics/stale")));
  } catch (error) {
    fill(box, el("p", { class: "status", "data-kind": "error", role: "alert", text: error.message }));
  }
}
