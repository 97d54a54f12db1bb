// One's own account: the password, and two-factor sign-in (set up with a QR code and a
// confirming code; the recovery codes shown once; turned off with the password).

import { api } from "../api.js";
import { codeWithCopy, h, show } from "../dom.js";
import { clearErrors, field, showFieldErrors } from "../components/field.js";
import { notice } from "../components/notice.js";
import { loadMe, session } from "../session.js";

/** The QR code as a picture: the server's SVG as a data URL, so no markup reaches the page. */
function qrImage(svg) {
  const bytes = new TextEncoder().encode(svg);
  let bin = "";
  for (const b of bytes) bin += String.fromCharCode(b);
  return h("img", { class: "qr", src: `data:image/svg+xml;base64,${btoa(bin)}`, width: 200, height: 200,
    alt: "QR code for the authenticator app" });
}

export async function render(root) {
  const msg = h("div", { "aria-live": "polite" });
  const box = h("div");
  const me = await loadMe();

  const showOff = () => {
    const start = h("button", { class: "primary", type: "button", id: "totp-start" }, "Set up two-factor sign-in");
    start.addEventListener("click", async () => {
      msg.replaceChildren();
      try {
        showSetup(await api("POST", "/auth/totp/setup", {}));
      } catch (e) {
        msg.replaceChildren(notice("error", e.message));
      }
    });
    box.replaceChildren(
      h("p", {}, "Off: signing in needs only the password. With it on, signing in also needs the six-digit code an authenticator app on your phone shows (Google Authenticator, Aegis, 1Password and the like)."),
      h("div", { class: "actions" }, start));
  };

  const showSetup = (setup) => {
    const form = h("form", { class: "stack", novalidate: true },
      field("Code from the app", "code", h("input", { required: true, inputmode: "numeric", autocomplete: "one-time-code", maxlength: 32 }), "(six digits)"),
      h("div", { class: "actions" },
        h("button", { class: "primary", type: "submit" }, "Turn on"),
        h("button", { class: "secondary", type: "button", onclick: showOff }, "Cancel")));
    form.addEventListener("submit", async (ev) => {
      ev.preventDefault();
      clearErrors(form);
      try {
        const r = await api("POST", "/auth/totp/enable", { code: form.elements.code.value.trim() });
        await loadMe();
        showCodes(r.recovery_codes);
      } catch (e) {
        if (e.code === "validation_error" && showFieldErrors(form, e.fields)) return;
        msg.replaceChildren(notice("error", e.message));
      }
    });
    box.replaceChildren(
      h("ol", { class: "setup-steps" },
        h("li", {}, "Scan this QR code with the authenticator app.", h("div", {}, qrImage(setup.qr_svg))),
        h("li", {}, "No camera? Type this key into the app instead: ", codeWithCopy(setup.secret, "the key", "totp-secret")),
        h("li", {}, "Type the code the app shows now.")),
      form);
    form.elements.code.focus();
  };

  const showCodes = (codes) => {
    const done = h("button", { class: "primary", type: "button", id: "codes-saved" }, "I have saved them");
    done.addEventListener("click", () => {
      msg.replaceChildren(notice("ok", "Two-factor sign-in is on."));
      showOn();
    });
    box.replaceChildren(
      notice("ok", "Two-factor sign-in is on. From the next sign-in on, you also type a code from the app."),
      h("p", {}, "Recovery codes: each signs you in once in place of a code, if you lose your phone. Save them now (print them, or keep them in a password manager); they are not shown again."),
      h("ul", { class: "recovery-codes", "data-testid": "recovery-codes" }, codes.map((c) => h("li", {}, h("span", { class: "code" }, c)))),
      h("div", { class: "actions" }, codeWithCopy(codes.join("\n"), "all recovery codes"), done));
    done.focus();
  };

  const showOn = () => {
    const form = h("form", { class: "stack", novalidate: true },
      field("Your password", "password", h("input", { type: "password", required: true, autocomplete: "current-password" }), "(to turn it off)"),
      h("div", { class: "actions" }, h("button", { class: "danger", type: "submit" }, "Turn off two-factor sign-in")));
    form.addEventListener("submit", async (ev) => {
      ev.preventDefault();
      clearErrors(form);
      try {
        await api("POST", "/auth/totp/disable", { password: form.elements.password.value });
        await loadMe();
        msg.replaceChildren(notice("ok", "Two-factor sign-in is off."));
        showOff();
        box.querySelector("button")?.focus();
      } catch (e) {
        if (e.code === "validation_error" && showFieldErrors(form, e.fields)) return;
        msg.replaceChildren(notice("error", e.code === "too_many_attempts"
          ? `Too many wrong passwords. Try again in ${e.retryAfter || 1} seconds.` : e.message));
      }
    });
    box.replaceChildren(h("p", {}, "On: signing in needs your password and a code from your authenticator app (or a recovery code)."), form);
  };

  if (me && me.totp_enabled) showOn();
  else showOff();
  show(root,
    h("h1", {}, "Your account"),
    h("section", { class: "panel narrow" },
      h("h2", {}, "Password"),
      h("p", {}, `Signed in as ${session.me.username} (${session.me.role}). `, h("a", { href: "#/password", id: "change-password" }, "Change your password"))),
    h("section", { class: "panel narrow", "aria-labelledby": "totp-title" },
      h("h2", { id: "totp-title" }, "Two-factor sign-in"), msg, box));
}
