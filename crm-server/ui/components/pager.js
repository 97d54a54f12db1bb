// The pager under every list: previous/next, nearby pages, page size and the total.

import { h } from "../dom.js";

export function pager(page, onGo, onSize, sizes = [10, 20, 50, 100]) {
  const box = h("nav", { class: "pager", "aria-label": "Pages" });
  const pages = Math.max(page.pages, 1);
  const btn = (label, p, key, current) =>
    h("button", {
      type: "button", "data-key": `page-${key}`, "aria-current": current ? "page" : null,
      disabled: p < 1 || p > pages || null, onclick: () => onGo(p),
      "aria-label": typeof label === "number" ? `Page ${label}` : null,
    }, String(label));
  box.append(btn("‹ Prev", page.page - 1, "prev"));
  const shown = new Set([1, pages, page.page - 1, page.page, page.page + 1].filter((p) => p >= 1 && p <= pages));
  let last = 0;
  for (const p of [...shown].sort((a, b) => a - b)) {
    if (p - last > 1) box.append(h("span", { class: "muted" }, "…"));
    box.append(btn(p, p, p, p === page.page));
    last = p;
  }
  box.append(btn("Next ›", page.page + 1, "next"));
  const size = h("select", { "aria-label": "Rows per page", "data-key": "page-size", onchange: (e) => onSize(Number(e.target.value)) },
    ...sizes.map((n) => h("option", { value: n, selected: n === page.size || null }, `${n} per page`)));
  box.append(size, h("span", { class: "total", "data-testid": "total" }, `${page.total} total`));
  return box;
}
