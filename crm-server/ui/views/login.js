// Staff sign-in.

import { api, token } from "../api.js";
import { h, show } from "../dom.js";
import { field } from "../components/field.js";
import { flash, notice } from "../components/notice.js";
import { loadMe, session } from "../session.js";

export function render(root) {
  if (session.me) {
    location.hash = "#/tickets";
    return;
  }
  const err = h("div", { "aria-live": "assertive" });
  const form = h("form", { class: "stack" },
    field("Username", "username", h("input", { required: true, autocomplete: "username" })),
    field("Password", "password", h("input", { type: "password", required: true, autocomplete: "current-password" })),
    h("div", { class: "actions" }, h("button", { class: "primary", type: "submit" }, "Sign in")));
  form.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    err.replaceChildren();
    try {
      const t = await api("POST", "/auth/login", { username: form.elements.username.value, password: form.elements.password.value });
      token.set(t.access_token);
      flash("");
      const me = await loadMe();
      location.hash = me && me.must_change_password ? "#/password" : "#/tickets";
    } catch (e) {
      const text = e.code === "invalid_credentials" ? "Wrong username or password."
        : e.code === "too_many_attempts" ? `Too many failed sign-ins for this account. Try again in ${e.retryAfter || 1} seconds.`
        : e.code === "rate_limited" ? `Too many sign-in attempts from your address. Try again in ${e.retryAfter || 1} seconds.`
        : e.message;
      err.replaceChildren(notice("error", text));
      form.elements.password.value = "";
      form.elements.password.focus();
    }
  });
  show(root, h("h1", {}, "Staff sign-in"), h("div", { class: "panel narrow" }, err, form));
}
