// The stages of the workflow (admins): within each status, rename, reorder, choose which ones
// e-mail the customer, add and remove. Each row saves on its own, so one mistake never holds
// up the rest.

import { api } from "../api.js";
import { STATUS_LABEL, h, redraw, show } from "../dom.js";
import { notice } from "../components/notice.js";
import { forgetStages } from "../session.js";

const STATUSES = ["new", "in_progress", "done"];
const PLACEHOLDER = { new: "Checked in", in_progress: "Waiting for parts", done: "Ready for pickup" };

export async function render(root, { alive }) {
  const view = { root, alive, message: null };
  show(root, h("h1", {}, "Stages"), h("div", { id: "stages-body" }));
  await draw(view);
}

/** The error of one row or form, as a sentence naming the field or the stage. */
function sentence(e, stage) {
  if (e.code === "validation_error" && e.fields?.length) {
    const text = e.fields.map((f) => f.message).join(" ");
    return stage ? `The stage “${stage}”: ${text}` : text;
  }
  if (e.code === "stage_in_use") return `Tickets are in the stage “${stage}”: move them to another stage before removing it.`;
  return e.message;
}

async function draw(view) {
  forgetStages();
  const all = (await api("GET", "/settings/stages")).items;
  if (!view.alive()) return;
  const body = view.root.querySelector("#stages-body");
  const act = async (fn, ok, stage) => {
    try {
      await fn();
      view.message = notice("ok", ok);
    } catch (e) {
      if (e.status === 401) return;
      view.message = notice("error", sentence(e, stage));
    }
    await draw(view);
  };
  const row = (s, i, list) => {
    const name = h("input", { type: "text", value: s.name, maxlength: 64, id: `stage-name-${s.id}`, "aria-label": `Name of the stage ${s.name}`, autocomplete: "off" });
    const notify = h("input", { type: "checkbox", id: `stage-notify-${s.id}`, checked: s.notify_customer || null });
    return h("li", { "data-testid": `stage-${s.id}` },
      name,
      h("div", { class: "stage-tools" },
      h("label", { class: "notify", for: `stage-notify-${s.id}` }, notify, "E-mail the customer"),
      h("span", { class: "buttons" },
      h("button", { type: "button", class: "secondary", id: `stage-save-${s.id}`,
        onclick: () => act(() => api("PATCH", `/settings/stages/${s.id}`, { name: name.value, notify_customer: notify.checked }),
          `Saved the stage “${name.value.trim()}”.`, s.name) }, "Save"),
      h("button", { type: "button", class: "secondary", id: `stage-up-${s.id}`, disabled: i === 0 || null, "aria-label": `Move ${s.name} up`,
        onclick: () => act(() => api("PATCH", `/settings/stages/${s.id}`, { position: i - 1 }), `Moved “${s.name}” up.`) }, "↑"),
      h("button", { type: "button", class: "secondary", id: `stage-down-${s.id}`, disabled: i === list.length - 1 || null, "aria-label": `Move ${s.name} down`,
        onclick: () => act(() => api("PATCH", `/settings/stages/${s.id}`, { position: i + 1 }), `Moved “${s.name}” down.`) }, "↓"),
      h("button", { type: "button", class: "danger", id: `stage-remove-${s.id}`, "aria-label": `Remove ${s.name}`,
        onclick: () => act(() => api("DELETE", `/settings/stages/${s.id}`), `Removed the stage “${s.name}”.`, s.name) }, "Remove"))));
  };
  const section = (status) => {
    const list = all.filter((s) => s.status === status);
    const name = h("input", { type: "text", id: `add-${status}`, maxlength: 64, autocomplete: "off", placeholder: PLACEHOLDER[status] });
    const notify = h("input", { type: "checkbox", id: `add-${status}-notify` });
    const form = h("form", { class: "stage-add", novalidate: true },
      h("div", { class: "grow" }, h("label", { for: `add-${status}` }, `New stage while ${STATUS_LABEL[status].toLowerCase()}`), name),
      h("label", { class: "notify", for: `add-${status}-notify` }, notify, "E-mail the customer"),
      h("button", { class: "primary", type: "submit", id: `add-${status}-button` }, "Add"));
    form.addEventListener("submit", (ev) => {
      ev.preventDefault();
      const added = name.value.trim();
      act(async () => {
        await api("POST", "/settings/stages", { status, name: name.value, notify_customer: notify.checked });
        name.value = "";
        notify.checked = false;
      }, `Added the stage “${added}”.`);
    });
    return h("section", { class: "panel", "aria-labelledby": `h-${status}` },
      h("h2", { id: `h-${status}` }, STATUS_LABEL[status]),
      list.length ? h("ol", { class: "stage-list" }, ...list.map(row)) : h("p", { class: "muted" }, "No stages: tickets are just ", STATUS_LABEL[status].toLowerCase(), "."),
      form);
  };
  redraw(body, [
    h("p", { class: "muted" }, "Stages say more about where a ticket stands within its status. A status change without a stage leaves the ticket's stage; customers see the stage's name on their tracking page."),
    view.message ? h("div", { "aria-live": "polite" }, view.message) : h("div", { "aria-live": "polite" }),
    ...STATUSES.map(section),
  ], "input[type=text]");
}
