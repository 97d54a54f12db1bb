// Notices: the page-wide flash line and inline messages.

import { h } from "../dom.js";

/** A message box; `kind` is info, ok or error (errors are announced as alerts). */
export function notice(kind, ...children) {
  const role = kind === "error" ? "alert" : "status";
  return h("div", { class: `notice ${kind}`, role }, ...children);
}

/** Sets (or, with no text, clears) the message shown above every page. */
export function flash(text, kind = "info") {
  const box = document.getElementById("flash");
  box.replaceChildren(text ? h("div", { class: `notice ${kind}` }, text) : "");
}

let pending = null;

/** A message to show on the page the user is about to be taken to. */
export function flashNext(text, kind = "info") {
  pending = [text, kind];
}

/** On navigation: shows the pending message, or clears the previous page's. */
export function flashOnNavigation() {
  if (pending) {
    flash(...pending);
    pending = null;
  } else {
    flash("");
  }
}
