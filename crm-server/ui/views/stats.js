// Statistics (admins): overall figures, a table per worker and a stacked bar chart.

import { api } from "../api.js";
import { STATUS_LABEL, h, qs, show } from "../dom.js";
import { forgetWorkers, workers } from "../session.js";
import { liveBadge } from "../components/live-badge.js";
import { debounce, follow } from "../live.js";

const hours = (s) => (s === null ? "—" : s < 3600 ? `${Math.round(s / 60)} min` : `${(s / 3600).toFixed(1)} h`);

function bar(s, max) {
  const b = h("div", { class: "bar", role: "img", "aria-label": `${s.new} new, ${s.in_progress} in progress, ${s.done} done` });
  for (const k of ["new", "in_progress", "done"]) {
    const seg = h("div", { class: `seg ${k}` });
    seg.style.width = `${(100 * s[k]) / max}%`;
    b.append(seg);
  }
  return b;
}

const COLUMNS = ["Worker", "Total", "New", "In progress", "Done", "Avg. resolution"];
const STAGE_COLUMNS = ["Stage", "Status", "Tickets now", "Avg. time in stage"];

export async function render(root, { alive }) {
  await draw(root, alive);
  const redraw = debounce(() => alive() && draw(root, alive).catch(() => {}), 500);
  return follow({
    onEvent: redraw,
    onReconnect: redraw,
    onState: (s) => root.querySelector("[data-testid=live-status]")?.setState?.(s),
  });
}

async function draw(root, alive) {
  forgetWorkers();
  const list = await workers();
  const overall = await api("GET", "/tickets/stats");
  const rows = await Promise.all(list.map(async (w) => ({ w, s: await api("GET", `/tickets/stats${qs({ worker_id: w.id })}`) })));
  if (!alive()) return;
  const max = Math.max(1, ...rows.map((r) => r.s.total));
  show(root,
    h("h1", {}, "Statistics", liveBadge()),
    h("section", { class: "panel" }, h("h2", {}, "All tickets"),
      h("p", {}, `${overall.total} total: ${overall.new} new, ${overall.in_progress} in progress, ${overall.done} done. Average resolution: ${hours(overall.avg_resolution_seconds)}.`)),
    overall.stages.length ? h("section", { class: "panel", "data-testid": "stage-stats" }, h("h2", {}, "Per stage"),
      h("div", { class: "table-wrap" }, h("table", { class: "cards" },
        h("thead", {}, h("tr", {}, ...STAGE_COLUMNS.map((c) => h("th", { scope: "col" }, c)))),
        h("tbody", {}, overall.stages.map((s) => h("tr", {},
          ...[s.name, STATUS_LABEL[s.status], s.tickets, hours(s.avg_seconds)]
            .map((v, i) => h("td", { "data-label": STAGE_COLUMNS[i] }, String(v))))))))) : null,
    h("section", { class: "panel" }, h("h2", {}, "Per worker"),
      h("div", { class: "table-wrap" }, h("table", { class: "cards" },
        h("thead", {}, h("tr", {}, ...COLUMNS.map((c) => h("th", { scope: "col" }, c)))),
        h("tbody", {}, rows.map(({ w, s }) => h("tr", {},
          ...[w.username, s.total, s.new, s.in_progress, s.done, hours(s.avg_resolution_seconds)]
            .map((v, i) => h("td", { "data-label": COLUMNS[i] }, String(v)))))))),
      h("h2", {}, "Tickets per worker"),
      h("div", { class: "chart", "data-testid": "chart" }, rows.map(({ w, s }) => h("div", { class: "row" }, h("span", {}, w.username), bar(s, max), h("span", {}, s.total)))),
      h("div", { class: "legend" }, h("span", { class: "new" }, "New"), h("span", { class: "in_progress" }, "In progress"), h("span", { class: "done" }, "Done"))),
  );
}
