// Customers (admins): the list the counter searches by name, e-mail or phone; one customer
// with their tickets, the correction form and the history.

import { api } from "../api.js";
import { cardTable, h, qs, redraw, show, statusBadge, timeAgo } from "../dom.js";
import { clearErrors, field, showFieldErrors } from "../components/field.js";
import { flash, notice } from "../components/notice.js";
import { pager } from "../components/pager.js";
import { debounce } from "../live.js";
import { workerName } from "../session.js";

export async function render(root, { id }) {
  return id ? one(root, id) : list(root);
}

async function list(root) {
  const s = { search: "", page: 1, size: 25 };
  const search = h("input", { type: "search", id: "customer-search", autocomplete: "off", placeholder: "Name, e-mail or phone" });
  const status = h("p", { class: "list-status muted", role: "status", id: "customer-status" });
  const results = h("div");
  const load = async () => {
    const page = await api("GET", `/clients/${qs({ search: s.search, page: s.page, size: s.size })}`);
    const rows = page.items.map((c) => h("tr", {},
      h("td", {}, h("a", { href: `#/customers/${c.id}`, "data-key": `c-${c.id}` }, c.name)),
      h("td", {}, c.phone ? h("a", { href: `tel:${c.phone.replace(/[^\d+]/g, "")}` }, c.phone) : h("span", { class: "muted" }, "—")),
      h("td", {}, c.email),
      h("td", {}, `${c.ticket_count}`, c.open_ticket_count ? h("span", { class: "muted" }, ` (${c.open_ticket_count} open)`) : null),
      h("td", {}, timeAgo(c.created_at))));
    redraw(results, [
      h("div", { class: "table-wrap" }, cardTable(["Name", "Phone", "E-mail", "Tickets", "Customer since"],
        rows.length ? rows : [h("tr", {}, h("td", { colspan: 5, class: "muted" }, s.search ? "No customer matches." : "No customers yet."))])),
      pager(page, (p) => { s.page = p; load(); }, (n) => { s.size = n; s.page = 1; load(); }, [25, 50, 100]),
    ]);
    status.textContent = page.total === 0 ? "No customers." : `${page.total} customer${page.total === 1 ? "" : "s"}.`;
  };
  search.addEventListener("input", debounce(() => { s.search = search.value.trim(); s.page = 1; load(); }, 250));
  show(root, h("h1", {}, "Customers"),
    h("div", { class: "panel" },
      h("form", { class: "filters", role: "search", "aria-label": "Find a customer", onsubmit: (ev) => ev.preventDefault() },
        h("div", { class: "grow" }, h("label", { for: "customer-search" }, "Find a customer"), search)),
      status, results));
  await load();
  search.focus();
}

const FIELD = { name: "name", email: "e-mail", phone: "phone" };

async function one(root, id) {
  const [c, history, tickets] = await Promise.all([
    api("GET", `/clients/${id}`), api("GET", `/clients/${id}/history`),
    api("GET", `/tickets/${qs({ client_id: id, size: 100 })}`)]);
  const msg = h("div", { "aria-live": "polite" });
  const input = (attrs, v) => h("input", { autocomplete: "off", value: v || "", ...attrs });
  const form = h("form", { class: "stack", novalidate: true },
    field("Name", "name", input({ required: true, maxlength: 100 }, c.name)),
    field("E-mail", "email", input({ type: "email", required: true, maxlength: 254 }, c.email)),
    field("Phone", "phone", input({ type: "tel", maxlength: 32 }, c.phone), "(blank: none)"),
    h("div", { class: "actions" }, h("button", { class: "primary", type: "submit", id: "save-customer" }, "Save customer")));
  form.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    clearErrors(form);
    msg.replaceChildren();
    const v = (n) => form.elements[n].value.trim();
    try {
      await api("PATCH", `/clients/${id}`, { name: v("name"), email: v("email"), phone: v("phone") || null });
      flash("The customer is updated.", "ok");
      await one(root, id);
      document.getElementById("save-customer")?.focus();
    } catch (e) {
      if (e.code === "email_taken") showFieldErrors(form, [{ field: "email", message: "E-mail belongs to another customer; customers are told apart by it." }]);
      else if (!(e.code === "validation_error" && showFieldErrors(form, e.fields))) msg.replaceChildren(notice("error", e.message));
    }
  });
  const ticketRows = tickets.items.map((t) => h("tr", {},
    h("td", {}, h("a", { href: `#/tickets/${t.id}` }, `#${t.id}`)),
    h("td", {}, h("a", { href: `#/tickets/${t.id}` }, t.title)), h("td", {}, statusBadge(t.status)), h("td", {}, timeAgo(t.created_at))));
  show(root,
    h("p", { class: "back" }, h("a", { href: "#/customers" }, "← Customers")),
    h("h1", { "data-title": c.name }, c.name),
    h("p", { class: "muted" }, `${c.ticket_count} ticket${c.ticket_count === 1 ? "" : "s"}, ${c.open_ticket_count} open. Customer since `, timeAgo(c.created_at), "."),
    h("div", { class: "columns" },
      h("div", {},
        h("section", { class: "panel" }, h("h2", {}, "Tickets"),
          h("div", { class: "table-wrap" }, cardTable(["Number", "Title", "Status", "Created"],
            ticketRows.length ? ticketRows : [h("tr", {}, h("td", { colspan: 4, class: "muted" }, "No tickets."))])))),
      h("div", {},
        h("section", { class: "panel" }, h("h2", {}, "Details"), msg, form),
        h("section", { class: "panel" }, h("h2", {}, "History"),
          h("ol", { class: "timeline" }, ...history.items.map((e) => h("li", {}, timeAgo(e.at), " ",
            e.kind === "created" ? "First request" : `Corrected: ${e.changes.map((x) => `${FIELD[x.field] || x.field} ${x.from ?? "—"} → ${x.to ?? "—"}`).join("; ")}`,
            e.actor_id ? h("span", { class: "muted" }, ` — by ${workerName(e.actor_id)}`) : null)))))));
}
