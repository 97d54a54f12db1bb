// Live updates: one Server-Sent Events connection per tab, shared by the views that follow
// changes. A browser's EventSource cannot send the token, so each (re)connection first asks
// for a single-use stream ticket. After a drop it reconnects by itself, resuming after the
// last event it saw (?since=), and tells the views so they can refresh what they show.

import { api } from "./api.js";

const listeners = new Set();
let source = null;
let lastSeq = null;
let state = "off";
let retry = 1000;
let timer = null;

function setState(next) {
  if (state === next) return;
  const reconnected = state === "reconnecting" && next === "live";
  state = next;
  for (const l of listeners) {
    l.onState && l.onState(next);
    if (reconnected && l.onReconnect) l.onReconnect();
  }
}

async function connect() {
  clearTimeout(timer);
  if (!listeners.size) return;
  try {
    const { ticket } = await api("POST", "/events/ticket");
    // Everyone may have stopped following while the ticket was on its way.
    if (!listeners.size) return;
    const since = lastSeq === null ? "" : `&since=${lastSeq}`;
    if (source) source.close();
    source = new EventSource(`/events?ticket=${encodeURIComponent(ticket)}${since}`);
  } catch (e) {
    if (e.status === 401) return stop();
    return scheduleRetry();
  }
  source.onopen = () => {
    retry = 1000;
    setState("live");
  };
  const onMessage = (ev) => {
    if (ev.lastEventId) lastSeq = Number(ev.lastEventId);
    let data;
    try {
      data = JSON.parse(ev.data);
    } catch (e) {
      return;
    }
    for (const l of listeners) l.onEvent && l.onEvent(data);
  };
  for (const kind of ["submitted", "assigned", "released", "status_changed", "viewed", "edited", "message_added", "attachment_added", "attachment_removed", "stage_changed", "quote_sent", "quote_decided"]) {
    source.addEventListener(kind, onMessage);
  }
  const mine = source;
  mine.onerror = () => {
    // The ticket was single-use: never let EventSource retry with it; take a new one.
    // This source may already be closed and replaced (a stop, a newer connection): then
    // its late error means nothing.
    mine.close();
    if (source !== mine) return;
    source = null;
    scheduleRetry();
  };
}

function scheduleRetry() {
  setState("reconnecting");
  timer = setTimeout(connect, retry);
  retry = Math.min(retry * 2, 10000);
}

function stop() {
  clearTimeout(timer);
  if (source) source.close();
  source = null;
  setState("off");
}

/**
 * Follows live events until the returned function is called. `handlers` may have
 * `onEvent(event)`, `onState("live" | "reconnecting" | "off")` and `onReconnect()`.
 */
export function follow(handlers) {
  listeners.add(handlers);
  handlers.onState && handlers.onState(state === "off" ? "reconnecting" : state);
  if (!source && !timer) connect();
  else if (state === "live" && handlers.onState) handlers.onState("live");
  return () => {
    listeners.delete(handlers);
    if (!listeners.size) stop();
  };
}

/** The connection's state now: "live", "reconnecting" or "off". */
export function liveState() {
  return state;
}

/** Forgets the position (a new session starts from now). */
export function resetLive() {
  stop();
  lastSeq = null;
}

/** Calls `fn` at most once per `ms`, after the last call (a burst of events, one reload). */
export function debounce(fn, ms = 250) {
  let t = null;
  return (...args) => {
    clearTimeout(t);
    t = setTimeout(() => fn(...args), ms);
  };
}
