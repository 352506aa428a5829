// One job's page: details, live progress, the result for a person, the error, the timeline.

import { cancelJob, getJob, listProcessors, resultUrl } from "./api.js";
import {
  STATE_LABELS,
  elapsedSeconds,
  formatBytes,
  formatDuration,
  formatPercent,
  formatTime,
  isActive,
  isFinished,
} from "./format.js";
import {
  ARM_DELETE_MS,
  barPercent,
  deleteArmed,
  fillBadge,
  fillBar,
  fillFigures,
  noWorkerFor,
  setAttr,
  setHidden,
  setText,
  statusText,
} from "./jobs.js";
import { isStale } from "./joblist.js";
import { JobLog } from "./joblog.js";
import { retryJob } from "./control.js";
import { connectLive, subscribe } from "./live.js";
import { showNotice } from "./presence.js";
import { renderResult } from "./result.js";
import { HeldDeletes } from "./undo.js";
import { byId, make } from "./dom.js";

const jobId = document.body.dataset.jobId;
const processors = new Map();
const page = { offline: false, workers: null, deleting: false, cancelClicked: false };
let shown = null;
let renderedResultOf = null;

/** Fill the details list: processor, size, id. */
function renderDetails(job) {
  const processor = processors.get(job.processor);
  const rows = [
    ["Processor", processor ? processor.title : job.processor],
    ["File", job.filename],
    ["Size", `${formatBytes(job.size)}`],
    ["Job id", job.id],
  ];
  const items = rows.flatMap(([term, value]) => [make("dt", null, term), make("dd", null, value)]);
  items[items.length - 1].classList.add("mono");
  if (job.options && Object.keys(job.options).length > 0) {
    const text = Object.entries(job.options).map(([name, value]) => `${name}: ${JSON.stringify(value)}`).join(", ");
    items.push(make("dt", null, "Options"), make("dd", "mono", text));
  }
  if (job.attempt > 1 || job.state === "RETRY") {
    const of = Number.isInteger(job.max_attempts) ? ` of ${job.max_attempts}` : "";
    items.push(make("dt", null, "Attempt"), make("dd", null, `${job.attempt}${of}`));
  }
  if (job.retry_of) {
    const link = make("a", "mono", job.retry_of);
    link.href = `${window.location.pathname.replace(/[^/]*$/, "")}${encodeURIComponent(job.retry_of)}`;
    const cell = make("dd");
    cell.append(link);
    items.push(make("dt", null, "Run again of"), cell);
  }
  byId("job-details").replaceChildren(...items);
}

/** Return how long a job took (or has run), for the timeline. */
function tookText(seconds, finished) {
  if (seconds < 1) return finished ? "in under a second" : "under a second";
  return finished ? `after ${formatDuration(seconds)}` : formatDuration(seconds);
}

/** Fill the timeline: created, started, finished, with how long each step took. */
function renderTimeline(job) {
  const steps = [["Created", job.created_at, null]];
  if (job.run_at) steps.push([job.state === "SCHEDULED" ? "Starts" : "Scheduled for", job.run_at, null]);
  if (job.started_at) steps.push(["Started", job.started_at, null]);
  const took = elapsedSeconds(job);
  if (job.finished_at) {
    steps.push([STATE_LABELS[job.state] || "Finished", job.finished_at, took]);
  } else if (isActive(job.state) && job.started_at) {
    steps.push(["Running for", null, took]);
  }
  const items = steps.map(([label, iso, seconds]) => {
    const item = make("li", "timeline-step");
    item.append(make("span", "timeline-label", label));
    if (iso) {
      const time = make("time", null, formatTime(iso));
      time.dateTime = iso;
      item.append(time);
    }
    if (seconds != null) item.append(make("span", "hint", tookText(seconds, Boolean(iso))));
    return item;
  });
  byId("job-timeline").replaceChildren(...items);
}

/**
 * Show or hide the actions that fit the job's state. A Delete that appears as a job the user
 * cancelled ends takes no click for a moment, and a focused Cancel that goes hands the focus
 * to the title.
 */
function renderActions(job) {
  const processor = processors.get(job.processor);
  const output = job.state === "SUCCESS" && (processor ? processor.output : Boolean(job.result && job.result.output));
  const remove = byId("job-delete");
  if (page.cancelClicked && remove.hidden && shown && isActive(shown.state) && isFinished(job.state)) {
    remove.dataset.armAt = String(performance.now() + ARM_DELETE_MS);
  }
  setHidden(byId("job-cancel"), !isActive(job.state), byId("job-title"));
  if (!isActive(job.state)) byId("job-cancel").removeAttribute("aria-disabled");
  setHidden(remove, !isFinished(job.state) || page.deleting);
  const retry = byId("job-retry");
  if (page.cancelClicked && retry.hidden && shown && isActive(shown.state) && isFinished(job.state)) {
    retry.dataset.armAt = String(performance.now() + ARM_DELETE_MS); // it may come up under Cancel
  }
  setHidden(retry, !isFinished(job.state) || page.deleting);
  const download = byId("job-download");
  download.hidden = !output;
  if (output) download.href = resultUrl(job.id);
  // The page names the file as it downloads: the name the result gives, where it gives one.
  const name = output && job.result && typeof job.result.download_name === "string" ? job.result.download_name : "";
  download.textContent = name ? `Download ${name}` : "Download result";
  setAttr(download, "title", name || null); // a long name is cut short on the button
  if (name) download.setAttribute("download", name);
}

/** Show the result once it is there (rendered once per job, it does not change). */
function renderResultOnce(job) {
  const section = byId("job-result");
  section.hidden = !job.result;
  if (job.result && renderedResultOf !== job.id) {
    renderResult(byId("job-result-body"), job.result, job.id);
    renderedResultOf = job.id;
  }
}

/** Show the live figures: offline, speed and time left are unknown rather than frozen. */
function renderFigures(job) {
  const offline = page.offline && isActive(job.state);
  fillFigures(byId("job-rate"), byId("job-eta"), job, offline);
  const waiting = job.state === "PENDING" && noWorkerFor(page.workers, job.processor);
  const text = "No worker is online to run this job: it waits in the queue until one starts.";
  showNotice(byId("job-waiting"), waiting ? text : "");
}

/** Show a snapshot, unless an older one arrived late. */
function render(job) {
  if (isStale(shown, job)) return;
  renderActions(job);
  shown = job;
  document.title = `${job.filename} · ${STATE_LABELS[job.state] || job.state} · Taskboard`;
  setText(byId("job-title"), job.filename || "(unnamed file)");
  // A job can come back after renderGone() (a reconnection that answers after all).
  byId("job-state").hidden = false;
  byId("job-bar").hidden = false;
  fillBadge(byId("job-state"), job.state);
  fillBar(byId("job-bar"), job);
  setText(byId("job-percent"), formatPercent(barPercent(job)));
  setText(byId("job-message"), statusText(job));
  renderFigures(job);
  const error = byId("job-error");
  error.hidden = !job.error;
  setText(error, job.error || "");
  renderDetails(job);
  renderTimeline(job);
  renderResultOnce(job);
  byId("job").setAttribute("aria-busy", "false");
}

/** Say that the job is not there (never was, or was deleted), leaving nothing of it shown. */
function renderGone(message) {
  shown = null;
  document.title = "Job gone · Taskboard";
  setText(byId("job-title"), message);
  const hide = ["job-state", "job-bar", "job-cancel", "job-delete", "job-download", "job-error", "job-result", "job-waiting"];
  for (const id of hide) byId(id).hidden = true;
  for (const id of ["job-percent", "job-message", "job-rate", "job-eta", "job-error", "job-action-error"]) {
    setText(byId(id), "");
  }
  byId("job-details").replaceChildren();
  byId("job-timeline").replaceChildren();
  byId("job-result-body").replaceChildren();
  renderedResultOf = null;
  byId("job").setAttribute("aria-busy", "false");
}

/** Ask for the job's true state: over the socket, or over HTTP if the socket cannot answer. */
async function refresh() {
  try {
    render(await subscribe(jobId));
  } catch (error) {
    if (error.code === "not_found") return renderGone("This job does not exist (any more).");
    try {
      render(await getJob(jobId));
    } catch (fallback) {
      if (fallback.status === 404) renderGone("This job does not exist (any more).");
    }
  }
}

/** Run a button's action, showing the API's error next to the buttons. */
function bindAction(id, action) {
  const button = byId(id);
  button.addEventListener("click", async () => {
    // aria-disabled, not disabled: a disabled button would drop the keyboard focus.
    if (button.getAttribute("aria-disabled") === "true") return;
    button.setAttribute("aria-disabled", "true");
    setText(byId("job-action-error"), "");
    try {
      await action();
    } catch (error) {
      setText(byId("job-action-error"), error.message);
    } finally {
      button.removeAttribute("aria-disabled");
    }
  });
}

/** Hold the job's delete behind an Undo toast; once sent, the page says the job is gone. */
function holdDelete(held) {
  const remove = byId("job-delete");
  if (!shown || !deleteArmed(remove)) return;
  const label = shown.filename || "the job";
  page.deleting = true;
  setText(byId("job-action-error"), "");
  renderActions(shown);
  held.hold(jobId, label, {
    onUndo: () => {
      page.deleting = false;
      if (shown) renderActions(shown);
      return remove;
    },
    onDone: () => renderGone("This job was deleted."),
    onError: (error) => {
      page.deleting = false;
      if (shown) renderActions(shown);
      setText(byId("job-action-error"), `Not deleted: ${error.message}`);
    },
    focusAfter: () => byId("job-title"),
  });
}

/** Start the job page. */
async function main() {
  const held = new HeldDeletes(byId("toasts"));
  const socket = connectLive({
    onJob: (payload) => {
      if (payload.id !== jobId) return;
      if (payload.deleted) {
        held.drop(jobId);
        renderGone("This job was deleted.");
      } else render(payload);
    },
    onReconnect: () => {
      setText(byId("job-action-error"), ""); // about a moment gone by
      refresh();
      if (page.log) page.log.catchUp();
    },
    onConnection: (online) => {
      page.offline = !online;
      if (shown) renderFigures(shown);
    },
    onWorkers: (workers) => {
      page.workers = workers;
      if (shown) renderFigures(shown);
    },
  });
  bindAction("job-cancel", async () => {
    page.cancelClicked = true; // arms the Delete that will come up (see renderActions)
    render(await cancelJob(jobId));
  });
  byId("job-delete").addEventListener("click", () => holdDelete(held));
  bindAction("job-retry", async () => {
    if (!deleteArmed(byId("job-retry"))) return;
    const again = await retryJob(jobId);
    window.location.assign(window.location.pathname.replace(/[^/]*$/, encodeURIComponent(again.id)));
  });
  const log = new JobLog(jobId, byId("job-log-lines"), byId("job-log-empty"));
  window.setInterval(() => {
    if (shown && isActive(shown.state) && shown.started_at) {
      renderTimeline(shown);
      renderFigures(shown); // a silent job says so
    }
    if (shown && shown.state === "RETRY") setText(byId("job-message"), statusText(shown)); // its countdown
  }, 1000);
  try {
    for (const p of await listProcessors()) processors.set(p.name, { title: p.title || p.name, output: Boolean(p.output) });
  } catch {
    // Titles fall back to processor names.
  }
  log.follow(socket);
  page.log = log;
  await refresh();
  await log.catchUp();
}

main();
