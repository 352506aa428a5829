// One job's row in the list: made from the page's <template>, filled with textContent only,
// and touched only where a value changed so that busy lists stay cheap.

import { resultUrl } from "./api.js";
import {
  STATE_LABELS,
  countdownText,
  elapsedSeconds,
  formatBytes,
  formatDuration,
  formatPercent,
  formatRate,
  formatTime,
  isActive,
  isFinished,
  queueText,
  retryText,
  roundPercent,
} from "./format.js";

// A Delete button that appears as a job the user cancelled ends takes no click for this long:
// the second click of a double click meant for Cancel must not land on it.
export const ARM_DELETE_MS = 1000;
// A running job that has sent no update for this long says so in place of its time left.
export const SILENT_S = 15;
// When each snapshot shown arrived (Date.now()): a new snapshot is a new object.
const arrived = new WeakMap();
const clock = new Intl.DateTimeFormat(undefined, { hour: "2-digit", minute: "2-digit" });

/** Return an ISO time as the local hour and minute. */
function clockTime(iso) {
  const ms = iso ? Date.parse(iso) : Number.NaN;
  return Number.isNaN(ms) ? "" : clock.format(ms);
}

/** Set an element's text only when it differs, to spare the browser needless work. */
export function setText(element, text) {
  const value = text == null ? "" : String(text);
  if (element.textContent !== value) element.textContent = value;
}

/** Set or remove an attribute only when it differs. */
export function setAttr(element, name, value) {
  if (value == null) {
    if (element.hasAttribute(name)) element.removeAttribute(name);
  } else if (element.getAttribute(name) !== String(value)) {
    element.setAttribute(name, String(value));
  }
}

/** Show or hide an element; a focused element that hides hands the focus to `fallback`. */
export function setHidden(element, hidden, fallback = null) {
  if (element.hidden === hidden) return;
  const hadFocus = hidden && element.contains(document.activeElement);
  element.hidden = hidden;
  if (hadFocus && fallback) fallback.focus();
}

/** Tell whether no worker is online for a processor's queue (false while unknown). */
export function noWorkerFor(workers, processor) {
  const count = workers && workers.processors ? workers.processors[processor] : undefined;
  return count === 0;
}

// The page gives a job's URL with JOB_ID where the id goes.
const JOB_URL = document.body.dataset.jobUrl;

/** Return the page URL of a job. */
export function jobUrl(jobId) {
  return JOB_URL.replace("JOB_ID", encodeURIComponent(jobId));
}

/** Return the percent a progress bar shows for a job: the contract's, or 0 while queued. */
export function barPercent(job) {
  const percent = job.progress && job.progress.percent;
  if (typeof percent === "number" && Number.isFinite(percent)) {
    return Math.max(0, Math.min(100, percent));
  }
  if (job.state === "SUCCESS") return 100;
  return job.state === "PENDING" || job.state === "SCHEDULED" ? 0 : null;
}

/**
 * Fill a progress bar (role="progressbar" with a .bar-fill child) from a job.
 *
 * An unknown total leaves aria-valuenow out, which assistive technology reads as indeterminate.
 */
export function fillBar(bar, job) {
  const percent = barPercent(job);
  const fill = bar.querySelector(".bar-fill");
  const waiting = job.state === "PENDING" || job.state === "SCHEDULED";
  const width = `${percent ?? (isActive(job.state) && !waiting ? 100 : 0)}%`;
  if (fill.style.width !== width) fill.style.width = width;
  bar.dataset.state = job.state;
  bar.classList.toggle("is-indeterminate", percent == null && isActive(job.state) && !waiting);
  setAttr(bar, "aria-valuenow", roundPercent(percent));
  const message = (job.progress && job.progress.message) || STATE_LABELS[job.state] || job.state;
  setAttr(bar, "aria-valuetext", percent == null ? message : `${formatPercent(percent)}, ${message}`);
}

/**
 * Return the "12 s left" text of a running job, or "". Offline, the last figure would freeze
 * while the job goes on: it is unknown then.
 */
export function etaText(job, offline = false) {
  const eta = job.progress && job.progress.eta_s;
  if (!isActive(job.state) || (eta == null && !offline)) return "";
  return offline ? "time left unknown" : `${formatDuration(eta)} left`;
}

/**
 * Return for how many seconds a running job has sent no update (since its snapshot arrived),
 * or null while it is under SILENT_S, or the job is not running.
 */
export function silentSeconds(job, nowMs = Date.now()) {
  if (!arrived.has(job)) arrived.set(job, nowMs);
  if (job.state !== "STARTED" && job.state !== "PROGRESS") return null;
  const seconds = (nowMs - arrived.get(job)) / 1000;
  return seconds >= SILENT_S ? seconds : null;
}

/**
 * Fill a job's speed and time left: unknown while offline; once a running job has been silent
 * SILENT_S, "no update for 20 s" in place of its time left (a frozen or lost worker's job
 * must not go on promising "26 s left"). Both are greyed while they may not hold.
 */
export function fillFigures(rate, eta, job, offline = false, nowMs = Date.now()) {
  const silent = silentSeconds(job, nowMs);
  const quiet = !offline && silent != null;
  setText(rate, rateText(job, offline));
  setText(eta, quiet ? `no update for ${formatDuration(Math.floor(silent))}` : etaText(job, offline));
  rate.classList.toggle("is-stale", offline || quiet);
  eta.classList.toggle("is-stale", offline || quiet);
}

/** Return the speed of a running job in its unit ("unknown" offline), a finished job's average, or "". */
export function rateText(job, offline = false) {
  const progress = job.progress || {};
  if (job.state === "SCHEDULED") return "";
  if (isActive(job.state) && offline && job.state !== "PENDING") return "unknown";
  if (isActive(job.state)) return formatRate(progress.rate, progress.unit);
  const seconds = elapsedSeconds(job);
  if (job.state !== "SUCCESS" || !progress.current || !(seconds >= 0.5)) return "";
  return `avg ${formatRate(progress.current / seconds, progress.unit)}`;
}

/** Fill a state badge. */
export function fillBadge(badge, state) {
  setText(badge, STATE_LABELS[state] || state);
  badge.dataset.state = state;
}

/** Return a new, empty row for a job id, cloned from the page's template. */
export function createRow(template, jobId) {
  const row = template.content.firstElementChild.cloneNode(true);
  row.dataset.id = jobId;
  const link = row.querySelector(".job-link");
  link.href = jobUrl(jobId);
  row.querySelector(".action-download").href = resultUrl(jobId);
  row.parts = {
    link,
    size: row.querySelector(".job-size"),
    processor: row.querySelector(".cell-processor"),
    badge: row.querySelector(".badge"),
    bar: row.querySelector(".bar"),
    percent: row.querySelector(".percent"),
    message: row.querySelector(".message"),
    rate: row.querySelector(".cell-rate"),
    elapsed: row.querySelector(".elapsed"),
    eta: row.querySelector(".eta"),
    cancel: row.querySelector(".action-cancel"),
    download: row.querySelector(".action-download"),
    remove: row.querySelector(".action-delete"),
    restore: row.querySelector(".action-restore"),
    retry: row.querySelector(".action-retry"),
    select: row.querySelector(".row-select"),
    times: row.querySelector(".times"),
  };
  return row;
}

/**
 * Return the line under a row's bar: why it failed, that no worker will take it, or the job's
 * own message. `kind` styles it; `title` holds the full text of an ellipsized reason.
 */
export function rowNote(job, view, nowMs = Date.now()) {
  if (job.delete_at) return { text: "Being deleted: Undo keeps it.", kind: "deleting", title: `Deleted at ${formatTime(job.delete_at)}` };
  if (job.state === "FAILURE" && job.error) return { text: job.error, kind: "failure", title: job.error };
  if (job.state === "SCHEDULED") return { text: countdownText(job.run_at, nowMs), kind: "scheduled", title: job.run_at };
  if (job.state === "PENDING" && noWorkerFor(view.workers, job.processor)) {
    const place = queueText(job);
    const text = `Waiting: no worker online for it${place ? ` (${place})` : ""}.`;
    return { text, kind: "waiting", title: null };
  }
  if (job.state === "RETRY") return { text: retryText(job, nowMs), kind: "retry", title: job.error };
  return { text: statusText(job), kind: null, title: null };
}

/**
 * Return the line a job shows under its bar when nothing more pressing is to be said: a queued
 * job's place ("3rd in queue"), a retrying job's attempt and countdown, or its own message.
 */
export function statusText(job, nowMs = Date.now()) {
  return queueText(job) || retryText(job, nowMs) || (job.progress && job.progress.message) || "";
}

/** Fill the line under a row's bar, unless an action's error holds it. */
function fillNote(row, job, view, nowMs = Date.now()) {
  const { message } = row.parts;
  if (row.actionError && row.actionError.state !== job.state) showRowError(row, "");
  if (row.actionError) return;
  const note = rowNote(job, view, nowMs);
  setText(message, note.text);
  setAttr(message, "title", note.title);
  setAttr(message, "data-kind", note.kind);
}

/** Show or hide a row's actions; a Delete that appears now is armed a moment later. */
function fillActions(row, job, processor) {
  const parts = row.parts;
  const output = job.state === "SUCCESS" && (processor ? processor.output : Boolean(job.result && job.result.output));
  const appearing = row.filled && parts.remove.hidden && isFinished(job.state);
  if (appearing && row.cancelClicked) parts.remove.dataset.armAt = String(performance.now() + ARM_DELETE_MS);
  // Focus on a Cancel that goes away stays in the row, on its link, never on Delete.
  setHidden(parts.cancel, !isActive(job.state), parts.link);
  const deleting = Boolean(row.deleting || job.delete_at);
  setHidden(parts.remove, !isFinished(job.state) || deleting);
  setHidden(parts.download, !output || Boolean(job.delete_at));
  if (parts.restore) {
    // A kept row's focus stays in it, on its link.
    setHidden(parts.restore, !job.delete_at, parts.link);
    setAttr(parts.restore, "aria-label", `Undo deleting ${job.filename}`);
  }
  if (parts.retry) {
    if (appearing && row.cancelClicked) parts.retry.dataset.armAt = String(performance.now() + ARM_DELETE_MS);
    setHidden(parts.retry, !(job.state === "FAILURE" || job.state === "REVOKED") || deleting);
    setAttr(parts.retry, "aria-label", `Retry ${job.filename}`);
  }
  if (!isActive(job.state)) parts.cancel.removeAttribute("aria-disabled");
  setAttr(parts.cancel, "aria-label", `Cancel ${job.filename}`);
  setAttr(parts.remove, "aria-label", `Delete ${job.filename}`);
  setAttr(parts.download, "aria-label", `Download the result of ${job.filename}`);
}

/** Tell whether a row's Delete button may take a click now (see ARM_DELETE_MS). */
export function deleteArmed(button) {
  return !(Number(button.dataset.armAt) > performance.now());
}

/**
 * Fill a row from a job snapshot. `view` is what the list knows besides the job: `processors`
 * maps names to {title, output}, `offline` says the connection is down, `workers` is the
 * server's last `workers` event (or null).
 */
export function fillRow(row, job, view) {
  const parts = row.parts;
  const processor = view.processors.get(job.processor);
  const offline = Boolean(view.offline) && isActive(job.state);
  row.dataset.state = job.state;
  row.classList.toggle("is-deleting", Boolean(job.delete_at));
  setText(parts.link, job.filename || "(unnamed file)");
  setAttr(parts.link, "title", job.filename || null);
  setText(parts.size, formatBytes(job.size));
  setText(parts.processor, processor ? processor.title : job.processor);
  fillBadge(parts.badge, job.state);
  fillBar(parts.bar, job);
  setAttr(parts.bar, "aria-label", `Progress of ${job.filename || "job"}`);
  setText(parts.percent, formatPercent(barPercent(job)));
  fillNote(row, job, view);
  tickRow(row, job, Date.now(), offline); // elapsed time, speed and time left
  fillActions(row, job, processor);
  if (parts.select) setAttr(parts.select, "aria-label", `Select ${job.filename}`);
  if (parts.times) {
    const ended = job.finished_at ? ` – ${clockTime(job.finished_at)}` : "";
    setText(parts.times, `${clockTime(job.created_at)}${ended}`);
    const title = `Created ${formatTime(job.created_at)}`;
    setAttr(parts.times, "title", job.finished_at ? `${title}, ended ${formatTime(job.finished_at)}` : title);
  }
  row.filled = true;
}

/**
 * Update a row's elapsed time, speed and time left (a silent job's "no update for 20 s"), and a
 * retrying job's countdown: called on each snapshot and once a second while it runs.
 */
export function tickRow(row, job, nowMs = Date.now(), offline = false) {
  if (job.state === "RETRY") fillNote(row, job, {}, nowMs);
  if (row.parts.rate) fillFigures(row.parts.rate, row.parts.eta, job, offline && isActive(job.state), nowMs);
  const seconds = elapsedSeconds(job, nowMs);
  const unknown = job.started_at ? "—" : "";
  setText(row.parts.elapsed, seconds == null ? unknown : formatDuration(seconds));
}

/**
 * Show an error about an action (cancel, delete) in the row, until the next action or until
 * the job moves to another state than `state` (then the error no longer holds).
 */
export function showRowError(row, message, state = row.dataset.state) {
  const { message: line } = row.parts;
  row.actionError = message ? { message, state } : null;
  line.classList.toggle("is-error", Boolean(message));
  if (message) {
    setAttr(line, "title", null);
    setAttr(line, "data-kind", null);
  }
  setText(line, message || "");
}
