// Telling the user that a job or batch of theirs ended while the tab was in the background: the
// tab's title and favicon say so until the tab is shown again, and the browser shows a
// Notification where the user allowed it with the page's control (never asked for unprompted).
//
// A job of a batch is not told on its own: when one ends, the page asks the server for its
// batch's snapshot over the live connection (once per burst of ends, see BATCH_CHECK_MS), and
// tells the batch's end once, when no job of it is left unfinished.

import { subscribeBatch } from "./live.js";

const ENDED = { SUCCESS: "done", FAILURE: "failed", REVOKED: "cancelled" };
const BATCH_ENDED = { ...ENDED, PARTIAL: "partly done" };
// Ends of a batch's jobs closer together than this make one look at the batch.
const BATCH_CHECK_MS = 250;
// The favicon with a dot: something happened here.
const BADGE =
  "data:image/svg+xml," +
  encodeURIComponent(
    '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 32 32">' +
      '<rect width="32" height="32" rx="7" fill="#2563eb"/>' +
      '<circle cx="24" cy="8" r="7" fill="#f97316" stroke="#fff" stroke-width="2"/></svg>',
  );
// A job that ended this long before the page opened is old news, not an end seen live.
const CLOCK_SLACK_MS = 5000;

const openedAt = Date.now();
const states = new Map();
const told = new Set();
const batchChecks = new Map();
let unseen = [];
let restore = null;

/** Tell whether the tab is in the background. */
function hidden() {
  return document.visibilityState === "hidden";
}

/** Return the page's favicon link. */
function iconLink() {
  return document.querySelector("link[rel~='icon']");
}

/** Tell whether a job has just ended, as opposed to a finished job shown again. */
function justEnded(job, before) {
  if (!(job.state in ENDED) || told.has(job.id)) return false;
  if (before !== undefined) return !(before in ENDED);
  const finished = Date.parse(job.finished_at || "");
  return Number.isFinite(finished) && finished >= openedAt - CLOCK_SLACK_MS;
}

/** Say in the title and favicon how many jobs ended while the tab was hidden. */
function markTab() {
  if (!restore) {
    const link = iconLink();
    restore = { title: document.title, icon: link ? link.getAttribute("href") : null };
  }
  const last = unseen[unseen.length - 1];
  const what = unseen.length === 1 ? titleOf(last) : `${unseen.length} jobs ended`;
  document.title = `(${unseen.length}) ${what} · ${restore.title}`;
  const link = iconLink();
  if (link) link.setAttribute("href", BADGE);
}

/** Put the title and favicon back once the tab is shown. */
function unmarkTab() {
  if (hidden() || !restore) return;
  document.title = restore.title;
  const link = iconLink();
  if (link && restore.icon !== null) link.setAttribute("href", restore.icon);
  restore = null;
  unseen = [];
}

/** Return what the title and the Notification say of a job's or batch's end. */
function titleOf(ended) {
  if (ended.counts) {
    const files = ended.jobs.length + ended.refused.length;
    return `Batch of ${files} file${files === 1 ? "" : "s"} ${BATCH_ENDED[ended.state]}`;
  }
  return `${ended.filename || "Job"} ${ENDED[ended.state]}`;
}

/** Return the Notification's body: a failed job's error, a batch's counts, or the processor. */
function bodyOf(ended) {
  if (ended.counts) {
    const parts = Object.entries(ended.counts).map(([state, n]) => `${n} ${ENDED[state] || state.toLowerCase()}`);
    if (ended.refused.length) parts.push(`${ended.refused.length} refused`);
    return `${parts.join(", ")} · ${ended.processor} · Taskboard`;
  }
  return ended.state === "FAILURE" && ended.error ? ended.error : `${ended.processor} · Taskboard`;
}

/** Show the browser's notification of a job's or batch's end, if the user allowed them. */
function showNotification(ended) {
  if (!("Notification" in window) || Notification.permission !== "granted") return;
  const note = new Notification(titleOf(ended), { body: bodyOf(ended), tag: ended.id });
  note.onclick = () => {
    window.focus();
    note.close();
  };
}

/** Tell the user of an end they could not see (the tab hidden). */
function tell(ended) {
  told.add(ended.id);
  if (!hidden()) return;
  unseen.push(ended);
  markTab();
  showNotification(ended);
}

/** Take every job event of the page; tell the user of ends they could not see. */
export function observeJob(job) {
  if (!job || typeof job.id !== "string" || job.deleted) return;
  const before = states.get(job.id);
  states.set(job.id, job.state);
  if (!justEnded(job, before)) return;
  if (typeof job.batch === "string") {
    told.add(job.id);
    checkBatch(job.batch);
    return;
  }
  tell(job);
}

/** Look at a batch once its jobs stop ending for a moment; tell its end if it has ended. */
function checkBatch(batchId) {
  if (told.has(batchId)) return;
  clearTimeout(batchChecks.get(batchId));
  const check = async () => {
    batchChecks.delete(batchId);
    try {
      observeBatch(await subscribeBatch(batchId));
    } catch {
      // Gone, or the connection is down: the next end of one of its jobs looks again.
    }
  };
  batchChecks.set(batchId, setTimeout(check, BATCH_CHECK_MS));
}

/** Take a batch snapshot; tell the user once when the batch has ended. */
export function observeBatch(batch) {
  if (!batch || typeof batch.id !== "string" || batch.deleted || told.has(batch.id)) return;
  if (!(batch.state in BATCH_ENDED) || !Array.isArray(batch.jobs)) return;
  tell({ ...batch, refused: Array.isArray(batch.refused) ? batch.refused : [] });
}

/** Show the control that asks for the browser's permission, and what was answered. */
function bindPermission(button, status) {
  const supported = "Notification" in window;
  const show = () => {
    const permission = supported ? Notification.permission : "unsupported";
    button.hidden = permission !== "default";
    if (status) {
      status.textContent = {
        granted: "This browser tells you when a job ends while the tab is in the background (a batch: once, at its end).",
        denied: "This browser blocks Taskboard's notifications (see the site's settings).",
        default: "",
        unsupported: "",
      }[permission];
    }
  };
  button.addEventListener("click", async () => {
    await Notification.requestPermission();
    show();
  });
  show();
}

document.addEventListener("visibilitychange", unmarkTab);
const control = document.getElementById("notify-permission");
if (control) bindPermission(control, document.getElementById("notify-permission-status"));
