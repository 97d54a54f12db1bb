// One ticket: a header that stays in view with the status, the next action and the
// assignment; the problem and its history; the customer (phone and e-mail one tap away); and,
// folded away for admins, where the request came from.

import { api } from "../api.js";
import { STATUS_LABEL, codeWithCopy, fmtTime, h, redraw, show, stageChip, statusBadge, timeAgo } from "../dom.js";
import { flash, notice } from "../components/notice.js";
import { clearErrors, field, showFieldErrors } from "../components/field.js";
import { session, stages, workerName, workers } from "../session.js";
import { liveBadge } from "../components/live-badge.js";
import { debounce, follow } from "../live.js";
import { DEVICE_KINDS, PRIORITIES } from "./intake.js";
import { printButtons } from "../components/print.js";
import { conversation } from "../components/conversation.js";
import { files } from "../components/files.js";
import { quotes } from "../components/quotes.js";

const KIND_LABEL = Object.fromEntries(DEVICE_KINDS);
const FIELD_LABEL = { title: "title", description: "description", device: "device", priority: "priority", due_at: "promised time" };
const PRIORITY_LABEL = Object.fromEntries(PRIORITIES);
const overdue = (t) => t.status !== "done" && t.due_at && new Date(t.due_at).getTime() < Date.now();

const NEXT_ACTION = { new: ["in_progress", "Start"], in_progress: ["done", "Finish"] };

function eventText(e) {
  switch (e.kind) {
    case "submitted": return e.actor_id === null ? "Submitted by the customer" : "Taken in at the counter";
    case "assigned": return e.actor_id === null
      ? `Assigned to ${workerName(e.worker_id)} automatically`
      : `Assigned to ${workerName(e.worker_id)}`;
    case "released": return `Released: ${workerName(e.worker_id)} was deleted`;
    case "status_changed": return `${STATUS_LABEL[e.from_status]} → ${STATUS_LABEL[e.to_status]}`;
    case "viewed": return "Opened for the first time";
    case "edited": return `Edited: ${(e.changes || []).map((c) => FIELD_LABEL[c.field] || c.field).join(", ")}`;
    case "message_added": return e.actor_id === null ? "Message from the customer"
      : e.visibility === "internal" ? "Internal note added" : "Message sent to the customer";
    case "attachment_added": return e.actor_id === null ? "Photo or file from the customer"
      : e.visibility === "internal" ? "File added (staff only)" : "File added for the customer";
    case "attachment_removed": return "File removed";
    case "quote_sent": return "Quote sent to the customer";
    case "quote_decided": return "The customer decided the quote";
    case "stage_changed": return e.to_stage
      ? (e.from_stage ? `Stage: ${e.from_stage.name} → ${e.to_stage.name}` : `Stage: ${e.to_stage.name}`)
      : `Left the stage ${e.from_stage ? e.from_stage.name : ""}`;
    default: return e.kind;
  }
}

function actorText(id) {
  if (id === session.me.id) return "you";
  const name = workerName(id);
  return name === `#${id}` ? `user #${id}` : name;
}

const dl = (pairs) => h("dl", { class: "grid" }, ...pairs.flatMap(([k, v]) => [h("dt", {}, k), h("dd", {}, v)]));

export async function render(root, { id, alive }) {
  const view = { root, id, alive, message: null, talk: conversation({ path: `/tickets/${id}/messages`, staff: true }),
    files: files({ base: `/tickets/${id}/attachments`, staff: true, admin: session.me.role === "admin" }),
    quote: quotes({ id }) };
  await draw(view, true);
  // The page redraws itself when its ticket changes elsewhere; focus stays where it was.
  const again = debounce(() => alive() && draw(view, false).catch(() => {}));
  return follow({
    onEvent: (e) => { if (e.ticket_id === id) again(); },
    onReconnect: again,
    onState: (s) => root.querySelector("[data-testid=live-status]")?.setState?.(s),
  });
}

/** The stage picker: the stages of the ticket's status, and those of the next status (which
 * moves the ticket on into that stage, one step and one e-mail). */
function stagePicker(t, all, act) {
  const mine = all.filter((s) => s.status === t.status);
  const nextStatus = NEXT_ACTION[t.status]?.[0];
  const canMove = nextStatus && (t.status !== "new" || t.worker_id !== null);
  const ahead = canMove ? all.filter((s) => s.status === nextStatus) : [];
  if (!mine.length && !ahead.length) return null;
  const sel = h("select", { id: "stage-picker", "aria-label": "Stage" },
    h("option", { value: "", selected: !t.stage || null }, "No stage"),
    mine.length ? h("optgroup", { label: STATUS_LABEL[t.status] },
      ...mine.map((s) => h("option", { value: String(s.id), selected: t.stage?.id === s.id || null }, s.name))) : null,
    ahead.length ? h("optgroup", { label: `${STATUS_LABEL[nextStatus]} (moves the ticket on)` },
      ...ahead.map((s) => h("option", { value: String(s.id) }, s.name))) : null);
  const apply = () => {
    const v = sel.value;
    const chosen = all.find((s) => String(s.id) === v);
    if (chosen && chosen.status !== t.status) {
      return act(() => api("POST", `/tickets/${t.id}/status`, { new_status: nextStatus, stage_id: chosen.id }),
        `Ticket #${t.id} is now ${STATUS_LABEL[nextStatus].toLowerCase()}: ${chosen.name}.`);
    }
    if ((t.stage ? String(t.stage.id) : "") === v) return undefined;
    return act(() => api("POST", `/tickets/${t.id}/stage`, { stage_id: chosen ? chosen.id : null }),
      chosen ? `Ticket #${t.id}: ${chosen.name}.` : `Ticket #${t.id} has no stage now.`);
  };
  return h("span", { class: "stage-picker" }, sel,
    h("button", { class: "secondary", type: "button", id: "stage-button", onclick: apply }, "Set stage"));
}

/** The header's controls: the next status move, the stage and, for admins, the assignment. */
function controls(view, t, staff, allStages) {
  const admin = session.me.role === "admin";
  const act = async (fn, ok) => {
    view.message = null;
    let done = false;
    try {
      await fn();
      done = true;
    } catch (e) {
      if (e.status === 401) return;
      view.message = notice("error", e.message);
    }
    await draw(view, false);
    // Said once the page shows it, not while it still shows the step before.
    if (done) flash(ok, "ok");
  };
  const next = NEXT_ACTION[t.status];
  const out = [];
  if (next && (t.status !== "new" || t.worker_id !== null)) {
    out.push(h("div", { class: "action-bar" }, h("button", {
      class: "primary", type: "button", id: "next-action",
      onclick: () => act(() => api("POST", `/tickets/${t.id}/status`, { new_status: next[0] }),
        `Ticket #${t.id} is now ${STATUS_LABEL[next[0]].toLowerCase()}.`),
    }, next[1])));
  } else if (t.status === "new") {
    out.push(h("span", { class: "muted" }, "Assign a worker before the work can start."));
  }
  const picker = stagePicker(t, allStages, act);
  if (picker) out.push(picker);
  if (admin && t.status !== "done") {
    const sel = h("select", { id: "assign-worker", "aria-label": t.worker_id ? "Reassign to" : "Assign to" },
      h("option", { value: "" }, t.worker_id ? "Reassign to…" : "Assign to…"),
      ...staff.map((w) => h("option", { value: w.id, selected: w.id === t.worker_id || null }, w.username)));
    out.push(h("span", { class: "assign" }, sel, h("button", {
      class: "secondary", type: "button", id: "assign-button",
      onclick: () => {
        if (!sel.value) {
          view.message = notice("error", "Choose a worker to assign the ticket to.");
          draw(view, false);
          return;
        }
        act(() => api("POST", `/tickets/${t.id}/assign`, { worker_id: Number(sel.value) }),
          `Ticket #${t.id} assigned to ${workerName(Number(sel.value))}.`);
      },
    }, "Assign")));
  }
  return out;
}

/** A `datetime-local` value for an RFC 3339 time, in the browser's zone. */
function toLocalInput(iso) {
  if (!iso) return "";
  const d = new Date(iso);
  const pad = (n) => String(n).padStart(2, "0");
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}T${pad(d.getHours())}:${pad(d.getMinutes())}`;
}

/** The correction dialog: every detail at once; the server records only what changed. */
function openEdit(view, t) {
  const d = t.device || {};
  const input = (attrs, value) => h("input", { autocomplete: "off", value: value || "", ...attrs });
  const kind = h("select", {}, h("option", { value: "" }, "Not given"), ...DEVICE_KINDS.map(([v, l]) => h("option", { value: v, selected: d.kind === v || null }, l)));
  const priority = h("select", {}, ...PRIORITIES.map(([v, l]) => h("option", { value: v, selected: t.priority === v || null }, l)));
  const description = h("textarea", { maxlength: 5000, rows: 3 });
  description.value = t.description;
  const condition = h("textarea", { maxlength: 1000, rows: 2 });
  condition.value = d.condition || "";
  const msg = h("div", { "aria-live": "polite" });
  const form = h("form", { class: "stack intake", novalidate: true },
    field("What needs repair?", "title", input({ required: true, maxlength: 200 }, t.title)),
    field("Fault as described", "description", description),
    h("div", { class: "row2" }, field("Kind", "device.kind", kind), field("Brand", "device.brand", input({ maxlength: 64 }, d.brand))),
    h("div", { class: "row2" }, field("Model", "device.model", input({ maxlength: 64 }, d.model)),
      field("Serial or IMEI", "device.serial", input({ maxlength: 64, spellcheck: "false" }, d.serial))),
    field("Condition at intake", "device.condition", condition),
    field("Left with it", "device.accessories", input({ maxlength: 500 }, d.accessories)),
    h("div", { class: "row2" }, field("Priority", "priority", priority),
      field("Promised for", "due_at", input({ type: "datetime-local" }, toLocalInput(t.due_at)))),
    msg,
    h("div", { class: "actions" },
      h("button", { class: "primary", type: "submit" }, "Save changes"),
      h("button", { class: "secondary", type: "button", onclick: () => dialog.close() }, "Cancel")));
  const dialog = h("dialog", { class: "edit-dialog", "aria-labelledby": "edit-title" }, h("h2", { id: "edit-title" }, `Edit #${t.id}`), form);
  dialog.addEventListener("close", () => {
    dialog.remove();
    document.getElementById("edit-ticket")?.focus();
  });
  form.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    clearErrors(form);
    msg.replaceChildren();
    const v = (n) => form.elements[n].value.trim();
    const device = {};
    for (const k of ["kind", "brand", "model", "serial", "condition", "accessories"]) device[k] = v(`device.${k}`) || null;
    const body = {
      title: v("title"),
      description: v("description"),
      device: Object.values(device).some((x) => x !== null) ? device : null,
      priority: priority.value,
      due_at: form.elements.due_at.value ? new Date(form.elements.due_at.value).toISOString() : null,
    };
    try {
      await api("PATCH", `/tickets/${t.id}`, body);
      dialog.close();
      flash(`Ticket #${t.id} is updated.`, "ok");
      await draw(view, false);
    } catch (e) {
      if (e.code === "duplicate_ticket") msg.replaceChildren(notice("error", "This customer already has another open request with this exact title and description."));
      else if (!(e.code === "validation_error" && showFieldErrors(form, e.fields))) msg.replaceChildren(notice("error", e.message));
    }
  });
  document.body.append(dialog);
  dialog.showModal();
  form.elements.title.focus();
}

async function draw(view, first) {
  const { root, id, alive } = view;
  // Draws overlap (a live refresh, then an action's own): only the latest started may draw,
  // or an answer read before "Finish" could put the Finish button back after it.
  const mine = (view.drawing = (view.drawing || 0) + 1);
  const admin = session.me.role === "admin";
  const staff = admin ? await workers() : [];
  const [t, history, allStages] = await Promise.all([api("GET", `/tickets/${id}`), api("GET", `/tickets/${id}/history`), stages(), view.talk.refresh(), view.files.refresh(), view.quote.refresh()]);
  if (!alive() || (mine !== view.drawing && !first)) return;
  const client = t.client;
  const nodes = [
    h("header", { class: "ticket-head" },
      h("p", { class: "back" }, h("a", { href: "#/tickets" }, "← Tickets")),
      h("h1", { "data-title": `#${t.id} ${t.title}`, tabindex: "-1" }, `#${t.id} `, t.title),
      h("div", { class: "head-row" },
        statusBadge(t.status),
        stageChip(t.stage),
        t.priority === "high" || t.priority === "urgent" ? h("span", { class: `badge prio-${t.priority}` }, PRIORITY_LABEL[t.priority]) : null,
        overdue(t) ? h("span", { class: "badge overdue-badge" }, "Overdue") : null,
        t.awaiting_reply ? h("span", { class: "badge awaiting", "data-testid": "awaiting-reply" }, "Awaits reply") : null,
        h("span", { class: "muted" }, t.worker_id === null ? "Unassigned" : `Worker: ${workerName(t.worker_id)}`),
        liveBadge(),
        ...controls(view, t, staff, allStages))),
    view.message ? h("div", { role: "alert" }, view.message) : null,
    h("div", { class: "columns" },
      h("div", {},
        h("section", { class: "panel" }, h("div", { class: "panel-head" }, h("h2", {}, "Problem"),
          h("button", { type: "button", class: "secondary", id: "edit-ticket", onclick: () => openEdit(view, t) }, "Edit details")),
          h("p", { class: "description" }, t.description)),
        view.quote,
        view.files,
        view.talk,
        h("section", { class: "panel" }, h("h2", {}, "History"),
          h("ol", { class: "timeline" }, ...history.items.map((e) => h("li", {},
            timeAgo(e.at), " ", eventText(e),
            e.kind === "assigned" && e.actor_id === null ? h("span", { class: "badge auto", title: "Assigned automatically" }, "auto") : null,
            e.actor_id ? h("span", { class: "muted" }, ` — by ${actorText(e.actor_id)}`) : null))))),
      h("div", {},
        h("section", { class: "panel" }, h("h2", {}, "Customer"), dl([
          ["Name", admin ? h("a", { href: `#/customers/${client.id}` }, client.name) : client.name],
          ["Phone", client.phone ? h("a", { href: `tel:${client.phone.replace(/[^\d+]/g, "")}` }, client.phone) : "—"],
          ["E-mail", h("a", { href: `mailto:${client.email}` }, client.email)],
          ["Customer since", timeAgo(client.created_at)]])),
        t.device ? h("section", { class: "panel", "data-testid": "device" }, h("h2", {}, "Device"), dl([
          ["Kind", KIND_LABEL[t.device.kind] || "—"],
          ["Brand and model", [t.device.brand, t.device.model].filter(Boolean).join(" ") || "—"],
          ["Serial or IMEI", t.device.serial ? codeWithCopy(t.device.serial, "serial number", "serial") : "—"],
          ["Condition at intake", t.device.condition || "—"],
          ["Left with it", t.device.accessories || "—"]])) : null,
        h("section", { class: "panel" }, h("h2", {}, "Progress"), dl([
          ["Priority", PRIORITY_LABEL[t.priority]],
          ["Promised for", t.due_at ? h("span", { class: overdue(t) ? "overdue" : null }, overdue(t) ? "Overdue: " : null, fmtTime(t.due_at)) : "—"],
          ["Created", timeAgo(t.created_at)], ["Assigned", timeAgo(t.assigned_at)],
          ["Started", timeAgo(t.in_progress_at)], ["Done", timeAgo(t.done_at)],
          ["Last change", timeAgo(t.updated_at)],
          ["Tracking code", codeWithCopy(t.tracking_code, "tracking code", "tracking-code")]]),
          h("p", { class: "actions print-actions" }, ...printButtons(t.id))),
        admin ? h("details", { class: "panel requester" },
          h("summary", {}, "Where the request came from"),
          dl([["Address", t.requester_ip || "—"], ["Browser", t.requester_ua || "—"], ["Received", fmtTime(t.created_at)]])) : null)),
  ];
  if (first) show(root, ...nodes.filter(Boolean));
  else redraw(root, nodes.filter(Boolean), "#next-action, #assign-button, #stage-button, .ticket-head h1");
}
