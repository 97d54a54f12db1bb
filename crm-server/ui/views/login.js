// Staff sign-in: the password, then, for an account with two-factor sign-in, the code from
// its authenticator app (or a recovery code) as a second step.

import { api, token } from "../api.js";
import { h, show } from "../dom.js";
import { field } from "../components/field.js";
import { flash, notice } from "../components/notice.js";
import { loadMe, session } from "../session.js";

function refusal(e) {
  return e.code === "invalid_credentials" ? "Wrong username or password."
    : e.code === "totp_invalid" ? "The code is not right, has expired, or was used already. Type the code your app shows now, or one of your recovery codes."
    : e.code === "too_many_attempts" ? `Too many failed sign-ins for this account. Try again in ${e.retryAfter || 1} seconds.`
    : e.code === "rate_limited" ? `Too many sign-in attempts from your address. Try again in ${e.retryAfter || 1} seconds.`
    : e.message;
}

export function render(root) {
  if (session.me) {
    location.hash = "#/tickets";
    return;
  }
  const err = h("div", { "aria-live": "assertive" });
  const panel = h("div", { class: "panel narrow" });
  const signIn = async (credentials) => {
    const t = await api("POST", "/auth/login", credentials);
    token.set(t.access_token);
    flash("");
    const me = await loadMe();
    location.hash = me && me.must_change_password ? "#/password" : "#/tickets";
  };

  const passwordStep = () => {
    const form = h("form", { class: "stack" },
      field("Username", "username", h("input", { required: true, autocomplete: "username" })),
      field("Password", "password", h("input", { type: "password", required: true, autocomplete: "current-password" })),
      h("div", { class: "actions" }, h("button", { class: "primary", type: "submit" }, "Sign in")));
    form.addEventListener("submit", async (ev) => {
      ev.preventDefault();
      err.replaceChildren();
      const credentials = { username: form.elements.username.value, password: form.elements.password.value };
      try {
        await signIn(credentials);
      } catch (e) {
        if (e.code === "totp_required") {
          codeStep(credentials);
          return;
        }
        err.replaceChildren(notice("error", refusal(e)));
        form.elements.password.value = "";
        form.elements.password.focus();
      }
    });
    panel.replaceChildren(err, form);
    return form;
  };

  const codeStep = (credentials) => {
    const form = h("form", { class: "stack" },
      h("p", {}, `${credentials.username} signs in with two factors.`),
      field("Code from your authenticator app", "totp_code",
        h("input", { required: true, inputmode: "numeric", autocomplete: "one-time-code", maxlength: 32 }),
        "(or a recovery code)"),
      h("div", { class: "actions" },
        h("button", { class: "primary", type: "submit" }, "Sign in"),
        h("button", { class: "secondary", type: "button", id: "login-back", onclick: () => passwordStep().elements.username.focus() }, "Back")));
    form.addEventListener("submit", async (ev) => {
      ev.preventDefault();
      err.replaceChildren();
      try {
        await signIn({ ...credentials, totp_code: form.elements.totp_code.value.trim() });
      } catch (e) {
        err.replaceChildren(notice("error", refusal(e)));
        form.elements.totp_code.value = "";
        form.elements.totp_code.focus();
      }
    });
    panel.replaceChildren(err, form);
    form.elements.totp_code.focus();
  };

  passwordStep();
  show(root, h("h1", {}, "Staff sign-in"), panel);
}
