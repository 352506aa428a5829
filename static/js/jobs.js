// One job's row in the list: made from the page's <template>, filled with textContent only,
// and touched only where a value changed so that busy lists stay cheap.

import { resultUrl } from "./api.js";
import {
  STATE_LABELS,
  elapsedSeconds,
  formatBytes,
  formatDuration,
  formatPercent,
  formatRate,
  isActive,
  isFinished,
} from "./format.js";

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

/** Show or hide an element. */
function setHidden(element, hidden) {
  if (element.hidden !== hidden) element.hidden = hidden;
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
  return job.state === "PENDING" ? 0 : null;
}

/**
 * Fill a progress bar (role="progressbar" with a .bar-fill child) from a job.
 *
 * An unknown total leaves aria-valuenow out, which assistive technology reads as indeterminate.
 */
export function fillBar(bar, job) {
  const percent = barPercent(job);
  const fill = bar.querySelector(".bar-fill");
  const width = `${percent ?? (isActive(job.state) && job.state !== "PENDING" ? 100 : 0)}%`;
  if (fill.style.width !== width) fill.style.width = width;
  bar.dataset.state = job.state;
  bar.classList.toggle("is-indeterminate", percent == null && isActive(job.state) && job.state !== "PENDING");
  setAttr(bar, "aria-valuenow", percent == null ? null : Math.round(percent));
  const message = (job.progress && job.progress.message) || STATE_LABELS[job.state] || job.state;
  setAttr(bar, "aria-valuetext", percent == null ? message : `${formatPercent(percent)}, ${message}`);
}

/** Return the "12 s left" text of a running job, or "". */
export function etaText(job) {
  const eta = job.progress && job.progress.eta_s;
  return isActive(job.state) && eta != null ? `${formatDuration(eta)} left` : "";
}

/** Return the speed of a running job in its unit, a finished job's average, or "". */
export function rateText(job) {
  const progress = job.progress || {};
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
  };
  return row;
}

/** Fill a row from a job snapshot; `processors` maps names to {title, output}. */
export function fillRow(row, job, processors) {
  const parts = row.parts;
  const processor = processors.get(job.processor);
  row.dataset.state = job.state;
  setText(parts.link, job.filename || "(unnamed file)");
  setAttr(parts.link, "title", job.filename || null);
  setText(parts.size, formatBytes(job.size));
  setText(parts.processor, processor ? processor.title : job.processor);
  fillBadge(parts.badge, job.state);
  fillBar(parts.bar, job);
  setAttr(parts.bar, "aria-label", `Progress of ${job.filename || "job"}`);
  setText(parts.percent, formatPercent(barPercent(job)));
  if (!row.actionError) setText(parts.message, (job.progress && job.progress.message) || "");
  setText(parts.rate, rateText(job));
  tickRow(row, job);
  setText(parts.eta, etaText(job));
  const finished = isFinished(job.state);
  const output = job.state === "SUCCESS" && (processor ? processor.output : Boolean(job.result && job.result.output));
  setHidden(parts.cancel, !isActive(job.state));
  setHidden(parts.remove, !finished);
  setHidden(parts.download, !output);
  if (!isActive(job.state)) parts.cancel.disabled = false;
  setAttr(parts.cancel, "aria-label", `Cancel ${job.filename}`);
  setAttr(parts.remove, "aria-label", `Delete ${job.filename}`);
  setAttr(parts.download, "aria-label", `Download the result of ${job.filename}`);
}

/** Update a row's elapsed time: called on each snapshot and once a second while it runs. */
export function tickRow(row, job, nowMs = Date.now()) {
  const seconds = elapsedSeconds(job, nowMs);
  const unknown = job.started_at ? "—" : "";
  setText(row.parts.elapsed, seconds == null ? unknown : formatDuration(seconds));
}

/** Show an error about an action (cancel, delete) in the row until the next action. */
export function showRowError(row, message) {
  row.actionError = Boolean(message);
  row.parts.message.classList.toggle("is-error", Boolean(message));
  setText(row.parts.message, message || "");
}
