// Print buttons: the receipt and the label open in a new tab with a single-use ticket (a tab
// cannot send the session's Authorization header), ready for the browser's Print.

import { api } from "../api.js";
import { h } from "../dom.js";

/** Opens `/tickets/{id}/{page}` in a new tab, signed in by a single-use ticket. */
export async function openPrintable(id, page) {
  // Opened during the click, so no pop-up blocker stops it; pointed at the page once the
  // ticket is there.
  const tab = window.open("about:blank", "_blank");
  if (tab) tab.opener = null;
  const { ticket } = await api("POST", "/events/ticket");
  const url = `/tickets/${id}/${page}?ticket=${encodeURIComponent(ticket)}`;
  if (tab) tab.location.href = url;
  else location.href = url;
}

/** "Print receipt" and "Print label" for ticket `id`. */
export function printButtons(id) {
  return [
    h("button", { type: "button", class: "primary", id: "print-receipt", onclick: () => openPrintable(id, "receipt") }, "Print receipt"),
    h("button", { type: "button", class: "secondary", id: "print-label", onclick: () => openPrintable(id, "label") }, "Print label"),
  ];
}
