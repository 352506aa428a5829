// One job's page: details, live progress, the result for a person, the error, the timeline.

import { cancelJob, deleteJob, getJob, listProcessors, resultUrl } from "./api.js";
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
import { barPercent, etaText, fillBadge, fillBar, rateText, setText } from "./jobs.js";
import { isStale } from "./joblist.js";
import { connectLive, subscribe } from "./live.js";
import { renderResult } from "./result.js";
import { byId, make } from "./dom.js";

const jobId = document.body.dataset.jobId;
const processors = new Map();
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

/** Show or hide the actions that fit the job's state. */
function renderActions(job) {
  const processor = processors.get(job.processor);
  const output = job.state === "SUCCESS" && (processor ? processor.output : Boolean(job.result && job.result.output));
  byId("job-cancel").hidden = !isActive(job.state);
  byId("job-delete").hidden = !isFinished(job.state);
  const download = byId("job-download");
  download.hidden = !output;
  if (output) download.href = resultUrl(job.id);
}

/** Show the result once it is there (rendered once per job, it does not change). */
function renderResultOnce(job) {
  const section = byId("job-result");
  section.hidden = !job.result;
  if (job.result && renderedResultOf !== job.id) {
    renderResult(byId("job-result-body"), job.result);
    renderedResultOf = job.id;
  }
}

/** Show a snapshot, unless an older one arrived late. */
function render(job) {
  if (isStale(shown, job)) return;
  shown = job;
  document.title = `${job.filename} · ${STATE_LABELS[job.state] || job.state} · Taskboard`;
  setText(byId("job-title"), job.filename || "(unnamed file)");
  // A job can come back after renderGone() (a reconnection that answers after all).
  byId("job-state").hidden = false;
  byId("job-bar").hidden = false;
  fillBadge(byId("job-state"), job.state);
  fillBar(byId("job-bar"), job);
  setText(byId("job-percent"), formatPercent(barPercent(job)));
  setText(byId("job-message"), (job.progress && job.progress.message) || "");
  setText(byId("job-rate"), rateText(job));
  setText(byId("job-eta"), etaText(job));
  const error = byId("job-error");
  error.hidden = !job.error;
  setText(error, job.error || "");
  renderDetails(job);
  renderTimeline(job);
  renderActions(job);
  renderResultOnce(job);
  byId("job").setAttribute("aria-busy", "false");
}

/** Say that the job is not there (never was, or was deleted), leaving nothing of it shown. */
function renderGone(message) {
  shown = null;
  document.title = "Job gone · Taskboard";
  setText(byId("job-title"), message);
  const hide = ["job-state", "job-bar", "job-cancel", "job-delete", "job-download", "job-error", "job-result"];
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
    button.disabled = true;
    setText(byId("job-action-error"), "");
    try {
      await action();
    } catch (error) {
      setText(byId("job-action-error"), error.message);
    } finally {
      button.disabled = false;
    }
  });
}

/** Start the job page. */
async function main() {
  connectLive({
    onJob: (payload) => {
      if (payload.id !== jobId) return;
      if (payload.deleted) renderGone("This job was deleted.");
      else render(payload);
    },
    onReconnect: refresh,
  });
  bindAction("job-cancel", async () => render(await cancelJob(jobId)));
  bindAction("job-delete", async () => {
    await deleteJob(jobId);
    window.location.assign(document.body.dataset.indexUrl);
  });
  window.setInterval(() => {
    if (shown && isActive(shown.state) && shown.started_at) renderTimeline(shown);
  }, 1000);
  try {
    for (const p of await listProcessors()) processors.set(p.name, { title: p.title || p.name, output: Boolean(p.output) });
  } catch {
    // Titles fall back to processor names.
  }
  await refresh();
}

main();
