// Search: the box and filters, hits with their marked snippets and exact place, and links
// that open each document at the hit. The query lives in the page's URL (never the key), so
// that Back returns to the results and a search can be shared.
import { api, documentHref, el, fill, renderHeader, authHeaders, requireSession, say, snippetNodes } from "./api.js";
import { has, translate } from "./i18n.js";
import { freshnessNodes } from "./freshness.js";

translate();
requireSession();
renderHeader("search");

const PAGE = 10;
const FILTERS = ["team", "course", "type", "skill"];
const form = document.getElementById("search-form");
const status = document.getElementById("search-status");
const pending = document.getElementById("search-pending"); // documents without vectors yet
const panel = document.getElementById("results-panel");
const list = document.getElementById("hits");
const more = document.getElementById("more");
const meant = document.getElementById("did-you-mean"); // "Did you mean X?" above the results
const answerPanel = document.getElementById("answer"); // a quoted answer above the hits
const box = form.q;
const listbox = document.getElementById("q-suggestions");
let current = null; // {q, filters, offset, searchId}

// Display names only (i18n.js, type.*); the list of types comes from the service (GET /meta).
const typeName = (type) => (has("type." + type) ? { i18n: "type." + type } : { text: type });

/** Where in the document the hit is, in words a reader knows. */
function placeOf(hit) {
  const kind = has("place." + hit.type) ? "place." + hit.type : "place.other";
  const where = hit.location ? { text: hit.location } : { i18n: "place.start" };
  return el("p", { class: "place" }, el("span", { i18n: kind }), " ", el("span", { class: "where", ...where }));
}

/**
 * Tell the service which hit of which search was followed, for the organisers' report of what
 * the knowledge base is missing (a search whose hits nobody opens found nothing useful).
 * keepalive lets the request finish while the page leaves; its outcome does not matter here.
 */
function reportOpen(searchId, docId) {
  if (!searchId) return; // searches are not recorded on this service
  fetch("/analytics/opens", {
    method: "POST",
    keepalive: true,
    headers: { ...authHeaders("POST"), "Content-Type": "application/json" },
    body: JSON.stringify({ search_id: searchId, doc_id: docId }),
  }).catch(() => {});
}

/**
 * Thumbs up and down on a hit, for the organisers and the learned ranking: the chosen one is
 * pressed (aria-pressed), a second click on it withdraws the vote. The vote names the query as
 * typed and the search it came from; a failure is said beside the buttons and the state kept.
 */
function thumbs(hit, query, searchId) {
  let chosen = "none";
  const message = el("span", { class: "small muted vote-status", "aria-live": "polite" });
  const buttons = {};
  const show = () => {
    for (const [vote, button] of Object.entries(buttons)) button.setAttribute("aria-pressed", String(chosen === vote));
  };
  const cast = async (vote) => {
    const next = chosen === vote ? "none" : vote; // pressed again: withdrawn
    try {
      await api("/feedback", { method: "POST", json: { query, doc_id: hit.doc_id, vote: next, search_id: searchId || null } });
      chosen = next;
      say(message, [next === "none" ? "vote.withdrawn" : "vote.thanks"]);
    } catch (error) {
      say(message, error, "error");
    }
    show();
  };
  for (const [vote, symbol] of [["up", "👍"], ["down", "👎"]]) {
    buttons[vote] = el(
      "button",
      { type: "button", class: `vote vote-${vote}`, "aria-pressed": "false", "i18n-aria-label": `vote.${vote}`, "i18n-title": `vote.${vote}`, onclick: () => cast(vote) },
      symbol,
    );
  }
  return el("p", { class: "votes small", role: "group", "i18n-aria-label": "vote.group" }, el("span", { class: "muted", i18n: "vote.question" }), " ", buttons.up, " ", buttons.down, " ", message);
}

/** The document page's address for a hit, naming the search it came from (`from_search`). */
function hitHref(hit, query, searchId) {
  const href = documentHref(hit.doc_id, hit.chunk_id, query, hit.anchor);
  return searchId ? `${href}&from_search=${encodeURIComponent(searchId)}` : href;
}

// Near copies of the hit's document stored elsewhere (kb.dedupe): search shows a group once.
function alsoIn(hit) {
  const others = hit.also_in || [];
  if (!others.length) return null;
  const links = others.flatMap((other, i) => [
    i ? ", " : "",
    el("a", { href: documentHref(other.doc_id, null, null) }, other.title || other.source),
  ]);
  return el("p", { class: "small muted also-in" }, el("span", { i18n: "search.alsoIn" }), " ", ...links);
}

/** A place in another document of the hit's session, as a link that opens it there (the
 * document page opens the chunk holding `at` and scrolls to the slide, page or moment). */
function placeLink(place) {
  const href = documentHref(place.doc_id, null, null, place.anchor);
  return el("a", { href, class: "session-place" }, place.location ? `${place.source} · ${place.location}` : place.source);
}

/**
 * A hit's session (docs/sessions.md): the slide on screen at a transcript moment, the moment
 * that discusses a slide, and the session's other parts (where they matched, or that they did
 * not), each a link; nothing for a hit outside sessions.
 */
function sessionNodes(hit) {
  const nodes = [];
  if (hit.slide) nodes.push(el("p", { class: "small session-slide" }, el("span", { i18n: "session.slide" }), " ", placeLink(hit.slide)));
  if (hit.moment) nodes.push(el("p", { class: "small session-moment" }, el("span", { i18n: "session.moment" }), " ", placeLink(hit.moment)));
  if (hit.parts?.length) {
    nodes.push(
      el(
        "div",
        { class: "session-parts small" },
        el("p", { class: "muted", i18n: ["session.parts", { n: hit.parts.length }] }),
        el(
          "ul",
          {},
          hit.parts.map((part) =>
            el(
              "li",
              { class: part.matched ? "part matched" : "part" },
              el("span", { class: "tag", ...typeName(part.type) }),
              " ",
              placeLink(part),
              part.matched ? null : el("span", { class: "muted", i18n: "session.notMatched" }),
            ),
          ),
        ),
      ),
    );
  }
  return nodes;
}

function hitItem(hit, query, searchId) {
  const tags = [
    hit.type ? el("span", { class: "tag", ...typeName(hit.type) }) : null,
    ...[hit.team, hit.course, ...(hit.skills || [])].filter(Boolean).map((t) => el("span", { class: "tag" }, t)),
  ];
  return el(
    "li",
    { class: "hit" },
    el(
      "h3",
      {},
      el(
        "a",
        {
          href: hitHref(hit, query, searchId),
          onclick: () => reportOpen(searchId, hit.doc_id),
          onauxclick: () => reportOpen(searchId, hit.doc_id), // opened in a new tab
        },
        hit.title || hit.source,
      ),
    ),
    placeOf(hit),
    el("p", { class: "snippet" }, snippetNodes(hit.snippet)),
    alsoIn(hit),
    ...sessionNodes(hit),
    el(
      "p",
      { class: "small" },
      tags,
      hit.author ? el("span", { class: "muted", i18n: ["search.by", { author: hit.author }] }) : null,
      " ",
      freshnessNodes(hit),
    ),
    thumbs(hit, query, searchId),
  );
}

async function run(append = false) {
  const { q, filters, offset } = current;
  say(status, [append ? "search.loadingMore" : "search.searching"]);
  more.hidden = true;
  try {
    const body = await api("/search", { query: { q, k: PAGE, offset, ...filters } });
    if (!append) {
      list.replaceChildren();
      current.searchId = body.search_id || null; // later pages' hits count for this search
    }
    if (!append) showDidYouMean(body.did_you_mean);
    if (!append) showAnswer(body.answer, q, current.searchId);
    list.append(...body.hits.map((hit) => hitItem(hit, q, current.searchId)));
    panel.hidden = false;
    const shown = list.children.length;
    say(status, shown ? ["search.found", { n: shown, q }] : ["search.none", { q }]);
    const waiting = body.pending_documents || 0;
    say(pending, waiting ? ["search.pending", { n: waiting }] : "");
    more.hidden = body.hits.length < PAGE;
    if (!append && !shown) panel.hidden = true;
  } catch (error) {
    if (!append) showDidYouMean(null);
    if (!append) showAnswer(null);
    say(status, error, "error");
  }
}

/** The quoted answer: the stored text exactly (its line breaks as spaces), and a link to the
 * place it is quoted from; hidden when the service found none. */
function showAnswer(answer, query, searchId) {
  if (!answer) {
    answerPanel.hidden = true;
    return;
  }
  document.getElementById("answer-quote").textContent = answer.text.split(/\s+/).join(" ");
  const link = el(
    "a",
    { href: hitHref(answer, query, searchId), onclick: () => reportOpen(searchId, answer.doc_id) },
    answer.title || answer.source,
  );
  document
    .getElementById("answer-source")
    .replaceChildren(el("span", { i18n: "search.answerFrom" }), link, el("span", { class: "muted" }, ` · ${answer.location}`));
  answerPanel.hidden = false;
}

/** "Did you mean X?" with X a link that runs that search; hidden when the service has none. */
function showDidYouMean(text) {
  if (!text) {
    meant.hidden = true;
    meant.replaceChildren();
    return;
  }
  const link = el("a", { href: "?" + new URLSearchParams({ q: text, ...current.filters }), id: "did-you-mean-link" }, text);
  link.addEventListener("click", (event) => {
    event.preventDefault();
    box.value = text;
    form.requestSubmit();
  });
  meant.replaceChildren(el("span", { i18n: "search.didYouMean" }), link, el("span", { i18n: "search.didYouMeanEnd" }));
  meant.hidden = false;
}

// -- the search box as a combobox: suggestions as you type (GET /suggest) ----------------------
// ARIA's combobox pattern with a listbox popup: focus stays in the box, the active option is
// aria-activedescendant; ArrowDown/ArrowUp move, Enter takes the active one (or searches what
// is typed), Escape closes the list (a second Escape clears the box, as type=search does).
const SUGGEST_DELAY_MS = 120; // typing faster than this asks once, for the latest text
let suggestTimer = null;
let suggestAsked = 0; // answers to older requests are dropped
let options = []; // [{text, kind}]
let active = -1;

function closeSuggestions() {
  listbox.hidden = true;
  listbox.replaceChildren();
  box.setAttribute("aria-expanded", "false");
  box.removeAttribute("aria-activedescendant");
  options = [];
  active = -1;
}

function setActive(index) {
  active = index;
  [...listbox.children].forEach((item, i) => item.setAttribute("aria-selected", i === index ? "true" : "false"));
  if (index < 0) {
    box.removeAttribute("aria-activedescendant");
    return;
  }
  const item = listbox.children[index];
  box.setAttribute("aria-activedescendant", item.id);
  item.scrollIntoView({ block: "nearest" });
}

function choose(index) {
  box.value = options[index].text;
  closeSuggestions();
  form.requestSubmit();
}

function showSuggestions(found) {
  options = found;
  active = -1;
  box.removeAttribute("aria-activedescendant");
  if (!found.length) {
    closeSuggestions();
    return;
  }
  listbox.replaceChildren(
    ...found.map((s, i) =>
      el(
        "li",
        {
          id: "q-option-" + i,
          role: "option",
          "aria-selected": "false",
          "data-kind": s.kind,
          onmousedown: (event) => event.preventDefault(), // keep the focus in the box
          onclick: () => choose(i),
        },
        el("span", { class: "text" }, s.text),
        el("span", { class: "kind", i18n: "suggest.kind." + s.kind }),
      ),
    ),
  );
  listbox.hidden = false;
  box.setAttribute("aria-expanded", "true");
}

async function askSuggestions() {
  const q = box.value;
  const asked = ++suggestAsked;
  if (!q.trim() || q.length > 200) {
    closeSuggestions();
    return;
  }
  try {
    const body = await api("/suggest", { query: { q, limit: 8 } });
    if (asked === suggestAsked && document.activeElement === box) showSuggestions(body.suggestions);
  } catch {
    if (asked === suggestAsked) closeSuggestions(); // a convenience: searching still works
  }
}

box.addEventListener("input", () => {
  clearTimeout(suggestTimer);
  suggestTimer = setTimeout(askSuggestions, SUGGEST_DELAY_MS);
});

box.addEventListener("keydown", (event) => {
  const open = !listbox.hidden && options.length > 0;
  if (event.key === "ArrowDown" || event.key === "ArrowUp") {
    if (!open) {
      if (event.key === "ArrowDown" && box.value.trim()) askSuggestions();
      return;
    }
    event.preventDefault();
    const step = event.key === "ArrowDown" ? 1 : -1;
    const next = active + step;
    setActive(next < -1 ? options.length - 1 : next >= options.length ? -1 : next);
  } else if (event.key === "Enter") {
    if (open && active >= 0) {
      event.preventDefault();
      choose(active);
    } else {
      suggestAsked++; // a pending answer would reopen the list over the results
      clearTimeout(suggestTimer);
      closeSuggestions();
    }
  } else if (event.key === "Escape" && open) {
    event.preventDefault();
    suggestAsked++;
    closeSuggestions();
  }
});

box.addEventListener("blur", () => {
  suggestAsked++;
  clearTimeout(suggestTimer);
  closeSuggestions();
});

/** The form's search, or null (and a prompt) when the box is empty. */
function fromForm() {
  const q = form.q.value.trim();
  const filters = Object.fromEntries(FILTERS.map((n) => [n, form[n].value.trim()]).filter(([, v]) => v));
  return q ? { q, filters, offset: 0 } : null;
}

/** A type option, once: from the service's list, or from a URL read before the list came. */
function typeOption(type) {
  if (![...form.type.options].some((o) => o.value === type)) {
    form.type.append(el("option", { value: type, ...typeName(type) }));
  }
}

function setFilter(name, value) {
  if (name === "type" && value) typeOption(value);
  form[name].value = value;
}

/** Fill the form from the page's URL and run that search, if any. */
function fromUrl() {
  const params = new URLSearchParams(location.search);
  form.q.value = params.get("q") || "";
  for (const name of FILTERS) setFilter(name, params.get(name) || "");
  current = fromForm();
  if (current) run();
  return current;
}

form.addEventListener("submit", (event) => {
  event.preventDefault();
  current = fromForm();
  if (!current) {
    say(status, ["search.empty"], "error");
    form.q.focus();
    return;
  }
  history.pushState(null, "", "?" + new URLSearchParams({ q: current.q, ...current.filters }));
  run();
});

more.addEventListener("click", () => {
  current.offset += PAGE;
  run(true);
});

window.addEventListener("popstate", fromUrl);

/** Suggestions for the filters, from the documents this user may see. */
async function suggest() {
  try {
    const body = await api("/documents", { query: { limit: 100 } });
    const values = { teams: new Set(), courses: new Set(), skills: new Set() };
    for (const doc of body.documents) {
      if (doc.team) values.teams.add(doc.team);
      if (doc.course) values.courses.add(doc.course);
      for (const skill of doc.skills || []) values.skills.add(skill);
    }
    for (const [id, set] of Object.entries(values)) {
      fill(document.getElementById(id), [...set].sort().map((v) => el("option", { value: v })));
    }
  } catch {
    // suggestions are a convenience; the filters still work typed by hand
  }
}

/** The type filter's options: the document types the service knows (GET /meta). */
async function loadTypes() {
  try {
    const meta = await api("/meta");
    const chosen = form.type.value; // perhaps set from the URL already
    const options = meta.doc_types.map((t) => el("option", { value: t, ...typeName(t) }));
    form.type.replaceChildren(form.type.options[0], ...options); // "Any type", then the list
    form.type.value = chosen;
  } catch {
    // without the list the filter offers "Any type" only; searches still work
  }
}

suggest();
loadTypes();
if (!fromUrl()) form.q.focus();
