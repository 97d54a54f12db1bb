// Staff accounts (admins): list with search, create, delete with a confirmation that says
// what happens to the account's open tickets.

import { api } from "../api.js";
import { fmtTime, h, qs, show } from "../dom.js";
import { clearErrors, field, showFieldErrors } from "../components/field.js";
import { notice } from "../components/notice.js";
import { pager } from "../components/pager.js";
import { forgetWorkers, session } from "../session.js";

const filters = { page: 1, size: 10, search: "" };

export async function render(root) {
  const msg = h("div", { "aria-live": "polite" });
  const results = h("div");
  const dialog = h("dialog", { "aria-labelledby": "confirm-title" });
  const load = async () => {
    const page = await api("GET", `/users/${qs({ page: filters.page, size: filters.size, search: filters.search })}`);
    results.replaceChildren(
      h("div", { class: "table-wrap" }, h("table", {},
        h("thead", {}, h("tr", {}, ...["Username", "Role", "Created", ""].map((c) => h("th", { scope: "col" }, c)))),
        h("tbody", {}, page.items.length ? page.items.map((u) => h("tr", {},
          h("td", {}, u.username), h("td", {}, u.role), h("td", {}, fmtTime(u.created_at)),
          h("td", {}, u.id === session.me.id ? h("span", { class: "muted" }, "you") :
            h("button", { class: "secondary", type: "button", "aria-label": `Delete ${u.username}`, onclick: () => confirmDelete(u) }, "Delete"))))
          : h("tr", {}, h("td", { colspan: 4, class: "muted" }, "No accounts match."))))),
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
