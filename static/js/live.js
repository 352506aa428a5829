// The page's one Socket.IO connection: job events in, subscriptions out, and the banner
// that says when the connection is down.

import { io } from "../vendor/socket.io-4.8.4.esm.min.js";
import { getSession } from "./api.js";
import { observeJob } from "./notify.js";

const SUBSCRIBE_TIMEOUT_MS = 10000;
const RECONNECTED_NOTICE_MS = 4000;
const FULL_RETRY_MS = 30000;

let socket = null;

/** Show the connection's state in the banner (announced politely) and the header indicator. */
function showConnection(state) {
  const banner = document.getElementById("connection-banner");
  const indicator = document.getElementById("live-indicator");
  const texts = {
    down: "Connection lost. Reconnecting… Updates will resume by themselves.",
    failed: "Cannot reach the server. Retrying…",
    full: "Too many open tabs or clients for your account on this server. Close some; this tab tries again every 30 seconds.",
    back: "Reconnected. Showing the latest state.",
    ok: "",
  };
  if (banner) {
    banner.dataset.state = state;
    banner.textContent = texts[state] ?? "";
  }
  if (indicator) {
    const live = state === "ok" || state === "back";
    indicator.dataset.state = live ? "live" : "offline";
    indicator.textContent = live ? "Live" : "Offline";
  }
}

/** Hide the "reconnected" notice after a moment, unless the connection dropped again. */
function fadeReconnectedNotice() {
  window.setTimeout(() => {
    const banner = document.getElementById("connection-banner");
    if (banner && banner.dataset.state === "back") showConnection("ok");
  }, RECONNECTED_NOTICE_MS);
}

/**
 * Open the page's Socket.IO connection.
 *
 * onJob(payload) gets every `job` event (a snapshot, or {id, deleted: true}); onReconnect()
 * runs after each reconnection, when the page must re-subscribe what it shows; onConnection
 * (online) on every connect and disconnect; onWorkers(counts) gets every `workers` event (see
 * presence.js); onBatch(payload) every `batch` event (a batch snapshot, or {id, deleted}).
 */
export function connectLive({ onJob, onReconnect, onConnection, onWorkers, onBatch }) {
  if (socket) return socket;
  let everConnected = false;
  // WebSocket only: every async mode of the server takes it (eventlet, gevent, and threading
  // through simple-websocket), and long-polling would be the polling the page must never do.
  socket = io({
    path: document.body.dataset.socketioPath,
    transports: ["websocket"],
    withCredentials: true,
  });
  socket.on("job", (payload) => {
    if (payload && typeof payload.id === "string") {
      onJob(payload);
      observeJob(payload); // the tab's title, favicon and notification when a job ends
    }
  });
  if (onWorkers) socket.on("workers", (counts) => counts && onWorkers(counts));
  if (onBatch) {
    socket.on("batch", (payload) => {
      if (payload && typeof payload.id === "string") onBatch(payload);
    });
  }
  socket.on("connect", () => {
    if (onConnection) onConnection(true);
    if (everConnected) {
      showConnection("back");
      fadeReconnectedNotice();
      if (onReconnect) onReconnect();
    } else {
      showConnection("ok");
    }
    everConnected = true;
  });
  socket.on("disconnect", (reason) => {
    showConnection("down");
    if (onConnection) onConnection(false);
    // The server closed this connection on purpose; the client does not retry by itself then.
    if (reason === "io server disconnect") socket.connect();
  });
  socket.on("connect_error", (error) => {
    if (String(error?.message || "").startsWith("too_many_connections")) {
      // Refused for this user's number of connections: retrying at once would be refused too.
      showConnection("full");
      window.setTimeout(() => socket.connect(), FULL_RETRY_MS);
      return;
    }
    showConnection(everConnected ? "down" : "failed");
    if (!socket.active) retryWithSession();
  });
  return socket;
}

/** Refresh the session cookie, then connect again: the server refused us for lack of one. */
function retryWithSession() {
  getSession()
    .catch(() => null)
    .finally(() => window.setTimeout(() => socket.connect(), 2000));
}

/**
 * Ask the server for a job's current snapshot (and to be kept up to date with it).
 *
 * Resolves with the snapshot; rejects with an Error carrying `code` when the server answers
 * {"error": ...} or does not answer in time.
 */
export async function subscribe(jobId, what = { job_id: jobId }) {
  if (!socket) throw new Error("connectLive() first");
  let answer;
  try {
    answer = await socket.timeout(SUBSCRIBE_TIMEOUT_MS).emitWithAck("subscribe", what);
  } catch {
    const error = new Error("The server did not answer in time.");
    error.code = "timeout";
    throw error;
  }
  if (answer && answer.error) {
    const error = new Error(answer.error.message || "No such job.");
    error.code = answer.error.code || "error";
    throw error;
  }
  return answer;
}

/** Tell whether the connection is up now. */
export function isConnected() {
  return Boolean(socket && socket.connected);
}

/** Ask the server for a batch's current snapshot (see subscribe). */
export function subscribeBatch(batchId) {
  return subscribe(batchId, { batch_id: batchId });
}
