// Telling the user that a job of theirs ended while the tab was in the background: the tab's
// title and favicon say so until the tab is shown again, and the browser shows a Notification
// where the user allowed it with the page's control (never asked for unprompted).

const ENDED = { SUCCESS: "done", FAILURE: "failed", REVOKED: "cancelled" };
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
  const what = unseen.length === 1 ? `${last.filename || "Job"} ${ENDED[last.state]}` : `${unseen.length} jobs ended`;
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

/** Show the browser's notification of a job's end, if the user allowed them. */
function showNotification(job) {
  if (!("Notification" in window) || Notification.permission !== "granted") return;
  const body = job.state === "FAILURE" && job.error ? job.error : `${job.processor} · Taskboard`;
  const note = new Notification(`${job.filename || "A job"} ${ENDED[job.state]}`, {
    body,
    tag: job.id,
  });
  note.onclick = () => {
    window.focus();
    note.close();
  };
}

/** Take every job event of the page; tell the user of ends they could not see. */
export function observeJob(job) {
  if (!job || typeof job.id !== "string" || job.deleted) return;
  const before = states.get(job.id);
  states.set(job.id, job.state);
  if (!justEnded(job, before)) return;
  told.add(job.id);
  if (!hidden()) return;
  unseen.push(job);
  markTab();
  showNotification(job);
}

/** Show the control that asks for the browser's permission, and what was answered. */
function bindPermission(button, status) {
  const supported = "Notification" in window;
  const show = () => {
    const permission = supported ? Notification.permission : "unsupported";
    button.hidden = permission !== "default";
    if (status) {
      status.textContent = {
        granted: "This browser tells you when a job ends while the tab is in the background.",
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
