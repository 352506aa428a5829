// The jobs list: rows by id in a Map, newest first, loaded a page at a time and kept live by
// job events, which are batched into one DOM write per animation frame.

import { batchUrl } from "./batch.js";
import { queryJobs } from "./control.js";
import { make } from "./dom.js";
import { isActive, isFinished, parseTime } from "./format.js";
import { createRow, fillRow, showRowError, tickRow } from "./jobs.js";

const PAGE_SIZE = 50;
// Without a filter the list shows the jobs sent alone; each batch has a row of its own above.
const UNFILTERED = { batch: "none" };
const HIDDEN_FLUSH_MS = 250;

/** Return how far along a state is: queued, running, finished. */
function stage(state) {
  if (state === "SCHEDULED") return -1;
  if (state === "PENDING") return 0;
  return isFinished(state) ? 2 : 1;
}

/**
 * Show on a row whether its job is part of a batch, with a link to the batch: a filtered list
 * shows the jobs of batches among the others.
 */
export function showBatch(row, job) {
  let link = row.querySelector(".job-batch");
  if (!job.batch) {
    if (link) link.remove();
    return;
  }
  if (!link) {
    link = make("a", "job-batch hint", "in a batch");
    row.querySelector(".job-size").after(link);
  }
  const href = batchUrl(job.batch);
  if (link.getAttribute("href") !== href) link.setAttribute("href", href);
  link.setAttribute("aria-label", `${job.filename || "This job"} is part of a batch: open the batch`);
}

/**
 * Tell whether a snapshot is older than the one shown (events and answers can cross). A queued
 * job's place only moves forward while it waits (jobs ahead leave, new ones join behind), so a
 * later place, or none (the created event is sent before the job takes its place), is older.
 */
export function isStale(shown, next) {
  if (!shown) return false;
  const before = stage(shown.state);
  const after = stage(next.state);
  if (after !== before) return after < before;
  if (after === 2) return false;
  if (after === 0 && shown.queue_position != null) {
    return next.queue_position == null || next.queue_position > shown.queue_position;
  }
  const shownTs = shown.progress && shown.progress.ts;
  const nextTs = next.progress && next.progress.ts;
  return shownTs != null && (nextTs == null || nextTs < shownTs);
}

export class JobList {
  /** Bind the list to its elements; `processors` maps names to {title, output}. */
  constructor({ body, template, empty, count, more, end, error }, processors) {
    this.body = body;
    this.template = template;
    this.elements = { empty, count, more, end, error };
    this.processors = processors;
    this.offline = false;
    this.workers = null; // the server's last `workers` event
    this.jobs = new Map(); // id -> {job, row}
    this.deleted = new Set(); // ids of jobs deleted while this page was open
    this.held = new Set(); // ids of jobs whose delete waits for its Undo to run out
    this.pending = new Map(); // id -> latest payload not yet drawn
    this.flushScheduled = false;
    this.ready = false;
    this.loading = false;
    this.reachedEnd = false;
    this.query = {}; // {state, processor, q, sort} of filters.js; empty: every job, newest first
    this.cursor = null; // the server's `next` for a filtered list
    this.total = null; // how many jobs match, as the server last said, kept up live
    this.generation = 0; // bumped by each new query, so a late page of the old one is dropped
    window.setInterval(() => this.tick(), 1000);
  }

  /** Tell whether the list shows a filter, a search or another order than newest first. */
  isFiltered() {
    return Object.entries(this.query).some(([name, value]) => value && !(name === "sort" && value === "newest"));
  }

  /** Tell whether a job is one the list's filter shows (without one: a job sent alone). */
  matches(job) {
    if (!this.isFiltered()) return !job.batch;
    const { state, processor, q } = this.query;
    if (state && !state.split(",").includes(job.state)) return false;
    if (processor && job.processor !== processor) return false;
    return !q || (job.filename || "").toLowerCase().includes(q.toLowerCase());
  }

  /** Show the jobs of another query from its first page. */
  setQuery(query) {
    this.query = query;
    this.generation += 1;
    this.body.replaceChildren();
    this.jobs.clear();
    this.pending.clear();
    this.cursor = null;
    this.total = null;
    this.reachedEnd = false;
    this.loading = false;
    return this.loadMore();
  }

  /**
   * Queue a snapshot or a deletion to be drawn on the next frame. An older snapshot never
   * replaces a newer one waiting (an upload's answer can come after the job's first events),
   * and nothing brings back a deleted job.
   */
  push(payload) {
    const waiting = this.pending.get(payload.id);
    if (waiting && (waiting.deleted || (!payload.deleted && isStale(waiting, payload)))) return;
    this.pending.set(payload.id, payload);
    this.scheduleFlush();
  }

  /** Draw queued changes once per frame; background tabs have no frames, so use a timer. */
  scheduleFlush() {
    if (this.flushScheduled || !this.ready) return;
    this.flushScheduled = true;
    const run = () => {
      this.flushScheduled = false;
      this.flush();
    };
    if (document.hidden) window.setTimeout(run, HIDDEN_FLUSH_MS);
    else window.requestAnimationFrame(run);
  }

  /** Apply every queued change to the DOM. */
  flush() {
    const batch = [...this.pending.values()];
    this.pending.clear();
    for (const payload of batch) {
      if (payload.deleted) this.remove(payload.id);
      else this.upsert(payload);
    }
    this.updateSummary();
  }

  /** Show a job: update its row in place, or insert a row where it belongs by age. */
  upsert(job) {
    if (this.deleted.has(job.id)) return;
    const entry = this.jobs.get(job.id);
    if (entry) {
      if (isStale(entry.job, job)) return;
      entry.job = job;
      fillRow(entry.row, job, this.view());
      showBatch(entry.row, job);
      return;
    }
    // A new job joins a filtered list only where it belongs: it matches, and the newest come first.
    if (!this.matches(job) || (this.query.sort && this.query.sort !== "newest")) return;
    const before = this.insertionPoint(job);
    if (before === undefined) return; // older than anything loaded: a later page brings it
    const row = createRow(this.template, job.id);
    fillRow(row, job, this.view());
    showBatch(row, job);
    this.body.insertBefore(row, before);
    this.jobs.set(job.id, { job, row });
    if (this.total != null) this.total += 1;
  }

  /** Return the row a new job goes before (null: at the end), or undefined to skip it. */
  insertionPoint(job) {
    const created = parseTime(job.created_at) ?? Date.now();
    const first = this.body.firstElementChild;
    if (!first || created >= this.createdOf(first)) return first;
    const last = this.body.lastElementChild;
    if (created < this.createdOf(last)) return this.reachedEnd ? null : undefined;
    for (let row = first; row; row = row.nextElementSibling) {
      if (this.createdOf(row) <= created) return row;
    }
    return null;
  }

  /** Return when a row's job was created, in epoch milliseconds. */
  createdOf(row) {
    const entry = this.jobs.get(row.dataset.id);
    return (entry && parseTime(entry.job.created_at)) ?? 0;
  }

  /** Return what rows are filled with besides their job (see fillRow). */
  view() {
    return { processors: this.processors, offline: this.offline, workers: this.workers };
  }

  /** Fill every row again, after something they all show changed. */
  refill() {
    const view = this.view();
    for (const { job, row } of this.jobs.values()) fillRow(row, job, view);
  }

  /** Say whether the connection is down: running rows' speed and time left are unknown then. */
  setOffline(offline) {
    if (this.offline === offline) return;
    this.offline = offline;
    this.refill();
  }

  /** Take the server's `workers` event: queued rows say when no worker can take them. */
  setWorkers(workers) {
    this.workers = workers;
    this.refill();
  }

  /** Clear every row's action error: after a reconnection they describe a moment gone by. */
  clearActionErrors() {
    for (const { job, row } of this.jobs.values()) {
      if (!row.actionError) continue;
      showRowError(row, "");
      fillRow(row, job, this.view());
    }
  }

  /**
   * Hide a row while its delete is held, or show it again after an undo or a refusal. A held
   * row keeps its place, empty, so that the row below does not slide its Delete button under
   * the pointer of a double click.
   */
  setHeld(jobId, held) {
    const entry = this.jobs.get(jobId);
    if (held) this.held.add(jobId);
    else this.held.delete(jobId);
    if (entry) {
      entry.row.classList.toggle("is-held", held);
      entry.row.deleting = held;
      fillRow(entry.row, entry.job, this.view());
    }
    this.updateSummary();
  }

  /** Remove a job's row. */
  remove(jobId) {
    this.held.delete(jobId);
    this.deleted.add(jobId);
    const entry = this.jobs.get(jobId);
    if (!entry) return;
    entry.row.remove();
    this.jobs.delete(jobId);
    if (this.total != null) this.total = Math.max(0, this.total - 1);
  }

  /** Load the next page of older jobs; the first call loads the newest. */
  async loadMore() {
    if (this.loading || this.reachedEnd) return;
    this.loading = true;
    this.elements.more.disabled = true;
    const generation = this.generation;
    try {
      const page = await this.fetchOlder();
      if (generation !== this.generation) return; // another query replaced this one
      this.appendPage(page.jobs);
      this.total = page.total ?? null;
      this.reachedEnd = page.next == null;
      this.elements.error.textContent = "";
    } catch (error) {
      this.elements.error.textContent = `Could not load jobs: ${error.message}`;
    } finally {
      this.loading = false;
      this.elements.more.disabled = false;
      this.body.setAttribute("aria-busy", "false");
      if (!this.ready) {
        this.ready = true;
        this.scheduleFlush();
      }
      this.updateSummary();
    }
  }

  /**
   * Return the next page of the list: the filter's, from the server's cursor; or without one the
   * jobs sent alone, older than the last row. The server answers 404 when that row's job was
   * deleted meanwhile (and its event missed): drop the row and page from the one before.
   */
  async fetchOlder() {
    if (this.isFiltered()) {
      const page = await queryJobs(this.query, PAGE_SIZE, this.cursor);
      this.cursor = page.next;
      return page;
    }
    for (;;) {
      const last = this.body.lastElementChild;
      try {
        return await queryJobs(last ? { ...UNFILTERED, before: last.dataset.id } : UNFILTERED, PAGE_SIZE);
      } catch (error) {
        if (!(last && error.status === 404)) throw error;
        this.pending.delete(last.dataset.id);
        this.remove(last.dataset.id);
      }
    }
  }

  /** Add a page of older jobs at the end, in one DOM write. */
  appendPage(jobs) {
    const fragment = document.createDocumentFragment();
    for (const job of jobs) {
      if (this.jobs.has(job.id)) continue;
      const row = createRow(this.template, job.id);
      fillRow(row, job, this.view());
      showBatch(row, job);
      fragment.append(row);
      this.jobs.set(job.id, { job, row });
    }
    this.body.append(fragment);
  }

  /** Show the count, the empty notice and the "Load more" button as the list stands. */
  updateSummary() {
    const { empty, count, more, end } = this.elements;
    const size = this.jobs.size - this.held.size;
    empty.hidden = !(this.ready && size === 0);
    // Unfiltered, the list shows the jobs sent alone (a batch's jobs are in its row above).
    if (!empty.dataset.alone) empty.dataset.alone = empty.textContent;
    const emptyText = this.isFiltered() ? "No job matches these filters." : empty.dataset.alone;
    if (empty.textContent !== emptyText) empty.textContent = emptyText;
    more.hidden = !this.ready || this.reachedEnd;
    end.hidden = !(this.reachedEnd && size > PAGE_SIZE);
    const known = this.total != null ? Math.max(0, this.total - this.held.size) : null;
    const shown = known ?? size;
    const plus = known == null && !this.reachedEnd ? "+" : "";
    const text = shown === 0 ? "" : `${shown.toLocaleString()}${plus} ${shown === 1 ? "job" : "jobs"}`;
    if (count.textContent !== text) count.textContent = text;
  }

  /** Advance the elapsed time of running jobs; local arithmetic, nothing is fetched. */
  tick() {
    const now = Date.now();
    for (const { job, row } of this.jobs.values()) {
      if (isActive(job.state) && job.started_at) tickRow(row, job, now, this.offline);
      else if (job.state === "SCHEDULED") fillRow(row, job, this.view()); // its countdown
    }
  }

  /** Return the ids a reconnecting page must ask about: running jobs and the rows in view. */
  idsToResubscribe() {
    const ids = [];
    const height = window.innerHeight;
    for (const [id, { job, row }] of this.jobs) {
      if (isActive(job.state)) {
        ids.push(id);
        continue;
      }
      const box = row.getBoundingClientRect();
      if (box.bottom >= 0 && box.top <= height) ids.push(id);
    }
    return ids;
  }
}
