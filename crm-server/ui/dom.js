// DOM helpers. Every value goes onto the page as text (text nodes), never as HTML.

export const STATUS_LABEL = { new: "New", in_progress: "In progress", done: "Done" };

/** Builds an element; strings and numbers among the children become text nodes. */
export function h(tag, attrs, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === null || v === undefined || v === false) continue;
    if (k.startsWith("on")) el.addEventListener(k.slice(2), v);
    else if (k === "class") el.className = v;
    else if (v === true) el.setAttribute(k, "");
    else el.setAttribute(k, String(v));
  }
  for (const c of children.flat()) {
    if (c === null || c === undefined || c === false) continue;
    el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return el;
}

/** Replaces what `root` shows and moves focus there, as a page change would. */
export function show(root, ...nodes) {
  root.replaceChildren(...nodes);
  root.focus();
}

export function fmtTime(iso) {
  if (!iso) return "—";
  const d = new Date(iso);
  return d.toLocaleString(undefined, { dateStyle: "medium", timeStyle: "short" });
}

export function statusBadge(status) {
  return h("span", { class: `badge ${status}` }, STATUS_LABEL[status] || status);
}

/** A query string from the non-empty values of `params`. */
export function qs(params) {
  const p = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v !== "" && v !== null && v !== undefined) p.set(k, v);
  const s = p.toString();
  return s ? `?${s}` : "";
}
