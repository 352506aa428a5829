// The operations page: workers, queues and jobs per state, pushed by the server every few
// seconds while the page watches (event `ops`); the page never asks for them over HTTP.

import { formatDuration, formatNumber } from "./format.js";
import { connectLive } from "./live.js";
import { byId, make } from "./dom.js";

const WATCH_TIMEOUT_MS = 10000;
const MAX_JOBS_LISTED = 4;
let receivedAt = 0;
let shown = null;

/** Return how long ago something was, from its age when the server read it. */
function agoText(ageAtCheck) {
  if (ageAtCheck == null) return "unknown";
  const age = ageAtCheck + (Date.now() - receivedAt) / 1000;
  return age < 1.5 ? "just now" : `${formatDuration(age)} ago`;
}

/** Return a queue's wait as text: empty, unknown, or how long its oldest message waited. */
function waitText(queue) {
  if (queue.length === 0) return "–";
  if (queue.oldest_age_s == null) return "unknown";
  return formatDuration(queue.oldest_age_s + (Date.now() - receivedAt) / 1000);
}

/** Fill the tiles: workers online and jobs per state. */
function renderTiles(overview) {
  const online = overview.workers.filter((w) => w.online).length;
  const values = { workers: online, ...overview.jobs };
  for (const tile of byId("ops-tiles").querySelectorAll(".tile")) {
    const value = values[tile.dataset.tile || tile.dataset.state];
    tile.querySelector(".tile-value").textContent = formatNumber(value ?? 0);
    tile.toggleAttribute("data-nonzero", Boolean(value));
  }
}

/** Return the list of a worker's running jobs (the first few, and how many more). */
function jobsList(worker) {
  const list = make("ul", "active-jobs");
  for (const job of worker.jobs.slice(0, MAX_JOBS_LISTED)) {
    const item = make("li");
    item.append(make("span", "mono", (job.id || "").slice(0, 8)), ` ${job.processor || job.task || ""}`);
    item.title = job.id || "";
    list.append(item);
  }
  if (worker.jobs.length > MAX_JOBS_LISTED) list.append(make("li", null, `and ${worker.jobs.length - MAX_JOBS_LISTED} more`));
  return list;
}

/** Return a worker's pool cell: its kind and size, and the queues it takes jobs from. */
function poolCell(worker) {
  const cell = make("td");
  cell.append(make("span", "pool", worker.pool ? `${worker.pool} × ${worker.concurrency ?? "?"}` : "unknown"));
  if (worker.queues.length) cell.append(make("span", "worker-queues", worker.queues.join(", ")));
  return cell;
}

/** Return a table row for one worker. */
function workerRow(worker) {
  const row = make("tr");
  row.dataset.worker = worker.name;
  row.dataset.online = String(worker.online);
  const name = make("td");
  const state = make("span", "badge worker-state", worker.online ? "online" : "not answering");
  state.dataset.state = worker.online ? "online" : "offline";
  name.append(make("span", "worker-name", worker.name), state);
  const active = make("td", "active");
  active.append(make("span", "active-count", `${worker.active} of ${worker.concurrency ?? "?"}`));
  if (worker.jobs.length) active.append(jobsList(worker));
  const heartbeat = make("td", "heartbeat", agoText(worker.heartbeat_age_s));
  heartbeat.dataset.age = String(worker.heartbeat_age_s);
  row.append(
    name,
    make("td", "host", worker.host),
    poolCell(worker),
    active,
    make("td", "processed numeric", formatNumber(worker.processed)),
    make("td", "uptime", worker.uptime_s == null ? "" : formatDuration(worker.uptime_s)),
    heartbeat,
  );
  return row;
}

/** Return a table row for one queue. */
function queueRow(queue) {
  const row = make("tr");
  row.dataset.queue = queue.name;
  row.toggleAttribute("data-waiting", Boolean(queue.length));
  row.append(
    make("td", "mono", queue.name),
    make("td", "queue-length numeric", queue.length == null ? "unknown" : formatNumber(queue.length)),
    make("td", "queue-wait", waitText(queue)),
  );
  return row;
}

/** Show an overview the server pushed or answered. */
function render(overview) {
  if (!overview || overview.error) {
    byId("ops-error").textContent = overview ? overview.error.message : "No answer from the server.";
    return;
  }
  shown = overview;
  receivedAt = Date.now();
  byId("ops-error").textContent = "";
  renderTiles(overview);
  const online = overview.workers.filter((w) => w.online).length;
  byId("workers-count").textContent = `${online} online`;
  byId("workers-body").replaceChildren(...overview.workers.map(workerRow));
  byId("workers-empty").hidden = overview.workers.length > 0;
  byId("queues-body").replaceChildren(...overview.queues.map(queueRow));
  for (const id of ["workers-body", "queues-body"]) byId(id).setAttribute("aria-busy", "false");
  tick();
}

/** Refresh the texts that depend on the clock: heartbeats, waits, when the page was updated. */
function tick() {
  if (!shown) return;
  const seconds = Math.round((Date.now() - receivedAt) / 1000);
  byId("ops-checked").textContent = seconds < 2 ? "Updated just now" : `Updated ${seconds} s ago`;
  for (const cell of document.querySelectorAll("#workers-body .heartbeat")) {
    cell.textContent = agoText(Number(cell.dataset.age));
  }
  const queues = new Map(shown.queues.map((q) => [q.name, q]));
  for (const row of document.querySelectorAll("#queues-body tr")) {
    row.querySelector(".queue-wait").textContent = waitText(queues.get(row.dataset.queue));
  }
}

/** Ask the server to push the overview to this page, and show what it answers now. */
async function watch(socket) {
  try {
    render(await socket.timeout(WATCH_TIMEOUT_MS).emitWithAck("ops_watch"));
  } catch {
    render(null);
  }
}

/** Start the page: watch while it is visible, stop the server's work while it is hidden. */
function main() {
  const socket = connectLive({ onJob: () => {}, onReconnect: () => watch(socket) });
  socket.on("ops", render);
  document.addEventListener("visibilitychange", () => {
    if (document.hidden) socket.emit("ops_unwatch");
    else watch(socket);
  });
  window.setInterval(tick, 1000);
  watch(socket);
}

main();
