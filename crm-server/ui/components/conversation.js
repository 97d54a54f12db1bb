// The conversation on a ticket. Staff see every message, internal notes marked apart from
// what the customer reads, and choose the audience with the button they press: nothing is
// sent to the customer by default. The customer's page shows only their side. Every message
// is shown as text.

import { api } from "../api.js";
import { h, timeAgo } from "../dom.js";
import { flash, notice } from "./notice.js";
import { clearErrors, field, showFieldErrors } from "./field.js";

function item(m, staff) {
  const fromCustomer = m.author.kind === "customer";
  const kind = fromCustomer ? "from-customer" : m.visibility === "internal" ? "internal" : "to-customer";
  const tag = fromCustomer ? "From the customer" : !staff ? "From the shop" : m.visibility === "internal" ? "Internal note" : "Sent to the customer";
  return h("li", { class: `msg msg-${kind}`, "data-testid": "message", "data-kind": kind },
    h("div", { class: "msg-head" }, h("strong", {}, m.author.name), h("span", { class: "msg-tag" }, tag), timeAgo(m.created_at)),
    h("p", { class: "msg-body" }, m.body));
}

/** Every message at `path`, oldest first (pages followed by cursor). */
async function readAll(path) {
  const items = [];
  let cursor = "";
  for (let i = 0; i < 50; i++) {
    const page = await api("GET", `${path}?size=100${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ""}`);
    items.push(...page.items);
    if (!page.next_cursor) break;
    cursor = page.next_cursor;
  }
  return items;
}

/**
 * The conversation panel over `path` (`/tickets/{id}/messages` for staff, the public one
 * for the customer). The panel is made once and kept across redraws (what is typed stays);
 * `panel.refresh()` reads the messages again.
 */
export function conversation({ path, staff }) {
  const list = h("ol", { class: "messages", "data-testid": "messages" });
  const body = h("textarea", { rows: 3, maxlength: 5000, required: true });
  const msg = h("div", { "aria-live": "polite" });
  const send = (id, value, label, cls) => h("button", { type: "submit", class: cls, id, value }, label);
  const buttons = staff
    ? [send("send-internal", "internal", "Add internal note", "secondary"), send("send-customer", "customer", "Send to customer", "primary")]
    : [send("send-message", "customer", "Send message", "primary")];
  const form = h("form", { class: "stack composer", novalidate: true },
    field(staff ? "Note or reply" : "Your message to the shop", "body", body,
      staff ? "(internal notes stay among staff; “Send to customer” also e-mails them)" : null),
    msg, h("div", { class: "actions" }, ...buttons));
  const panel = h("section", { class: "panel conversation", "aria-labelledby": "conversation-title" },
    h("h2", { id: "conversation-title" }, staff ? "Conversation" : "Messages"), list, form);
  let busy = false;
  form.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    if (busy) return;
    clearErrors(form);
    msg.replaceChildren();
    const visibility = (ev.submitter && ev.submitter.value) || (staff ? "" : "customer");
    if (!body.value.trim()) {
      showFieldErrors(form, [{ field: "body", message: "Write a message before sending it." }]);
      return;
    }
    busy = true;
    try {
      await api("POST", path, staff ? { body: body.value, visibility } : { body: body.value });
      body.value = "";
      flash(visibility === "internal" ? "Internal note added." : staff ? "Message sent to the customer." : "Message sent. The shop will answer here.", "ok");
      await panel.refresh();
    } catch (e) {
      if (e.status === 401) return;
      if (e.code === "rate_limited") msg.replaceChildren(notice("error", e.message));
      else if (!(e.code === "validation_error" && showFieldErrors(form, e.fields || []))) msg.replaceChildren(notice("error", e.message));
    } finally {
      busy = false;
      body.focus();
    }
  });
  panel.refresh = async () => {
    const items = await readAll(path);
    list.replaceChildren(...(items.length
      ? items.map((m) => item(m, staff))
      : [h("li", { class: "muted empty" }, staff ? "No messages yet." : "No messages yet. Write to the shop below.")]));
  };
  return panel;
}
