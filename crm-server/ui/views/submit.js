// The public request form.

import { files } from "../components/files.js";
import { api } from "../api.js";
import { codeWithCopy, h, show } from "../dom.js";
import { clearErrors, field, showFieldErrors } from "../components/field.js";
import { notice } from "../components/notice.js";

export function render(root) {
  const result = h("div", { "aria-live": "polite" });
  const form = h("form", { class: "stack", novalidate: true },
    field("What needs repair?", "title", h("input", { required: true, maxlength: 200, autocomplete: "off" }), "(1-200 characters)"),
    field("Describe the problem", "description", h("textarea", { required: true, maxlength: 5000 })),
    field("Your name", "client.name", h("input", { required: true, maxlength: 100, autocomplete: "name" })),
    field("E-mail", "client.email", h("input", { type: "email", required: true, maxlength: 254, autocomplete: "email" })),
    field("Phone", "client.phone", h("input", { type: "tel", maxlength: 32, autocomplete: "tel" }), "(optional)"),
    h("div", { class: "actions" }, h("button", { class: "primary", type: "submit" }, "Send request")),
  );
  form.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    clearErrors(form);
    result.replaceChildren();
    const v = (n) => form.elements[n].value;
    const body = {
      title: v("title"),
      description: v("description"),
      client: { name: v("client.name"), email: v("client.email"), phone: v("client.phone").trim() || null },
    };
    const button = form.querySelector("button[type=submit]");
    button.disabled = true;
    try {
      const t = await api("POST", "/public/tickets", body);
      form.reset();
      const link = `#/track/${encodeURIComponent(t.tracking_code)}`;
      result.replaceChildren(notice("ok",
        h("strong", {}, `Thank you! Your request number is #${t.id}.`),
        h("p", {}, "Your tracking code (read it out in groups of four): ", codeWithCopy(t.tracking_code, "tracking code", "tracking-code")),
        h("p", {}, "Keep it to follow your request: ", h("a", { href: link }, "follow my request")),
      ), files({ base: `/public/tickets/${encodeURIComponent(t.tracking_code)}/attachments`, staff: false,
        title: "Add photos of the fault (optional)" }));
      result.lastChild.refresh().catch(() => {});
    } catch (e) {
      if (e.code === "duplicate_ticket") {
        result.replaceChildren(notice("error",
          "We already have this exact request from you and it is still open. There is no need to send it again."));
      } else if (e.code === "rate_limited") {
        result.replaceChildren(notice("error",
          `You have sent several requests in a short time. Please wait ${e.retryAfter || 10} seconds and send it again; what you typed is kept.`));
      } else if (e.code === "validation_error" && showFieldErrors(form, e.fields)) {
        result.replaceChildren(notice("error", "Please correct the highlighted fields."));
      } else {
        result.replaceChildren(notice("error", e.message));
      }
    } finally {
      button.disabled = false;
    }
  });
  show(root,
    h("h1", {}, "Request a repair"),
    h("div", { class: "panel narrow" },
      h("p", { class: "muted" }, "Tell us what is broken. We will get back to you; no account needed."),
      result, form),
  );
}
