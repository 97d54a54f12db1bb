// Quotes on a ticket (staff): every version with its state, an editor for drafts with live
// totals in the shop's currency, and sending. Amounts are typed as people write money
// ("89.99") and kept in minor units; the totals shown while typing follow the server's rule
// (tax rounded half to even once per quote), and the saved figures are the server's.

import { api } from "../api.js";
import { fmtTime, h, srOnly, timeAgo } from "../dom.js";
import { flash, notice } from "./notice.js";
import { clearErrors, showFieldErrors } from "./field.js";

const KINDS = [["part", "Part"], ["labour", "Labour"], ["fee", "Fee"]];
export const QUOTE_STATE = { draft: "Draft", sent: "Awaiting the customer", superseded: "Replaced", expired: "Expired", approved: "Approved", declined: "Declined" };

/** Digits after the decimal point in `currency` (2 for EUR, 0 for JPY). */
export function minorDigits(currency) {
  try {
    return new Intl.NumberFormat("en", { style: "currency", currency }).resolvedOptions().maximumFractionDigits;
  } catch (e) {
    return 2;
  }
}

/** An amount in minor units as people read it in `currency`. */
export function money(minor, currency) {
  const d = minorDigits(currency);
  try {
    return new Intl.NumberFormat(undefined, { style: "currency", currency, minimumFractionDigits: d, maximumFractionDigits: d }).format(Number(minor) / 10 ** d);
  } catch (e) {
    return `${(Number(minor) / 10 ** d).toFixed(d)} ${currency}`;
  }
}

/** "89.99" (or "89,99") to minor units, or null when it is not an amount. */
function parseAmount(text, digits) {
  const m = text.trim().match(digits > 0 ? new RegExp(`^(\\d{1,9})(?:[.,](\\d{1,${digits}}))?$`) : /^(\d{1,12})$/);
  if (!m) return null;
  const frac = (m[2] || "").padEnd(digits, "0");
  return Number(m[1]) * 10 ** digits + Number(frac || 0);
}

/** "19" or "7.5" percent to basis points, or null. */
function parseRate(text) {
  const m = text.trim().match(/^(\d{1,3})(?:[.,](\d{1,2}))?$/);
  if (!m) return null;
  const bp = Number(m[1]) * 100 + Number((m[2] || "").padEnd(2, "0"));
  return bp <= 10000 ? bp : null;
}

/** The server's arithmetic: line totals, subtotal, tax half to even, total (BigInt). */
export function totals(lines, bp) {
  const subtotal = lines.reduce((s, l) => s + BigInt(l.quantity) * BigInt(l.unit_price), 0n);
  const n = subtotal * BigInt(bp);
  const q = n / 10000n;
  const r = n % 10000n;
  const tax = 2n * r > 10000n || (2n * r === 10000n && q % 2n === 1n) ? q + 1n : q;
  return { subtotal, tax, total: subtotal + tax };
}

function stateBadge(state) {
  return h("span", { class: `badge quote-${state}`, "data-testid": "quote-state" }, QUOTE_STATE[state] || state);
}

/**
 * The quote panel of ticket `id`, made once and kept across redraws (an open editor keeps
 * what is typed); `panel.refresh()` reads the versions again.
 */
export function quotes({ id }) {
  const list = h("div", { "data-testid": "quotes" });
  const editorSlot = h("div");
  const msg = h("div", { "aria-live": "polite" });
  const newButton = h("button", { type: "button", class: "secondary", id: "new-quote" }, "New quote");
  const panel = h("section", { class: "panel quotes", "aria-labelledby": "quotes-title" },
    h("div", { class: "panel-head" }, h("h2", { id: "quotes-title" }, "Quote"), newButton), msg, list, editorSlot);
  let state = { items: [], currency: "EUR" };
  let editing = null;

  const closeEditor = () => {
    editing = null;
    editorSlot.replaceChildren();
    newButton.hidden = false;
  };

  const openEditor = (draft) => {
    const currency = draft ? draft.currency : state.currency;
    const digits = minorDigits(currency);
    const show = (minor) => (Number(minor) / 10 ** digits).toFixed(digits);
    const start = draft || state.items[state.items.length - 1];
    editing = { id: draft ? draft.id : null };
    newButton.hidden = true;
    const rows = h("tbody");
    const totalsBox = h("dl", { class: "quote-totals", "data-testid": "editor-totals", "aria-live": "polite" });
    const tax = h("input", { type: "text", inputmode: "decimal", id: "quote-tax", name: "tax_rate", value: start ? String(start.tax_rate / 100) : "0", autocomplete: "off" });
    const days = h("input", { type: "number", min: 1, max: 90, id: "quote-days", name: "valid_days", value: start ? start.valid_days : 14 });
    const note = h("textarea", { id: "quote-note", name: "note", rows: 2, maxlength: 2000 });
    note.value = (start && start.note) || "";
    const addRow = (l) => {
      const i = rows.children.length;
      const kind = h("select", { name: `lines[${i}].kind`, "aria-label": `Line ${i + 1} kind` },
        ...KINDS.map(([v, t]) => h("option", { value: v, selected: (l ? l.kind : "part") === v || null }, t)));
      const desc = h("input", { type: "text", name: `lines[${i}].description`, "aria-label": `Line ${i + 1} description`, maxlength: 200, value: l ? l.description : "", autocomplete: "off" });
      const qty = h("input", { type: "number", min: 1, max: 1000, name: `lines[${i}].quantity`, "aria-label": `Line ${i + 1} quantity`, value: l ? l.quantity : 1 });
      const price = h("input", { type: "text", inputmode: "decimal", name: `lines[${i}].unit_price`, "aria-label": `Line ${i + 1} unit price`, value: l ? show(l.unit_price) : "", autocomplete: "off" });
      const remove = h("button", { type: "button", class: "secondary", "aria-label": `Remove line ${i + 1}`, onclick: () => { tr.remove(); renumber(); recompute(); } }, "✕");
      const tr = h("tr", { class: "quote-line" },
        h("td", { "data-label": "Kind" }, kind),
        h("td", { "data-label": "Description", class: "grow" }, desc,
          h("div", { class: "field-error", "data-error-for": `lines[${i}].description` })),
        h("td", { "data-label": "Qty" }, qty, h("div", { class: "field-error", "data-error-for": `lines[${i}].quantity` })),
        h("td", { "data-label": `Unit price (${currency})` }, price, h("div", { class: "field-error", "data-error-for": `lines[${i}].unit_price` })),
        h("td", { "data-label": "Line total", class: "line-total" }, ""),
        h("td", {}, remove));
      rows.append(tr);
      for (const el of [kind, desc, qty, price]) el.addEventListener("input", recompute);
    };
    const renumber = () => {
      [...rows.children].forEach((tr, i) => {
        const names = ["kind", "description", "quantity", "unit_price"];
        tr.querySelectorAll("select, input").forEach((el, j) => {
          el.name = `lines[${i}].${names[j]}`;
          el.setAttribute("aria-label", `Line ${i + 1} ${["kind", "description", "quantity", "unit price"][j]}`);
        });
        tr.querySelectorAll("[data-error-for]").forEach((e) => {
          const f = e.dataset.errorFor;
          e.dataset.errorFor = f.replace(/^lines\[\d+\]/, `lines[${i}]`);
        });
        tr.querySelector("button").setAttribute("aria-label", `Remove line ${i + 1}`);
      });
    };
    /** The lines as typed; `problems` gets a sentence for each value that is not one. */
    const read = (problems) => [...rows.children].map((tr, i) => {
      const [kind, desc, qty, price] = tr.querySelectorAll("select, input");
      const unit = parseAmount(price.value, digits);
      if (problems && unit === null) problems.push({ field: `lines[${i}].unit_price`, message: `Line ${i + 1}: the unit price is an amount like ${(8999 / 10 ** digits).toFixed(digits)}.` });
      return { kind: kind.value, description: desc.value, quantity: Number(qty.value) || 0, unit_price: unit ?? 0 };
    });
    const recompute = () => {
      const lines = read(null);
      const bp = parseRate(tax.value) ?? 0;
      [...rows.children].forEach((tr, i) => {
        tr.querySelector(".line-total").textContent = money(BigInt(lines[i].quantity) * BigInt(lines[i].unit_price), currency);
      });
      const t = totals(lines, bp);
      totalsBox.replaceChildren(
        h("dt", {}, "Subtotal"), h("dd", {}, money(t.subtotal, currency)),
        h("dt", {}, `Tax ${bp / 100}%`), h("dd", {}, money(t.tax, currency)),
        h("dt", {}, "Total"), h("dd", { "data-testid": "editor-total" }, h("strong", {}, money(t.total, currency))));
    };
    for (const l of (start ? start.lines : [null])) addRow(l);
    tax.addEventListener("input", recompute);
    const form = h("form", { class: "stack quote-editor", novalidate: true, "aria-label": draft ? `Edit quote version ${draft.version}` : "New quote" },
      h("table", { class: "cards quote-lines" },
        h("thead", {}, h("tr", {}, ...["Kind", "Description", "Qty", `Unit price (${currency})`, "Line total"].map((c) => h("th", { scope: "col" }, c)),
          h("th", { scope: "col" }, srOnly("Remove")))),
        rows),
      h("p", {}, h("button", { type: "button", class: "secondary", id: "add-line", onclick: () => { addRow(null); recompute(); rows.lastElementChild.querySelector("input").focus(); } }, "Add line")),
      h("div", { class: "row2" },
        h("div", { class: "field" }, h("label", { for: "quote-tax" }, "Tax %"), tax, h("div", { class: "field-error", "data-error-for": "tax_rate" })),
        h("div", { class: "field" }, h("label", { for: "quote-days" }, "Days to decide"), days, h("div", { class: "field-error", "data-error-for": "valid_days" }))),
      h("div", { class: "field" }, h("label", { for: "quote-note" }, "Note for the customer"), note, h("div", { class: "field-error", "data-error-for": "note" })),
      totalsBox,
      h("div", { class: "actions" },
        h("button", { type: "submit", class: "primary", id: "save-quote" }, "Save draft"),
        h("button", { type: "button", class: "secondary", onclick: () => { closeEditor(); newButton.focus(); } }, "Cancel")));
    form.addEventListener("submit", async (ev) => {
      ev.preventDefault();
      clearErrors(form);
      msg.replaceChildren();
      const problems = [];
      const lines = read(problems);
      const bp = parseRate(tax.value);
      if (bp === null) problems.push({ field: "tax_rate", message: "The tax is a percentage from 0 to 100, like 19 or 7.5." });
      if (problems.length) {
        showFieldErrors(form, problems);
        return;
      }
      const body = { lines, tax_rate: bp, valid_days: Number(days.value) || null, note: note.value.trim() || null };
      try {
        const saved = editing.id === null
          ? await api("POST", `/tickets/${id}/quotes`, body)
          : await api("PATCH", `/tickets/${id}/quotes/${editing.id}`, body);
        closeEditor();
        flash(`Quote version ${saved.version} is saved as a draft: ${money(saved.total, saved.currency)}.`, "ok");
        await panel.refresh();
        document.getElementById(`send-quote-${saved.id}`)?.focus();
      } catch (e) {
        if (!(e.code === "validation_error" && showFieldErrors(form, e.fields))) msg.replaceChildren(notice("error", e.message));
      }
    });
    editorSlot.replaceChildren(form);
    recompute();
    rows.querySelector("input")?.focus();
  };

  newButton.addEventListener("click", () => openEditor(null));

  const version = (q) => {
    const actions = [];
    if (q.state === "draft") {
      actions.push(
        h("button", { type: "button", class: "secondary", id: `edit-quote-${q.id}`, onclick: () => openEditor(q) }, "Edit draft"),
        h("button", { type: "button", class: "primary", id: `send-quote-${q.id}`, onclick: async () => {
          msg.replaceChildren();
          try {
            await api("POST", `/tickets/${id}/quotes/${q.id}/send`);
            flash(`Quote version ${q.version} is sent: the customer can approve it on the tracking page.`, "ok");
            await panel.refresh();
          } catch (e) {
            msg.replaceChildren(notice("error", e.message));
          }
        } }, "Send quote to customer"));
    }
    const d = q.decision;
    return h("li", { class: `quote quote-${q.state}`, "data-testid": `quote-${q.version}` },
      h("div", { class: "quote-head" },
        h("strong", {}, `Version ${q.version}`), stateBadge(q.state),
        h("span", { class: "quote-total" }, money(q.total, q.currency)),
        q.sent_at ? h("span", { class: "muted" }, "sent ", timeAgo(q.sent_at)) : null,
        q.state === "sent" && q.expires_at ? h("span", { class: "muted" }, `, open until ${fmtTime(q.expires_at)}`) : null),
      h("ul", { class: "quote-items" }, ...q.lines.map((l) => h("li", {}, `${l.quantity} × `, l.description, ` — ${money(l.total, q.currency)}`))),
      h("p", { class: "muted" }, `Subtotal ${money(q.subtotal, q.currency)}, tax ${q.tax_rate / 100}% ${money(q.tax, q.currency)}`),
      d ? h("p", { class: "quote-decision", "data-testid": "quote-decision" },
        d.decision === "approve" ? "Approved" : "Declined", " by ", h("strong", {}, d.name), " ", timeAgo(d.at),
        d.comment ? h("span", {}, ": “", d.comment, "”") : null,
        h("span", { class: "muted" }, ` (from ${d.ip || "an unknown address"})`)) : null,
      actions.length ? h("div", { class: "actions" }, ...actions) : null);
  };

  panel.refresh = async () => {
    state = await api("GET", `/tickets/${id}/quotes`);
    list.replaceChildren(state.items.length
      ? h("ol", { class: "quote-list" }, ...[...state.items].reverse().map(version))
      : h("p", { class: "muted" }, "No quote yet. Write one before starting paid work."));
    newButton.textContent = state.items.length ? "New version" : "New quote";
  };
  return panel;
}

/**
 * The customer's quote under the tracking code: what it costs, line by line, and, while it
 * is open, Approve / Decline with the name typed as a signature. Hidden until a quote is
 * sent; `panel.refresh()` reads it again.
 */
export function customerQuote({ code }) {
  const path = `/public/tickets/${encodeURIComponent(code)}/quote`;
  const body = h("div");
  const msg = h("div", { "aria-live": "polite" });
  const panel = h("section", { class: "panel quotes customer-quote", "aria-labelledby": "customer-quote-title", hidden: true },
    h("h2", { id: "customer-quote-title" }, "Your quote"), msg, body);
  const name = h("input", { type: "text", id: "decider-name", name: "name", maxlength: 100, autocomplete: "name" });
  const comment = h("textarea", { id: "decider-comment", name: "comment", rows: 2, maxlength: 1000 });
  let current = null;
  const form = h("form", { class: "stack", novalidate: true, "aria-label": "Approve or decline the quote" },
    h("div", { class: "field" }, h("label", { for: "decider-name" }, "Your name (it stands for your signature)"), name,
      h("div", { class: "field-error", "data-error-for": "name" })),
    h("div", { class: "field" }, h("label", { for: "decider-comment" }, "Comment for the shop (optional)"), comment,
      h("div", { class: "field-error", "data-error-for": "comment" })),
    h("div", { class: "actions" },
      h("button", { type: "submit", class: "primary", id: "approve-quote", value: "approve" }, "Approve"),
      h("button", { type: "submit", class: "secondary", id: "decline-quote", value: "decline" }, "Decline")));
  form.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    clearErrors(form);
    msg.replaceChildren();
    const decision = (ev.submitter && ev.submitter.value) || "approve";
    if (!name.value.trim()) {
      showFieldErrors(form, [{ field: "name", message: "Type your name to approve or decline the quote." }]);
      return;
    }
    try {
      const q = await api("POST", `${path}/decision`, { quote_id: current.id, decision, name: name.value, comment: comment.value.trim() || null });
      draw(q);
      msg.replaceChildren(notice("ok", q.state === "approved" ? "Thank you: the quote is approved and the shop can start the repair." : "The quote is declined; the shop will be in touch."));
      panel.querySelector("h2").focus?.();
    } catch (e) {
      if (e.code === "validation_error" && showFieldErrors(form, e.fields)) return;
      msg.replaceChildren(notice("error", e.code === "quote_decided" ? "This quote was decided already." : e.message));
      panel.refresh().catch(() => {});
    }
  });
  const draw = (q) => {
    current = q;
    panel.hidden = false;
    const open = q.state === "sent";
    // (replaceChildren would write a null as the text "null".)
    body.replaceChildren(...[
      h("p", {}, stateBadge(q.state), " ", `Version ${q.version}`, q.expires_at && open ? `, please decide by ${fmtTime(q.expires_at)}.` : "."),
      h("table", { class: "cards quote-view" },
        h("thead", {}, h("tr", {}, ...["Item", "Qty", "Price", "Total"].map((c) => h("th", { scope: "col" }, c)))),
        h("tbody", {}, ...q.lines.map((l) => h("tr", {},
          h("td", { "data-label": "Item" }, l.description),
          h("td", { "data-label": "Qty" }, String(l.quantity)),
          h("td", { "data-label": "Price" }, money(l.unit_price, q.currency)),
          h("td", { "data-label": "Total" }, money(l.total, q.currency)))))),
      h("dl", { class: "quote-totals" },
        h("dt", {}, "Subtotal"), h("dd", {}, money(q.subtotal, q.currency)),
        h("dt", {}, `Tax ${q.tax_rate / 100}%`), h("dd", {}, money(q.tax, q.currency)),
        h("dt", {}, "Total"), h("dd", { "data-testid": "customer-quote-total" }, h("strong", {}, money(q.total, q.currency)))),
      q.note ? h("p", { class: "description" }, q.note) : null,
      q.decision ? h("p", { "data-testid": "customer-decision" }, q.decision.decision === "approve" ? "Approved" : "Declined", " by ", q.decision.name, ", ", fmtTime(q.decision.at), ".") : null,
      open ? form : null].filter(Boolean));
  };
  panel.refresh = async () => {
    try {
      draw(await api("GET", path));
    } catch (e) {
      if (e.status !== 404) throw e;
      panel.hidden = true;
    }
  };
  return panel;
}
