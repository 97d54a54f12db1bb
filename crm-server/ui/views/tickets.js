// The ticket list: every ticket for admins, their own for workers, with search, filters and
// paging. The filters are kept while the tab lives, so returning to the list keeps them.

import { api } from "../api.js";
import { STATUS_LABEL, fmtTime, h, qs, show, statusBadge } from "../dom.js";
import { notice } from "../components/notice.js";
import { pager } from "../components/pager.js";
import { liveBadge } from "../components/live-badge.js";
import { debounce, follow } from "../live.js";
import { session, workerName, workers } from "../session.js";

const filters = { page: 1, size: 10, search: "", status: "", worker_id: "" };

export async function render(root, { alive }) {
  const admin = session.me.role === "admin";
  const staff = admin ? await workers() : [];
  const search = h("input", { type: "search", id: "q", value: filters.search, placeholder: "Title contains…" });
  const status = h("select", { id: "st" }, h("option", { value: "" }, "Any status"),
    ...Object.entries(STATUS_LABEL).map(([v, l]) => h("option", { value: v, selected: filters.status === v || null }, l)));
  const worker = admin
    ? h("select", { id: "wk" }, h("option", { value: "" }, "Any worker"),
      ...staff.map((w) => h("option", { value: w.id, selected: String(filters.worker_id) === String(w.id) || null }, w.username)))
    : null;
  const form = h("form", { class: "filters", role: "search" },
    h("div", {}, h("label", { for: "q" }, "Search"), search),
    h("div", {}, h("label", { for: "st" }, "Status"), status),
    admin ? h("div", {}, h("label", { for: "wk" }, "Worker"), worker) : h("div", {}),
    h("button", { class: "primary", type: "submit" }, "Apply"));
  const results = h("div", { "aria-live": "polite" });
  const load = async () => {
    const page = await api("GET", `/tickets/${qs({ page: filters.page, size: filters.size, search: filters.search, status: filters.status, worker_id: admin ? filters.worker_id : "" })}`);
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
      pager(page, (p) => { filters.page = p; load(); }, (s) => { filters.size = s; filters.page = 1; load(); }),
    );
  };
  form.addEventListener("submit", (ev) => {
    ev.preventDefault();
    Object.assign(filters, { search: search.value.trim(), status: status.value, worker_id: worker ? worker.value : "", page: 1 });
    load().catch((e) => results.replaceChildren(notice("error", e.message)));
  });
  const badge = liveBadge();
  show(root, h("h1", {}, admin ? "All tickets" : "My tickets", badge), h("div", { class: "panel" }, form, results));
  await load();
  // New and changed tickets appear without a reload.
  const refresh = debounce(() => alive() && load().catch(() => {}));
  return follow({ onEvent: refresh, onReconnect: refresh, onState: badge.setState });
}
