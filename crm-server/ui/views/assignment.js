// Automatic assignment settings (admins): the mode and the per-worker limit.

import { api } from "../api.js";
import { h, show } from "../dom.js";
import { clearErrors, field, showFieldErrors } from "../components/field.js";
import { notice } from "../components/notice.js";

const MODES = [
  ["off", "Off: tickets wait for an admin"],
  ["least_open", "Least open: to the available worker with the fewest open tickets"],
  ["round_robin", "Round robin: to each available worker in turn"],
];

export async function render(root) {
  const current = await api("GET", "/settings/assignment");
  const msg = h("div", { "aria-live": "polite" });
  const mode = h("select", {}, ...MODES.map(([v, l]) => h("option", { value: v, selected: current.mode === v || null }, l)));
  const limit = h("input", { type: "number", min: 1, step: 1, inputmode: "numeric", value: current.max_open_per_worker ?? "" });
  const form = h("form", { class: "stack", novalidate: true },
    field("Mode", "mode", mode),
    field("Open tickets per worker at most", "max_open_per_worker", limit, "(empty: no limit)"),
    h("div", { class: "actions" }, h("button", { class: "primary", type: "submit" }, "Save")));
  form.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    clearErrors(form);
    msg.replaceChildren();
    const max = limit.value.trim() === "" ? null : Number(limit.value);
    try {
      const saved = await api("PUT", "/settings/assignment", { mode: mode.value, max_open_per_worker: max });
      msg.replaceChildren(notice("ok", saved.mode === "off"
        ? "Automatic assignment is off."
        : "Saved. New tickets, and those waiting, go to available workers automatically."));
    } catch (e) {
      if (!(e.code === "validation_error" && showFieldErrors(form, e.fields))) msg.replaceChildren(notice("error", e.message));
    }
  });
  show(root, h("h1", {}, "Assignment"),
    h("div", { class: "panel narrow" },
      h("p", { class: "muted" }, "Only available workers are chosen; a worker at the limit is skipped until a ticket is done. Assigning by hand always works."),
      msg, form));
}
