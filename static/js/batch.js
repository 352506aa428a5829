// Batches on the page: sending several files as one batch, and drawing a batch's one bar
// (weighted by bytes), its counts per state and its jobs, from `batch` and `job` events.

import { apiUrl, request, uploadForm } from "./api.js";
import { STATE_LABELS, formatBytes, formatDuration, formatPercent, formatRate, isFinished } from "./format.js";
import { fillBadge, fillBar, jobUrl, setText } from "./jobs.js";
import { make } from "./dom.js";

export const BATCH_LABELS = { ...STATE_LABELS, PROGRESS: "Running", PARTIAL: "Partly done" };
const RUNNING = new Set(["PENDING", "PROGRESS"]);

/** Tell whether a batch still has jobs queued or running. */
export function batchRunning(batch) {
  return RUNNING.has(batch.state);
}

/** Return the page of one batch. */
export function batchUrl(batchId) {
  return `${document.body.dataset.indexUrl}batches/${encodeURIComponent(batchId)}`;
}

/** Return the download URL of a batch's zip of results. */
export function batchResultUrl(batchId) {
  return apiUrl(`/batches/${encodeURIComponent(batchId)}/result`);
}

/** Return the user's newest batches. */
export function listBatches(limit = 20) {
  return request("GET", `/batches?limit=${limit}`);
}

/** Return one batch's snapshot. */
export function getBatch(batchId) {
  return request("GET", `/batches/${encodeURIComponent(batchId)}`);
}

/** Ask the server to cancel every open job of a batch; return its snapshot. */
export function cancelBatch(batchId) {
  return request("POST", `/batches/${encodeURIComponent(batchId)}/cancel`);
}

/**
 * Send several files as one batch; resolve with its snapshot. Rejects with an ApiError whose
 * `refused` lists each refused file's reason when the server refused them all.
 * Returns {promise, abort}, as uploadJob does.
 */
export function uploadBatch(files, processor, options, onProgress) {
  return uploadForm(
    "/batches",
    (form) => {
      form.append("processor", processor);
      form.append("options", JSON.stringify(options || {}));
      for (const file of files) form.append("file", file, file.name);
    },
    onProgress,
  );
}

/** Return a job-like view of a batch for the shared bar and badge helpers. */
function asJob(batch) {
  const progress = batch.progress || {};
  return { state: batch.state, progress: { ...progress, message: BATCH_LABELS[batch.state] || batch.state } };
}

/** Return a batch row's title: its processor and how many files (jobs left) it has. */
function batchTitle(batch) {
  return `${batch.processor} · ${batch.jobs.length} ${batch.jobs.length === 1 ? "file" : "files"}`;
}

/** Return "3 done · 1 running · 2 queued"-style counts of a batch's jobs. */
export function countsText(batch) {
  const counts = batch.counts || {};
  const parts = [];
  for (const state of ["SUCCESS", "PROGRESS", "STARTED", "RETRY", "PENDING", "FAILURE", "REVOKED"]) {
    if (counts[state]) parts.push(`${counts[state]} ${(STATE_LABELS[state] || state).toLowerCase()}`);
  }
  const refused = (batch.refused || []).length;
  if (refused) parts.push(`${refused} refused`);
  if (batch.deleted_jobs) parts.push(`${batch.deleted_jobs} deleted`);
  return parts.join(" · ");
}

/** Return the "42% · 1.2 MB/s · 5 s left" line of a batch. */
export function progressText(batch) {
  const progress = batch.progress || {};
  const parts = [formatPercent(progress.percent)];
  parts.push(`${formatBytes(progress.current)} of ${formatBytes(progress.total)}`);
  if (batchRunning(batch) && progress.rate) parts.push(formatRate(progress.rate, "bytes"));
  if (batchRunning(batch) && progress.eta_s != null) parts.push(`${formatDuration(progress.eta_s)} left`);
  return parts.filter(Boolean).join(" · ");
}

/** Fill a batch's bar, badge, progress line and counts (elements found by class in `root`). */
export function fillBatch(root, batch) {
  root.dataset.state = batch.state;
  fillBar(root.querySelector(".bar"), asJob(batch));
  const badge = root.querySelector(".badge");
  fillBadge(badge, batch.state);
  setText(badge, BATCH_LABELS[batch.state] || batch.state);
  setText(root.querySelector(".batch-progress"), progressText(batch));
  setText(root.querySelector(".batch-counts"), countsText(batch));
}

/** Return a new bar (role="progressbar") labelled by `labelId`. */
export function makeBar(labelId) {
  const bar = make("span", "bar");
  bar.setAttribute("role", "progressbar");
  bar.setAttribute("aria-valuemin", "0");
  bar.setAttribute("aria-valuemax", "100");
  bar.setAttribute("aria-labelledby", labelId);
  bar.append(make("span", "bar-fill"));
  return bar;
}

/** Return the list item of one job of a batch: its file (a link), state and percent. */
export function makeJobItem(job) {
  const item = make("li", "batch-job");
  item.dataset.id = job.id;
  const link = make("a", "batch-job-name", job.filename || job.id);
  link.href = jobUrl(job.id);
  item.append(link, make("span", "badge"), make("span", "hint batch-job-percent"));
  fillJobItem(item, job);
  return item;
}

/** Update a job's list item from its snapshot. */
export function fillJobItem(item, job) {
  fillBadge(item.querySelector(".badge"), job.state);
  const percent = job.progress && job.progress.percent;
  setText(item.querySelector(".batch-job-percent"), isFinished(job.state) ? "" : formatPercent(percent));
}

/** The dashboard's batches: one row each, with the one bar, that expands into its jobs. */
export class BatchList {
  /** Bind the list to its section and list elements. */
  constructor({ section, body }) {
    this.section = section;
    this.body = body;
    this.rows = new Map(); // batch id -> {batch, row, jobs: Map(job id -> item)}
  }

  /** Draw a batch event: a snapshot, or {id, deleted: true}. */
  push(batch) {
    const entry = this.rows.get(batch.id);
    if (batch.deleted) {
      if (entry) entry.row.remove();
      this.rows.delete(batch.id);
    } else if (entry) {
      entry.batch = batch;
      setText(entry.row.querySelector(".batch-title"), batchTitle(batch));
      fillBatch(entry.row, batch);
    } else {
      this.add(batch);
    }
    this.section.hidden = this.rows.size === 0;
  }

  /** Add a row for a batch, newest first. */
  add(batch, atEnd = false) {
    const row = make("li", "batch-row");
    row.dataset.id = batch.id;
    const titleId = `batch-title-${batch.id}`;
    const head = make("div", "batch-head");
    const title = make("a", "batch-title", batchTitle(batch));
    title.id = titleId;
    title.href = batchUrl(batch.id);
    const toggle = make("button", "button button-small button-quiet batch-toggle", "Show jobs");
    toggle.type = "button";
    toggle.setAttribute("aria-expanded", "false");
    const jobsList = make("ul", "batch-jobs");
    jobsList.id = `batch-jobs-${batch.id}`;
    jobsList.hidden = true;
    toggle.setAttribute("aria-controls", jobsList.id);
    toggle.addEventListener("click", () => this.toggle(batch.id, toggle, jobsList));
    head.append(title, make("span", "badge"), toggle);
    row.append(head, makeBar(titleId), make("span", "hint batch-progress"), make("span", "hint batch-counts"), jobsList);
    fillBatch(row, batch);
    if (atEnd) this.body.append(row);
    else this.body.prepend(row);
    this.rows.set(batch.id, { batch, row, jobs: new Map(), list: jobsList });
  }

  /** Show or hide a batch's jobs; they are fetched the first time. */
  async toggle(batchId, button, list) {
    const open = button.getAttribute("aria-expanded") !== "true";
    button.setAttribute("aria-expanded", String(open));
    button.textContent = open ? "Hide jobs" : "Show jobs";
    list.hidden = !open;
    const entry = this.rows.get(batchId);
    if (!open || !entry || entry.loaded) return;
    entry.loaded = true;
    for (const jobId of entry.batch.jobs) {
      try {
        this.job(await request("GET", `/jobs/${encodeURIComponent(jobId)}`));
      } catch {
        // Deleted meanwhile: it is simply not listed.
      }
    }
  }

  /** Draw a job event in its batch's list of jobs, if that list is shown. */
  job(job) {
    if (job && job.deleted) {
      // {id, deleted: true} names no batch: the job leaves whichever list shows it.
      for (const shown of this.rows.values()) {
        const gone = shown.jobs.get(job.id);
        if (gone) gone.remove();
        shown.jobs.delete(job.id);
      }
      return;
    }
    const entry = job && job.batch ? this.rows.get(job.batch) : null;
    if (!entry || !entry.loaded) return;
    const item = entry.jobs.get(job.id);
    if (item) fillJobItem(item, job);
    else if (!job.deleted && job.filename !== undefined) {
      const made = makeJobItem(job);
      entry.jobs.set(job.id, made);
      entry.list.append(made);
    }
  }

  /** Load the newest batches. */
  async load() {
    const { batches } = await listBatches();
    for (const batch of batches) if (!this.rows.has(batch.id)) this.add(batch, true);
    this.section.hidden = this.rows.size === 0;
  }
}
