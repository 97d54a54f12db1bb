// Browser tests of the web UI: headless Chromium (Debian's /usr/bin/chromium) driven by
// playwright-core, against the real crm-server binary on a free port (in-memory store).
//
// Reads CRM_SERVER_BIN (the server binary; scripts/test.sh builds it), CHROMIUM (default
// /usr/bin/chromium) and SCREENSHOT_DIR (default ../../target/screenshots).
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { execFileSync, spawn } from "node:child_process";
import net from "node:net";
import { mkdirSync, readFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { chromium } from "playwright-core";
import { createServer } from "node:http";
import { createHmac } from "node:crypto";

const here = dirname(fileURLToPath(import.meta.url));
const BIN = process.env.CRM_SERVER_BIN || resolve(here, "../../target/debug/crm-server");
const SHOTS = process.env.SCREENSHOT_DIR || resolve(here, "../../target/screenshots");
mkdirSync(SHOTS, { recursive: true });

let server;
let base;
let browser;
const dialogs = [];

// Staff passwords of the shared server: not the documented defaults, so its accounts are
// not asked to change them first (one flow below starts a server on the defaults).
const ADMIN_PW = "browser-admin-pass-1";
const WORKER_PW = "browser-worker-pass-1";

/** Starts the server binary with `env`; resolves to its process and base URL. */
async function startServer(env) {
  const proc = spawn(BIN, [], {
    env: { PORT: "0", RUST_LOG: "info", SECRET_KEY: "browser-test-secret-key-0123456789abcdef", ACCESS_TOKEN_EXPIRE_MINUTES: "60", SUBMIT_RATE_PER_MINUTE: "600", ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  const url = await new Promise((ok, fail) => {
    let log = "";
    const timer = setTimeout(() => fail(new Error(`server did not start:\n${log}`)), 30000);
    const onData = (d) => {
      log += d;
      const m = log.match(/listening .*address=socket:\/\/([\d.]+:\d+)/);
      if (m) {
        clearTimeout(timer);
        ok(`http://${m[1]}`);
      }
    };
    proc.stdout.on("data", onData);
    proc.stderr.on("data", onData);
    proc.on("exit", (code) => fail(new Error(`server exited with ${code}:\n${log}`)));
  });
  return { proc, url };
}

before(async () => {
  ({ proc: server, url: base } = await startServer({ ADMIN_PASSWORD: ADMIN_PW, WORKER_PASSWORD: WORKER_PW, WEBHOOK_ALLOW_HOSTS: "127.0.0.1" }));
  browser = await chromium.launch({
    executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
    args: ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync"],
  });
});

after(async () => {
  await browser?.close();
  server?.kill("SIGTERM");
});

async function newPage(width = 1280, url = base) {
  const ctx = await browser.newContext({ viewport: { width, height: 900 } });
  const page = await ctx.newPage();
  page.on("dialog", async (d) => {
    dialogs.push(d.message());
    await d.dismiss();
  });
  page.on("pageerror", (e) => dialogs.push(`page error: ${e.message}`));
  await page.goto(url + "/");
  return page;
}

async function shot(page, name) {
  await page.screenshot({ path: join(SHOTS, `${name}.png`), fullPage: true });
}

async function submitRequest(page, { title, description, name = "Jane Customer", email = "jane@example.com", phone = "+44 20 7946 0958" }) {
  await page.goto(base + "/#/");
  await page.getByLabel("What needs repair?").fill(title);
  await page.getByLabel("Describe the problem").fill(description);
  await page.getByLabel("Your name").fill(name);
  await page.getByLabel("E-mail").fill(email);
  await page.getByLabel("Phone").fill(phone);
  await page.getByRole("button", { name: "Send request" }).click();
}

async function signIn(page, user, password, url = base) {
  await page.goto(url + "/#/login");
  await page.getByLabel("Username").fill(user);
  await page.getByLabel("Password").fill(password);
  await page.getByRole("button", { name: "Sign in" }).click();
  // On a phone the menu is folded away: the line is there, not visible.
  await page.locator("#nav .who", { hasText: `Signed in as ${user}` }).waitFor({ state: "attached" });
}

test("a customer submits a request, sees its number, then the duplicate message", async () => {
  const page = await newPage();
  await submitRequest(page, { title: "Cracked phone screen", description: "Dropped it; the glass is cracked." });
  await page.getByText(/Your request number is #\d+/).waitFor();
  const code = await page.getByTestId("tracking-code").textContent();
  assert.match(code, /^[0-9A-HJKMNP-TV-Z]{4}(-[0-9A-HJKMNP-TV-Z]{4}){3}$/, "a readable code");
  await shot(page, "01-submitted");

  await submitRequest(page, { title: "Cracked phone screen", description: "Dropped it; the glass is cracked." });
  await page.getByText("We already have this exact request from you").waitFor();
  await shot(page, "02-duplicate");

  // Invalid fields: messages next to the fields, what was typed is kept.
  await submitRequest(page, { title: "Kettle", description: "No heat", email: "not-an-email", phone: "12" });
  await page.getByText("Please correct the highlighted fields.").waitFor();
  assert.match(await page.locator('[data-error-for="client.email"]').textContent(), /valid address/);
  assert.match(await page.locator('[data-error-for="client.phone"]').textContent(), /Phone/);
  assert.equal(await page.getByLabel("E-mail").inputValue(), "not-an-email");
  assert.equal(await page.getByLabel("What needs repair?").inputValue(), "Kettle");
  assert.equal(await page.getByLabel("E-mail").getAttribute("aria-invalid"), "true");
  await shot(page, "03-invalid-fields");

  // Following the request by its code.
  await page.goto(`${base}/#/track/${code}`);
  await page.getByText("Received").waitFor();
  await page.getByText("Technician assigned").waitFor();
  await shot(page, "04-tracking");
  await page.context().close();
});

test("customer-submitted markup is shown as text and never runs", async () => {
  const page = await newPage();
  const evil = "<img src=x onerror=alert(1)>";
  await submitRequest(page, { title: evil, description: "<script>alert(2)</script>", name: "<b onmouseover=alert(3)>Eve</b>", email: "eve@example.com" });
  await page.getByText(/Your request number is #\d+/).waitFor();
  await signIn(page, "admin", ADMIN_PW);
  // The search applies as it is typed.
  await page.getByLabel("Search titles").fill("onerror");
  const link = page.getByRole("link", { name: evil });
  await link.waitFor();
  await link.click();
  await page.getByRole("heading", { name: new RegExp(evil.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")) }).waitFor();
  await page.getByText("<script>alert(2)</script>").waitFor();
  assert.equal(await page.locator("img[src=x]").count(), 0, "no element was created from the title");
  await page.waitForTimeout(300);
  assert.deepEqual(dialogs, [], "no dialog opened and no script error");
  await shot(page, "05-markup-as-text");
  await page.context().close();
});

test("an admin finds, opens and assigns a ticket, manages workers and sees the chart", async () => {
  const page = await newPage();
  await submitRequest(page, { title: "Laptop hinge broken", description: "The left hinge snapped.", email: "lena@example.com" });
  await page.getByText(/Your request number is #\d+/).waitFor();
  await signIn(page, "admin", ADMIN_PW);
  await page.getByRole("heading", { name: "Tickets" }).waitFor();
  await page.locator("#list-status").getByText(/^Tickets 1-\d+ of \d+\.$/).waitFor();
  await shot(page, "06-admin-list");

  await page.getByLabel("Search titles").fill("HINGE");
  await page.getByRole("link", { name: "Laptop hinge broken" }).click();
  await page.getByRole("heading", { name: /Laptop hinge broken/ }).waitFor();
  await page.getByText("Assign a worker before the work can start.").waitFor();
  await page.getByLabel("Assign to").selectOption({ label: "worker" });
  // A change made elsewhere redraws the page live; the worker picked here stays picked.
  await page.evaluate(async () => {
    const id = location.hash.match(/\d+/)[0];
    const auth = { Authorization: `Bearer ${sessionStorage.getItem("crm.token")}`, "Content-Type": "application/json" };
    await fetch(`/tickets/${id}/messages`, { method: "POST", headers: auth, body: JSON.stringify({ body: "Hinge ordered.", visibility: "internal" }) });
  });
  await page.locator("ol.timeline").getByText("Internal note added").waitFor();
  assert.equal(await page.getByLabel("Assign to").evaluate((s) => s.selectedOptions[0].textContent), "worker", "a live redraw keeps the choice");
  await page.getByRole("button", { name: "Assign" }).click();
  await page.getByText(/assigned to worker/).waitFor();
  await page.locator("ol.timeline").getByText("Assigned to worker").waitFor();
  assert.equal(await page.getByRole("button", { name: "Start" }).count(), 1, "Start is offered once a worker is assigned");
  assert.equal(await page.getByRole("button", { name: "Finish" }).count(), 0, "Finish is not offered for a new ticket");
  await shot(page, "07-admin-detail");

  // Worker accounts: create one, then delete it with a confirmation that says what happens.
  await page.getByRole("link", { name: "Workers" }).click();
  await page.getByLabel("Username").fill("temp.worker");
  await page.getByLabel("Password", { exact: true }).fill("temp-pass-123");
  await page.getByRole("button", { name: "Create" }).click();
  await page.getByText("Account temp.worker created.").waitFor();
  await page.getByLabel("Username").fill("temp.worker");
  await page.getByLabel("Password", { exact: true }).fill("temp-pass-123");
  await page.getByRole("button", { name: "Create" }).click();
  await page.getByText("This username is already taken.").waitFor();
  await page.getByRole("button", { name: "Delete temp.worker" }).click();
  await page.getByText(/has no open tickets|will go back to the queue/).waitFor();
  await shot(page, "08-delete-confirmation");
  await page.getByRole("dialog").getByRole("button", { name: "Delete" }).click();
  await page.getByText("temp.worker was deleted.").waitFor();
  // The list is drawn again after the deletion: wait for the row to go.
  await page.getByRole("cell", { name: "temp.worker" }).first().waitFor({ state: "detached" });

  await page.getByRole("link", { name: "Statistics" }).click();
  await page.getByTestId("chart").waitFor();
  assert.ok((await page.locator(".chart .row").count()) >= 1);
  await shot(page, "09-statistics");
  await page.context().close();
});

test("a worker sees only its tickets, starts and finishes one, and the admin sees it done", async () => {
  const page = await newPage();
  await submitRequest(page, { title: "Printer paper jam", description: "Jams on every page.", email: "pat@example.com" });
  const number = (await page.getByText(/Your request number is #\d+/).textContent()).match(/#(\d+)/)[1];
  await submitRequest(page, { title: "Someone else's monitor", description: "Flickers.", email: "sam@example.com" });
  await page.getByText(/Your request number is #\d+/).waitFor();
  await submitRequest(page, { title: "Fresh speaker job", description: "Crackles.", email: "fay@example.com" });
  const fresh = (await page.getByText(/Your request number is #\d+/).textContent()).match(/#(\d+)/)[1];

  await signIn(page, "admin", ADMIN_PW);
  await page.goto(`${base}/#/tickets/${number}`);
  await page.getByLabel("Assign to").selectOption({ label: "worker" });
  await page.getByRole("button", { name: "Assign" }).click();
  await page.getByText(/assigned to worker/).waitFor();
  // Assigned through the API, so nobody has opened it yet.
  const status = await page.evaluate(async (id) => {
    const token = sessionStorage.getItem("crm.token");
    const me = await (await fetch("/users/?role=worker&search=worker", { headers: { Authorization: `Bearer ${token}` } })).json();
    const w = me.items.find((u) => u.username === "worker");
    const r = await fetch(`/tickets/${id}/assign`, { method: "POST", headers: { Authorization: `Bearer ${token}`, "Content-Type": "application/json" }, body: JSON.stringify({ worker_id: w.id }) });
    return r.status;
  }, fresh);
  assert.equal(status, 200);
  await page.getByRole("button", { name: "Sign out" }).click();
  await page.getByText("You have signed out.").waitFor();

  await signIn(page, "worker", WORKER_PW);
  await page.getByRole("heading", { name: "My tickets" }).waitFor();
  await page.getByRole("tab", { name: /My queue/, selected: true }).waitFor();
  const titles = await page.locator("tbody tr td:nth-child(2) a").allTextContents();
  assert.ok(titles.includes("Printer paper jam"), titles.join());
  assert.ok(!titles.includes("Someone else's monitor"), "a worker never sees others' tickets");
  assert.ok(titles.indexOf("Printer paper jam") < titles.indexOf("Fresh speaker job"), "the queue is oldest first");
  // The admin opened the paper jam to assign it; to the worker it is still new.
  const fresh1 = await page.locator("tr.new-to-me td:nth-child(2) a").allTextContents();
  assert.ok(fresh1.includes("Printer paper jam") && fresh1.includes("Fresh speaker job"), fresh1.join());
  await shot(page, "10-worker-list");

  // The session survives a reload.
  await page.reload();
  await page.locator("#nav .who", { hasText: "Signed in as worker" }).waitFor();

  await page.getByRole("link", { name: "Printer paper jam" }).click();
  await page.getByRole("heading", { name: /Printer paper jam/ }).waitFor();
  await page.getByRole("button", { name: "Start" }).click();
  await page.getByText(/is now in progress/).waitFor();
  // The button the worker pressed is redrawn as the next step, and keeps the focus.
  await page.getByRole("button", { name: "Finish" }).waitFor();
  assert.equal(await page.evaluate(() => document.activeElement?.id), "next-action");
  await page.keyboard.press("Enter");
  await page.getByText(/is now done/).waitFor();
  // A live refresh may still be on its way: the page settles without a next step.
  await page.getByRole("button", { name: "Finish" }).waitFor({ state: "detached" });
  assert.equal(await page.getByRole("button", { name: "Start" }).count(), 0);
  await shot(page, "11-worker-done");

  // Opened once, it is no longer new to this worker; done, it has left the queue.
  await page.getByRole("link", { name: "← Tickets" }).click();
  await page.getByRole("link", { name: "Fresh speaker job" }).waitFor();
  const fresh2 = await page.locator("tr.new-to-me td:nth-child(2) a").allTextContents();
  assert.ok(fresh2.includes("Fresh speaker job") && !fresh2.includes("Printer paper jam"), fresh2.join());
  assert.equal(await page.getByRole("link", { name: "Printer paper jam" }).count(), 0);
  await page.getByRole("tab", { name: /Done/ }).click();
  await page.getByRole("link", { name: "Printer paper jam" }).waitFor();
  await page.getByRole("button", { name: "Sign out" }).click();

  await signIn(page, "admin", ADMIN_PW);
  await page.getByRole("tab", { name: /Done/ }).click();
  await page.getByRole("link", { name: "Printer paper jam" }).waitFor();
  await page.context().close();
});

test("an expired session returns to sign-in with a message, and the UI fits a phone", async () => {
  const page = await newPage(390);
  await signIn(page, "admin", ADMIN_PW);
  // A token the server no longer accepts (as after expiry or a restart with a new key), put
  // in place as the page loads again: set in the running page, the list's requests still on
  // their way would meet it, sign out there and take it away before the reload.
  await page.addInitScript(() => sessionStorage.setItem("crm.token", "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIiwiZXhwIjoxfQ.x"));
  await page.reload();
  await page.getByText("Your session has expired. Please sign in again.").waitFor();
  await page.getByRole("button", { name: "Sign in" }).waitFor();
  await shot(page, "12-expired-phone");

  // Every form control has a label; the page does not scroll sideways on a phone.
  await page.goto(base + "/#/");
  const unlabeled = await page.evaluate(() =>
    [...document.querySelectorAll("input, select, textarea")].filter((el) => !el.labels?.length && !el.getAttribute("aria-label")).length);
  assert.equal(unlabeled, 0);
  const overflow = await page.evaluate(() => document.documentElement.scrollWidth > window.innerWidth + 1);
  assert.equal(overflow, false);
  // Keyboard: the form can be filled and sent without a mouse.
  await page.getByLabel("What needs repair?").focus();
  await page.keyboard.type("Tablet charger");
  await page.keyboard.press("Tab");
  await page.keyboard.type("Does not charge");
  await page.keyboard.press("Tab");
  await page.keyboard.type("Kim");
  await page.keyboard.press("Tab");
  await page.keyboard.type("kim@example.com");
  await page.keyboard.press("Enter");
  await page.getByText(/Your request number is #\d+/).waitFor();
  await shot(page, "13-phone-form");
  await page.context().close();
  assert.deepEqual(dialogs, []);
});

/** The password form, through the account page. */
async function openPasswordPage(page) {
  await page.getByRole("link", { name: "Account" }).click();
  await page.getByRole("link", { name: "Change your password" }).click();
}

async function changePassword(page, current, next) {
  await page.getByLabel("Current password").fill(current);
  await page.getByLabel(/^New password/).fill(next);
  await page.getByLabel("Repeat the new password").fill(next);
  await page.getByRole("button", { name: "Change password" }).click();
  await page.getByText("Your password was changed.").waitFor();
}

test("the default admin is asked to change its password on first sign-in", async () => {
  const fresh = await startServer({});
  try {
    const page = await newPage(1280, fresh.url);
    await signIn(page, "admin", "admin123", fresh.url);
    await page.getByRole("heading", { name: "Choose a new password" }).waitFor();
    await page.getByText("still uses its default password").waitFor();
    // Any staff page leads back here until it is done.
    await page.goto(`${fresh.url}/#/tickets`);
    await page.getByRole("heading", { name: "Choose a new password" }).waitFor();
    await shot(page, "14-default-password");
    await page.getByLabel("Current password").fill("admin123");
    await page.getByLabel(/^New password/).fill("admin123");
    await page.getByLabel("Repeat the new password").fill("admin123");
    await page.getByRole("button", { name: "Change password" }).click();
    await page.getByText("must differ from the current one").waitFor();
    await changePassword(page, "admin123", "our-own-admin-pass");
    await page.getByRole("heading", { name: "Tickets" }).waitFor();
    await page.getByRole("button", { name: "Sign out" }).click();
    await page.getByText("You have signed out.").waitFor();
    await signIn(page, "admin", "our-own-admin-pass", fresh.url);
    await page.getByRole("heading", { name: "Tickets" }).waitFor();
    await page.context().close();
  } finally {
    fresh.proc.kill("SIGTERM");
  }
});

test("a worker changes its own password; signing out ends the session on the server", async () => {
  const page = await newPage();
  await signIn(page, "worker", WORKER_PW);
  const oldToken = await page.evaluate(() => sessionStorage.getItem("crm.token"));
  await openPasswordPage(page);
  await page.getByRole("heading", { name: "Change your password" }).waitFor();
  await page.getByLabel("Current password").fill("not-my-password");
  await page.getByLabel(/^New password/).fill("worker-new-pass-2");
  await page.getByLabel("Repeat the new password").fill("worker-new-pass-2");
  await page.getByRole("button", { name: "Change password" }).click();
  await page.getByText("The current password is not correct.").waitFor();
  await shot(page, "15-change-password-error");
  await changePassword(page, WORKER_PW, "worker-new-pass-2");
  await page.getByText("My tickets").first().waitFor();
  // The notice belongs to the page it came with: the next search clears it.
  await page.getByLabel("Search titles").fill("anything");
  await page.getByText("Your password was changed.").waitFor({ state: "detached", timeout: 5000 });
  const refused = await page.evaluate(async (t) => (await fetch("/auth/me", { headers: { Authorization: `Bearer ${t}` } })).status, oldToken);
  assert.equal(refused, 401, "the token from before the change is refused");
  const current = await page.evaluate(() => sessionStorage.getItem("crm.token"));
  await page.getByRole("button", { name: "Sign out" }).click();
  await page.getByText("You have signed out.").waitFor();
  const after = await page.evaluate(async (t) => (await fetch("/auth/me", { headers: { Authorization: `Bearer ${t}` } })).status, current);
  assert.equal(after, 401, "signing out revoked the token on the server");
  await signIn(page, "worker", "worker-new-pass-2");
  // Put the shared server's worker back as the other flows expect it.
  await openPasswordPage(page);
  await changePassword(page, "worker-new-pass-2", WORKER_PW);
  await page.context().close();
});

test("an admin resets a worker's password and the worker must change it at next sign-in", async () => {
  const page = await newPage();
  await signIn(page, "admin", ADMIN_PW);
  await page.getByRole("link", { name: "Workers" }).click();
  await page.getByLabel("Username").fill("reset.me");
  await page.getByLabel("Password", { exact: true }).fill("first-pass-123");
  await page.getByRole("button", { name: "Create" }).click();
  await page.getByText("Account reset.me created.").waitFor();
  await page.getByRole("button", { name: "Reset password for reset.me" }).click();
  await page.getByText("must choose a new password at the next sign-in").waitFor();
  await page.getByRole("dialog").getByRole("button", { name: "Reset password" }).click();
  const temp = (await page.getByTestId("temp-password").textContent()).trim();
  assert.match(temp, /^[A-Za-z0-9]{14}$/);
  await shot(page, "16-reset-password");
  await page.getByRole("button", { name: "Done" }).click();
  await page.getByText("The password of reset.me was reset.").waitFor();
  await page.getByRole("button", { name: "Sign out" }).click();

  await signIn(page, "reset.me", temp);
  await page.getByRole("heading", { name: "Choose a new password" }).waitFor();
  await page.getByText("An admin set a temporary password").waitFor();
  await changePassword(page, temp, "my-own-pass-456");
  await page.getByText("My tickets").first().waitFor();
  await page.context().close();
});

/** A TCP proxy to the server whose connections the test can cut, as a network drop would. */
async function cuttableProxy(target) {
  const { hostname, port } = new URL(target);
  const sockets = new Set();
  let refusing = false;
  const server = net.createServer((client) => {
    if (refusing) return client.destroy();
    const upstream = net.connect(Number(port), hostname);
    for (const s of [client, upstream]) {
      sockets.add(s);
      s.on("close", () => sockets.delete(s));
      s.on("error", () => {});
    }
    client.pipe(upstream).pipe(client);
  });
  await new Promise((ok) => server.listen(0, "127.0.0.1", ok));
  return {
    url: `http://127.0.0.1:${server.address().port}`,
    cut(ms) {
      refusing = true;
      for (const s of sockets) s.destroy();
      setTimeout(() => { refusing = false; }, ms);
    },
    close() {
      for (const s of sockets) s.destroy();
      server.close();
    },
  };
}

test("an admin's list shows a ticket submitted from another tab, live, also after a network drop", async () => {
  const proxy = await cuttableProxy(base);
  const admin = await newPage(1280, proxy.url);
  await signIn(admin, "admin", ADMIN_PW, proxy.url);
  await admin.getByRole("heading", { name: "Tickets" }).waitFor();
  await admin.getByTestId("live-status").filter({ hasText: "Live" }).waitFor();
  const customer = await newPage();
  await submitRequest(customer, { title: "Live toaster", description: "Smokes.", email: "live1@example.com" });
  await customer.getByText(/Your request number is #\d+/).waitFor();
  // No reload: the list shows it by itself.
  await admin.getByRole("link", { name: "Live toaster" }).waitFor({ timeout: 5000 });
  await shot(admin, "17-live-list");

  // The network drops; a ticket arrives meanwhile; the page says so and catches up.
  proxy.cut(3000);
  await admin.getByTestId("live-status").filter({ hasText: "Reconnecting" }).waitFor({ timeout: 10000 });
  await shot(admin, "18-reconnecting");
  await submitRequest(customer, { title: "Missed while offline", description: "Hums.", email: "live2@example.com" });
  await customer.getByText(/Your request number is #\d+/).waitFor();
  await admin.getByTestId("live-status").filter({ hasText: "Live" }).waitFor({ timeout: 20000 });
  await admin.getByRole("link", { name: "Missed while offline" }).waitFor({ timeout: 5000 });
  await admin.context().close();
  await customer.context().close();
  proxy.close();
});

test("the tracking page turns Done by itself when the worker finishes", async () => {
  const customer = await newPage();
  await submitRequest(customer, { title: "Watch repair", description: "Stopped.", email: "watch@example.com" });
  const code = await customer.getByTestId("tracking-code").textContent();
  const number = (await customer.getByText(/Your request number is #\d+/).textContent()).match(/#(\d+)/)[1];
  await customer.goto(`${base}/#/track/${code}`);
  await customer.getByTestId("live-status").filter({ hasText: "Live" }).waitFor();
  const staff = await newPage();
  await signIn(staff, "admin", ADMIN_PW);
  const finished = await staff.evaluate(async (id) => {
    const auth = { Authorization: `Bearer ${sessionStorage.getItem("crm.token")}`, "Content-Type": "application/json" };
    const users = await (await fetch("/users/?role=worker", { headers: auth })).json();
    const w = users.items.find((u) => u.username === "worker");
    const calls = [
      [`/tickets/${id}/assign`, { worker_id: w.id }],
      [`/tickets/${id}/status`, { new_status: "in_progress" }],
      [`/tickets/${id}/status`, { new_status: "done" }],
    ];
    for (const [path, body] of calls) {
      const r = await fetch(path, { method: "POST", headers: auth, body: JSON.stringify(body) });
      if (!r.ok) return r.status;
    }
    return 200;
  }, number);
  assert.equal(finished, 200);
  await customer.locator("h2 .badge.done").waitFor({ timeout: 5000 });
  await customer.locator("ol.steps li.reached").filter({ hasText: "Done" }).waitFor();
  await shot(customer, "19-tracking-done-live");
  await customer.context().close();
  await staff.context().close();
});

test("staff write a note and a reply; the customer reads only the reply, answers on the tracking page, and the staff page shows it live", async () => {
  const customer = await newPage(390);
  await submitRequest(customer, { title: "Kettle does not heat", description: "Light on, no heat.", email: "kettle@example.com" });
  const code = await customer.getByTestId("tracking-code").textContent();
  const number = (await customer.getByText(/Your request number is #\d+/).textContent()).match(/#(\d+)/)[1];

  const staff = await newPage();
  await signIn(staff, "admin", ADMIN_PW);
  await staff.goto(`${base}/#/tickets/${number}`);
  await staff.getByRole("heading", { name: "Conversation" }).waitFor();
  const body = staff.getByLabel(/Note or reply/);
  // Sending nothing is refused with a sentence at the field.
  await staff.getByRole("button", { name: "Add internal note" }).click();
  await staff.getByText("Write a message before sending it.").waitFor();
  await body.fill("Heating element reads open circuit. <b>not bold</b>");
  await staff.getByRole("button", { name: "Add internal note" }).click();
  await staff.locator('[data-kind="internal"]').getByText("Heating element reads open circuit. <b>not bold</b>").waitFor();
  assert.equal(await body.inputValue(), "", "the composer empties after sending");
  assert.equal(await staff.evaluate(() => document.activeElement.id), "f-body", "focus stays in the composer");
  await body.fill("The heating element needs replacing: 25 EUR. Shall we go ahead?");
  await staff.getByRole("button", { name: "Send to customer" }).click();
  await staff.locator('[data-kind="to-customer"]').getByText("Shall we go ahead?").waitFor();

  await customer.goto(`${base}/#/track/${code}`);
  await customer.getByRole("heading", { name: "Messages" }).waitFor();
  await customer.getByText("Shall we go ahead?").waitFor();
  assert.equal(await customer.getByText("open circuit").count(), 0, "the internal note never reaches the customer");
  assert.equal(await customer.locator("b").count(), 0);
  await customer.getByLabel("Your message to the shop").fill("Yes, please replace it.");
  await customer.getByRole("button", { name: "Send message" }).click();
  await customer.locator('[data-kind="from-customer"]').getByText("Yes, please replace it.").waitFor();
  assert.equal(await customer.getByText("null", { exact: true }).count(), 0, "no stray text where a part is missing");
  await shot(customer, "21-tracking-conversation-390");

  // The staff page follows by itself: the answer and the "awaits reply" cue.
  await staff.locator('[data-kind="from-customer"]').getByText("Yes, please replace it.").waitFor({ timeout: 5000 });
  await staff.getByTestId("awaiting-reply").waitFor();
  await shot(staff, "21-ticket-conversation");
  await staff.goto(`${base}/#/tickets?tab=awaiting`);
  await staff.getByRole("link", { name: "Kettle does not heat" }).waitFor();
  await customer.context().close();
  await staff.context().close();
  assert.deepEqual(dialogs, []);
});

const PNG_1PX = Buffer.from("iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAQAAAC1HAwCAAAAC0lEQVR42mNkYAAAAAYAAjCB0C8AAAAASUVORK5CYII=", "base64");

/** Waits until every thumbnail in `page` has loaded a real picture. */
async function thumbnailsShown(page, n) {
  await page.waitForFunction((n) => {
    const imgs = [...document.querySelectorAll("[data-testid=file] img")];
    return imgs.length === n && imgs.every((i) => i.complete && i.naturalWidth > 0);
  }, n, { timeout: 10000 });
}

test("photos: the customer adds one right after submitting and on the tracking page, staff add an internal file and a photo for the customer, thumbnails everywhere", async () => {
  const customer = await newPage(390);
  await submitRequest(customer, { title: "Cracked phone screen", description: "Dropped on the stairs.", email: "photos@example.com" });
  const code = await customer.getByTestId("tracking-code").textContent();
  const number = (await customer.getByText(/Your request number is #\d+/).textContent()).match(/#(\d+)/)[1];
  await customer.getByRole("heading", { name: "Add photos of the fault (optional)" }).waitFor();
  await customer.locator("#f-file").setInputFiles({ name: "crack.png", mimeType: "image/png", buffer: PNG_1PX });
  await customer.getByText("File added.").first().waitFor();
  await thumbnailsShown(customer, 1);
  // A disguised page is refused with a sentence naming the file.
  await customer.locator("#f-file").setInputFiles({ name: "crack.jpg", mimeType: "image/jpeg", buffer: Buffer.from("<html><script>alert(1)</script></html>") });
  await customer.getByText(/^File: The file is not a JPEG/).waitFor();
  await shot(customer, "22-submit-photos-390");

  const staff = await newPage();
  await signIn(staff, "admin", ADMIN_PW);
  await staff.goto(`${base}/#/tickets/${number}`);
  await staff.getByRole("heading", { name: "Photos and files" }).waitFor();
  await thumbnailsShown(staff, 1);
  // The audience is chosen deliberately: without it nothing is sent.
  await staff.locator("#f-file").setInputFiles({ name: "diagnosis.txt", mimeType: "text/plain", buffer: Buffer.from("Digitizer cable torn; serial SN-99 noted.\n") });
  await staff.getByText(/^Who can see it: choose/).waitFor();
  await staff.getByLabel("Staff only").check();
  await staff.locator("#f-file").setInputFiles({ name: "diagnosis.txt", mimeType: "text/plain", buffer: Buffer.from("Digitizer cable torn; serial SN-99 noted.\n") });
  await staff.locator(".file-internal").getByText("diagnosis.txt").waitFor();
  await staff.getByLabel("The customer too").check();
  await staff.locator("#f-file").setInputFiles({ name: "repaired.png", mimeType: "image/png", buffer: PNG_1PX });
  await thumbnailsShown(staff, 2);
  await staff.locator("ol.timeline").getByText("File added (staff only)").waitFor();
  await shot(staff, "22-ticket-files");

  await customer.goto(`${base}/#/track/${code}`);
  await customer.getByRole("heading", { name: "Photos and files" }).waitFor();
  await thumbnailsShown(customer, 2);
  assert.equal(await customer.getByText("diagnosis.txt").count(), 0, "internal files never reach the customer");
  await customer.locator("#f-file").setInputFiles({ name: "more.png", mimeType: "image/png", buffer: PNG_1PX });
  await thumbnailsShown(customer, 3);
  const overflow = await customer.evaluate(() => document.documentElement.scrollWidth > window.innerWidth);
  assert.equal(overflow, false, "no sideways scrolling at 390 px");
  await shot(customer, "22-tracking-files-390");
  // The staff page follows by itself.
  await thumbnailsShown(staff, 3);
  await customer.context().close();
  await staff.context().close();
  assert.deepEqual(dialogs, []);
});

test("the admin switches automatic assignment on; a customer's submission reaches the worker already assigned", async () => {
  const admin = await newPage();
  await signIn(admin, "admin", ADMIN_PW);
  // Only `worker` stays available, so the choice is known.
  await admin.getByRole("link", { name: "Workers" }).click();
  await admin.getByRole("button", { name: "reset.me is available; change" }).click();
  await admin.getByRole("button", { name: "reset.me is away; change" }).waitFor();
  await admin.getByRole("link", { name: "Assignment" }).click();
  await admin.getByLabel("Mode").selectOption("least_open");
  await admin.getByLabel(/^Open tickets per worker at most/).fill("");
  await admin.getByRole("button", { name: "Save" }).click();
  await admin.getByText("Saved. New tickets, and those waiting, go to available workers automatically.").waitFor();
  await shot(admin, "20-assignment-settings");

  const customer = await newPage();
  await submitRequest(customer, { title: "Auto-assigned kettle", description: "Clicks off.", email: "auto@example.com" });
  const number = (await customer.getByText(/Your request number is #\d+/).textContent()).match(/#(\d+)/)[1];

  const worker = await newPage();
  await signIn(worker, "worker", WORKER_PW);
  await worker.getByRole("link", { name: "Auto-assigned kettle" }).waitFor({ timeout: 5000 });
  await worker.getByRole("link", { name: "Auto-assigned kettle" }).click();
  await worker.locator("ol.timeline").getByText("Assigned to worker automatically").waitFor();
  await worker.locator("ol.timeline .badge.auto").waitFor();
  await shot(worker, "21-auto-assigned");
  // The worker goes away from the nav, and back.
  await worker.getByRole("button", { name: "Available for new tickets" }).click();
  await worker.getByText("You are away: no new tickets are assigned to you.").waitFor();
  await worker.getByRole("button", { name: "Away: no new tickets" }).click();
  await worker.getByText("You are available").waitFor();

  // Back to manual for whatever runs after.
  await admin.getByLabel("Mode").selectOption("off");
  await admin.getByRole("button", { name: "Save" }).click();
  await admin.getByText("Automatic assignment is off.").waitFor();
  assert.ok(Number(number) > 0);
  for (const p of [admin, customer, worker]) await p.context().close();
});

test("an admin adds a webhook, sees its secret once, and revives it from the delivery log after a 410", async () => {
  // A receiver of our own: answers `answer`, records each delivery.
  const got = [];
  let answer = 410;
  const rx = createServer((req, res) => {
    let body = "";
    req.on("data", (c) => (body += c));
    req.on("end", () => {
      got.push({ id: req.headers["webhook-id"], ts: req.headers["webhook-timestamp"], sig: req.headers["webhook-signature"], body });
      res.writeHead(answer).end();
    });
  });
  await new Promise((ok) => rx.listen(0, "127.0.0.1", ok));
  const hookUrl = `http://127.0.0.1:${rx.address().port}/hook`;
  const waitFor = async (what, cond) => {
    for (let i = 0; i < 200 && !cond(); i++) await new Promise((ok) => setTimeout(ok, 100));
    assert.ok(cond(), `timed out waiting for ${what}`);
  };

  const admin = await newPage();
  await signIn(admin, "admin", ADMIN_PW);
  await admin.getByRole("link", { name: "Webhooks" }).click();
  await admin.getByText("No webhooks yet.").waitFor();
  // A private address is refused next to the field.
  await admin.getByLabel("Endpoint URL").fill("http://10.1.2.3/hook");
  await admin.getByRole("button", { name: "Add webhook" }).click();
  await admin.locator('[data-error-for="url"]').getByText(/a private address, which webhooks may not reach/).waitFor();
  await admin.getByLabel("Endpoint URL").fill(hookUrl);
  await admin.getByRole("button", { name: "Add webhook" }).click();
  const secret = await admin.getByTestId("webhook-secret").textContent();
  assert.match(secret, /^whsec_[A-Za-z0-9+/]+=*$/);
  await shot(admin, "22-webhook-secret");
  await admin.getByRole("button", { name: "Done" }).click();
  await admin.getByRole("cell", { name: hookUrl, exact: true }).waitFor();
  assert.equal(await admin.getByTestId("webhook-secret").count(), 0, "shown once");

  // A submission is delivered, signed; the receiver answers 410.
  const customer = await newPage();
  await submitRequest(customer, { title: "Webhooked toaster", description: "Burns one side.", email: "hook@example.com" });
  await customer.getByText(/Your request number is #\d+/).waitFor();
  await waitFor("the first delivery", () => got.length === 1);
  const key = Buffer.from(secret.slice("whsec_".length), "base64");
  const first = got[0];
  const expected = "v1," + createHmac("sha256", key).update(`${first.id}.${first.ts}.${first.body}`).digest("base64");
  assert.equal(first.sig, expected);
  assert.equal(JSON.parse(first.body).data.title, "Webhooked toaster");

  // The receiver has the request before the server has recorded its answer: look again
  // until the endpoint shows as disabled.
  for (let i = 0; i < 50; i++) {
    await admin.reload();
    await admin.getByRole("cell", { name: hookUrl, exact: true }).waitFor();
    if (await admin.getByText("Disabled by a 410").count()) break;
    await new Promise((ok) => setTimeout(ok, 100));
  }
  await admin.getByText("Disabled by a 410").waitFor({ timeout: 1000 });
  await admin.getByRole("link", { name: `Deliveries to ${hookUrl}` }).click();
  const row = admin.locator(`tr[data-delivery="${first.id.slice(4)}"]`);
  await row.getByText("Disabled").first().waitFor();
  await row.locator("td").nth(5).getByText("HTTP 410").waitFor();
  await shot(admin, "23-webhook-deliveries-410");
  // The receiver is back: a retry enables the endpoint and delivers the same message.
  answer = 204;
  await row.getByRole("button", { name: `Retry ${first.id}` }).click();
  await admin.getByText(`${first.id} is queued for another attempt.`).waitFor();
  await waitFor("the retry", () => got.length === 2);
  assert.equal(got[1].id, first.id);
  assert.equal(got[1].body, first.body);
  for (let i = 0; i < 50; i++) {
    await admin.getByRole("button", { name: "Refresh" }).click();
    if (await row.getByText("Delivered").count()) break;
    await new Promise((ok) => setTimeout(ok, 100));
  }
  await row.getByText("Delivered").waitFor();
  assert.equal(await admin.getByText("Disabled by a 410").count(), 0, "the endpoint is enabled again");
  await row.locator("details summary").click();
  await row.locator("ol.attempts li").nth(1).getByText("HTTP 204").waitFor();
  await shot(admin, "24-webhook-delivered");
  await admin.getByRole("link", { name: "‹ Webhooks" }).click();
  await admin.getByRole("cell", { name: /^Delivering last / }).waitFor();

  // Removed: nothing more arrives.
  await admin.getByRole("button", { name: `Remove ${hookUrl}` }).click();
  await admin.getByRole("dialog").getByRole("button", { name: "Remove" }).click();
  await admin.getByText("The webhook was removed.").waitFor();
  await admin.getByText("No webhooks yet.").waitFor();
  for (const p of [admin, customer]) await p.context().close();
  rx.close();
});

test("the list keeps its tab, search and sort in the URL, and the search keeps focus while tickets arrive", async () => {
  const customer = await newPage();
  await submitRequest(customer, { title: "Focus drill one", description: "Rattles.", email: "focus1@example.com" });
  await customer.getByText(/Your request number is #\d+/).waitFor();
  const admin = await newPage();
  await signIn(admin, "admin", ADMIN_PW);
  await admin.getByTestId("live-status").filter({ hasText: "Live" }).waitFor();
  await admin.getByRole("tab", { name: /New/ }).click();
  await admin.getByLabel("Search titles").fill("focus drill");
  await admin.getByRole("link", { name: "Focus drill one" }).waitFor();
  await admin.getByRole("button", { name: /Created, newest first/ }).click();
  await admin.getByRole("button", { name: /Created, oldest first/ }).waitFor();
  assert.match(admin.url(), /#\/tickets\?tab=new&q=focus\+drill&sort=oldest$/);

  // The person is typing when a matching ticket arrives: the list redraws, the field keeps
  // the focus, the text and the caret.
  await admin.getByLabel("Search titles").click();
  await admin.keyboard.press("End");
  await submitRequest(customer, { title: "Focus drill two", description: "Squeaks.", email: "focus2@example.com" });
  await customer.getByText(/Your request number is #\d+/).waitFor();
  await admin.getByRole("link", { name: "Focus drill two" }).waitFor({ timeout: 5000 });
  assert.deepEqual(await admin.evaluate(() => [document.activeElement?.id, document.activeElement?.value, document.activeElement?.selectionStart]), ["q", "focus drill", 11]);
  await admin.keyboard.type(" two");
  await admin.locator("#list-status").getByText("Tickets 1-1 of 1.").waitFor();
  assert.equal(await admin.getByRole("link", { name: "Focus drill one" }).count(), 0);

  // A reload (or the link sent to a colleague) shows the same list.
  await admin.reload();
  await admin.getByRole("tab", { name: /New/, selected: true }).waitFor();
  assert.equal(await admin.getByLabel("Search titles").inputValue(), "focus drill two");
  await admin.getByRole("button", { name: /Created, oldest first/ }).waitFor();
  await admin.getByRole("link", { name: "Focus drill two" }).waitFor();
  // Arrow keys move between tabs.
  await admin.getByRole("tab", { name: /New/ }).focus();
  await admin.keyboard.press("ArrowRight");
  await admin.getByRole("tab", { name: /In progress/, selected: true }).waitFor();
  assert.equal(await admin.evaluate(() => document.activeElement?.id), "tab-in_progress");
  for (const p of [admin, customer]) await p.context().close();
});

test("an admin takes a device in at the counter, finds the customer by phone, and prints a receipt whose QR code opens the tracking page", async () => {
  // A returning customer: an earlier request of theirs.
  const customer = await newPage();
  await submitRequest(customer, { title: "Intake earlier visit", description: "Old one.", name: "Kim Returning", email: "kim.returning@example.com", phone: "+49 171 5550123" });
  await customer.getByText(/Your request number is #\d+/).waitFor();
  await submitRequest(customer, { title: "Intake someone else", description: "Other.", name: "Lee Other", email: "lee.other@example.com", phone: "+44 20 7946 1111" });
  await customer.getByText(/Your request number is #\d+/).waitFor();
  await customer.context().close();

  const admin = await newPage();
  await signIn(admin, "admin", ADMIN_PW);
  await admin.getByRole("link", { name: "New intake" }).click();
  await admin.getByRole("heading", { name: "New intake" }).waitFor();
  // The phone field has the focus; typing part of the number finds the customer.
  assert.equal(await admin.evaluate(() => document.activeElement?.name), "client.phone");
  await admin.keyboard.type("0171 555");
  await admin.getByRole("button", { name: "Use Kim Returning" }).click();
  assert.equal(await admin.getByLabel("E-mail").inputValue(), "kim.returning@example.com");
  assert.equal(await admin.getByLabel("Name").inputValue(), "Kim Returning");
  await admin.getByLabel("Kind").selectOption("phone");
  await admin.getByLabel("Brand").fill("Fairphone");
  await admin.getByLabel("Model").fill("5 <b>bold</b>");
  await admin.getByLabel("Serial or IMEI").fill("IMEI 3520 9911 0001");
  await admin.getByLabel("Condition at intake").fill("Cracked back glass");
  await admin.getByLabel("Left with it").fill("Case, SIM");
  await admin.getByLabel("What needs repair?").fill("Intake cracked back");
  await admin.getByLabel("Fault as described").fill("Dropped on tiles.");
  await admin.getByLabel("Priority").selectOption("urgent");
  await admin.getByLabel(/Promised for/).fill("2030-05-01T16:00");
  await admin.getByLabel("Worker").selectOption({ label: "worker" });
  // A serial the shop cannot have typed is named next to its field, and nothing is stored.
  await admin.getByLabel("Serial or IMEI").fill("IMEI#1");
  await admin.getByRole("button", { name: "Save intake" }).click();
  await admin.locator('[data-error-for="device.serial"]').getByText(/Serial number may contain only/).waitFor();
  await admin.getByLabel("Serial or IMEI").fill("IMEI 3520 9911 0001");
  await admin.getByRole("button", { name: "Save intake" }).click();
  const saved = await admin.getByText(/Saved as #\d+\./).textContent();
  const id = saved.match(/#(\d+)/)[1];
  const code = await admin.getByTestId("tracking-code").textContent();
  assert.equal(await admin.evaluate(() => document.activeElement?.id), "print-receipt");
  await shot(admin, "30-intake-saved");

  // Print receipt: a new tab with the receipt, printed to PDF; its QR code is the tracking link.
  const [tab] = await Promise.all([admin.context().waitForEvent("page"), admin.getByRole("button", { name: "Print receipt" }).click()]);
  await tab.waitForURL(/\/receipt\?ticket=/);
  await tab.getByText(`Repair #${id}`).waitFor();
  for (const text of ["Kim Returning", "Fairphone 5 <b>bold</b>", "IMEI 3520 9911 0001", "Cracked back glass", "Case, SIM", "Urgent", "Customer signature"]) {
    await tab.getByText(text, { exact: false }).first().waitFor();
  }
  assert.equal(await tab.locator("b").count(), 0, "customer text is printed as text");
  const pdf = join(SHOTS, "receipt.pdf");
  await tab.pdf({ path: pdf, format: "A4", printBackground: true });
  execFileSync("pdftoppm", ["-r", "150", "-png", "-singlefile", pdf, join(SHOTS, "receipt")]);
  const decoded = execFileSync("zbarimg", ["--quiet", "--raw", join(SHOTS, "receipt.png")], { encoding: "utf8" }).trim();
  assert.equal(decoded, `${base}/track/${code}`);
  // The link leads to the customer's tracking page.
  await tab.goto(decoded);
  await tab.getByRole("heading", { name: "Track a request" }).waitFor();
  await tab.getByText(`#${id}`).first().waitFor();
  await tab.close();
  const [label] = await Promise.all([admin.context().waitForEvent("page"), admin.getByRole("button", { name: "Print label" }).click()]);
  await label.getByText(`#${id}`).waitFor();
  await label.screenshot({ path: join(SHOTS, "31-label.png") });
  await label.close();

  // The one search box finds the ticket by phone fragment, serial or name, from any page.
  for (const q of ["171-555", "imei35209911 0001", "kim ret"]) {
    await admin.getByRole("searchbox", { name: "Find a ticket" }).fill(q);
    await admin.getByRole("searchbox", { name: "Find a ticket" }).press("Enter");
    await admin.getByRole("link", { name: "Intake cracked back" }).waitFor();
    assert.equal(await admin.getByRole("link", { name: "Intake someone else" }).count(), 0, q);
  }
  // By name, the customer's earlier visit shows too.
  await admin.getByRole("link", { name: "Intake earlier visit" }).waitFor();
  await shot(admin, "33-find-by-name");
  // The customers page finds Kim by phone; correcting the e-mail to another's is refused
  // next to the field; the correction shows in the history.
  await admin.getByRole("link", { name: "Customers" }).click();
  await admin.getByRole("searchbox", { name: "Find a customer" }).fill("0171 555");
  await admin.locator("#customer-status").getByText("1 customer.").waitFor();
  await admin.getByRole("link", { name: "Kim Returning" }).click();
  await admin.getByRole("heading", { name: "Kim Returning" }).waitFor();
  await admin.getByRole("link", { name: "Intake earlier visit" }).waitFor();
  await admin.getByLabel("E-mail").fill("lee.other@example.com");
  await admin.getByRole("button", { name: "Save customer" }).click();
  await admin.locator('[data-error-for="email"]').getByText(/belongs to another customer/).waitFor();
  await admin.getByLabel("E-mail").fill("kim.r@example.com");
  await admin.getByRole("button", { name: "Save customer" }).click();
  await admin.getByText(/Corrected: e-mail kim.returning@example.com → kim.r@example.com/).waitFor();
  await shot(admin, "35-customer");
  await admin.goto(base + "/#/tickets?find=kim.r%40example");
  await admin.getByRole("link", { name: "Intake cracked back" }).click();
  const device = admin.getByTestId("device");
  await device.getByText("IMEI 3520 9911 0001").waitFor();
  await device.getByText("Cracked back glass").waitFor();
  await admin.getByText("Taken in at the counter").waitFor();
  await admin.locator(".ticket-head").getByText("Urgent").waitFor();
  await shot(admin, "32-intake-ticket");
  // A correction: one dialog, the timeline says what changed, focus comes back to the button.
  await admin.getByRole("button", { name: "Edit details" }).click();
  const edit = admin.getByRole("dialog", { name: `Edit #${id}` });
  await edit.getByLabel("Serial or IMEI").fill("IMEI 3520 9911 0002");
  await edit.getByLabel("Priority").selectOption("low");
  assert.deepEqual(await axeViolations(admin), [], "the edit dialog");
  await shot(admin, "34-edit-dialog");
  await edit.getByRole("button", { name: "Save changes" }).click();
  await admin.getByText("Edited: device, priority").waitFor();
  await device.getByText("IMEI 3520 9911 0002").waitFor();
  assert.equal(await admin.locator(".ticket-head").getByText("Urgent").count(), 0);
  assert.equal(await admin.evaluate(() => document.activeElement?.id), "edit-ticket");
  await admin.context().close();
  assert.deepEqual(dialogs, []);
});

const AXE = readFileSync(resolve(here, "node_modules/axe-core/axe.min.js"), "utf8");

/** axe-core's WCAG 2.1 A/AA and best-practice rules on the page as it is: the violations. */
async function axeViolations(page) {
  // Evaluated through the DevTools protocol, which the page's CSP does not govern.
  if (!(await page.evaluate(() => typeof window.axe === "object"))) await page.evaluate(AXE);
  const result = await page.evaluate(() =>
    window.axe.run(document, { runOnly: { type: "tag", values: ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "best-practice"] } }));
  return result.violations.map((v) => `${v.id}: ${v.help} — ${v.nodes.map((n) => n.target.join(" ")).slice(0, 4).join(", ")}`);
}

/** Opens `hash`, waits for `ready`, then checks axe, sideways scroll and takes a screenshot. */
async function inspectView(page, name, hash, ready) {
  await page.goto(base + "/" + hash);
  await ready(page);
  await page.waitForTimeout(150);
  const width = page.viewportSize().width;
  assert.deepEqual(await axeViolations(page), [], `${name} at ${width} px`);
  // The screenshot first, so a failure below can be looked at.
  await shot(page, `view-${name}-${width}`);
  const sideways = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
  const widest = sideways > 0 ? await page.evaluate(() => [...document.querySelectorAll("body *")]
    .filter((e) => e.getBoundingClientRect().right > window.innerWidth + 1)
    .slice(0, 5).map((e) => `${e.tagName.toLowerCase()}.${e.className} ${Math.round(e.getBoundingClientRect().right)}`)) : [];
  assert.ok(sideways <= 0, `${name} at ${width} px scrolls sideways by ${sideways} px: ${widest.join(", ")}`);
}

test("a worker moves a ticket through stages with the picker; the list, the tracking page and the statistics follow; an admin manages the stages", async () => {
  const customer = await newPage();
  await submitRequest(customer, { title: "Stage flow espresso machine", description: "Leaks.", email: "stage@example.com" });
  const code = await customer.getByTestId("tracking-code").textContent();
  const id = (await customer.getByText(/Your request number is #\d+/).textContent()).match(/#(\d+)/)[1];
  await customer.goto(`${base}/#/track/${code}`);
  await customer.getByTestId("live-status").filter({ hasText: "Live" }).waitFor();
  assert.equal(await customer.getByTestId("track-stage").count(), 0, "no stage yet");

  const admin = await newPage();
  await signIn(admin, "admin", ADMIN_PW);
  await admin.goto(`${base}/#/tickets/${id}`);
  await admin.getByLabel("Assign to").selectOption({ label: "worker" });
  await admin.getByRole("button", { name: "Assign" }).click();
  await admin.getByText(/assigned to worker/).waitFor();

  const worker = await newPage(390);
  await signIn(worker, "worker", WORKER_PW);
  await worker.goto(`${base}/#/tickets/${id}`);
  await worker.getByRole("heading", { name: /Stage flow espresso machine/ }).waitFor();
  // A stage of the next status moves the ticket on in the same step.
  await worker.getByLabel("Stage").selectOption({ label: "Diagnosing" });
  await worker.getByRole("button", { name: "Set stage" }).click();
  await worker.getByText(/is now in progress: Diagnosing/).waitFor();
  await worker.locator(".ticket-head .badge.in_progress").waitFor();
  await worker.locator(".ticket-head").getByTestId("stage-chip").filter({ hasText: "Diagnosing" }).waitFor();
  assert.equal(await worker.evaluate(() => document.activeElement?.id), "stage-button", "focus stays on the button pressed");
  await customer.getByTestId("track-stage").filter({ hasText: "Diagnosing" }).waitFor({ timeout: 5000 });

  // Keyboard only: choose the next stage and press Enter.
  await worker.getByLabel("Stage").focus();
  await worker.getByLabel("Stage").selectOption({ label: "Waiting for parts" });
  await worker.keyboard.press("Tab");
  await worker.keyboard.press("Enter");
  await worker.getByText(/: Waiting for parts\./).waitFor();
  await worker.locator(".timeline").getByText("Stage: Diagnosing → Waiting for parts").waitFor();
  await customer.getByTestId("track-stage").filter({ hasText: "Waiting for parts" }).waitFor({ timeout: 5000 });
  await shot(worker, "30-stage-picker-phone");
  await shot(customer, "31-tracking-stage");
  const sideways = await worker.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
  assert.ok(sideways <= 0, `the ticket page scrolls sideways by ${sideways} px on a phone`);

  // The admin's list shows the chip and filters by the stage; the statistics count it.
  await admin.locator("#nav").getByRole("link", { name: "Tickets", exact: true }).click();
  await admin.locator("#list-status", { hasText: /^Tickets / }).waitFor();
  await admin.getByLabel("Stage").selectOption({ label: "Waiting for parts" });
  await admin.waitForURL(/stage=\d+/);
  await admin.getByRole("row", { name: /Stage flow espresso machine/ }).getByTestId("stage-chip").filter({ hasText: "Waiting for parts" }).waitFor();
  assert.equal(await admin.locator("tbody tr").count(), 1, "only the ticket in that stage");
  await admin.locator("#nav").getByRole("link", { name: "Statistics" }).click();
  await admin.getByTestId("stage-stats").getByRole("row", { name: /Waiting for parts/ }).getByText("1", { exact: true }).waitFor();

  // The stages page: add, refuse a blank name with a sentence, rename, reorder, remove.
  await admin.locator("#nav").getByRole("link", { name: "Stages" }).click();
  await admin.getByRole("heading", { name: "Stages" }).waitFor();
  await admin.getByLabel("New stage while in progress").fill("Courier booked");
  await admin.locator("#add-in_progress-button").click();
  await admin.getByText("Added the stage “Courier booked”.").waitFor();
  assert.equal(await admin.getByLabel("New stage while in progress").inputValue(), "", "the form is cleared");
  const courier = admin.locator("li", { has: admin.locator('input[value="Courier booked"]') });
  await admin.locator("#add-done-button").click();
  await admin.getByRole("alert").getByText("Give the stage a name.").waitFor();
  const nameBox = courier.getByRole("textbox");
  await nameBox.fill("Courier collected");
  await courier.getByRole("button", { name: "Save" }).click();
  await admin.getByText("Saved the stage “Courier collected”.").waitFor();
  await admin.getByRole("button", { name: "Move Courier collected up" }).click();
  await admin.getByText("Moved “Courier collected” up.").waitFor();
  const order = await admin.locator("section", { has: admin.getByRole("heading", { name: "In progress" }) }).locator("li input[type=text]").evaluateAll((l) => l.map((i) => i.value));
  assert.deepEqual(order, ["Diagnosing", "Waiting for parts", "Waiting for customer approval", "Courier collected", "Repairing"]);
  // A stage with a ticket in it stays, with the reason.
  await admin.getByRole("button", { name: "Remove Waiting for parts" }).click();
  await admin.getByRole("alert").getByText("Tickets are in the stage “Waiting for parts”: move them to another stage before removing it.").waitFor();
  await shot(admin, "32-stages-settings");
  await admin.getByRole("button", { name: "Remove Courier collected" }).click();
  await admin.getByText("Removed the stage “Courier collected”.").waitFor();
  assert.equal(await admin.getByRole("button", { name: "Remove Courier collected" }).count(), 0);
  for (const p of [customer, admin, worker]) await p.context().close();
  assert.deepEqual(dialogs, []);
});

test("staff write and send a quote with live totals; the customer approves it on the tracking page; the staff page shows the decision live; the receipt prints the approved total", async () => {
  const customer = await newPage(390);
  await submitRequest(customer, { title: "Quote flow laptop hinge", description: "Hinge snapped.", email: "quote@example.com" });
  const code = await customer.getByTestId("tracking-code").textContent();
  const id = (await customer.getByText(/Your request number is #\d+/).textContent()).match(/#(\d+)/)[1];

  const staff = await newPage();
  await signIn(staff, "admin", ADMIN_PW);
  await staff.goto(`${base}/#/tickets/${id}`);
  await staff.getByRole("heading", { name: "Quote", exact: true }).waitFor();
  await staff.getByRole("button", { name: "New quote" }).click();
  await staff.getByLabel("Line 1 description").fill("Hinge assembly");
  await staff.getByLabel("Line 1 unit price").fill("49.90");
  await staff.getByRole("button", { name: "Add line" }).click();
  await staff.getByLabel("Line 2 kind").selectOption("labour");
  await staff.getByLabel("Line 2 description").fill("Fitting");
  await staff.getByLabel("Line 2 quantity").fill("2");
  await staff.getByLabel("Line 2 unit price").fill("12,50");
  await staff.getByLabel("Tax %").fill("19");
  // 49.90 + 25.00 = 74.90; tax 14.231 -> 14.23; total 89.13, shown while typing.
  await staff.getByTestId("editor-total").filter({ hasText: "89.13" }).waitFor();
  assert.deepEqual(await axeViolations(staff), [], "the quote editor");
  await shot(staff, "40-quote-editor");
  // A bad amount is refused next to its field, with a sentence.
  await staff.getByLabel("Line 1 unit price").fill("49.9.0");
  await staff.getByRole("button", { name: "Save draft" }).click();
  await staff.getByText("Line 1: the unit price is an amount like 89.99.").waitFor();
  assert.equal(await staff.evaluate(() => document.activeElement?.getAttribute("aria-label")), "Line 1 unit price");
  await staff.getByLabel("Line 1 unit price").fill("49.90");
  await staff.getByRole("button", { name: "Save draft" }).click();
  await staff.getByText(/Quote version 1 is saved as a draft/).waitFor();
  await staff.getByTestId("quote-1").getByTestId("quote-state").filter({ hasText: "Draft" }).waitFor();
  await staff.getByRole("button", { name: "Send quote to customer" }).click();
  await staff.getByText(/Quote version 1 is sent/).waitFor();
  await staff.getByTestId("quote-1").getByTestId("quote-state").filter({ hasText: "Awaiting the customer" }).waitFor();

  await customer.goto(`${base}/#/track/${code}`);
  await customer.getByRole("heading", { name: "Your quote" }).waitFor();
  await customer.getByTestId("customer-quote-total").filter({ hasText: "89.13" }).waitFor();
  assert.deepEqual(await axeViolations(customer), [], "the customer's quote at 390 px");
  const sideways = await customer.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
  assert.ok(sideways <= 0, `the tracking page with its quote scrolls sideways by ${sideways} px`);
  await customer.getByRole("button", { name: "Approve" }).click();
  await customer.getByText("Type your name to approve or decline the quote.").waitFor();
  await customer.getByLabel(/Your name/).fill("Jane Customer");
  await customer.getByRole("button", { name: "Approve" }).click();
  await customer.getByText(/the quote is approved/).waitFor();
  await customer.getByTestId("customer-decision").filter({ hasText: "Approved by Jane Customer" }).waitFor();
  assert.equal(await customer.getByRole("button", { name: "Approve" }).count(), 0, "decided once");
  await shot(customer, "41-customer-quote-approved");

  // The staff page learns of the decision by itself.
  await staff.getByTestId("quote-decision").filter({ hasText: "Approved by Jane Customer" }).waitFor({ timeout: 5000 });
  await staff.getByTestId("quote-1").getByTestId("quote-state").filter({ hasText: "Approved" }).waitFor();
  await staff.locator(".timeline").getByText("The customer decided the quote").waitFor();
  await shot(staff, "42-staff-quote-approved");

  await staff.locator("#nav").getByRole("link", { name: "Tickets", exact: true }).click();
  await staff.getByRole("row", { name: /Quote flow laptop hinge/ }).getByTestId("quote-chip").filter({ hasText: "Quote approved" }).waitFor();
  const receipt = await staff.evaluate(async (ticket) => {
    const auth = { Authorization: `Bearer ${sessionStorage.getItem("crm.token")}` };
    return (await fetch(`/tickets/${ticket}/receipt`, { headers: auth })).text();
  }, id);
  assert.match(receipt, /Approved quote<\/th><td>89\.13 EUR, tax included \(version 1, approved by Jane Customer/);
  for (const p of [customer, staff]) await p.context().close();
  assert.deepEqual(dialogs, []);
});

test("every view passes axe-core and fits a phone without sideways scrolling", async () => {
  const customer = await newPage();
  await submitRequest(customer, { title: "Axe check blender with a rather long title that has to wrap on a phone", description: "Grinds.\nThen stops.", email: "axe@example.com" });
  const code = await customer.getByTestId("tracking-code").textContent();
  const id = (await customer.getByText(/Your request number is #\d+/).textContent()).match(/#(\d+)/)[1];
  await customer.context().close();

  const rx = createServer((req, res) => req.on("data", () => {}).on("end", () => res.writeHead(204).end()));
  await new Promise((ok) => rx.listen(0, "127.0.0.1", ok));
  const setup = await newPage();
  await signIn(setup, "admin", ADMIN_PW);
  const hook = await setup.evaluate(async ([ticket, url]) => {
    const auth = { Authorization: `Bearer ${sessionStorage.getItem("crm.token")}`, "Content-Type": "application/json" };
    const users = await (await fetch("/users/?role=worker", { headers: auth })).json();
    const w = users.items.find((u) => u.username === "worker");
    await fetch(`/tickets/${ticket}/assign`, { method: "POST", headers: auth, body: JSON.stringify({ worker_id: w.id }) });
    // The conversation panel with every kind of message in it.
    for (const [body, visibility] of [["Motor brushes worn; ordered.", "internal"], ["We ordered a part; ready Friday.", "customer"]]) {
      await fetch(`/tickets/${ticket}/messages`, { method: "POST", headers: auth, body: JSON.stringify({ body, visibility }) });
    }
    const made = await (await fetch("/webhooks", { method: "POST", headers: auth, body: JSON.stringify({ url, events: ["ticket.submitted"] }) })).json();
    return made.id;
  }, [id, `http://127.0.0.1:${rx.address().port}/axe`]);
  await setup.context().close();

  const heading = (text) => async (p) => p.getByRole("heading", { name: text }).first().waitFor();
  for (const width of [1280, 390]) {
    const pub = await newPage(width);
    await inspectView(pub, "submit", "#/", heading("Request a repair"));
    await inspectView(pub, "track-form", "#/track", heading("Track a request"));
    await inspectView(pub, "track", `#/track/${code}`, async (p) => p.getByText("Technician assigned").waitFor());
    await inspectView(pub, "login", "#/login", heading("Staff sign-in"));
    await pub.context().close();

    const admin = await newPage(width);
    await signIn(admin, "admin", ADMIN_PW);
    const listed = async (p) => p.locator("#list-status").getByText(/^Tickets /).waitFor();
    await inspectView(admin, "admin-tickets", "#/tickets", listed);
    await inspectView(admin, "admin-ticket", `#/tickets/${id}`, async (p) => p.getByRole("heading", { name: "History" }).waitFor());
    await admin.locator("details.requester summary").click();
    assert.deepEqual(await axeViolations(admin), [], `the opened requester panel at ${width} px`);
    await inspectView(admin, "workers", "#/workers", async (p) => p.getByRole("cell", { name: /worker$/ }).first().waitFor());
    await inspectView(admin, "stats", "#/stats", async (p) => p.getByTestId("chart").waitFor());
    await inspectView(admin, "assignment", "#/assignment", async (p) => p.getByLabel("Mode").waitFor());
    await inspectView(admin, "stages", "#/stages", heading("Stages"));
    await inspectView(admin, "webhooks", "#/webhooks", async (p) => p.getByRole("cell", { name: /^(URL )?http:.*\/axe$/ }).waitFor());
    await inspectView(admin, "deliveries", `#/webhooks/${hook}`, heading("Deliveries"));
    await inspectView(admin, "password", "#/password", heading("Change your password"));
    await inspectView(admin, "account", "#/account", async (p) => p.getByRole("button", { name: "Set up two-factor sign-in" }).waitFor());
    await inspectView(admin, "intake", "#/intake", heading("New intake"));
    await inspectView(admin, "customers", "#/customers", async (p) => p.locator("#customer-status").getByText(/customer/).waitFor());
    await inspectView(admin, "customer", "#/customers/1", async (p) => p.getByRole("heading", { name: "History" }).waitFor());
    if (width < 760) {
      await admin.getByRole("button", { name: "Menu" }).click();
      await admin.getByRole("link", { name: "Workers" }).waitFor();
      assert.deepEqual(await axeViolations(admin), [], "the open menu");
      await shot(admin, `view-menu-${width}`);
      await admin.getByRole("link", { name: "Workers" }).click();
      await admin.getByRole("cell", { name: /worker$/ }).first().waitFor();
      assert.equal(await admin.getByRole("link", { name: "Statistics" }).isVisible(), false, "choosing a page folds the menu");
    }
    await admin.context().close();

    const worker = await newPage(width);
    await signIn(worker, "worker", WORKER_PW);
    await inspectView(worker, "worker-tickets", "#/tickets", listed);
    await inspectView(worker, "worker-ticket", `#/tickets/${id}`, async (p) => p.getByRole("button", { name: "Start" }).waitFor());
    if (width < 600) {
      // On a phone the next action sits at the bottom of the screen, in reach of a thumb.
      const box = await worker.getByRole("button", { name: "Start" }).boundingBox();
      assert.ok(box.y + box.height > 900 - 80, `the action bar is at the bottom (${box.y})`);
    }
    await worker.context().close();
  }
  const cleanup = await newPage();
  await signIn(cleanup, "admin", ADMIN_PW);
  await cleanup.evaluate(async (h) => {
    await fetch(`/webhooks/${h}`, { method: "DELETE", headers: { Authorization: `Bearer ${sessionStorage.getItem("crm.token")}` } });
  }, hook);
  await cleanup.context().close();
  rx.close();
  assert.deepEqual(dialogs, []);
});

/** RFC 4648 base32 to bytes. */
function base32Decode(text) {
  const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
  let bits = "";
  for (const c of text.replace(/=+$/, "")) bits += alphabet.indexOf(c).toString(2).padStart(5, "0");
  const out = [];
  for (let i = 0; i + 8 <= bits.length; i += 8) out.push(parseInt(bits.slice(i, i + 8), 2));
  return Buffer.from(out);
}

/** The RFC 6238 code (SHA-1, six digits, 30 s) an authenticator app shows at `at` ms. */
function totp(secret, at = Date.now()) {
  const msg = Buffer.alloc(8);
  msg.writeBigUInt64BE(BigInt(Math.floor(at / 1000 / 30)));
  const mac = createHmac("sha1", base32Decode(secret)).update(msg).digest();
  const o = mac[19] & 15;
  return String((mac.readUInt32BE(o) & 0x7fffffff) % 1000000).padStart(6, "0");
}

/** Axe and sideways scroll of what the page shows now, at desktop and phone width. */
async function checkBothWidths(page, name) {
  for (const width of [1280, 390]) {
    await page.setViewportSize({ width, height: 900 });
    await page.waitForTimeout(100);
    assert.deepEqual(await axeViolations(page), [], `${name} at ${width} px`);
    await shot(page, `${name}-${width}`);
    const sideways = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
    assert.ok(sideways <= 0, `${name} at ${width} px scrolls sideways by ${sideways} px`);
  }
  await page.setViewportSize({ width: 1280, height: 900 });
}

test("a worker turns on two-factor sign-in with the QR code and signs in with a code; an admin clears it after a lost phone", async () => {
  const page = await newPage();
  await signIn(page, "worker", WORKER_PW);
  await page.getByRole("link", { name: "Account" }).click();
  await page.getByRole("heading", { name: "Your account" }).waitFor();
  await page.getByRole("button", { name: "Set up two-factor sign-in" }).click();
  await page.getByRole("img", { name: "QR code for the authenticator app" }).waitFor();
  const secret = (await page.getByTestId("totp-secret").textContent()).trim();
  assert.match(secret, /^[A-Z2-7]{32}$/);
  assert.equal(await page.evaluate(() => document.activeElement.name), "code", "the code field has focus");
  await checkBothWidths(page, "totp-setup");
  const now = Date.now();
  const wrong = ["000000", "111111", "222222"].find((c) => ![-30000, 0, 30000].some((d) => totp(secret, now + d) === c));
  await page.getByLabel(/^Code from the app/).fill(wrong);
  await page.getByRole("button", { name: "Turn on" }).click();
  await page.getByText("The code does not match").waitFor();
  await page.getByLabel(/^Code from the app/).fill(totp(secret));
  await page.getByRole("button", { name: "Turn on" }).click();
  const codes = page.getByTestId("recovery-codes").locator("li");
  await codes.first().waitFor();
  assert.equal(await codes.count(), 10);
  await checkBothWidths(page, "totp-recovery-codes");
  await page.getByRole("button", { name: "I have saved them" }).click();
  await page.getByRole("button", { name: "Turn off two-factor sign-in" }).waitFor();

  // Signing in now takes a second step.
  await page.getByRole("button", { name: "Sign out" }).click();
  await page.getByText("You have signed out.").waitFor();
  await page.getByLabel("Username").fill("worker");
  await page.getByLabel("Password").fill(WORKER_PW);
  await page.getByRole("button", { name: "Sign in" }).click();
  const codeField = page.getByLabel(/^Code from your authenticator app/);
  await codeField.waitFor();
  assert.equal(await page.evaluate(() => document.activeElement.name), "totp_code", "the code field has focus");
  await checkBothWidths(page, "login-code-step");
  await codeField.fill(wrong);
  await page.getByRole("button", { name: "Sign in" }).click();
  await page.getByText("The code is not right").waitFor();
  assert.equal(await page.evaluate(() => document.activeElement.name), "totp_code", "focus stays on the code");
  await codeField.fill(totp(secret, Date.now() + 30000));
  await page.getByRole("button", { name: "Sign in" }).click();
  await page.locator("#nav .who", { hasText: "Signed in as worker" }).waitFor({ state: "attached" });
  await page.context().close();

  // The phone is lost: an admin clears it; the password alone signs in again.
  const admin = await newPage();
  await signIn(admin, "admin", ADMIN_PW);
  await admin.goto(base + "/#/workers");
  await admin.getByRole("button", { name: "Clear two-factor sign-in of worker" }).click();
  await admin.getByRole("button", { name: "Clear two-factor sign-in", exact: true }).click();
  await admin.getByText("The two-factor sign-in of worker was cleared.").waitFor();
  assert.equal(await admin.getByRole("button", { name: "Clear two-factor sign-in of worker" }).count(), 0);
  const status = await admin.evaluate(async (pw) => (await fetch("/auth/login", { method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify({ username: "worker", password: pw }) })).status, WORKER_PW);
  assert.equal(status, 200);
  await admin.context().close();
  assert.deepEqual(dialogs, []);
});

test("an admin makes an API key for a worker, sees it once, and revokes it; the list exports as CSV with its filters", async () => {
  const page = await newPage();
  await signIn(page, "admin", ADMIN_PW);
  await page.goto(base + "/#/workers");
  await page.getByRole("button", { name: "API keys of worker" }).click();
  await page.getByRole("heading", { name: "API keys of worker" }).waitFor();
  await page.getByLabel("Name", { exact: true }).fill("Dashboard");
  await page.getByLabel("Scope").selectOption("read");
  await page.getByRole("button", { name: "Make key" }).click();
  const key = (await page.getByTestId("new-api-key").textContent()).trim();
  assert.match(key, /^crm_[0-9a-f]{40}$/);
  await page.getByRole("cell", { name: "Dashboard", exact: true }).waitFor();
  await checkBothWidths(page, "api-keys");
  const [me, change] = await page.evaluate(async (k) => {
    const auth = { Authorization: `Bearer ${k}`, "Content-Type": "application/json" };
    const me = await (await fetch("/auth/me", { headers: auth })).json();
    const change = (await fetch("/tickets/1/status", { method: "POST", headers: auth, body: JSON.stringify({ new_status: "done" }) })).status;
    return [me.username, change];
  }, key);
  assert.deepEqual([me, change], ["worker", 403], "the key is the worker's, and it only reads");
  await page.getByRole("button", { name: "Revoke key Dashboard" }).click();
  await page.getByText("The key Dashboard was revoked").waitFor();
  const after = await page.evaluate(async (k) => (await fetch("/auth/me", { headers: { Authorization: `Bearer ${k}` } })).status, key);
  assert.equal(after, 401);
  await page.getByRole("button", { name: "Close" }).click();

  // Customers of their own: a stored customer keeps the name it was first given.
  for (const [title, name] of [["Export check kettle", "=HYPERLINK(\"http://x\")"], ["Export check toaster", "Plain Name"]]) {
    const status = await page.evaluate(async ([t, n]) => (await fetch("/public/tickets", { method: "POST", headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ title: t, description: "For the export.", client: { name: n, email: `export-${t.split(" ").pop()}@example.com` } }) })).status, [title, name]);
    assert.equal(status, 201);
  }
  await page.goto(base + "/#/tickets");
  await page.getByLabel("Search titles").fill("Export check");
  await page.locator("#list-status").getByText("Tickets 1-2 of 2.").waitFor();
  const button = page.getByRole("button", { name: "Export CSV" });
  const [download] = await Promise.all([page.waitForEvent("download"), button.click()]);
  assert.match(download.suggestedFilename(), /^tickets-\d{4}-\d{2}-\d{2}\.csv$/);
  const csv = readFileSync(await download.path(), "utf8");
  const lines = csv.trim().split("\n");
  assert.equal(lines[0].split(",").slice(0, 4).join(","), "id,created_at,title,status");
  assert.equal(lines.length, 3, csv);
  assert.ok(lines[1].includes("Export check toaster") && lines[2].includes("Export check kettle"), csv);
  assert.ok(lines[2].includes(`"'=HYPERLINK(""http://x"")"`), `the formula is neutralised: ${lines[2]}`);
  await page.getByText("were exported as CSV").waitFor();
  assert.equal(await page.evaluate(() => document.activeElement.id), "export-csv", "focus stays on the button");
  await shot(page, "export");
  await page.context().close();
  assert.deepEqual(dialogs, []);
});
