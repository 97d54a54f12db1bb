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

/** The page's title: the view's heading, then the product. */
function title(root) {
  const h1 = root.querySelector("h1");
  const text = h1 ? (h1.dataset.title || h1.textContent).trim() : "";
  document.title = text ? `${text} · Repair CRM` : "Repair CRM";
}

/** Replaces what `root` shows and moves focus there, as a page change does. */
export function show(root, ...nodes) {
  root.replaceChildren(...nodes);
  title(root);
  root.focus();
}

/**
 * The key an element is found again by after a redraw: its id, its `data-key`, or its role
 * and text. Controls a view redraws should have an id or a data-key.
 */
function keyOf(el) {
  if (!el || el === document.body) return null;
  if (el.id) return `#${CSS.escape(el.id)}`;
  if (el.dataset && el.dataset.key) return `[data-key="${CSS.escape(el.dataset.key)}"]`;
  return null;
}

/**
 * The form controls under `root` that the user has changed since they were drawn (a worker
 * picked but not yet assigned), each with a function putting that choice onto its redrawn
 * twin, so a live refresh never throws away what someone was in the middle of choosing.
 */
function changedControls(root) {
  const out = [];
  for (const el of root.querySelectorAll("select, input, textarea")) {
    const key = keyOf(el);
    if (!key) continue;
    if (el instanceof HTMLSelectElement) {
      const drawn = [...el.options].find((o) => o.defaultSelected) || el.options[0];
      if (!el.multiple && drawn && el.value !== drawn.value) {
        const value = el.value;
        out.push([key, (n) => { n.value = value; }]);
      }
    } else if (el.type === "checkbox" || el.type === "radio") {
      if (el.checked !== el.defaultChecked) {
        const checked = el.checked;
        out.push([key, (n) => { n.checked = checked; }]);
      }
    } else if (el.type !== "file" && el.value !== el.defaultValue) {
      const value = el.value;
      out.push([key, (n) => { n.value = value; }]);
    }
  }
  return out;
}

/**
 * Redraws `root` in place (a live refresh, the answer to an action): what had keyboard
 * focus keeps it when it is drawn again, and the page does not scroll. Without such an
 * element, focus goes to `fallback` (a selector), or stays on the page's main region.
 */
export function redraw(root, nodes, fallback) {
  const active = document.activeElement;
  const inside = active && root.contains(active);
  const key = inside ? keyOf(active) : null;
  const selection = inside && "selectionStart" in active ? [active.selectionStart, active.selectionEnd] : null;
  const scroll = window.scrollY;
  const changed = changedControls(root);
  root.replaceChildren(...nodes);
  for (const [k, apply] of changed) {
    const again = root.querySelector(k);
    if (again) apply(again);
  }
  title(root);
  if (!inside) return;
  const again = (key && root.querySelector(key)) || (fallback && root.querySelector(fallback));
  if (again) {
    again.focus({ preventScroll: true });
    if (selection && "setSelectionRange" in again) {
      try {
        again.setSelectionRange(...selection);
      } catch (e) {
        // Not a text field: nothing to restore.
      }
    }
  } else {
    root.focus({ preventScroll: true });
  }
  window.scrollTo(0, scroll);
}

// dateStyle cannot be combined with timeZoneName, so the fields are spelled out.
const exact = new Intl.DateTimeFormat(undefined, { year: "numeric", month: "short", day: "numeric", hour: "2-digit", minute: "2-digit", timeZoneName: "short" });
const relative = new Intl.RelativeTimeFormat(undefined, { numeric: "auto" });

/** A time as people at a counter read it: exact, with the zone. */
export function fmtTime(iso) {
  if (!iso) return "—";
  return exact.format(new Date(iso));
}

/** How long ago (or how far ahead) a time is, in words: "5 minutes ago", "yesterday". */
export function ago(iso, now = Date.now()) {
  const s = (new Date(iso).getTime() - now) / 1000;
  const steps = [[60, "second"], [60, "minute"], [24, "hour"], [7, "day"], [4.35, "week"], [12, "month"], [Infinity, "year"]];
  let v = s;
  for (const [size, unit] of steps) {
    if (Math.abs(v) < size) return relative.format(Math.round(v), unit);
    v /= size;
  }
  return relative.format(Math.round(v), "year");
}

/** A `<time>` that says how long ago, with the exact local time and zone on hover. */
export function timeAgo(iso) {
  if (!iso) return h("span", { class: "muted" }, "—");
  return h("time", { datetime: iso, title: fmtTime(iso) }, ago(iso));
}

export function statusBadge(status) {
  return h("span", { class: `badge ${status}` }, STATUS_LABEL[status] || status);
}

/** A ticket's stage as a chip beside its status (nothing when it has none). */
export function stageChip(stage) {
  return stage ? h("span", { class: "badge stage", "data-testid": "stage-chip" }, stage.name) : null;
}

/** A button that copies `text` and says so, for codes and secrets people pass on. */
export function copyButton(text, what) {
  const btn = h("button", { type: "button", class: "copy", "aria-label": `Copy ${what}` }, "Copy");
  btn.addEventListener("click", async () => {
    try {
      await navigator.clipboard.writeText(text);
      btn.textContent = "Copied";
    } catch (e) {
      // No clipboard (an insecure origin): select the text for the person instead.
      const target = btn.previousElementSibling;
      if (target) window.getSelection().selectAllChildren(target);
      btn.textContent = "Selected: press Ctrl+C";
    }
    setTimeout(() => (btn.textContent = "Copy"), 2000);
  });
  return btn;
}

/** A code shown for reading aloud, with a copy button beside it. */
export function codeWithCopy(code, what, testid) {
  return h("span", { class: "code-copy" }, h("span", { class: "code", "data-testid": testid || null }, code), copyButton(code, what));
}

/** A query string from the non-empty values of `params`. */
export function qs(params) {
  const p = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v !== "" && v !== null && v !== undefined && v !== false) p.set(k, v);
  const s = p.toString();
  return s ? `?${s}` : "";
}

/** Text only screen readers read (a table's action column, say). */
export function srOnly(text) {
  return h("span", { class: "sr-only" }, text);
}

/**
 * A table that turns into cards on a phone: each body cell is labelled with its column's
 * header (a cell spanning columns keeps no label), as `table.cards` shows under 600 px.
 */
export function cardTable(head, body) {
  const names = head.map((c) => (typeof c === "string" ? c : c.textContent));
  for (const tr of body) {
    if (!tr.children) continue;
    [...tr.children].forEach((td, i) => {
      if (!td.hasAttribute("colspan") && names[i] && !td.hasAttribute("data-label")) td.setAttribute("data-label", names[i]);
    });
  }
  return h("table", { class: "cards" },
    h("thead", {}, h("tr", {}, ...head.map((c) => h("th", { scope: "col" }, c)))),
    h("tbody", {}, ...body));
}
