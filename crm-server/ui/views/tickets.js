// The ticket list: every ticket for admins, a technician's own queue for workers. Tabs with
// live counts, a search that applies as you type, the worker filter and the sort are all in
// the URL (#/tickets?tab=new&q=screen), so a reload or a shared link shows the same list.

import { api, blobUrl } from "../api.js";
import { STATUS_LABEL, h, qs, redraw, show, srOnly, stageChip, statusBadge, timeAgo } from "../dom.js";
import { flash, notice } from "../components/notice.js";
import { pager } from "../components/pager.js";
import { liveBadge } from "../components/live-badge.js";
import { debounce, follow } from "../live.js";
import { session, stages, workerName, workers } from "../session.js";

const ADMIN_TABS = [
  ["all", "All", {}],
  ["unassigned", "Unassigned", { unassigned: true }],
  ["new", "New", { status: "new" }],
  ["in_progress", "In progress", { status: "in_progress" }],
  ["done", "Done", { status: "done" }],
  ["awaiting", "Awaits reply", { awaiting_reply: true }],
];
// A technician's queue: what is open, oldest first; finished work behind its own tab.
const WORKER_TABS = [
  ["open", "My queue", { open: true }],
  ["awaiting", "Awaits reply", { awaiting_reply: true }],
  ["done", "Done", { status: "done" }],
];
const PAGE_SIZE = 25;
const QUOTE_CHIP = { sent: "Quote sent", expired: "Quote expired", approved: "Quote approved", declined: "Quote declined" };

/** The list's state from the URL, with the defaults filled in. */
function stateOf(query, admin) {
  const tabs = admin ? ADMIN_TABS : WORKER_TABS;
  const tab = tabs.some(([k]) => k === query.get("tab")) ? query.get("tab") : tabs[0][0];
  const defaultSort = tab === "open" ? "oldest" : "newest";
  const sort = ["newest", "oldest", "due"].includes(query.get("sort")) ? query.get("sort") : defaultSort;
  return {
    tab,
    q: query.get("q") || "",
    find: query.get("find") || "",
    worker: admin ? query.get("worker") || "" : "",
    stage: /^\d+$/.test(query.get("stage") || "") ? query.get("stage") : "",
    sort,
    defaultSort,
    page: Math.max(1, Number(query.get("page")) || 1),
    size: [25, 50, 100].includes(Number(query.get("size"))) ? Number(query.get("size")) : PAGE_SIZE,
  };
}

/** Writes the state into the URL (without a new history entry or a new route). */
function keepInUrl(s, admin) {
  // The address may be another page's already: a link followed while the list loaded changes
  // it at once, its hashchange (and so the router's next generation) only a moment later.
  // Writing the list over it would lose where the user went.
  if (!/^#\/tickets(\?|$)/.test(location.hash)) return;
  const tabs = admin ? ADMIN_TABS : WORKER_TABS;
  const params = {
    tab: s.tab === tabs[0][0] ? "" : s.tab,
    q: s.q,
    find: s.find,
    worker: s.worker,
    stage: s.stage,
    sort: s.sort === s.defaultSort ? "" : s.sort,
    page: s.page === 1 ? "" : s.page,
    size: s.size === PAGE_SIZE ? "" : s.size,
  };
  history.replaceState(null, "", `#/tickets${qs(params)}`);
}

export async function render(root, { query, alive }) {
  const admin = session.me.role === "admin";
  const tabs = admin ? ADMIN_TABS : WORKER_TABS;
  const s = stateOf(query || new URLSearchParams(), admin);
  const [staff, allStages] = await Promise.all([admin ? workers() : [], stages()]);
  // The user may have gone elsewhere meanwhile: this page must not draw over that one.
  if (!alive()) return undefined;

  const search = h("input", { type: "search", id: "q", value: s.q, placeholder: "Title contains…", autocomplete: "off" });
  const worker = admin
    ? h("select", { id: "worker" }, h("option", { value: "" }, "Any worker"),
      ...staff.map((w) => h("option", { value: w.id, selected: String(s.worker) === String(w.id) || null }, w.username)))
    : null;
  const byStatus = ["new", "in_progress", "done"].map((st) => [st, allStages.filter((x) => x.status === st)]).filter(([, l]) => l.length);
  const stage = h("select", { id: "stage" }, h("option", { value: "" }, "Any stage"),
    ...byStatus.map(([st, list]) => h("optgroup", { label: STATUS_LABEL[st] },
      ...list.map((x) => h("option", { value: String(x.id), selected: s.stage === String(x.id) || null }, x.name)))));
  const tabBar = h("div", { class: "tabs", role: "tablist", "aria-label": "Which tickets" });
  const status = h("p", { class: "list-status muted", role: "status", id: "list-status" });
  const results = h("div", { id: "results" });

  const countsOf = async () => {
    try {
      return await api("GET", "/tickets/counts");
    } catch (e) {
      return null;
    }
  };
  const drawTabs = (counts) => {
    redraw(tabBar, tabs.map(([key, label]) => {
      const n = counts ? counts[key] : null;
      return h("button", {
        type: "button", role: "tab", id: `tab-${key}`, "aria-selected": String(key === s.tab),
        tabindex: key === s.tab ? "0" : "-1",
        onclick: () => { s.tab = key; s.page = 1; s.sort = (key === "open" ? "oldest" : "newest"); s.defaultSort = s.sort; reload(); },
      }, label, n === null || n === undefined ? null : h("span", { class: "count" }, String(n)));
    }));
  };
  // Arrow keys move between tabs, as in any tab list.
  tabBar.addEventListener("keydown", (ev) => {
    if (!["ArrowLeft", "ArrowRight", "Home", "End"].includes(ev.key)) return;
    const all = [...tabBar.querySelectorAll('[role="tab"]')];
    const i = all.indexOf(document.activeElement);
    const next = ev.key === "Home" ? 0 : ev.key === "End" ? all.length - 1
      : (i + (ev.key === "ArrowRight" ? 1 : -1) + all.length) % all.length;
    all[next].focus();
    all[next].click();
    ev.preventDefault();
  });

  const sortButton = () => h("button", {
    type: "button", class: "sort", id: "sort-created",
    "aria-label": s.sort === "due" ? "Created; sort by it" : `Created, ${s.sort === "newest" ? "newest" : "oldest"} first; change`,
    onclick: () => { s.sort = s.sort === "newest" ? "oldest" : "newest"; s.page = 1; reload(); },
  }, "Created ", s.sort === "newest" ? "↓" : s.sort === "oldest" ? "↑" : "");
  const dueButton = () => h("button", {
    type: "button", class: "sort", id: "sort-due",
    "aria-label": s.sort === "due" ? "Due, soonest first" : "Due; sort soonest first",
    "aria-pressed": String(s.sort === "due"),
    onclick: () => { s.sort = "due"; s.page = 1; reload(); },
  }, "Due ", s.sort === "due" ? "↑" : "");
  const now = () => Date.now();
  const dueCell = (t) => {
    if (!t.due_at) return h("span", { class: "muted" }, "—");
    const late = t.status !== "done" && new Date(t.due_at).getTime() < now();
    return h("span", { class: late ? "overdue" : null }, late ? srOnly("Overdue: ") : null, timeAgo(t.due_at));
  };
  const deviceText = (d) => d ? [d.brand, d.model].filter(Boolean).join(" ") || (d.kind || "") : "";

  const row = (t) => h("tr", { class: t.new_to_me ? "new-to-me" : null },
    h("td", { "data-label": "Number" }, h("a", { href: `#/tickets/${t.id}`, "data-key": `n-${t.id}` }, `#${t.id}`)),
    h("td", { class: "title", "data-label": "Title" }, h("div", { class: "title-line" },
      t.new_to_me ? h("span", { class: "dot", title: "You have not opened this ticket yet" }, srOnly("New to you: ")) : null,
      h("a", { href: `#/tickets/${t.id}`, "data-key": `t-${t.id}` }, t.title),
      t.priority === "high" || t.priority === "urgent" ? h("span", { class: `badge prio-${t.priority}` }, t.priority === "urgent" ? "Urgent" : "High") : null,
      t.awaiting_reply ? h("span", { class: "badge awaiting", title: "The customer's message is the newest: they wait for an answer" }, "Awaits reply") : null,
      t.quote ? h("span", { class: `badge quote-${t.quote.state}`, "data-testid": "quote-chip" }, QUOTE_CHIP[t.quote.state] || "Quote") : null)),
    h("td", { "data-label": "Device" }, deviceText(t.device) || h("span", { class: "muted" }, "—")),
    h("td", { "data-label": "Customer" }, t.client.name),
    h("td", { "data-label": "Status", class: "status-cell" }, statusBadge(t.status), stageChip(t.stage)),
    admin ? h("td", { "data-label": "Worker" }, t.worker_id === null ? h("span", { class: "muted" }, "unassigned") : workerName(t.worker_id)) : null,
    h("td", { "data-label": "Due" }, dueCell(t)),
    h("td", { "data-label": "Created" }, timeAgo(t.created_at)));

  // The list's filters and order, as both the page and the export take them.
  const listParams = () => {
    const [, filter] = tabs.find(([k]) => k === s.tab).slice(1);
    return { ...filter, search: s.q, q: s.find, worker_id: s.worker, stage_id: s.stage, sort: s.sort === "newest" ? "" : s.sort };
  };
  const exportButton = admin ? h("button", { type: "button", class: "secondary", id: "export-csv" }, "Export CSV") : null;
  exportButton?.addEventListener("click", async () => {
    if (exportButton.getAttribute("aria-busy") === "true") return;
    const q = search.value.trim();
    if (q !== s.q) { s.q = q; s.page = 1; }
    exportButton.setAttribute("aria-busy", "true");
    exportButton.textContent = "Exporting…";
    try {
      const url = await blobUrl(`/tickets/export.csv${qs(listParams())}`);
      const a = h("a", { href: url, download: `tickets-${new Date().toISOString().slice(0, 10)}.csv`, hidden: true });
      document.body.append(a);
      a.click();
      a.remove();
      setTimeout(() => URL.revokeObjectURL(url), 60000);
      status.textContent = "The tickets of this list were exported as CSV.";
    } catch (e) {
      flash(`The export failed: ${e.message}`, "error");
    } finally {
      exportButton.removeAttribute("aria-busy");
      exportButton.textContent = "Export CSV";
    }
  });

  const load = async () => {
    const params = { ...listParams(), page: s.page, size: s.size };
    const [page, counts] = await Promise.all([api("GET", `/tickets/${qs(params)}`), countsOf()]);
    if (!alive()) return;
    drawTabs(counts);
    const head = ["Number", "Title", "Device", "Customer", "Status", ...(admin ? ["Worker"] : []), "due", null];
    redraw(results, [
      h("table", { class: "list cards" },
        h("thead", {}, h("tr", {}, ...head.map((c) => h("th", { scope: "col" }, c === null ? sortButton() : c === "due" ? dueButton() : c)))),
        h("tbody", {}, page.items.length ? page.items.map(row)
          : h("tr", {}, h("td", { colspan: head.length, class: "muted" }, s.q || s.find ? "No tickets match the search." : "No tickets here.")))),
      pager(page, (p) => { s.page = p; reload(); }, (n) => { s.size = n; s.page = 1; reload(); }, [25, 50, 100]),
    ]);
    const first = page.total === 0 ? 0 : (page.page - 1) * page.size + 1;
    const last = Math.min(page.total, page.page * page.size);
    status.textContent = page.total === 0 ? "No tickets." : `Tickets ${first}-${last} of ${page.total}.`;
  };
  const failed = (e) => redraw(results, [notice("error", e.message)]);
  // Whatever is typed counts at once for any change (a sort clicked before the typing pause
  // ends keeps the search).
  const reload = () => {
    const q = search.value.trim();
    if (q !== s.q) { s.q = q; s.page = 1; }
    // A page-wide notice ("password changed") belongs to the page it came with, not to later
    // searches.
    flash("");
    keepInUrl(s, admin);
    return load().catch(failed);
  };

  const typed = debounce(reload, 250);
  search.addEventListener("input", typed);
  worker?.addEventListener("change", () => { s.worker = worker.value; s.page = 1; reload(); });
  stage.addEventListener("change", () => { s.stage = stage.value; s.page = 1; reload(); });

  const badge = liveBadge();
  show(root,
    h("h1", { "data-title": admin ? "Tickets" : "My tickets" }, admin ? "Tickets" : "My tickets", badge),
    h("div", { class: "panel list-panel" },
      tabBar,
      s.find ? h("p", { class: "found" }, "Found by ", h("strong", {}, `“${s.find}”`), " (number, customer, phone, e-mail or serial). ",
        h("a", { href: "#/tickets", id: "clear-find" }, "Show all tickets")) : null,
      h("form", { class: "filters", role: "search", "aria-label": "Filter the list", onsubmit: (ev) => ev.preventDefault() },
        h("div", { class: "grow" }, h("label", { for: "q" }, "Search titles"), search),
        admin ? h("div", {}, h("label", { for: "worker" }, "Worker"), worker) : null,
        h("div", {}, h("label", { for: "stage" }, "Stage"), stage),
        exportButton ? h("div", { class: "filter-action" }, exportButton) : null),
      status,
      results));
  await load().catch(failed);
  // Nor write its state into the address of the page the user went on to.
  if (!alive()) return undefined;
  keepInUrl(s, admin);
  // New and changed tickets, and the counts, follow without a reload; focus stays put.
  const refresh = debounce(() => alive() && load().catch(() => {}));
  return follow({ onEvent: refresh, onReconnect: refresh, onState: badge.setState });
}
