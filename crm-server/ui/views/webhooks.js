// Webhook endpoints (admins): add one with the event types it receives (its signing secret
// is shown once), see whether each is enabled, remove one, and open its delivery log.

import { api } from "../api.js";
import { cardTable, copyButton, h, show, srOnly, timeAgo } from "../dom.js";
import { clearErrors, field, showFieldErrors } from "../components/field.js";
import { notice } from "../components/notice.js";

export const EVENT_LABEL = {
  "ticket.submitted": "A request is submitted",
  "ticket.assigned": "A request is assigned",
  "ticket.released": "A request goes back to the queue",
  "ticket.status_changed": "A request's status changes",
  "ticket.edited": "A request's details are corrected",
};

/** How an endpoint is doing, from its recent attempts: failing endpoints look failing. */
export function health(w) {
  if (!w.enabled) {
    return h("span", { class: "badge failed", title: "The endpoint answered 410 Gone. Retry one of its deliveries to enable it again." }, "Disabled by a 410");
  }
  if (w.failing) {
    return h("span", {}, h("span", { class: "badge failed" }, "Failing"),
      h("span", { class: "muted" }, ` ${w.recent_failures} of the last attempts failed`));
  }
  if (!w.last_attempt_at) return h("span", { class: "badge off" }, "No deliveries yet");
  return h("span", {}, h("span", { class: "badge done" }, "Delivering"), " ", h("span", { class: "muted" }, "last "), timeAgo(w.last_delivered_at || w.last_attempt_at));
}

export async function render(root) {
  const msg = h("div", { "aria-live": "polite" });
  const list = h("div");
  const dialog = h("dialog", { "aria-labelledby": "hook-dialog-title" });
  // The secret leaves the page with its dialog, however the dialog is closed.
  dialog.addEventListener("close", () => dialog.replaceChildren());
  const load = async () => {
    const { items } = await api("GET", "/webhooks");
    list.replaceChildren(h("div", { class: "table-wrap" }, cardTable(["URL", "Events", "Health", "Added", srOnly("Actions")],
      items.length ? items.map((w) => h("tr", {},
        h("td", { class: "url" }, w.url),
        h("td", {}, w.events.map((e) => EVENT_LABEL[e] || e).join("; ")),
        h("td", {}, health(w)),
        h("td", {}, timeAgo(w.created_at)),
        h("td", {}, h("span", { class: "row-actions" },
          h("a", { class: "button secondary", href: `#/webhooks/${w.id}`, "aria-label": `Deliveries to ${w.url}` }, "Deliveries"),
          h("button", { class: "secondary", type: "button", "aria-label": `Remove ${w.url}`, onclick: () => confirmRemove(w) }, "Remove")))),
      ) : [h("tr", {}, h("td", { colspan: 5, class: "muted" }, "No webhooks yet."))])));
  };
  const confirmRemove = (w) => {
    dialog.replaceChildren(
      h("h2", { id: "hook-dialog-title" }, "Remove this webhook?"),
      h("p", {}, "Nothing more is sent to ", h("span", { class: "code" }, w.url), ", and its delivery log is deleted."),
      h("div", { class: "actions" },
        h("button", { class: "danger", type: "button", onclick: async () => {
          dialog.close();
          try {
            await api("DELETE", `/webhooks/${w.id}`);
            msg.replaceChildren(notice("ok", "The webhook was removed."));
            await load();
          } catch (e) {
            msg.replaceChildren(notice("error", e.message));
          }
        } }, "Remove"),
        h("button", { class: "secondary", type: "button", onclick: () => dialog.close() }, "Cancel")));
    dialog.showModal();
  };
  const url = h("input", { type: "url", required: true, autocomplete: "off", placeholder: "https://example.com/hooks/repairs" });
  const boxes = Object.entries(EVENT_LABEL).map(([value, label]) => {
    const id = `ev-${value.replace(/\W/g, "-")}`;
    return h("div", { class: "choice" }, h("input", { type: "checkbox", id, value, checked: value !== "ticket.released" || null }), h("label", { for: id }, label));
  });
  const events = h("fieldset", { class: "field events" }, h("legend", {}, "Send when"), ...boxes,
    h("div", { class: "field-error", "data-error-for": "events", "aria-live": "polite" }));
  const form = h("form", { class: "stack", novalidate: true },
    field("Endpoint URL", "url", url),
    events,
    h("div", { class: "actions" }, h("button", { class: "primary", type: "submit" }, "Add webhook")));
  form.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    clearErrors(form);
    msg.replaceChildren();
    const chosen = boxes.map((b) => b.querySelector("input")).filter((i) => i.checked).map((i) => i.value);
    if (!chosen.length) {
      showFieldErrors(form, [{ field: "events", message: "Choose at least one event." }]);
      return;
    }
    try {
      const w = await api("POST", "/webhooks", { url: url.value.trim(), events: chosen });
      form.reset();
      dialog.replaceChildren(
        h("h2", { id: "hook-dialog-title" }, "Webhook added"),
        h("p", {}, "Copy its signing secret now: it is not shown again. Check each delivery's ",
          h("span", { class: "code" }, "webhook-signature"), " header with it (Standard Webhooks)."),
        h("p", { class: "code-copy" }, h("span", { class: "code secret", "data-testid": "webhook-secret" }, w.secret), copyButton(w.secret, "signing secret")),
        h("div", { class: "actions" }, h("button", { class: "primary", type: "button", onclick: () => { dialog.close(); dialog.replaceChildren(); } }, "Done")));
      dialog.showModal();
      msg.replaceChildren(notice("ok", `Deliveries to ${w.url} start with the next event.`));
      await load();
    } catch (e) {
      if (!(e.code === "validation_error" && showFieldErrors(form, e.fields))) msg.replaceChildren(notice("error", e.message));
    }
  });
  show(root, h("h1", {}, "Webhooks"), msg,
    h("section", { class: "panel narrow" }, h("h2", {}, "New webhook"),
      h("p", { class: "muted" }, "Each event is POSTed as JSON, signed, and retried for up to a day and a half when the endpoint fails. An endpoint that answers 410 Gone is disabled."),
      form),
    h("section", { class: "panel" }, list), dialog);
  await load();
}
