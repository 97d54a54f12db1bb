// One ticket: its details, history, assignment and the status moves the state machine allows.

import { api } from "../api.js";
import { STATUS_LABEL, fmtTime, h, show, statusBadge } from "../dom.js";
import { flash, notice } from "../components/notice.js";
import { session, workerName, workers } from "../session.js";
import { liveBadge } from "../components/live-badge.js";
import { debounce, follow } from "../live.js";

const NEXT_ACTION = { new: ["in_progress", "Start"], in_progress: ["done", "Finish"] };

function eventText(e) {
  switch (e.kind) {
    case "submitted": return "Submitted by the customer";
    case "assigned": return e.actor_id === null
      ? `Assigned to ${workerName(e.worker_id)} automatically`
      : `Assigned to ${workerName(e.worker_id)}`;
    case "released": return `Released: ${workerName(e.worker_id)} was deleted`;
    case "status_changed": return `${STATUS_LABEL[e.from_status]} → ${STATUS_LABEL[e.to_status]}`;
    case "viewed": return "Opened for the first time";
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
  await draw(root, id, alive);
  // The page redraws itself when its ticket changes elsewhere.
  const redraw = debounce(() => alive() && draw(root, id, alive).catch(() => {}));
  return follow({
    onEvent: (e) => { if (e.ticket_id === id) redraw(); },
    onReconnect: redraw,
    onState: (s) => root.querySelector("[data-testid=live-status]")?.setState?.(s),
  });
}

async function draw(root, id, alive) {
  const admin = session.me.role === "admin";
  const staff = admin ? await workers() : [];
  const [t, history] = await Promise.all([api("GET", `/tickets/${id}`), api("GET", `/tickets/${id}/history`)]);
  if (!alive()) return;
  const msg = h("div", { "aria-live": "polite" });
  const act = async (fn, ok) => {
    msg.replaceChildren();
    try {
      await fn();
      flash(ok, "ok");
      await draw(root, id, alive);
    } catch (e) {
      if (e.status !== 401) msg.replaceChildren(notice("error", e.message));
    }
  };
  const actions = h("div", { class: "actions" });
  const next = NEXT_ACTION[t.status];
  if (next && (t.status !== "new" || t.worker_id !== null)) {
    actions.append(h("button", { class: "primary", type: "button",
      onclick: () => act(() => api("POST", `/tickets/${id}/status`, { new_status: next[0] }), `Ticket #${id} is now ${STATUS_LABEL[next[0]].toLowerCase()}.`) }, next[1]));
  } else if (t.status === "new") {
    actions.append(h("span", { class: "muted" }, "Assign a worker before the work can start."));
  }
  if (admin && t.status !== "done") {
    const sel = h("select", { id: "assign-worker" }, h("option", { value: "" }, "Choose a worker…"),
      ...staff.map((w) => h("option", { value: w.id, selected: w.id === t.worker_id || null }, w.username)));
    actions.append(h("label", { for: "assign-worker" }, t.worker_id ? "Reassign to" : "Assign to"), sel,
      h("button", { class: "secondary", type: "button", onclick: () => {
        if (!sel.value) { msg.replaceChildren(notice("error", "Choose a worker first.")); return; }
        act(() => api("POST", `/tickets/${id}/assign`, { worker_id: Number(sel.value) }), `Ticket #${id} assigned to ${workerName(Number(sel.value))}.`);
      } }, "Assign"));
  }
  show(root,
    h("p", {}, h("a", { href: "#/tickets" }, "← Back to the list")),
    h("h1", {}, `#${t.id} `, t.title, " ", statusBadge(t.status), liveBadge()),
    msg,
    h("div", { class: "columns" },
      h("div", {},
        h("section", { class: "panel" }, h("h2", {}, "Problem"), h("p", { class: "description" }, t.description), actions),
        h("section", { class: "panel" }, h("h2", {}, "History"),
          h("ol", { class: "timeline" }, ...history.items.map((e) => h("li", {},
            h("time", { datetime: e.at }, fmtTime(e.at)), eventText(e),
            e.kind === "assigned" && e.actor_id === null ? h("span", { class: "badge auto", title: "Assigned automatically" }, "auto") : null,
            e.actor_id ? h("span", { class: "muted" }, ` — by ${actorText(e.actor_id)}`) : null)))),
      ),
      h("div", {},
        h("section", { class: "panel" }, h("h2", {}, "Progress"), dl([
          ["Status", statusBadge(t.status)], ["Worker", workerName(t.worker_id)], ["Created", fmtTime(t.created_at)],
          ["Assigned", fmtTime(t.assigned_at)], ["Started", fmtTime(t.in_progress_at)], ["Done", fmtTime(t.done_at)],
          ["Last change", fmtTime(t.updated_at)], ["Viewed", t.viewed ? "Yes" : "No"], ["Tracking code", h("span", { class: "code" }, t.tracking_code)]])),
        h("section", { class: "panel" }, h("h2", {}, "Client"), dl([
          ["Name", t.client.name], ["E-mail", t.client.email], ["Phone", t.client.phone || "—"], ["Client since", fmtTime(t.client.created_at)]])),
        h("section", { class: "panel" }, h("h2", {}, "Requester"), dl([
          ["IP address", t.requester_ip || "—"], ["User agent", t.requester_ua || "—"]])),
      )),
  );
}
