// Form fields with their error slot, named by the API's field paths so that a
// validation_error's fields land next to what the user typed.

import { h } from "../dom.js";

/** A labelled field; `name` is the API's field path. */
export function field(label, name, input, hint) {
  const id = `f-${name.replace(/\W/g, "-")}`;
  input.id = id;
  input.name = name;
  const err = h("div", { class: "field-error", id: `${id}-err`, "data-error-for": name });
  input.setAttribute("aria-describedby", `${id}-err`);
  return h("div", { class: "field" }, h("label", { for: id }, label, hint ? h("span", { class: "hint" }, ` ${hint}`) : null), input, err);
}

export function clearErrors(form) {
  form.querySelectorAll("[data-error-for]").forEach((e) => (e.textContent = ""));
  form.querySelectorAll("[aria-invalid]").forEach((e) => e.removeAttribute("aria-invalid"));
}

/** Puts each field error next to its field; true when at least one found its place. */
export function showFieldErrors(form, fields) {
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
