// One document, opened at the place a search hit points to: its chunks in order, rendered for
// their kind (notebook cells, transcript and chat lines with times and speakers, document
// sections, slides with their speaker notes, PDF pages), with the hit's chunk highlighted,
// scrolled to and focused. Where the chunk was packed from several pieces (pages, cells,
// messages, sections: its `places`), the piece the hit points at (`at`, the hit's anchor) is
// highlighted inside it and scrolled to; `at` alone (no chunk) opens the chunk that holds it.
import { api, clock, el, fill, renderHeader, requireSession, say } from "./api.js";
import { staleNodes } from "./freshness.js";
import { en, localize, t, translate, zh } from "./i18n.js";

// Words only this page shows, for the places of slides and PDF pages: added to the shared
// tables, so that the language switch translates them with the rest.
Object.assign(en, {
  "doc.slide": "Slide {n}",
  "doc.page": "Page {n}",
  "doc.pages": "Pages {from}–{to}",
  "doc.notes": "Speaker notes",
});
Object.assign(zh, {
  "doc.slide": "第 {n} 张幻灯片",
  "doc.page": "第 {n} 页",
  "doc.pages": "第 {from}–{to} 页",
  "doc.notes": "演讲者备注",
});
const NOTES = "Speaker notes:\n"; // ingest/formats/slides.py: the line before a slide's notes

translate();
requireSession();
renderHeader("search");

const params = new URLSearchParams(location.search);
const docId = params.get("id") || "";
const query = params.get("q") || "";
const at = params.get("at") || ""; // the hit's anchor: "page=2", "cell-3", "t=2402", a heading's id
let hitChunk = params.get("chunk");
// The element showing each piece of a packed chunk: "chunk id|anchor" -> element.
const pieces = new Map();

/** The place (of `chunk.places`, sorted by start) holding character `offset` of its text. */
function placeAt(chunk, offset) {
  let found = null;
  for (const p of chunk.places || []) if (p.start <= offset) found = p;
  return found;
}

/** Remember `element` as the one showing the places of `chunk` that begin in [from, to). */
function showsPlaces(chunk, element, from, to) {
  const places = chunk.places || [];
  const first = placeAt(chunk, from);
  for (const p of places) {
    if (p === first || (p.start >= from && p.start < to)) {
      const key = chunk.chunk_id + "|" + p.anchor;
      if (!pieces.has(key)) pieces.set(key, element);
    }
  }
  return element;
}

/** A prose chunk's text, a span per packed piece (the text alone when it has none). */
function prose(chunk) {
  const places = chunk.places || [];
  if (places.length < 2) return el("p", { class: "prose" }, chunk.text);
  return el(
    "p",
    { class: "prose" },
    places.map((p, i) => {
      const end = i + 1 < places.length ? places[i + 1].start : chunk.text.length;
      return showsPlaces(chunk, el("span", { class: "piece" }, chunk.text.slice(p.start, end)), p.start, end);
    }),
  );
}
const status = document.getElementById("doc-status");
const article = document.getElementById("doc");

if (query) document.getElementById("back").href = "/web/search?" + new URLSearchParams({ q: query });

/** A notebook chunk's text back into cells: fenced code, its "Output:", and markdown. */
function notebookCells(chunk) {
  const text = chunk.text;
  const cells = []; // [kind, body, where it begins in the text, where it ends]
  const pattern = /```[a-z]*\n([\s\S]*?)\n```(?:\nOutput:\n([\s\S]*?)(?=\n\n|$))?/g;
  let last = 0;
  for (const match of text.matchAll(pattern)) {
    const before = text.slice(last, match.index);
    if (before.trim()) cells.push(["markdown", before.trim(), last + before.search(/\S/), match.index]);
    const end = match.index + match[0].length;
    cells.push(["code", match[1], match.index, end]);
    if (match[2]) cells.push(["output", match[2], end, end]); // with its code's cell
    last = end;
  }
  const rest = text.slice(last);
  if (rest.trim()) cells.push(["markdown", rest.trim(), last + rest.search(/\S/), text.length]);
  return cells.map(([kind, body, from, to]) => {
    const cell = el(
      "div",
      { class: "cell " + kind },
      el("div", { class: "label", i18n: "doc.cell." + kind }),
      kind === "markdown" ? el("p", { class: "prose" }, body) : el("pre", {}, el("code", {}, body)),
    );
    return kind === "output" ? cell : showsPlaces(chunk, cell, from, to);
  });
}

/** A transcript window's lines ("Speaker: words"), each stamped with the time it begins. */
function transcriptCues(chunk) {
  const start = chunk.detail?.start;
  const starts = chunk.detail?.line_starts || [];
  return el(
    "ol",
    { class: "cues" },
    chunk.text.split("\n").map((line, i, lines) => {
      const match = /^([^:]{1,60}):\s+(.*)$/.exec(line);
      const from = lines.slice(0, i).reduce((size, l) => size + l.length + 1, 0);
      const item = el(
        "li",
        {},
        el("span", { class: "muted small" }, timeOf(starts[i] ?? (i === 0 ? start : undefined))),
        el("span", {}, match ? [el("span", { class: "speaker" }, match[1] + ": "), match[2]] : line),
      );
      return showsPlaces(chunk, item, from, from + line.length + 1);
    }),
  );
}

function timeOf(seconds) {
  return seconds === undefined ? "" : el("time", {}, clock(seconds));
}

/** A slide's text, then its speaker notes apart (a piece of a long slide may hold either). */
function slideParts(chunk) {
  const text = chunk.text;
  const at = text.startsWith(NOTES) ? 0 : text.indexOf("\n\n" + NOTES);
  const slide = at < 0 ? text : text.slice(0, at).trim();
  const notes = at < 0 ? "" : text.slice(at).trim().slice(NOTES.length).trim();
  return [
    slide ? el("p", { class: "prose" }, slide) : null,
    notes
      ? el("div", { class: "cell output notes" }, el("div", { class: "label", i18n: "doc.notes" }), el("p", { class: "prose" }, notes))
      : null,
  ];
}

function place(doc, chunk) {
  const d = chunk.detail || {};
  if (doc.type === "transcript" && d.start !== undefined) {
    const speakers = (d.speakers || []).join(", ");
    return `${clock(d.start)}–${clock(d.end)}` + (speakers ? ` · ${speakers}` : "");
  }
  if (d.slide !== undefined) return t("doc.slide", { n: d.slide }) + (d.title ? ` · ${d.title}` : "");
  if (d.page !== undefined) {
    const pages = d.end_page && d.end_page !== d.page ? t("doc.pages", { from: d.page, to: d.end_page }) : t("doc.page", { n: d.page });
    const section = chunk.location.split(" · ").slice(1).join(" · "); // "page 3 · Section"
    return section ? `${pages} · ${section}` : pages;
  }
  return chunk.location;
}

/** A chunk; its place is labelled unless it continues the previous chunk's section. */
function chunkSection(doc, chunk, previous) {
  let body;
  if (doc.type === "notebook") body = notebookCells(chunk);
  else if (doc.type === "transcript") body = transcriptCues(chunk);
  else if (chunk.detail?.slide !== undefined) body = slideParts(chunk);
  else body = prose(chunk);
  return el(
    "section",
    {
      class: "chunk",
      id: "chunk-" + chunk.chunk_id,
      "data-anchor": chunk.anchor,
      "data-location": place(doc, chunk),
      "aria-label": chunk.location,
    },
    previous?.location === chunk.location && doc.type === "markdown"
      ? null
      : el("p", { class: "place" }, el("span", { class: "where" }, place(doc, chunk))),
    body,
  );
}

/**
 * The query's words worth marking: Latin words of three letters or more, and runs of two or
 * more Chinese (Han) characters, which have no spaces between words and are marked as typed.
 */
function queryWords(text) {
  return {
    latin: text.split(/\W+/).filter((w) => w.length > 2),
    han: text.match(/\p{Script=Han}{2,}/gu) || [],
  };
}

/** Mark the query's words inside the hit's chunk, through text nodes only. */
function markWords(root, { latin, han }) {
  if (!latin.length && !han.length) return;
  const escape = (w) => w.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
  const alternatives = [];
  if (latin.length) alternatives.push(`\\b(?:${latin.map(escape).join("|")})\\w*`);
  if (han.length) alternatives.push(han.map(escape).join("|"));
  const pattern = new RegExp(alternatives.join("|"), "giu");
  const walker = document.createTreeWalker(root, NodeFilter.SHOW_TEXT);
  const nodes = [];
  while (walker.nextNode()) nodes.push(walker.currentNode);
  for (const node of nodes) {
    const text = node.textContent;
    if (!pattern.test(text)) continue;
    pattern.lastIndex = 0;
    const pieces = [];
    let last = 0;
    for (const match of text.matchAll(pattern)) {
      pieces.push(text.slice(last, match.index), el("mark", {}, match[0]));
      last = match.index + match[0].length;
    }
    pieces.push(text.slice(last));
    node.replaceWith(...pieces.filter((p) => p !== ""));
  }
}

function metadata(doc) {
  const rows = [
    ["field.type", doc.type],
    ["field.team", doc.team],
    ["field.course", doc.course],
    ["field.module", doc.module],
    ["field.author", doc.author],
    ["field.date", doc.date],
    ["field.skills", (doc.skills || []).join(", ")],
    ["field.visibleTo", doc.visibility?.length ? doc.visibility.join(", ") : null],
    ["field.source", doc.source],
  ].filter(([, value]) => value);
  // A document that may be out of date says so beside its date, as its hit did (kb.freshness).
  const shown = rows.map(([k, v]) => [k, k === "field.date" && doc.stale ? [v, " ", ...staleNodes(doc)] : v]);
  if (doc.stale && !doc.date) shown.push(["field.date", staleNodes(doc)]);
  return el("dl", { class: "meta" }, shown.map(([k, v]) => el("div", {}, el("dt", { i18n: k }), el("dd", {}, v))));
}

async function load() {
  if (!docId) {
    say(status, ["doc.noId"], "error");
    return;
  }
  try {
    const doc = await api(`/documents/${encodeURIComponent(docId)}`);
    localize(document.querySelector("title"), "title.documentOf", { title: doc.title });
    fill(article, el("h1", {}, doc.title), metadata(doc), doc.chunks.map((c, i) => chunkSection(doc, c, doc.chunks[i - 1])));
    article.hidden = false;
    if (!hitChunk && at) {
      // a link to a place alone: the chunk that opens at it, else the one that packs it
      const holder =
        doc.chunks.find((c) => c.anchor === at) || doc.chunks.find((c) => (c.places || []).some((p) => p.anchor === at));
      if (holder) hitChunk = String(holder.chunk_id);
    }
    const target = hitChunk && document.getElementById("chunk-" + hitChunk);
    if (target) {
      target.classList.add("hit-chunk");
      target.setAttribute("tabindex", "-1");
      const where = target.querySelector(".place") || el("p", { class: "place" }, el("span", { class: "where" }, target.dataset.location));
      target.prepend(where);
      markWords(target, queryWords(query));
      target.prepend(el("p", { class: "small" }, el("strong", { i18n: "doc.yourHit" }))); // not marked
      const chunk = doc.chunks.find((c) => String(c.chunk_id) === hitChunk);
      const piece = at ? pieces.get(hitChunk + "|" + at) : undefined;
      const own = piece && (chunk.places || []).find((p) => p.anchor === at);
      if (piece) piece.classList.add("hit-place"); // the page, cell, message or section itself
      (piece || target).scrollIntoView({ block: "center" });
      target.focus({ preventScroll: true });
      say(status, ["doc.openedAt", { place: own ? own.label : place(doc, chunk) }]);
    } else {
      say(status, "");
    }
  } catch (error) {
    say(status, error.status === 404 ? ["doc.notFound"] : error, "error");
  }
}

load();
