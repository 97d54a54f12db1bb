// The public tracking page: a request's progress for whoever holds its code.

import { api } from "../api.js";
import { fmtTime, h, show, statusBadge } from "../dom.js";
import { field } from "../components/field.js";
import { notice } from "../components/notice.js";
import { liveBadge } from "../components/live-badge.js";
import { conversation } from "../components/conversation.js";
import { files } from "../components/files.js";
import { customerQuote } from "../components/quotes.js";

export async function render(root, { code }) {
  const out = h("div", { "aria-live": "polite" });
  const input = h("input", { required: true, autocomplete: "off", value: code || "" });
  const form = h("form", { class: "stack" }, field("Tracking code", "code", input),
    h("div", { class: "actions" }, h("button", { class: "primary", type: "submit" }, "Show progress")));
  form.addEventListener("submit", (ev) => {
    ev.preventDefault();
    location.hash = `#/track/${encodeURIComponent(input.value.trim())}`;
  });
  show(root, h("h1", {}, "Track a request"), h("div", { class: "panel narrow" }, form, out));
  if (!code) return;
  const badge = liveBadge("off");
  const draw = (p) => {
    const step = (label, when, reached) =>
      h("li", { class: reached ? "reached" : null }, h("strong", {}, label), reached ? fmtTime(when) : "not yet");
    const device = p.device ? [p.device.brand, p.device.model].filter(Boolean).join(" ") || p.device.kind : null;
    // (replaceChildren would write a null as the text "null".)
    out.replaceChildren(...[
      h("h2", {}, `Request #${p.id}: `, statusBadge(p.status), p.stage ? h("span", { class: "badge stage", "data-testid": "track-stage" }, p.stage) : null, badge),
      device || p.due_at ? h("p", { class: "muted", "data-testid": "track-details" },
        device ? `Device: ${device}. ` : null, p.due_at ? `Promised for ${fmtTime(p.due_at)}.` : null) : null,
      h("ol", { class: "steps" },
        step("Received", p.created_at, true),
        h("li", { class: p.assigned || p.status !== "new" ? "reached" : null }, h("strong", {}, "Technician assigned"), p.assigned ? "yes" : "not yet"),
        step("Work started", p.in_progress_at, !!p.in_progress_at),
        step("Done", p.done_at, !!p.done_at)),
    ].filter(Boolean));
  };
  // The conversation, read again whenever the progress says the count of messages moved.
  const talk = conversation({ path: `/public/tickets/${encodeURIComponent(code)}/messages`, staff: false });
  // The customer's photos and files, read again whenever their count moves.
  const photos = files({ base: `/public/tickets/${encodeURIComponent(code)}/attachments`, staff: false, title: "Photos and files" });
  // The quote to approve, read again with every change of the progress.
  const quote = customerQuote({ code });
  let seen = -1;
  let seenFiles = -1;
  const drawAll = (p) => {
    draw(p);
    if (!talk.isConnected) root.append(quote, photos, talk);
    quote.refresh().catch(() => {});
    if (p.messages !== seen) {
      seen = p.messages;
      talk.refresh().catch(() => {});
    }
    if (p.files !== seenFiles) {
      seenFiles = p.files;
      photos.refresh().catch(() => {});
    }
  };
  try {
    drawAll(await api("GET", `/public/tickets/${encodeURIComponent(code)}`));
  } catch (e) {
    out.replaceChildren(notice("error",
      e.status === 404 ? "No request has this tracking code. Check it and try again." : e.message));
    return;
  }
  // The page follows the request: each change arrives by itself. The browser's EventSource
  // reconnects on its own and the server sends the current progress on every (re)connection.
  const source = new EventSource(`/public/tickets/${encodeURIComponent(code)}/events`);
  source.onopen = () => badge.setState("live");
  source.onerror = () => badge.setState("reconnecting");
  source.addEventListener("progress", (ev) => {
    try {
      drawAll(JSON.parse(ev.data).progress);
      badge.setState("live");
    } catch (e) {
      // A malformed message changes nothing.
    }
  });
  return () => source.close();
}
