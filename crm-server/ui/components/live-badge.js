// Whether a page is live: "Live" while its stream is open, "Reconnecting…" after a drop.

import { h } from "../dom.js";
import { liveState } from "../live.js";

/** A badge; `initial` defaults to the shared staff stream's state. */
export function liveBadge(initial = liveState()) {
  const el = h("span", { class: "live-badge", role: "status", "aria-live": "polite", "data-testid": "live-status" });
  el.setState = (state) => {
    el.textContent = state === "live" ? "Live" : state === "off" ? "Connecting…" : "Reconnecting…";
    el.className = `live-badge ${state === "live" ? "on" : "off"}`;
  };
  el.setState(initial);
  return el;
}
