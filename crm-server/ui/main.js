// Repair CRM web UI: a small single-page app over the documented JSON API, written as ES
// modules served as they are (no build step). Every value is put on the page as text.

import { whenSessionExpires } from "./api.js";
import { flashOnNavigation } from "./components/notice.js";
import { route, signOut } from "./router.js";

whenSessionExpires(signOut);

window.addEventListener("hashchange", () => {
  if (!location.hash.startsWith("#/login")) flashOnNavigation();
  route();
});

// Module scripts run after the document is parsed.
route();
