// Shared by every page: the session (the API key in sessionStorage), authenticated fetch calls,
// a tiny DOM builder, the page header, and the safe rendering of search snippets.
// Keys stay in sessionStorage (gone when the tab closes) and travel only in the Authorization
// header, never in a URL. After a company sign-in (docs/sign-in.md) there is no key: the
// browser sends the HttpOnly session cookie, and every request that changes something carries
// the kb_csrf cookie's value in X-CSRF-Token. The pages' own words come from i18n.js.
import { languageSwitch, localize, localizeAttribute, t, unlocalize } from "./i18n.js";
import { HEADER_PAGES, ORGANISERS_ONLY } from "/web/pages.js"; // made from api.web.SITE

const SESSION = "kb.session";

/**
 * The signed-in user: {key, employee: catalogue id or null (organisers), role}, or
 * {sso: true, employee, role} after a company sign-in (the cookie is the credential); or null.
 */
export function session() {
  try {
    const raw = sessionStorage.getItem(SESSION);
    const value = raw ? JSON.parse(raw) : null;
    return value && (typeof value.key === "string" || value.sso === true) ? value : null;
  } catch {
    return null;
  }
}

const CSRF_COOKIE = "kb_csrf";
const SAFE_METHODS = ["GET", "HEAD", "OPTIONS"];

/** The company sign-in's CSRF token (the readable kb_csrf cookie), or "". */
export function csrfToken() {
  const found = document.cookie.split("; ").find((part) => part.startsWith(CSRF_COOKIE + "="));
  return found ? decodeURIComponent(found.slice(CSRF_COOKIE.length + 1)) : "";
}

/**
 * The headers that authenticate a request of `method`: the key's Bearer header, or, with a
 * company sign-in, the CSRF token on a request that changes something (the cookie goes by
 * itself, same origin only).
 */
export function authHeaders(method = "GET", key) {
  const current = session();
  const bearerKey = key || current?.key;
  if (bearerKey) return { Authorization: "Bearer " + bearerKey };
  if (!SAFE_METHODS.includes(method.toUpperCase())) {
    const token = csrfToken();
    if (token) return { "X-CSRF-Token": token };
  }
  return current?.sso ? {} : { Authorization: "Bearer " };
}

export function saveSession(value) {
  sessionStorage.setItem(SESSION, JSON.stringify(value));
}

export async function signOut() {
  const current = session();
  sessionStorage.removeItem(SESSION);
  if (current?.sso) {
    // the server clears the cookies and records the sign-out; the page leaves whatever it said
    await fetch("/auth/logout", { method: "POST", headers: authHeaders("POST") }).catch(() => {});
  }
  location.assign("/web/signin" + (current?.sso ? "?signedOut=1" : ""));
}

/** The session, or a trip to the sign-in page that comes back here afterwards. */
export function requireSession() {
  const current = session();
  if (!current) {
    const next = location.pathname + location.search;
    location.assign("/web/signin?next=" + encodeURIComponent(next));
    throw new Error("not signed in"); // stops the page module; the browser is leaving
  }
  return current;
}

/** An answer other than 2xx, with the API's sentence for the user. */
export class ApiFailure extends Error {
  constructor(status, error) {
    super(error?.message || t("site.serviceAnswered", { status }));
    this.status = status;
    this.error = error || {};
    if (!error?.message) this.i18n = ["site.serviceAnswered", { status }];
  }
}

/** An error in the pages' own words: `i18n` lets `say` translate it again on a switch. */
export function pageError(key, params) {
  const error = new Error(t(key, params));
  error.i18n = [key, params];
  return error;
}

/**
 * Call the API with the session's key. `query` becomes the query string (empty values are
 * dropped), `json` a JSON body, `form` a FormData body. A 401 means the key is no longer
 * valid: the user is sent back to sign in.
 */
export async function api(path, { method = "GET", query, json, form, key } = {}) {
  const url = new URL(path, location.origin);
  for (const [name, value] of Object.entries(query || {})) {
    if (value !== undefined && value !== null && value !== "") url.searchParams.set(name, value);
  }
  const headers = authHeaders(method, key);
  let body;
  if (json !== undefined) {
    headers["Content-Type"] = "application/json";
    body = JSON.stringify(json);
  } else if (form) {
    body = form;
  }
  const response = await fetch(url, { method, headers, body });
  const data = await response.json().catch(() => null);
  if (!response.ok) {
    if (response.status === 401 && !key) {
      sessionStorage.removeItem(SESSION);
      requireSession();
    }
    throw new ApiFailure(response.status, data?.error);
  }
  return data;
}

/**
 * el("a", {href: "/x", class: "y"}, "text", child): children are nodes or plain text.
 * The pages' own words: {i18n: key} or {i18n: [key, params]} for the text (then no children),
 * {"i18n-aria-label": key} (or placeholder, title) for an attribute; see i18n.js.
 */
export function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs)) {
    if (value === undefined || value === null || value === false) continue;
    if (name.startsWith("on")) node.addEventListener(name.slice(2), value);
    else if (name === "text") node.textContent = value;
    else if (name === "i18n") localize(node, ...[value].flat());
    else if (name.startsWith("i18n-")) localizeAttribute(node, name.slice(5), ...[value].flat());
    else node.setAttribute(name, value === true ? "" : value);
  }
  node.append(...children.flat().filter((c) => c !== null && c !== undefined && c !== false));
  return node;
}

/** Replace a container's content. */
export function fill(container, ...children) {
  container.replaceChildren(...children.flat().filter((c) => c !== null && c !== undefined));
  return container;
}

const ENTITIES = { "&amp;": "&", "&lt;": "<", "&gt;": ">", "&quot;": '"', "&#x27;": "'", "&#39;": "'" };

function unescapeText(text) {
  return text.replace(/&(amp|lt|gt|quot|#x27|#39);/g, (entity) => ENTITIES[entity]);
}

/**
 * A snippet as DOM nodes, never through innerHTML. The API sends HTML-escaped text with the
 * matched words in <mark>; anything else (another tag, a stray "<") means the snippet is not
 * what we expect, and it is then shown as plain text, marks and all, rather than trusted.
 */
export function snippetNodes(snippet) {
  const text = String(snippet);
  // Even indices: the text between marks; odd ones: a whole <mark>...</mark> (split's group).
  const parts = text.split(/(<mark>[^<>]*<\/mark>)/);
  if (parts.some((part, i) => i % 2 === 0 && /[<>]/.test(part))) {
    return [document.createTextNode(text)];
  }
  return parts
    .map((part, i) =>
      i % 2 === 1
        ? el("mark", {}, unescapeText(part.slice("<mark>".length, -"</mark>".length)))
        : document.createTextNode(unescapeText(part)),
    )
    .filter((node) => node.textContent !== "");
}

/** The shared header: the pages, who is signed in, and a way out. */
export function renderHeader(active) {
  const who = session();
  const header = document.querySelector("header.site");
  const pages = HEADER_PAGES.filter(
    (page) => !ORGANISERS_ONLY.includes(page) || who?.role !== "employee",
  );
  const links = pages.map((page) =>
    el(
      "li",
      {},
      el("a", { href: "/web/" + page, "aria-current": page === active ? "page" : null, i18n: "page." + page }),
    ),
  );
  const role = who?.role || "organiser";
  const identity = !who
    ? null
    : who.employee
      ? el("strong", {}, who.employee)
      : el("strong", ["admin", "organiser", "employee"].includes(role) ? { i18n: "site.key." + role } : { text: `${role} key` });
  fill(
    header,
    el("a", { class: "brand", href: "/web/search", i18n: "site.brand" }),
    el("nav", { "i18n-aria-label": "site.pages" }, el("ul", {}, links)),
    el(
      "div",
      { class: "who" },
      who ? el("span", {}, el("span", { i18n: "site.signedInAs" }), identity) : null,
      who ? el("button", { type: "button", class: "secondary", onclick: signOut, i18n: "site.signOut" }) : null,
      languageSwitch(),
    ),
  );
}

/**
 * A message in a status region (role=status or alert in the page): the pages' own words as
 * [key, params] (translated again if the language changes), an error's sentence, or text.
 */
export function say(region, message, kind = "info") {
  region.dataset.kind = kind;
  if (Array.isArray(message) || message?.i18n) localize(region, ...(message.i18n || message));
  else unlocalize(region).textContent = message instanceof Error ? message.message : message;
  region.hidden = !region.textContent;
}

/** "0:42", "12:05" or "1:02:03" from seconds, for transcript times. */
export function clock(seconds) {
  const s = Math.floor(Number(seconds) || 0);
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const pad = (n) => String(n).padStart(2, "0");
  return `${h ? h + ":" : ""}${h ? pad(m) : m}:${pad(s % 60)}`;
}

/** The document page's address for a hit: the document, the chunk to open at, the query. */
export function documentHref(docId, chunkId, query, anchor) {
  const params = new URLSearchParams({ id: docId });
  if (chunkId !== undefined && chunkId !== null) params.set("chunk", chunkId);
  if (query) params.set("q", query);
  if (anchor) params.set("at", anchor); // the hit's own place inside its chunk (a page, a cell, a time)
  return "/web/document?" + params.toString();
}
