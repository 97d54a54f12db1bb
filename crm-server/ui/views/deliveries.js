// One webhook endpoint's delivery log (admins): every notification with its status and each
// attempt (time, HTTP status, error), newest first, and a retry for those not pending.

import { api } from "../api.js";
import { cardTable, fmtTime, h, qs, show, srOnly } from "../dom.js";
import { notice } from "../components/notice.js";
import { pager } from "../components/pager.js";
import { EVENT_LABEL, health } from "./webhooks.js";

const STATE = { pending: "Pending", delivered: "Delivered", failed: "Failed", disabled: "Disabled" };
const BADGE = { pending: "new", delivered: "done", failed: "failed", disabled: "failed" };
// A retry means something only for what will not be attempted again on its own.
const RETRYABLE = new Set(["failed", "disabled"]);

/** A delivery's state; a pending one that has already failed says so. */
function stateBadge(d) {
  if (d.status === "pending" && d.attempts > 0 && d.last_error) {
    return h("span", { class: "badge failed" }, "Retrying");
  }
  return h("span", { class: `badge ${BADGE[d.status]}` }, STATE[d.status] || d.status);
}

function result(a) {
  if (!a) return "—";
  return a.status_code ? `HTTP ${a.status_code}` : a.error;
}

export async function render(root, { id, alive }) {
  const filters = { page: 1, size: 20 };
  const msg = h("div", { "aria-live": "polite" });
  const list = h("div");
  const { items } = await api("GET", "/webhooks");
  const hook = items.find((w) => w.id === id);
  if (!hook) {
    show(root, h("h1", {}, "Webhook not found"), h("p", {}, h("a", { href: "#/webhooks" }, "Back to webhooks")));
    return;
  }
  const state = h("span");
  const drawState = (w) => state.replaceChildren(" ", health(w));
  drawState(hook);
  const load = async () => {
    const [page, hooks] = await Promise.all([api("GET", `/webhooks/${id}/deliveries${qs(filters)}`), api("GET", "/webhooks")]);
    if (!alive()) return;
    const now = hooks.items.find((w) => w.id === id);
    if (now) drawState(now);
    list.replaceChildren(h("div", { class: "table-wrap" }, cardTable(["Id", "Event", "Request", "State", "Attempts", "Last result", "Next attempt", srOnly("Actions")],
      page.items.length ? page.items.map((d) => h("tr", { "data-delivery": d.id },
        h("td", {}, h("span", { class: "code" }, `msg_${d.id}`)),
        h("td", {}, EVENT_LABEL[d.event_type] || d.event_type, h("div", { class: "muted" }, fmtTime(d.created_at))),
        h("td", {}, h("a", { href: `#/tickets/${d.ticket_id}` }, `#${d.ticket_id}`)),
        h("td", {}, stateBadge(d)),
        h("td", {}, d.log.length ? h("details", {}, h("summary", {}, String(d.attempts)),
          h("ol", { class: "attempts" }, d.log.map((a) => h("li", {}, `${fmtTime(a.at)}: ${result(a)}`)))) : String(d.attempts)),
        h("td", {}, result(d.log[d.log.length - 1])),
        h("td", {}, d.status === "pending" ? fmtTime(d.next_attempt_at) : "—"),
        h("td", {}, !RETRYABLE.has(d.status) ? "" : h("button", { class: "secondary", type: "button", "aria-label": `Retry msg_${d.id}`, onclick: async () => {
          try {
            await api("POST", `/webhooks/${id}/deliveries/${d.id}/retry`);
            msg.replaceChildren(notice("ok", `msg_${d.id} is queued for another attempt.`));
            await load();
          } catch (e) {
            msg.replaceChildren(notice("error", e.message));
          }
        } }, "Retry"))))
        : [h("tr", {}, h("td", { colspan: 8, class: "muted" }, "Nothing delivered yet: deliveries start with the next event."))])),
    pager(page, (p) => { filters.page = p; load(); }, (s) => { filters.size = s; filters.page = 1; load(); }));
  };
  const refresh = h("button", { class: "secondary", type: "button", onclick: () => load() }, "Refresh");
  show(root, h("h1", {}, "Deliveries"),
    h("p", {}, h("a", { href: "#/webhooks" }, "‹ Webhooks"), " · ", h("span", { class: "code" }, hook.url), state),
    msg, h("div", { class: "actions" }, refresh), h("section", { class: "panel" }, list));
  await load();
}
