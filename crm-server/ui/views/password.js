// Changing one's own password. While the account must change its password (a documented
// default, or a reset by an admin), every staff page leads here first.

import { api, token } from "../api.js";
import { h, show } from "../dom.js";
import { clearErrors, field, showFieldErrors } from "../components/field.js";
import { flashNext, notice } from "../components/notice.js";
import { loadMe, session } from "../session.js";

export function render(root) {
  const forced = session.me.must_change_password;
  const msg = h("div", { "aria-live": "polite" });
  const form = h("form", { class: "stack", novalidate: true },
    field("Current password", "current_password", h("input", { type: "password", required: true, autocomplete: "current-password" })),
    field("New password", "new_password", h("input", { type: "password", required: true, minlength: 8, maxlength: 128, autocomplete: "new-password" }), "(8-128 characters, not your username)"),
    field("Repeat the new password", "repeat", h("input", { type: "password", required: true, autocomplete: "new-password" })),
    h("div", { class: "actions" }, h("button", { class: "primary", type: "submit" }, "Change password")));
  form.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    clearErrors(form);
    msg.replaceChildren();
    const f = form.elements;
    if (f.new_password.value !== f.repeat.value) {
      showFieldErrors(form, [{ field: "repeat", message: "The two new passwords differ." }]);
      return;
    }
    try {
      const t = await api("POST", "/auth/password", { current_password: f.current_password.value, new_password: f.new_password.value });
      token.set(t.access_token);
      await loadMe();
      flashNext("Your password was changed. Other sessions of this account are signed out.", "ok");
      location.hash = "#/tickets";
    } catch (e) {
      if (e.code === "validation_error" && showFieldErrors(form, e.fields)) return;
      msg.replaceChildren(notice("error", e.code === "too_many_attempts"
        ? `Too many wrong passwords. Try again in ${e.retryAfter || 1} seconds.` : e.message));
    }
  });
  show(root,
    h("h1", {}, forced ? "Choose a new password" : "Change your password"),
    h("div", { class: "panel narrow" },
      forced ? notice("info", session.me.username === "admin" || session.me.username === "worker"
        ? "This account still uses its default password. Choose your own before you continue."
        : "An admin set a temporary password for this account. Choose your own before you continue.") : null,
      msg, form),
  );
}
