// Sign-in: check the key against the API, then keep it (and the employee id) in sessionStorage.
// With company sign-in (docs/sign-in.md) the page also offers the identity provider; coming
// back from it (?sso=1), or opening a new tab while signed in, it asks /me with the session
// cookie and keeps {sso, employee, role} for the tab instead of a key.
import { ApiFailure, api, csrfToken, el, pageError, saveSession, say } from "./api.js";
import { languageSwitch, translate } from "./i18n.js";

translate();
document.querySelector("header.site").append(el("div", { class: "who" }, languageSwitch()));

const form = document.getElementById("signin-form");
const status = document.getElementById("signin-status");

/**
 * `/me` says whom the key stands for: an employee key signs in as its employee. An organiser
 * may name an employee to look at; that id is checked by reading the employee's gaps.
 * Returns what the session keeps: the key, the employee id (or null) and the key's role.
 */
async function check(key, employee) {
  let role = null;
  try {
    const me = await api("/me/signin", { method: "POST", key }); // audited: docs/audit.md
    role = me.role;
    if (!employee) return { key, employee: me.employee || null, role };
    await api(`/employees/${encodeURIComponent(employee)}/gaps`, { key });
    return { key, employee, role };
  } catch (failure) {
    if (!(failure instanceof ApiFailure)) throw failure;
    if (failure.status === 401) {
      throw pageError("signin.unknownKey");
    }
    if (failure.status === 409) return { key, employee: employee || null, role }; // no catalogue yet
    throw failure; // 403: another employee's id; 404: an id not in the catalogue
  }
}

/** Only a path of this site's pages, so that the sign-in form cannot send users elsewhere. */
function nextPage() {
  const next = new URLSearchParams(location.search).get("next") || "";
  return /^\/web\/[a-z]+(\?[^#]*)?$/.test(next) ? next : "/web/search";
}

const params = new URLSearchParams(location.search);
const sso = document.getElementById("sso");
const ssoStatus = document.getElementById("sso-status");

/** The page session that the cookie stands for, kept for this tab; false without one. */
async function adoptCookieSession() {
  const response = await fetch("/me", { headers: {} }).catch(() => null);
  if (!response || !response.ok) return false;
  const me = await response.json();
  saveSession({ sso: true, employee: me.employee || null, role: me.role });
  location.assign(nextPage());
  return true;
}

async function offerCompanySignIn() {
  const config = await fetch("/auth/config").then((r) => (r.ok ? r.json() : null)).catch(() => null);
  if (!config?.enabled) return;
  document.getElementById("sso-link").href = config.login + "?next=" + encodeURIComponent(nextPage());
  sso.hidden = false;
  if (params.get("signedOut")) return; // just signed out: stay here
  if (params.get("sso") || csrfToken()) {
    if (!(await adoptCookieSession()) && params.get("sso")) say(ssoStatus, ["signin.companyFailed"], "error");
  }
}

offerCompanySignIn();

form.addEventListener("submit", async (event) => {
  event.preventDefault();
  const key = form.key.value.trim();
  const employee = form.employee.value.trim();
  if (!key) {
    say(status, ["signin.needKey"], "error");
    form.key.focus();
    return;
  }
  const button = form.querySelector("button");
  button.disabled = true;
  say(status, ["signin.checking"]);
  try {
    saveSession(await check(key, employee));
    location.assign(nextPage());
  } catch (error) {
    say(status, error, "error");
    form.key.focus();
  } finally {
    button.disabled = false;
  }
});
