// Intake at the counter: the customer (found by phone or e-mail as it is typed, or new), the
// device with its condition and what was left with it, the job, and then the receipt.

import { api } from "../api.js";
import { codeWithCopy, h, qs, show } from "../dom.js";
import { clearErrors, field, showFieldErrors } from "../components/field.js";
import { notice } from "../components/notice.js";
import { printButtons } from "../components/print.js";
import { debounce } from "../live.js";
import { session, workers } from "../session.js";

export const DEVICE_KINDS = [["phone", "Phone"], ["tablet", "Tablet"], ["laptop", "Laptop"], ["desktop", "Desktop"],
  ["console", "Console"], ["appliance", "Appliance"], ["other", "Other"]];
export const PRIORITIES = [["low", "Low"], ["normal", "Normal"], ["high", "High"], ["urgent", "Urgent"]];

/** A `datetime-local` value as RFC 3339 in the browser's zone, or null when empty. */
export function fromLocalInput(value) {
  if (!value) return null;
  const d = new Date(value);
  return Number.isNaN(d.getTime()) ? null : d.toISOString();
}

/**
 * Customers matching what is typed: for admins from the customer list; for a worker (who
 * cannot list customers) the distinct customers of the tickets `q` finds among its own.
 */
async function customersLike(text) {
  if (session.me.role === "admin") {
    return (await api("GET", `/clients/${qs({ search: text, size: 5 })}`)).items;
  }
  const page = await api("GET", `/tickets/${qs({ q: text, size: 20 })}`);
  const seen = new Map();
  for (const t of page.items) if (!seen.has(t.client.id)) seen.set(t.client.id, t.client);
  return [...seen.values()].slice(0, 5);
}

export async function render(root) {
  const admin = session.me.role === "admin";
  const staff = admin ? await workers() : [];
  const result = h("div", { "aria-live": "polite" });
  const input = (attrs) => h("input", { autocomplete: "off", ...attrs });
  const phone = input({ type: "tel", maxlength: 32, inputmode: "tel" });
  const email = input({ type: "email", required: true, maxlength: 254 });
  const name = input({ required: true, maxlength: 100 });
  const matches = h("div", { class: "matches", id: "customer-matches", "aria-live": "polite" });

  const fill = (c) => {
    name.value = c.name;
    email.value = c.email;
    phone.value = c.phone || "";
    matches.replaceChildren(h("p", { class: "muted" }, `Returning customer: ${c.name}.`));
    form.elements["device.kind"].focus();
  };
  // Typing a phone number or an e-mail looks the customer up among earlier tickets.
  const lookup = debounce(async (text) => {
    if (text.replace(/\s/g, "").length < 3) return matches.replaceChildren();
    try {
      const found = await customersLike(text);
      matches.replaceChildren(...(found.length
        ? [h("p", { class: "muted" }, "Earlier customers:"), h("ul", { class: "plain" }, ...found.map((c) => h("li", {},
          h("button", { type: "button", class: "secondary", onclick: () => fill(c) },
            `Use ${c.name}`), " ", h("span", { class: "muted" }, [c.phone, c.email].filter(Boolean).join(" · ")))))]
        : [h("p", { class: "muted" }, "No earlier customer: this one is new.")]));
    } catch (e) {
      matches.replaceChildren();
    }
  }, 300);
  phone.addEventListener("input", () => lookup(phone.value));
  email.addEventListener("input", () => lookup(email.value));

  const select = (options, attrs = {}) => h("select", attrs, ...options.map(([v, l]) => h("option", { value: v }, l)));
  const priority = select(PRIORITIES);
  priority.value = "normal";
  const worker = admin
    ? h("select", {}, h("option", { value: "" }, "Automatic assignment"), ...staff.map((w) => h("option", { value: w.id }, w.username)))
    : null;

  const form = h("form", { class: "stack intake", novalidate: true },
    h("fieldset", {}, h("legend", {}, "Customer"),
      field("Phone", "client.phone", phone, "(type it first: earlier customers show up)"),
      matches,
      field("E-mail", "client.email", email),
      field("Name", "client.name", name)),
    h("fieldset", {}, h("legend", {}, "Device"),
      h("div", { class: "row2" },
        field("Kind", "device.kind", select([["", "Choose…"], ...DEVICE_KINDS])),
        field("Brand", "device.brand", input({ maxlength: 64 }))),
      h("div", { class: "row2" },
        field("Model", "device.model", input({ maxlength: 64 })),
        field("Serial or IMEI", "device.serial", input({ maxlength: 64, autocapitalize: "characters", spellcheck: "false" }))),
      field("Condition at intake", "device.condition", h("textarea", { maxlength: 1000, rows: 2, placeholder: "Scratches, cracks, water damage…" })),
      field("Left with it", "device.accessories", input({ maxlength: 500, placeholder: "Charger, case, SIM…" }))),
    h("fieldset", {}, h("legend", {}, "Job"),
      field("What needs repair?", "title", input({ required: true, maxlength: 200 })),
      field("Fault as described", "description", h("textarea", { required: true, maxlength: 5000, rows: 3 })),
      h("div", { class: "row2" },
        field("Priority", "priority", priority),
        field("Promised for", "due_at", input({ type: "datetime-local" }), "(optional)")),
      admin ? field("Worker", "worker_id", worker) : null),
    h("div", { class: "actions" }, h("button", { class: "primary", type: "submit" }, "Save intake")));

  form.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    clearErrors(form);
    result.replaceChildren();
    const v = (n) => form.elements[n].value.trim();
    const device = {};
    for (const k of ["brand", "model", "serial", "condition", "accessories"]) if (v(`device.${k}`)) device[k] = v(`device.${k}`);
    if (v("device.kind")) device.kind = v("device.kind");
    const body = {
      title: v("title"),
      description: v("description"),
      client: { name: v("client.name"), email: v("client.email"), phone: v("client.phone") || null },
      device: Object.keys(device).length ? device : null,
      priority: priority.value,
      due_at: fromLocalInput(form.elements.due_at.value),
      worker_id: worker && worker.value ? Number(worker.value) : null,
    };
    const button = form.querySelector("button[type=submit]");
    button.disabled = true;
    try {
      const t = await api("POST", "/tickets/", body);
      form.reset();
      priority.value = "normal";
      matches.replaceChildren();
      result.replaceChildren(notice("ok",
        h("strong", {}, `Saved as #${t.id}.`),
        h("p", {}, "Tracking code: ", codeWithCopy(t.tracking_code, "tracking code", "tracking-code")),
        h("p", { class: "actions" }, ...printButtons(t.id), h("a", { href: `#/tickets/${t.id}` }, `Open #${t.id}`))));
      result.querySelector("#print-receipt").focus();
    } catch (e) {
      if (e.code === "duplicate_ticket") {
        result.replaceChildren(notice("error", "This customer already has this exact request open. Find it in the list instead of taking it in twice."));
      } else if (e.code === "invalid_worker") {
        showFieldErrors(form, [{ field: "worker_id", message: "Worker must be an active worker; choose another or automatic assignment." }]);
      } else if (e.code === "validation_error" && showFieldErrors(form, e.fields)) {
        result.replaceChildren(notice("error", "Please correct the highlighted fields."));
      } else {
        result.replaceChildren(notice("error", e.message));
      }
    } finally {
      button.disabled = false;
    }
  });
  show(root, h("h1", {}, "New intake"), h("div", { class: "panel narrow" }, result, form));
  phone.focus();
}
