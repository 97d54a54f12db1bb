// Staff accounts (admins): list with search, create, delete with a confirmation that says
// what happens to the account's open tickets.

import { api } from "../api.js";
import { codeWithCopy, fmtTime, h, qs, show, srOnly, timeAgo } from "../dom.js";
import { clearErrors, field, showFieldErrors } from "../components/field.js";
import { notice } from "../components/notice.js";
import { pager } from "../components/pager.js";
import { forgetWorkers, session } from "../session.js";

const filters = { page: 1, size: 10, search: "" };

/** 14 characters from an alphabet without look-alikes, from the browser's CSPRNG. */
function temporaryPassword() {
  const alphabet = "abcdefghijkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789";
  const bytes = crypto.getRandomValues(new Uint8Array(14));
  return [...bytes].map((b) => alphabet[b % alphabet.length]).join("");
}

export async function render(root) {
  const msg = h("div", { "aria-live": "polite" });
  const results = h("div");
  const dialog = h("dialog", { "aria-labelledby": "confirm-title" });
  const load = async () => {
    const page = await api("GET", `/users/${qs({ page: filters.page, size: filters.size, search: filters.search })}`);
    results.replaceChildren(
      h("div", { class: "table-wrap" }, h("table", { class: "cards" },
        h("thead", {}, h("tr", {}, ...["Username", "Role", "Created", "Automatic assignment", srOnly("Actions")].map((c) => h("th", { scope: "col" }, c)))),
        h("tbody", {}, page.items.length ? page.items.map((u) => h("tr", {},
          h("td", { "data-label": "Username" }, u.username), h("td", { "data-label": "Role" }, u.role),
          h("td", { "data-label": "Created" }, timeAgo(u.created_at)),
          h("td", { "data-label": "Assignment" }, u.role !== "worker" ? "—" : h("button", {
            class: "secondary toggle", type: "button", "aria-pressed": String(u.available),
            "aria-label": `${u.username} is ${u.available ? "available" : "away"}; change`,
            onclick: async () => {
              try {
                await api("PUT", `/users/${u.id}/availability`, { available: !u.available });
                await load();
              } catch (e) {
                msg.replaceChildren(notice("error", e.message));
              }
            },
          }, u.available ? "Available" : "Away")),
          h("td", { "data-label": "Actions" }, u.id === session.me.id
            ? h("span", { class: "row-actions" }, h("span", { class: "muted" }, "you"),
              h("button", { class: "secondary", type: "button", "aria-label": "Your API keys", onclick: () => apiKeys(u) }, "API keys"))
            : h("span", { class: "row-actions" },
              h("button", { class: "secondary", type: "button", "aria-label": `API keys of ${u.username}`, onclick: () => apiKeys(u) }, "API keys"),
              u.totp_enabled ? h("button", { class: "secondary", type: "button", "aria-label": `Clear two-factor sign-in of ${u.username}`, onclick: () => clearTotp(u) }, "Clear 2FA") : null,
              h("button", { class: "secondary", type: "button", "aria-label": `Reset password for ${u.username}`, onclick: () => resetPassword(u) }, "Reset password"),
              h("button", { class: "secondary", type: "button", "aria-label": `Delete ${u.username}`, onclick: () => confirmDelete(u) }, "Delete")))),
          )
          : h("tr", {}, h("td", { colspan: 5, class: "muted" }, "No accounts match."))))),
      pager(page, (p) => { filters.page = p; load(); }, (s) => { filters.size = s; filters.page = 1; load(); }),
    );
  };
  const confirmDelete = async (u) => {
    let open = 0;
    if (u.role === "worker") {
      const s = await api("GET", `/tickets/stats${qs({ worker_id: u.id })}`);
      open = s.new + s.in_progress;
    }
    const consequence = u.role === "worker"
      ? (open ? `${open} open ticket${open === 1 ? "" : "s"} assigned to ${u.username} will go back to the queue as new and unassigned. ` : `${u.username} has no open tickets. `) +
        "Finished tickets keep their worker. The account can no longer sign in."
      : `${u.username} will no longer be able to sign in.`;
    dialog.replaceChildren(
      h("h2", { id: "confirm-title" }, `Delete ${u.username}?`),
      h("p", {}, consequence),
      h("div", { class: "actions" },
        h("button", { class: "danger", type: "button", onclick: async () => {
          dialog.close();
          try {
            await api("DELETE", `/users/${u.id}`);
            forgetWorkers();
            msg.replaceChildren(notice("ok", `${u.username} was deleted.`));
            await load();
          } catch (e) {
            msg.replaceChildren(notice("error", e.message));
          }
        } }, "Delete"),
        h("button", { class: "secondary", type: "button", onclick: () => dialog.close() }, "Cancel")),
    );
    dialog.showModal();
  };
  const clearTotp = (u) => {
    dialog.replaceChildren(
      h("h2", { id: "confirm-title" }, `Clear the two-factor sign-in of ${u.username}?`),
      h("p", {}, `For a lost phone: ${u.username} signs in with the password alone until they set it up again. The account's history records that you cleared it.`),
      h("div", { class: "actions" },
        h("button", { class: "danger", type: "button", onclick: async () => {
          dialog.close();
          try {
            await api("DELETE", `/users/${u.id}/totp`);
            msg.replaceChildren(notice("ok", `The two-factor sign-in of ${u.username} was cleared.`));
            await load();
          } catch (e) {
            msg.replaceChildren(notice("error", e.message));
          }
        } }, "Clear two-factor sign-in"),
        h("button", { class: "secondary", type: "button", onclick: () => dialog.close() }, "Cancel")));
    dialog.showModal();
  };
  const apiKeys = async (u) => {
    const list = h("div");
    const err = h("div", { "aria-live": "assertive" });
    const shown = h("div", { "aria-live": "polite" });
    const when = (iso) => (iso ? timeAgo(iso) : "never");
    const drawKeys = async () => {
      const keys = (await api("GET", `/users/${u.id}/api-keys`)).items;
      list.replaceChildren(keys.length ? h("div", { class: "table-wrap" }, h("table", { class: "cards" },
        h("thead", {}, h("tr", {}, ...["Name", "Scope", "Created", "Expires", "Last used", srOnly("Actions")].map((c) => h("th", { scope: "col" }, c)))),
        h("tbody", {}, keys.map((k) => h("tr", {},
          h("td", { "data-label": "Name" }, k.name),
          h("td", { "data-label": "Scope" }, k.scope === "read" ? "Read only" : "Read and write"),
          h("td", { "data-label": "Created" }, timeAgo(k.created_at)),
          h("td", { "data-label": "Expires" }, k.expires_at ? fmtTime(k.expires_at) : "never"),
          h("td", { "data-label": "Last used" }, when(k.last_used_at)),
          h("td", { "data-label": "Actions" }, h("button", { class: "danger", type: "button", "aria-label": `Revoke key ${k.name}`,
            onclick: async () => {
              try {
                await api("DELETE", `/users/${u.id}/api-keys/${k.id}`);
                shown.replaceChildren(notice("ok", `The key ${k.name} was revoked; it stops working at once.`));
                await drawKeys();
                form.elements.name.focus();
              } catch (e) {
                err.replaceChildren(notice("error", e.message));
              }
            } }, "Revoke"))))))) : h("p", { class: "muted" }, "No API keys."));
    };
    const form = h("form", { class: "stack", novalidate: true },
      field("Name", "name", h("input", { required: true, maxlength: 100, autocomplete: "off", placeholder: "Accounting export" })),
      field("Scope", "scope", h("select", {}, h("option", { value: "read" }, "Read only"), h("option", { value: "write" }, "Read and write"))),
      field("Expires on", "expires_at", h("input", { type: "date" }), "(optional)"),
      h("div", { class: "actions" },
        h("button", { class: "primary", type: "submit" }, "Make key"),
        h("button", { class: "secondary", type: "button", onclick: () => dialog.close() }, "Close")));
    form.addEventListener("submit", async (ev) => {
      ev.preventDefault();
      clearErrors(form);
      err.replaceChildren();
      const f = form.elements;
      const body = { name: f.name.value, scope: f.scope.value, expires_at: f.expires_at.value ? new Date(`${f.expires_at.value}T23:59:59`).toISOString() : null };
      try {
        const k = await api("POST", `/users/${u.id}/api-keys`, body);
        form.reset();
        shown.replaceChildren(h("div", { class: "notice ok new-key", role: "status" },
          h("p", {}, `Key ${k.name} made. Copy it now: it is not shown again.`),
          codeWithCopy(k.key, "the API key", "new-api-key")));
        await drawKeys();
        shown.querySelector("button")?.focus();
      } catch (e) {
        if (e.code === "validation_error" && showFieldErrors(form, e.fields)) return;
        err.replaceChildren(notice("error", e.message));
      }
    });
    dialog.replaceChildren(
      h("h2", { id: "confirm-title" }, `API keys of ${u.username}`),
      h("p", {}, `A key acts as ${u.username} for an integration (accounting, dashboards): send it as "Authorization: Bearer crm_…". A read-only key cannot change anything.`),
      shown, err, list, h("h3", {}, "New key"), form);
    await drawKeys();
    dialog.showModal();
    form.elements.name.focus();
  };
  const resetPassword = (u) => {
    const generated = temporaryPassword();
    const typed = h("input", { type: "text", id: "reset-typed", autocomplete: "off", minlength: 8, maxlength: 128, disabled: true });
    const useGenerated = h("input", { type: "radio", name: "reset-kind", id: "reset-generated", checked: true,
      onchange: () => { typed.disabled = true; } });
    const useTyped = h("input", { type: "radio", name: "reset-kind", id: "reset-own",
      onchange: () => { typed.disabled = false; typed.focus(); } });
    const err = h("div", { "aria-live": "assertive" });
    dialog.replaceChildren(
      h("h2", { id: "confirm-title" }, `Reset the password of ${u.username}?`),
      h("p", {}, `${u.username} is signed out everywhere at once and must choose a new password at the next sign-in.`),
      h("div", { class: "choice" }, useGenerated, h("label", { for: "reset-generated" }, "Generate a temporary password")),
      h("div", { class: "choice" }, useTyped, h("label", { for: "reset-own" }, "Type one")),
      h("div", { class: "field" }, h("label", { for: "reset-typed" }, "Temporary password"), typed),
      err,
      h("div", { class: "actions" },
        h("button", { class: "danger", type: "button", onclick: async () => {
          const pw = useTyped.checked ? typed.value : generated;
          try {
            await api("POST", `/users/${u.id}/password`, { new_password: pw });
          } catch (e) {
            const f = e.fields.find((x) => x.field === "new_password");
            err.replaceChildren(notice("error", f ? f.message : e.message));
            return;
          }
          dialog.replaceChildren(
            h("h2", { id: "confirm-title" }, `New password for ${u.username}`),
            h("p", {}, "Give it to them now; it is not shown again. They must change it when they sign in."),
            h("p", {}, h("span", { class: "code", "data-testid": "temp-password" }, pw)),
            h("div", { class: "actions" }, h("button", { class: "primary", type: "button", onclick: () => dialog.close() }, "Done")));
          msg.replaceChildren(notice("ok", `The password of ${u.username} was reset.`));
        } }, "Reset password"),
        h("button", { class: "secondary", type: "button", onclick: () => dialog.close() }, "Cancel")),
    );
    dialog.showModal();
  };
  const search = h("input", { type: "search", id: "user-q", value: filters.search, placeholder: "Username contains…" });
  const searchForm = h("form", { class: "filters", role: "search" },
    h("div", {}, h("label", { for: "user-q" }, "Search"), search), h("div", {}), h("div", {}),
    h("button", { class: "primary", type: "submit" }, "Apply"));
  searchForm.addEventListener("submit", (ev) => {
    ev.preventDefault();
    filters.search = search.value.trim();
    filters.page = 1;
    load();
  });
  const create = h("form", { class: "inline-form", novalidate: true },
    field("Username", "username", h("input", { required: true, autocomplete: "off" })),
    field("Password", "password", h("input", { type: "password", required: true, autocomplete: "new-password" })),
    field("Role", "role", h("select", {}, h("option", { value: "worker" }, "Worker"), h("option", { value: "admin" }, "Admin"))),
    h("button", { class: "primary", type: "submit" }, "Create"));
  create.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    clearErrors(create);
    msg.replaceChildren();
    const f = create.elements;
    try {
      const u = await api("POST", "/users/", { username: f.username.value, password: f.password.value, role: f.role.value });
      forgetWorkers();
      create.reset();
      msg.replaceChildren(notice("ok", `Account ${u.username} created.`));
      await load();
    } catch (e) {
      if (e.code === "username_taken") showFieldErrors(create, [{ field: "username", message: "This username is already taken." }]);
      else if (!(e.code === "validation_error" && showFieldErrors(create, e.fields))) msg.replaceChildren(notice("error", e.message));
    }
  });
  show(root, h("h1", {}, "Worker accounts"), msg,
    h("section", { class: "panel" }, h("h2", {}, "New account"), create),
    h("section", { class: "panel" }, searchForm, results), dialog);
  await load();
}
