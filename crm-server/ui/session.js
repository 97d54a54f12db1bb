// Who is signed in, and the worker directory the staff views share to show names.

import { api, token } from "./api.js";
import { qs } from "./dom.js";

export const session = { me: null };
let workerList = null;

export async function loadMe() {
  if (!token.get()) return null;
  try {
    session.me = await api("GET", "/auth/me");
  } catch (e) {
    session.me = null;
  }
  return session.me;
}

export function forget() {
  token.clear();
  session.me = null;
  workerList = null;
  stageList = null;
}

/** Active workers, fetched once per session (and again after `forgetWorkers`). */
export async function workers() {
  if (!workerList) {
    const page = await api("GET", `/users/${qs({ role: "worker", size: 100 })}`);
    workerList = page.items;
  }
  return workerList;
}

export function forgetWorkers() {
  workerList = null;
}

let stageList = null;

/** Every stage, by status and position, fetched once (and again after `forgetStages`). */
export async function stages() {
  if (!stageList) stageList = (await api("GET", "/settings/stages")).items;
  return stageList;
}

export function forgetStages() {
  stageList = null;
}

export function workerName(id) {
  if (id === null || id === undefined) return "—";
  if (session.me && id === session.me.id) return session.me.username;
  const w = (workerList || []).find((x) => x.id === id);
  return w ? w.username : `#${id}`;
}
