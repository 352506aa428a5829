// The dashboard: the upload card and the live jobs list.

import { listJobs, listProcessors } from "./api.js";
import { BatchList } from "./batch.js";
import { JobList } from "./joblist.js";
import { connectLive, subscribe } from "./live.js";
import { showNotice, workersNotice } from "./presence.js";
import { bindRowActions } from "./rowactions.js";
import { Bulk } from "./bulk.js";
import { bindFilters } from "./filters.js";
import { HeldDeletes } from "./undo.js";
import { Uploader } from "./upload.js";
import { byId } from "./dom.js";

const RESYNC_PARALLEL = 20;
const RESYNC_NEWEST = 50;

/** Run `work` over items with at most `limit` of them at a time. */
async function inPool(items, limit, work) {
  const queue = [...items];
  const runners = Array.from({ length: Math.min(limit, queue.length) }, async () => {
    while (queue.length > 0) await work(queue.shift());
  });
  await Promise.all(runners);
}

/**
 * After a reconnection, show the true state: ask for each running or visible job, and for the
 * newest page in case jobs were created or deleted while the connection was down.
 */
async function resync(list) {
  list.clearActionErrors();
  await inPool(list.idsToResubscribe(), RESYNC_PARALLEL, async (id) => {
    try {
      list.push(await subscribe(id));
    } catch (error) {
      if (error.code === "not_found") list.push({ id, deleted: true });
    }
  });
  try {
    const { jobs } = await listJobs(RESYNC_NEWEST);
    for (const job of jobs) list.push(job);
  } catch {
    // The next reconnection tries again; the rows above are already true.
  }
}

/** Load more jobs whenever the "Load more" button scrolls into view. */
function autoLoad(list, button) {
  button.addEventListener("click", () => list.loadMore());
  if (!("IntersectionObserver" in window)) return;
  const observer = new IntersectionObserver(
    (entries) => {
      if (entries.some((entry) => entry.isIntersecting) && !button.hidden) list.loadMore();
    },
    { rootMargin: "400px 0px" },
  );
  observer.observe(button.parentElement);
}

/** Return processors by name, with what rows need to know of them. */
function processorMap(processors) {
  return new Map(processors.map((p) => [p.name, { title: p.title || p.name, output: Boolean(p.output) }]));
}

/** Start the dashboard. */
async function main() {
  const processors = new Map();
  const list = new JobList(
    {
      body: byId("jobs-body"),
      template: byId("job-row-template"),
      empty: byId("jobs-empty"),
      count: byId("jobs-count"),
      more: byId("load-more"),
      end: byId("jobs-end"),
      error: byId("jobs-error"),
    },
    processors,
  );
  const batches = new BatchList({ section: byId("batches"), body: byId("batches-body") });
  const held = new HeldDeletes(byId("toasts"));
  bindRowActions(list, held, byId("jobs-title"));
  const bulk = new Bulk(list, byId("toasts"), byId("jobs-title"));
  const filters = bindFilters(list, () => bulk.reset());
  const onWorkers = (workers) => {
    list.setWorkers(workers);
    showNotice(byId("workers-notice"), workersNotice(workers, processors));
  };
  // Connect first: events that arrive while the first page loads are kept and drawn after it.
  connectLive({
    onJob: (payload) => {
      if (payload.deleted) held.drop(payload.id);
      list.push(payload);
      batches.job(payload);
    },
    onBatch: (payload) => batches.push(payload),
    onReconnect: () => resync(list),
    onConnection: (online) => list.setOffline(!online),
    onWorkers,
  });
  const uploader = new Uploader(
    {
      select: byId("processor"),
      accepts: byId("processor-accepts"),
      options: byId("options"),
      fields: byId("options-fields"),
      zone: byId("dropzone"),
      input: byId("file-input"),
      error: byId("upload-error"),
      list: byId("uploads"),
    },
    (job) => list.push(job),
  );
  uploader.onBatch = (batch) => batches.push(batch);
  try {
    const found = await listProcessors();
    for (const [name, info] of processorMap(found)) processors.set(name, info);
    uploader.setProcessors(found);
    filters.setProcessors(processors);
    if (list.workers) onWorkers(list.workers); // titles for a notice that came first
  } catch (error) {
    byId("upload-error").textContent = `Could not load the processors: ${error.message}`;
  }
  batches.load().catch(() => {
    // No batches shown until the next one is made; the jobs below are all there.
  });
  await list.loadMore();
  autoLoad(list, byId("load-more"));
}

main();
