// Repair CRM web UI: a small single-page app over the documented JSON API.
// Every value is put on the page as text (textContent / text nodes), never as HTML.
"use strict";

const TOKEN_KEY = "crm.token";
const STATUS_LABEL = { new: "New", in_progress: "In progress", done: "Done" };
const NEXT_ACTION = { new: ["in_progress", "Start"], in_progress: ["done", "Finish"] };

const state = { me: null, workers: null };

// ----- DOM helpers ---------------------------------------------------------------------------

/** Builds an element; strings and numbers among the children become text nodes. */
function h(tag, attrs, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === null || v === undefined || v === false) continue;
    if (k.startsWith("on")) el.addEventListener(k.slice(2), v);
    else if (k === "class") el.className = v;
    else if (v === true) el.setAttribute(k, "");
    else el.setAttribute(k, String(v));
  }
  for (const c of children.flat()) {
    if (c === null || c === undefined || c === false) continue;
    el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return el;
}

function show(...nodes) {
  const main = document.getElementById("main");
  main.replaceChildren(...nodes);
  main.focus();
}

function flash(text, kind = "info") {
  const box = document.getElementById("flash");
  box.replaceChildren(text ? h("div", { class: `notice ${kind}` }, text) : "");
}

function fmtTime(iso) {
  if (!iso) return "—";
  const d = new Date(iso);
  return d.toLocaleString(undefined, { dateStyle: "medium", timeStyle: "short" });
}

function statusBadge(status) {
  return h("span", { class: `badge ${status}` }, STATUS_LABEL[status] || status);
}

// ----- API -----------------------------------------------------------------------------------

class ApiError extends Error {
  constructor(status, body) {
    super((body && body.detail) || `Request failed (${status}).`);
    this.status = status;
    this.code = body && body.code;
    this.fields = (body && body.fields) || [];
  }
}

async function api(method, path, body) {
  const headers = { Accept: "application/json" };
  const token = sessionStorage.getItem(TOKEN_KEY);
  if (token) headers.Authorization = `Bearer ${token}`;
  if (body !== undefined) headers["Content-Type"] = "application/json";
  let resp;
  try {
    resp = await fetch(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  } catch (e) {
    throw new ApiError(0, { detail: "The server cannot be reached. Check your connection and try again." });
  }
  const data = resp.status === 204 ? null : await resp.json().catch(() => null);
  if (resp.status === 401 && token && path !== "/auth/login") {
    signOut("Your session has expired. Please sign in again.");
    throw new ApiError(401, data);
  }
  if (!resp.ok) throw new ApiError(resp.status, data);
  return data;
}

function qs(params) {
  const p = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v !== "" && v !== null && v !== undefined) p.set(k, v);
  const s = p.toString();
  return s ? `?${s}` : "";
}

function signOut(message) {
  sessionStorage.removeItem(TOKEN_KEY);
  state.me = null;
  state.workers = null;
  renderNav();
  if (message) flash(message, "info");
  location.hash = "#/login";
}

async function loadMe() {
  if (!sessionStorage.getItem(TOKEN_KEY)) return null;
  try {
    state.me = await api("GET", "/auth/me");
  } catch (e) {
    state.me = null;
  }
  return state.me;
}

async function workers() {
  if (!state.workers) {
    const page = await api("GET", `/users/${qs({ role: "worker", size: 100 })}`);
    state.workers = page.items;
  }
  return state.workers;
}

function workerName(id) {
  if (id === null || id === undefined) return "—";
  if (state.me && id === state.me.id) return state.me.username;
  const w = (state.workers || []).find((x) => x.id === id);
  return w ? w.username : `#${id}`;
}

// ----- navigation ----------------------------------------------------------------------------

function renderNav() {
  const nav = document.getElementById("nav");
  const here = location.hash || "#/";
  const link = (href, text) =>
    h("a", { href, "aria-current": here === href || (href !== "#/" && here.startsWith(href)) ? "page" : null }, text);
  const me = state.me;
  if (!me) {
    nav.replaceChildren(link("#/", "Submit a request"), link("#/track", "Track a request"), link("#/login", "Staff sign-in"));
    return;
  }
  const items = me.role === "admin"
    ? [link("#/tickets", "Tickets"), link("#/workers", "Workers"), link("#/stats", "Statistics")]
    : [link("#/tickets", "My tickets")];
  nav.replaceChildren(
    ...items,
    h("span", { class: "who" }, `Signed in as ${me.username} (${me.role})`),
    h("button", { type: "button", onclick: () => signOut("You have signed out.") }, "Sign out"),
  );
}

const routes = [
  [/^#\/?$/, viewSubmit],
  [/^#\/track\/?$/, () => viewTrack(null)],
  [/^#\/track\/([^/]+)$/, (m) => viewTrack(decodeURIComponent(m[1]))],
  [/^#\/login$/, viewLogin],
  [/^#\/tickets\/(\d+)$/, (m) => staff(() => viewTicket(Number(m[1])))],
  [/^#\/tickets$/, () => staff(viewTickets)],
  [/^#\/workers$/, () => staff(viewWorkers, "admin")],
  [/^#\/stats$/, () => staff(viewStats, "admin")],
];

async function route() {
  if (state.me === null && sessionStorage.getItem(TOKEN_KEY)) await loadMe();
  renderNav();
  const hash = location.hash || "#/";
  for (const [re, view] of routes) {
    const m = hash.match(re);
    if (m) {
      try {
        await view(m);
      } catch (e) {
        if (e instanceof ApiError && e.status === 401) return;
        show(h("h1", {}, "Something went wrong"), h("div", { class: "notice error" }, e.message));
      }
      return;
    }
  }
  show(h("h1", {}, "Page not found"), h("p", {}, h("a", { href: "#/" }, "Back to the start")));
}

async function staff(view, role) {
  if (!state.me) {
    location.hash = "#/login";
    return;
  }
  if (role && state.me.role !== role) {
    show(h("h1", {}, "Not available"), h("p", {}, "This page is for admins."));
    return;
  }
  await view();
}

// ----- forms ---------------------------------------------------------------------------------

/** A labelled field; `name` is the API's field path, so errors land next to it. */
function field(label, name, input, hint) {
  const id = `f-${name.replace(/\W/g, "-")}`;
  input.id = id;
  input.name = name;
  const err = h("div", { class: "field-error", id: `${id}-err`, "data-error-for": name });
  input.setAttribute("aria-describedby", `${id}-err`);
  return h("div", { class: "field" }, h("label", { for: id }, label, hint ? h("span", { class: "hint" }, ` ${hint}`) : null), input, err);
}

function clearErrors(form) {
  form.querySelectorAll("[data-error-for]").forEach((e) => (e.textContent = ""));
  form.querySelectorAll("[aria-invalid]").forEach((e) => e.removeAttribute("aria-invalid"));
}

function showFieldErrors(form, fields) {
  let first = null;
  for (const f of fields) {
    const slot = form.querySelector(`[data-error-for="${CSS.escape(f.field)}"]`);
    const input = form.querySelector(`[name="${CSS.escape(f.field)}"]`);
    if (slot) slot.textContent = f.message;
    if (input) {
      input.setAttribute("aria-invalid", "true");
      first = first || input;
    }
  }
  if (first) first.focus();
  return fields.some((f) => form.querySelector(`[data-error-for="${CSS.escape(f.field)}"]`));
}

// ----- public pages --------------------------------------------------------------------------

function viewSubmit() {
  const result = h("div", { "aria-live": "polite" });
  const form = h("form", { class: "stack", novalidate: true },
    field("What needs repair?", "title", h("input", { required: true, maxlength: 200, autocomplete: "off" }), "(1-200 characters)"),
    field("Describe the problem", "description", h("textarea", { required: true, maxlength: 5000 })),
    field("Your name", "client.name", h("input", { required: true, maxlength: 100, autocomplete: "name" })),
    field("E-mail", "client.email", h("input", { type: "email", required: true, maxlength: 254, autocomplete: "email" })),
    field("Phone", "client.phone", h("input", { type: "tel", maxlength: 32, autocomplete: "tel" }), "(optional)"),
    h("div", { class: "actions" }, h("button", { class: "primary", type: "submit" }, "Send request")),
  );
  form.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    clearErrors(form);
    result.replaceChildren();
    const v = (n) => form.elements[n].value;
    const body = {
      title: v("title"),
      description: v("description"),
      client: { name: v("client.name"), email: v("client.email"), phone: v("client.phone").trim() || null },
    };
    const button = form.querySelector("button[type=submit]");
    button.disabled = true;
    try {
      const t = await api("POST", "/public/tickets", body);
      form.reset();
      const link = `#/track/${encodeURIComponent(t.tracking_code)}`;
      result.replaceChildren(h("div", { class: "notice ok", role: "status" },
        h("strong", {}, `Thank you! Your request number is #${t.id}.`),
        h("p", {}, "Your tracking code: ", h("span", { class: "code", "data-testid": "tracking-code" }, t.tracking_code)),
        h("p", {}, "Keep it to follow your request: ", h("a", { href: link }, "follow my request")),
      ));
    } catch (e) {
      if (e.code === "duplicate_ticket") {
        result.replaceChildren(h("div", { class: "notice error", role: "alert" },
          "We already have this exact request from you and it is still open. There is no need to send it again."));
      } else if (e.code === "validation_error" && showFieldErrors(form, e.fields)) {
        result.replaceChildren(h("div", { class: "notice error", role: "alert" }, "Please correct the highlighted fields."));
      } else {
        result.replaceChildren(h("div", { class: "notice error", role: "alert" }, e.message));
      }
    } finally {
      button.disabled = false;
    }
  });
  show(
    h("h1", {}, "Request a repair"),
    h("div", { class: "panel narrow" },
      h("p", { class: "muted" }, "Tell us what is broken. We will get back to you; no account needed."),
      result, form),
  );
}

async function viewTrack(code) {
  const out = h("div", { "aria-live": "polite" });
  const input = h("input", { required: true, autocomplete: "off", value: code || "" });
  const form = h("form", { class: "stack" }, field("Tracking code", "code", input),
    h("div", { class: "actions" }, h("button", { class: "primary", type: "submit" }, "Show progress")));
  form.addEventListener("submit", (ev) => {
    ev.preventDefault();
    location.hash = `#/track/${encodeURIComponent(input.value.trim())}`;
  });
  show(h("h1", {}, "Track a request"), h("div", { class: "panel narrow" }, form, out));
  if (!code) return;
  try {
    const p = await api("GET", `/public/tickets/${encodeURIComponent(code)}`);
    const step = (label, when, reached) =>
      h("li", { class: reached ? "reached" : null }, h("strong", {}, label), reached ? fmtTime(when) : "not yet");
    out.replaceChildren(
      h("h2", {}, `Request #${p.id}: `, statusBadge(p.status)),
      h("ol", { class: "steps" },
        step("Received", p.created_at, true),
        h("li", { class: p.assigned || p.status !== "new" ? "reached" : null }, h("strong", {}, "Technician assigned"), p.assigned ? "yes" : "not yet"),
        step("Work started", p.in_progress_at, !!p.in_progress_at),
        step("Done", p.done_at, !!p.done_at)),
    );
  } catch (e) {
    out.replaceChildren(h("div", { class: "notice error", role: "alert" },
      e.status === 404 ? "No request has this tracking code. Check it and try again." : e.message));
  }
}

function viewLogin() {
  if (state.me) {
    location.hash = "#/tickets";
    return;
  }
  const err = h("div", { "aria-live": "assertive" });
  const form = h("form", { class: "stack" },
    field("Username", "username", h("input", { required: true, autocomplete: "username" })),
    field("Password", "password", h("input", { type: "password", required: true, autocomplete: "current-password" })),
    h("div", { class: "actions" }, h("button", { class: "primary", type: "submit" }, "Sign in")));
  form.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    err.replaceChildren();
    try {
      const t = await api("POST", "/auth/login", { username: form.elements.username.value, password: form.elements.password.value });
      sessionStorage.setItem(TOKEN_KEY, t.access_token);
      flash("");
      await loadMe();
      location.hash = "#/tickets";
    } catch (e) {
      err.replaceChildren(h("div", { class: "notice error", role: "alert" },
        e.code === "invalid_credentials" ? "Wrong username or password." : e.message));
      form.elements.password.value = "";
      form.elements.password.focus();
    }
  });
  show(h("h1", {}, "Staff sign-in"), h("div", { class: "panel narrow" }, err, form));
}

// ----- tickets -------------------------------------------------------------------------------

const listState = { page: 1, size: 10, search: "", status: "", worker_id: "" };

function pager(page, onGo, onSize) {
  const box = h("nav", { class: "pager", "aria-label": "Pages" });
  const btn = (label, p, current) =>
    h("button", { type: "button", "aria-current": current ? "page" : null, disabled: p < 1 || p > Math.max(page.pages, 1) || null, onclick: () => onGo(p), "aria-label": typeof label === "number" ? `Page ${label}` : label }, String(label));
  box.append(btn("‹ Prev", page.page - 1));
  const pages = Math.max(page.pages, 1);
  const shown = new Set([1, pages, page.page - 1, page.page, page.page + 1].filter((p) => p >= 1 && p <= pages));
  let last = 0;
  for (const p of [...shown].sort((a, b) => a - b)) {
    if (p - last > 1) box.append(h("span", { class: "muted" }, "…"));
    box.append(btn(p, p, p === page.page));
    last = p;
  }
  box.append(btn("Next ›", page.page + 1));
  const size = h("select", { "aria-label": "Rows per page", onchange: (e) => onSize(Number(e.target.value)) },
    ...[10, 20, 50, 100].map((n) => h("option", { value: n, selected: n === page.size || null }, `${n} per page`)));
  box.append(size, h("span", { class: "total", "data-testid": "total" }, `${page.total} total`));
  return box;
}

async function viewTickets() {
  const admin = state.me.role === "admin";
  if (admin) await workers();
  const search = h("input", { type: "search", value: listState.search, placeholder: "Title contains…" });
  const status = h("select", {}, h("option", { value: "" }, "Any status"),
    ...Object.entries(STATUS_LABEL).map(([v, l]) => h("option", { value: v, selected: listState.status === v || null }, l)));
  const worker = admin
    ? h("select", {}, h("option", { value: "" }, "Any worker"),
      ...state.workers.map((w) => h("option", { value: w.id, selected: String(listState.worker_id) === String(w.id) || null }, w.username)))
    : null;
  const filters = h("form", { class: "filters", role: "search" },
    h("div", {}, h("label", { for: "q" }, "Search"), Object.assign(search, { id: "q" })),
    h("div", {}, h("label", { for: "st" }, "Status"), Object.assign(status, { id: "st" })),
    admin ? h("div", {}, h("label", { for: "wk" }, "Worker"), Object.assign(worker, { id: "wk" })) : h("div", {}),
    h("button", { class: "primary", type: "submit" }, "Apply"));
  const results = h("div", { "aria-live": "polite" });
  const load = async () => {
    const page = await api("GET", `/tickets/${qs({ page: listState.page, size: listState.size, search: listState.search, status: listState.status, worker_id: admin ? listState.worker_id : "" })}`);
    const rows = page.items.map((t) => h("tr", { class: t.viewed ? null : "unviewed" },
      h("td", {}, h("a", { href: `#/tickets/${t.id}` }, `#${t.id}`)),
      h("td", {}, h("a", { href: `#/tickets/${t.id}` }, t.title), t.viewed ? null : h("span", { class: "badge fresh", title: "Nobody has opened this ticket yet" }, "Unopened")),
      h("td", {}, t.client.name),
      h("td", {}, statusBadge(t.status)),
      h("td", {}, workerName(t.worker_id)),
      h("td", {}, fmtTime(t.created_at)),
      h("td", {}, t.viewed ? "Yes" : "No")));
    results.replaceChildren(
      h("div", { class: "table-wrap" }, h("table", {},
        h("thead", {}, h("tr", {}, ...["Number", "Title", "Client", "Status", "Worker", "Created", "Viewed"].map((c) => h("th", { scope: "col" }, c)))),
        h("tbody", {}, rows.length ? rows : h("tr", {}, h("td", { colspan: 7, class: "muted" }, "No tickets match."))))),
      pager(page, (p) => { listState.page = p; load(); }, (s) => { listState.size = s; listState.page = 1; load(); }),
    );
  };
  filters.addEventListener("submit", (ev) => {
    ev.preventDefault();
    Object.assign(listState, { search: search.value.trim(), status: status.value, worker_id: worker ? worker.value : "", page: 1 });
    load().catch((e) => results.replaceChildren(h("div", { class: "notice error", role: "alert" }, e.message)));
  });
  show(h("h1", {}, admin ? "All tickets" : "My tickets"), h("div", { class: "panel" }, filters, results));
  await load();
}

async function viewTicket(id) {
  const admin = state.me.role === "admin";
  if (admin) await workers();
  const [t, history] = await Promise.all([api("GET", `/tickets/${id}`), api("GET", `/tickets/${id}/history`)]);
  const msg = h("div", { "aria-live": "polite" });
  const act = async (fn, ok) => {
    msg.replaceChildren();
    try {
      await fn();
      flash(ok, "ok");
      await viewTicket(id);
    } catch (e) {
      if (e.status !== 401) msg.replaceChildren(h("div", { class: "notice error", role: "alert" }, e.message));
    }
  };
  const actions = h("div", { class: "actions" });
  const next = NEXT_ACTION[t.status];
  if (next && (t.status !== "new" || t.worker_id !== null)) {
    actions.append(h("button", { class: "primary", type: "button",
      onclick: () => act(() => api("POST", `/tickets/${id}/status`, { new_status: next[0] }), `Ticket #${id} is now ${STATUS_LABEL[next[0]].toLowerCase()}.`) }, next[1]));
  } else if (t.status === "new") {
    actions.append(h("span", { class: "muted" }, "Assign a worker before the work can start."));
  }
  if (admin && t.status !== "done") {
    const sel = h("select", { id: "assign-worker" }, h("option", { value: "" }, "Choose a worker…"),
      ...state.workers.map((w) => h("option", { value: w.id, selected: w.id === t.worker_id || null }, w.username)));
    actions.append(h("label", { for: "assign-worker" }, t.worker_id ? "Reassign to" : "Assign to"), sel,
      h("button", { class: "secondary", type: "button", onclick: () => {
        if (!sel.value) { msg.replaceChildren(h("div", { class: "notice error" }, "Choose a worker first.")); return; }
        act(() => api("POST", `/tickets/${id}/assign`, { worker_id: Number(sel.value) }), `Ticket #${id} assigned to ${workerName(Number(sel.value))}.`);
      } }, "Assign"));
  }
  const dl = (pairs) => h("dl", { class: "grid" }, ...pairs.flatMap(([k, v]) => [h("dt", {}, k), h("dd", {}, v)]));
  const eventText = (e) => {
    switch (e.kind) {
      case "submitted": return "Submitted by the customer";
      case "assigned": return `Assigned to ${workerName(e.worker_id)}`;
      case "released": return `Released: ${workerName(e.worker_id)} was deleted`;
      case "status_changed": return `${STATUS_LABEL[e.from_status]} → ${STATUS_LABEL[e.to_status]}`;
      case "viewed": return "Opened for the first time";
      default: return e.kind;
    }
  };
  show(
    h("p", {}, h("a", { href: "#/tickets" }, "← Back to the list")),
    h("h1", {}, `#${t.id} `, t.title, " ", statusBadge(t.status)),
    msg,
    h("div", { class: "columns" },
      h("div", {},
        h("section", { class: "panel" }, h("h2", {}, "Problem"), h("p", { class: "description" }, t.description), actions),
        h("section", { class: "panel" }, h("h2", {}, "History"),
          h("ol", { class: "timeline" }, ...history.items.map((e) => h("li", {},
            h("time", { datetime: e.at }, fmtTime(e.at)), eventText(e),
            e.actor_id ? h("span", { class: "muted" }, ` — by ${e.actor_id === state.me.id ? "you" : workerName(e.actor_id) === `#${e.actor_id}` ? `user #${e.actor_id}` : workerName(e.actor_id)}`) : null)))),
      ),
      h("div", {},
        h("section", { class: "panel" }, h("h2", {}, "Progress"), dl([
          ["Status", statusBadge(t.status)], ["Worker", workerName(t.worker_id)], ["Created", fmtTime(t.created_at)],
          ["Assigned", fmtTime(t.assigned_at)], ["Started", fmtTime(t.in_progress_at)], ["Done", fmtTime(t.done_at)],
          ["Last change", fmtTime(t.updated_at)], ["Viewed", t.viewed ? "Yes" : "No"], ["Tracking code", h("span", { class: "code" }, t.tracking_code)]])),
        h("section", { class: "panel" }, h("h2", {}, "Client"), dl([
          ["Name", t.client.name], ["E-mail", t.client.email], ["Phone", t.client.phone || "—"], ["Client since", fmtTime(t.client.created_at)]])),
        h("section", { class: "panel" }, h("h2", {}, "Requester"), dl([
          ["IP address", t.requester_ip || "—"], ["User agent", t.requester_ua || "—"]])),
      )),
  );
}

// ----- workers -------------------------------------------------------------------------------

const userState = { page: 1, size: 10, search: "" };

async function viewWorkers() {
  const msg = h("div", { "aria-live": "polite" });
  const results = h("div");
  const dialog = h("dialog", { "aria-labelledby": "confirm-title" });
  const load = async () => {
    const page = await api("GET", `/users/${qs({ page: userState.page, size: userState.size, search: userState.search })}`);
    results.replaceChildren(
      h("div", { class: "table-wrap" }, h("table", {},
        h("thead", {}, h("tr", {}, ...["Username", "Role", "Created", ""].map((c) => h("th", { scope: "col" }, c)))),
        h("tbody", {}, page.items.length ? page.items.map((u) => h("tr", {},
          h("td", {}, u.username), h("td", {}, u.role), h("td", {}, fmtTime(u.created_at)),
          h("td", {}, u.id === state.me.id ? h("span", { class: "muted" }, "you") :
            h("button", { class: "secondary", type: "button", "aria-label": `Delete ${u.username}`, onclick: () => confirmDelete(u) }, "Delete"))))
          : h("tr", {}, h("td", { colspan: 4, class: "muted" }, "No accounts match."))))),
      pager(page, (p) => { userState.page = p; load(); }, (s) => { userState.size = s; userState.page = 1; load(); }),
    );
  };
  const confirmDelete = async (u) => {
    let open = 0;
    if (u.role === "worker") {
      const s = await api("GET", `/tickets/stats${qs({ worker_id: u.id })}`);
      open = s.new + s.in_progress;
    }
    const consequence = u.role === "worker"
      ? (open ? `${open} open ticket${open === 1 ? "" : "s"} assigned to ${u.username} will go back to the queue as new and unassigned. ` : `${u.username} has no open tickets. `) +
        "Finished tickets keep their worker. The account can no longer sign in."
      : `${u.username} will no longer be able to sign in.`;
    dialog.replaceChildren(
      h("h2", { id: "confirm-title" }, `Delete ${u.username}?`),
      h("p", {}, consequence),
      h("div", { class: "actions" },
        h("button", { class: "danger", type: "button", onclick: async () => {
          dialog.close();
          try {
            await api("DELETE", `/users/${u.id}`);
            state.workers = null;
            msg.replaceChildren(h("div", { class: "notice ok", role: "status" }, `${u.username} was deleted.`));
            await load();
          } catch (e) {
            msg.replaceChildren(h("div", { class: "notice error", role: "alert" }, e.message));
          }
        } }, "Delete"),
        h("button", { class: "secondary", type: "button", onclick: () => dialog.close() }, "Cancel")),
    );
    dialog.showModal();
  };
  const search = h("input", { type: "search", id: "user-q", value: userState.search, placeholder: "Username contains…" });
  const searchForm = h("form", { class: "filters", role: "search" },
    h("div", {}, h("label", { for: "user-q" }, "Search"), search), h("div", {}), h("div", {}),
    h("button", { class: "primary", type: "submit" }, "Apply"));
  searchForm.addEventListener("submit", (ev) => {
    ev.preventDefault();
    userState.search = search.value.trim();
    userState.page = 1;
    load();
  });
  const create = h("form", { class: "inline-form", novalidate: true },
    field("Username", "username", h("input", { required: true, autocomplete: "off" })),
    field("Password", "password", h("input", { type: "password", required: true, autocomplete: "new-password" })),
    field("Role", "role", h("select", {}, h("option", { value: "worker" }, "Worker"), h("option", { value: "admin" }, "Admin"))),
    h("button", { class: "primary", type: "submit" }, "Create"));
  create.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    clearErrors(create);
    msg.replaceChildren();
    const f = create.elements;
    try {
      const u = await api("POST", "/users/", { username: f.username.value, password: f.password.value, role: f.role.value });
      state.workers = null;
      create.reset();
      msg.replaceChildren(h("div", { class: "notice ok", role: "status" }, `Account ${u.username} created.`));
      await load();
    } catch (e) {
      if (e.code === "username_taken") showFieldErrors(create, [{ field: "username", message: "This username is already taken." }]);
      else if (!(e.code === "validation_error" && showFieldErrors(create, e.fields))) msg.replaceChildren(h("div", { class: "notice error", role: "alert" }, e.message));
    }
  });
  show(h("h1", {}, "Worker accounts"), msg,
    h("section", { class: "panel" }, h("h2", {}, "New account"), create),
    h("section", { class: "panel" }, searchForm, results), dialog);
  await load();
}

// ----- statistics ----------------------------------------------------------------------------

async function viewStats() {
  state.workers = null;
  const list = await workers();
  const overall = await api("GET", "/tickets/stats");
  const rows = await Promise.all(list.map(async (w) => ({ w, s: await api("GET", `/tickets/stats${qs({ worker_id: w.id })}`) })));
  const max = Math.max(1, ...rows.map((r) => r.s.total));
  const hours = (s) => (s === null ? "—" : s < 3600 ? `${Math.round(s / 60)} min` : `${(s / 3600).toFixed(1)} h`);
  const bar = (s) => {
    const b = h("div", { class: "bar", role: "img", "aria-label": `${s.new} new, ${s.in_progress} in progress, ${s.done} done` });
    for (const k of ["new", "in_progress", "done"]) {
      const seg = h("div", { class: `seg ${k}` });
      seg.style.width = `${(100 * s[k]) / max}%`;
      b.append(seg);
    }
    return b;
  };
  show(
    h("h1", {}, "Statistics"),
    h("section", { class: "panel" }, h("h2", {}, "All tickets"),
      h("p", {}, `${overall.total} total: ${overall.new} new, ${overall.in_progress} in progress, ${overall.done} done. Average resolution: ${hours(overall.avg_resolution_seconds)}.`)),
    h("section", { class: "panel" }, h("h2", {}, "Per worker"),
      h("div", { class: "table-wrap" }, h("table", {},
        h("thead", {}, h("tr", {}, ...["Worker", "Total", "New", "In progress", "Done", "Avg. resolution"].map((c) => h("th", { scope: "col" }, c)))),
        h("tbody", {}, rows.map(({ w, s }) => h("tr", {}, h("td", {}, w.username), h("td", {}, s.total), h("td", {}, s.new), h("td", {}, s.in_progress), h("td", {}, s.done), h("td", {}, hours(s.avg_resolution_seconds))))))),
      h("h2", {}, "Tickets per worker"),
      h("div", { class: "chart", "data-testid": "chart" }, rows.map(({ w, s }) => h("div", { class: "row" }, h("span", {}, w.username), bar(s), h("span", {}, s.total)))),
      h("div", { class: "legend" }, h("span", { class: "new" }, "New"), h("span", { class: "in_progress" }, "In progress"), h("span", { class: "done" }, "Done"))),
  );
}

window.addEventListener("hashchange", () => {
  if (!location.hash.startsWith("#/login")) flash("");
  route();
});
window.addEventListener("DOMContentLoaded", route);
