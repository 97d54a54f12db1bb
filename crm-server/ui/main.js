// Repair CRM web UI: a small single-page app over the documented JSON API, written as ES
// modules served as they are (no build step). Every value is put on the page as text.

import { whenSecondFactorMissing, whenSessionExpires } from "./api.js";
import { flashNext, flashOnNavigation } from "./components/notice.js";
import { route, signOut } from "./router.js";

whenSessionExpires(signOut);
whenSecondFactorMissing(() => {
  if (location.hash === "#/account") return;
  flashNext("This shop requires admins to sign in with two factors. Set up two-factor sign-in to continue.", "info");
  location.hash = "#/account";
});

window.addEventListener("hashchange", () => {
  if (!location.hash.startsWith("#/login")) flashOnNavigation();
  route();
});

// Module scripts run after the document is parsed.
route();
