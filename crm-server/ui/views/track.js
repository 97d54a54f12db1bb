// The public tracking page: a request's progress for whoever holds its code.

import { api } from "../api.js";
import { fmtTime, h, show, statusBadge } from "../dom.js";
import { field } from "../components/field.js";
import { notice } from "../components/notice.js";

export async function render(root, { code }) {
  const out = h("div", { "aria-live": "polite" });
  const input = h("input", { required: true, autocomplete: "off", value: code || "" });
  const form = h("form", { class: "stack" }, field("Tracking code", "code", input),
    h("div", { class: "actions" }, h("button", { class: "primary", type: "submit" }, "Show progress")));
  form.addEventListener("submit", (ev) => {
    ev.preventDefault();
    location.hash = `#/track/${encodeURIComponent(input.value.trim())}`;
  });
  show(root, h("h1", {}, "Track a request"), h("div", { class: "panel narrow" }, form, out));
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
    out.replaceChildren(notice("error",
      e.status === 404 ? "No request has this tracking code. Check it and try again." : e.message));
  }
}
