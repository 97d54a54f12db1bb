// Photos and files on a ticket: thumbnails that open full size, a drop zone, a file picker
// and (on phones) the camera, with upload progress. Staff choose who may see each file,
// deliberately (nothing defaults to the customer); the customer's files are always theirs.
// Names are shown as text.

import { api, blobUrl, upload } from "../api.js";
import { h, timeAgo } from "../dom.js";
import { flash, notice } from "./notice.js";

const ACCEPT = "image/jpeg,image/png,image/webp,image/heic,image/gif,application/pdf,text/plain";

function size(n) {
  return n >= 1 << 20 ? `${(n / (1 << 20)).toFixed(1)} MiB` : n >= 1024 ? `${Math.round(n / 1024)} KiB` : `${n} B`;
}

/**
 * The files panel over `base` (`/tickets/{id}/attachments` for staff, the public one for the
 * customer). Made once and kept across redraws; `panel.refresh()` lists the files again.
 * `admin` adds Remove buttons.
 */
export function files({ base, staff, admin, title }) {
  const grid = h("ul", { class: "files", "data-testid": "files" });
  const msg = h("div", { "aria-live": "polite" });
  const bar = h("progress", { max: 100, value: 0, hidden: true, "aria-label": "Upload progress" });
  const picker = h("input", { type: "file", accept: ACCEPT, multiple: true, id: "f-file", hidden: true });
  const camera = h("input", { type: "file", accept: "image/*", capture: "environment", id: "f-camera", hidden: true });
  const pick = h("button", { type: "button", class: "secondary" }, "Choose files");
  const shoot = h("button", { type: "button", class: "secondary camera" }, "Take a photo");
  pick.addEventListener("click", () => picker.click());
  shoot.addEventListener("click", () => camera.click());
  const choose = staff
    ? h("fieldset", { class: "audience" }, h("legend", {}, "Who can see it"),
        h("label", {}, h("input", { type: "radio", name: "file-visibility", value: "internal", id: "f-visibility" }), " Staff only"),
        h("label", {}, h("input", { type: "radio", name: "file-visibility", value: "customer" }), " The customer too"))
    : null;
  const zone = h("div", { class: "dropzone", "data-testid": "dropzone" },
    h("p", { class: "muted" }, "Drop photos or files here, or"),
    h("div", { class: "actions" }, pick, shoot),
    h("p", { class: "muted small" }, "JPEG, PNG, WebP, HEIC, GIF, PDF or text. Location data is removed from photos."));
  const panel = h("section", { class: "panel files-panel", "aria-labelledby": "files-title" },
    h("h2", { id: "files-title" }, title || "Photos and files"), grid, choose, zone, picker, camera, bar, msg);

  const audience = () => staff ? (panel.querySelector("input[name=file-visibility]:checked") || {}).value : null;
  let busy = false;
  async function send(list) {
    if (busy || !list.length) return;
    msg.replaceChildren();
    const visibility = audience();
    if (staff && !visibility) {
      msg.replaceChildren(notice("error", "Who can see it: choose staff only or the customer too before adding a file."));
      panel.querySelector("#f-visibility").focus();
      return;
    }
    busy = true;
    bar.hidden = false;
    let done = 0;
    try {
      for (const file of list) {
        bar.value = 0;
        await upload(base, file, staff ? { visibility } : {}, (sent, total) => { bar.value = Math.round((sent / total) * 100); });
        done += 1;
      }
      flash(done === 1 ? "File added." : `${done} files added.`, "ok");
    } catch (e) {
      if (e.status !== 401) msg.replaceChildren(notice("error", `File: ${e.message}`));
    } finally {
      busy = false;
      bar.hidden = true;
      picker.value = "";
      camera.value = "";
      await panel.refresh().catch(() => {});
    }
  }
  picker.addEventListener("change", () => send([...picker.files]));
  camera.addEventListener("change", () => send([...camera.files]));
  zone.addEventListener("dragover", (ev) => { ev.preventDefault(); zone.classList.add("over"); });
  zone.addEventListener("dragleave", () => zone.classList.remove("over"));
  zone.addEventListener("drop", (ev) => {
    ev.preventDefault();
    zone.classList.remove("over");
    send([...(ev.dataTransfer ? ev.dataTransfer.files : [])]);
  });

  // Staff downloads need the token, so they are read as blobs; the customer's are plain links.
  const src = async (path) => (staff ? blobUrl(path) : path);
  async function open(a) {
    const path = `${base}/${a.id}`;
    try {
      const url = await src(path);
      window.open(url, "_blank", "noopener");
    } catch (e) {
      msg.replaceChildren(notice("error", e.message));
    }
  }
  function card(a) {
    const label = `${a.name} (${size(a.size)})`;
    const thumb = h("img", { alt: `Thumbnail of ${a.name}`, width: 96, height: 96, loading: "lazy" });
    if (a.has_thumbnail) src(`${base}/${a.id}/thumbnail`).then((u) => { thumb.src = u; }).catch(() => {});
    const face = a.has_thumbnail ? thumb : h("span", { class: "file-icon", "aria-hidden": "true" }, a.name.split(".").pop().slice(0, 4).toUpperCase());
    const openBtn = h("button", { type: "button", class: "file-open", title: `Open ${a.name}` }, face, h("span", { class: "file-name" }, a.name));
    openBtn.setAttribute("aria-label", `Open ${label}`);
    openBtn.addEventListener("click", () => open(a));
    const meta = h("span", { class: "muted small" },
      staff && a.visibility === "internal" ? h("span", { class: "tag-internal" }, "Staff only") : null,
      ` ${a.uploaded_by.name}, `, timeAgo(a.created_at));
    const remove = admin ? h("button", { type: "button", class: "link danger", "aria-label": `Remove ${a.name}` }, "Remove") : null;
    if (remove) {
      remove.addEventListener("click", async () => {
        if (!confirm(`Remove ${a.name}? The file cannot be restored.`)) return;
        try {
          await api("DELETE", `${base}/${a.id}`);
          flash("File removed.", "ok");
          await panel.refresh();
        } catch (e) {
          msg.replaceChildren(notice("error", e.message));
        }
      });
    }
    return h("li", { class: `file${a.visibility === "internal" ? " file-internal" : ""}`, "data-testid": "file" }, openBtn, meta, remove);
  }

  panel.refresh = async () => {
    const page = await api("GET", `${base}?size=100`);
    grid.replaceChildren(...(page.items.length
      ? page.items.map(card)
      : [h("li", { class: "muted empty" }, staff ? "No files yet." : "No photos yet. Add some below.")]));
  };
  return panel;
}
