// Hash routes to views. A view module exports `render(root, params)`; it may return a
// function that the router calls when the user leaves the view (to close what it opened).

import { ApiError, api, token } from "./api.js";
import { h, show } from "./dom.js";
import { flash } from "./components/notice.js";
import { forget, loadMe, session } from "./session.js";
import { resetLive } from "./live.js";
import * as submit from "./views/submit.js";
import * as track from "./views/track.js";
import * as login from "./views/login.js";
import * as tickets from "./views/tickets.js";
import * as ticket from "./views/ticket.js";
import * as workersView from "./views/workers.js";
import * as stats from "./views/stats.js";
import * as password from "./views/password.js";
import * as assignment from "./views/assignment.js";
import * as webhooks from "./views/webhooks.js";
import * as deliveries from "./views/deliveries.js";
import * as intake from "./views/intake.js";
import * as customers from "./views/customers.js";
import * as stagesView from "./views/stages.js";
import * as account from "./views/account.js";

// [pattern, view, who may see it (null: anyone), params from the match]
const routes = [
  [/^#\/?$/, submit, null, () => ({})],
  [/^#\/track\/?$/, track, null, () => ({ code: null })],
  [/^#\/track\/([^/]+)$/, track, null, (m) => ({ code: decodeURIComponent(m[1]) })],
  [/^#\/login$/, login, null, () => ({})],
  [/^#\/tickets\/(\d+)$/, ticket, "staff", (m) => ({ id: Number(m[1]) })],
  [/^#\/tickets(?:\?(.*))?$/, tickets, "staff", (m) => ({ query: new URLSearchParams(m[1] || "") })],
  [/^#\/intake$/, intake, "staff", () => ({})],
  [/^#\/customers$/, customers, "admin", () => ({ id: null })],
  [/^#\/customers\/(\d+)$/, customers, "admin", (m) => ({ id: Number(m[1]) })],
  [/^#\/workers$/, workersView, "admin", () => ({})],
  [/^#\/stats$/, stats, "admin", () => ({})],
  [/^#\/password$/, password, "staff", () => ({})],
  [/^#\/account$/, account, "staff", () => ({})],
  [/^#\/assignment$/, assignment, "admin", () => ({})],
  [/^#\/stages$/, stagesView, "admin", () => ({})],
  [/^#\/webhooks$/, webhooks, "admin", () => ({})],
  [/^#\/webhooks\/(\d+)$/, deliveries, "admin", (m) => ({ id: Number(m[1]) })],
];

let leave = null;
// Each navigation gets a number; a view's late redraw checks it is still the current page.
let generation = 0;

/** Forgets the session here; with `revoke`, first tells the server to end the token. */
export async function signOut(message, revoke = false) {
  if (revoke) {
    try {
      await api("POST", "/auth/logout");
    } catch (e) {
      // Signed out here either way; an expired token needs no revocation.
    }
  }
  resetLive();
  forget();
  renderNav();
  if (message) flash(message, "info");
  location.hash = "#/login";
}

/** A worker's own availability for automatic assignment, as a toggle button. */
function availabilityToggle(me) {
  const label = () => (me.available ? "Available for new tickets" : "Away: no new tickets");
  const btn = h("button", { type: "button", class: "toggle", "aria-pressed": String(!!me.available) }, label());
  btn.addEventListener("click", async () => {
    try {
      const u = await api("PUT", `/users/${me.id}/availability`, { available: !me.available });
      me.available = u.available;
      btn.textContent = label();
      btn.setAttribute("aria-pressed", String(!!me.available));
      flash(me.available ? "You are available: new tickets may be assigned to you." : "You are away: no new tickets are assigned to you.", "ok");
    } catch (e) {
      flash(e.message, "error");
    }
  });
  return btn;
}

/** The phone-sized menu: one button opens and closes it; choosing a page closes it. */
function setMenu(open) {
  const toggle = document.getElementById("menu-toggle");
  toggle.setAttribute("aria-expanded", String(open));
  document.body.classList.toggle("menu-open", open);
}

document.getElementById("menu-toggle")?.addEventListener("click", () => {
  setMenu(document.body.classList.contains("menu-open") ? false : true);
});
document.getElementById("skip")?.addEventListener("click", (ev) => {
  ev.preventDefault();
  document.getElementById("main").focus();
});

/** The counter's one search box, on every staff page: number, customer, phone, e-mail, serial. */
function findBox() {
  const input = h("input", { type: "search", id: "find", name: "find", placeholder: "#, name, phone, e-mail, serial", autocomplete: "off", "aria-label": "Find a ticket" });
  const current = new URLSearchParams((location.hash.split("?")[1]) || "").get("find");
  if (current && location.hash.startsWith("#/tickets?")) input.value = current;
  return h("form", { class: "find", role: "search", "aria-label": "Find a ticket", onsubmit: (ev) => {
    ev.preventDefault();
    const text = input.value.trim();
    location.hash = text ? `#/tickets?find=${encodeURIComponent(text)}` : "#/tickets";
  } }, input, h("button", { type: "submit", class: "secondary" }, "Find"));
}

export function renderNav() {
  const nav = document.getElementById("nav");
  setMenu(false);
  const here = (location.hash || "#/").split("?")[0];
  const link = (href, text) =>
    h("a", { href, "aria-current": here === href || (href !== "#/" && here.startsWith(href)) ? "page" : null }, text);
  const me = session.me;
  if (!me) {
    nav.replaceChildren(link("#/", "Submit a request"), link("#/track", "Track a request"), link("#/login", "Staff sign-in"));
    return;
  }
  const items = me.role === "admin"
    ? [link("#/tickets", "Tickets"), link("#/intake", "New intake"), link("#/customers", "Customers"), link("#/workers", "Workers"), link("#/assignment", "Assignment"), link("#/stages", "Stages"), link("#/webhooks", "Webhooks"), link("#/stats", "Statistics")]
    : [link("#/tickets", "My tickets"), link("#/intake", "New intake"), availabilityToggle(me)];
  nav.replaceChildren(
    findBox(),
    ...items,
    h("span", { class: "who" }, `Signed in as ${me.username} (${me.role})`),
    link("#/account", "Account"),
    h("button", { type: "button", onclick: () => signOut("You have signed out.", true) }, "Sign out"),
  );
}

export async function route() {
  const mine = ++generation;
  const alive = () => mine === generation;
  if (leave) {
    leave();
    leave = null;
  }
  if (session.me === null && token.get()) await loadMe();
  renderNav();
  const root = document.getElementById("main");
  const hash = location.hash || "#/";
  for (const [re, view, who, params] of routes) {
    const m = hash.match(re);
    if (!m) continue;
    if (who && !session.me) {
      location.hash = "#/login";
      return;
    }
    if (who && session.me.must_change_password && view !== password) {
      // A default or reset password: the new one comes before anything else.
      location.hash = "#/password";
      return;
    }
    if (who === "admin" && session.me.role !== "admin") {
      show(root, h("h1", {}, "Not available"), h("p", {}, "This page is for admins."));
      return;
    }
    try {
      const cleanup = await view.render(root, { ...params(m), alive });
      if (typeof cleanup === "function") {
        if (alive()) leave = cleanup;
        else cleanup();
      }
    } catch (e) {
      if (e instanceof ApiError && e.status === 401) return;
      show(root, h("h1", {}, "Something went wrong"), h("div", { class: "notice error" }, e.message));
    }
    return;
  }
  show(root, h("h1", {}, "Page not found"), h("p", {}, h("a", { href: "#/" }, "Back to the start")));
}
