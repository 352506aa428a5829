// One batch's page: its one bar (weighted by bytes), counts per state, its jobs live, cancel
// everything, download every result as one zip.

import { getJob } from "./api.js";
import {
  BATCH_LABELS,
  batchResultUrl,
  batchRunning,
  cancelBatch,
  fillBatch,
  fillJobItem,
  makeJobItem,
} from "./batch.js";
import { connectLive, subscribeBatch } from "./live.js";
import { byId, make } from "./dom.js";

const batchId = document.body.dataset.batchId;
const items = new Map(); // job id -> list item
let shown = null;

/** Draw a batch snapshot: bar, badge, counts, the actions that fit its state. */
function render(batch) {
  shown = batch;
  const root = byId("batch");
  root.setAttribute("aria-busy", "false");
  const files = batch.jobs.length;
  byId("batch-title").textContent = `Batch: ${batch.processor}, ${files} ${files === 1 ? "file" : "files"}`;
  fillBatch(root, batch);
  byId("batch-state").textContent = BATCH_LABELS[batch.state] || batch.state;
  byId("batch-cancel").hidden = !batchRunning(batch);
  const download = byId("batch-download");
  download.hidden = batchRunning(batch) || !(batch.counts && batch.counts.SUCCESS);
  download.href = batchResultUrl(batch.id);
  const refused = batch.refused || [];
  byId("batch-refused-block").hidden = refused.length === 0;
  byId("batch-refused").replaceChildren(
    ...refused.map((r) => make("li", "batch-job", `${r.filename}: ${(r.error && r.error.message) || "refused"}`)),
  );
}

/** Draw one job of the batch in its list. */
function renderJob(job) {
  if (job.deleted && items.has(job.id)) {
    items.get(job.id).remove(); // {id, deleted: true} names no batch
    items.delete(job.id);
    return;
  }
  if (job.batch !== batchId) return;
  const item = items.get(job.id);
  if (item) fillJobItem(item, job);
}

/** Load the batch and its jobs, in the order their files were sent. */
async function load() {
  try {
    render(await subscribeBatch(batchId));
  } catch (error) {
    byId("batch-title").textContent = error.code === "not_found" ? "No such batch." : error.message;
    byId("batch").setAttribute("aria-busy", "false");
    return;
  }
  const list = byId("batch-jobs");
  for (const jobId of shown.jobs) {
    try {
      const job = await getJob(jobId);
      const item = makeJobItem(job);
      items.set(job.id, item);
      list.append(item);
    } catch {
      // A job deleted on its own is not listed.
    }
  }
}

/** Cancel every open job of the batch. */
async function onCancel() {
  const button = byId("batch-cancel");
  button.disabled = true;
  byId("batch-action-error").textContent = "";
  try {
    render(await cancelBatch(batchId));
  } catch (error) {
    byId("batch-action-error").textContent = error.message;
  } finally {
    button.disabled = false;
  }
}

byId("batch-cancel").addEventListener("click", onCancel);
connectLive({
  onJob: renderJob,
  onBatch: (batch) => {
    if (batch.id === batchId && !batch.deleted) render(batch);
  },
  onReconnect: () => subscribeBatch(batchId).then(render, () => {}),
});
load();
