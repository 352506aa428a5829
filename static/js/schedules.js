// The schedules page: add a schedule (URL, processor, every N minutes or a cron expression),
// list them with their next run and last runs' states, pause, resume, run now, delete. Runs are
// the user's jobs, so their pushed `job` events refresh the list; nothing polls.

import { listProcessors, request } from "./api.js";
import { STATE_LABELS, countdownText, formatTime } from "./format.js";
import { jobUrl } from "./jobs.js";
import { connectLive } from "./live.js";

const form = document.getElementById("schedule-form");
const errorLine = document.getElementById("schedule-error");
const table = document.getElementById("schedule-list");
const rows = document.getElementById("schedule-rows");
const empty = document.getElementById("schedule-empty");
const kind = document.getElementById("schedule-kind");
const REFRESH_DELAY_MS = 300;

let processors = new Map();
let shown = [];
let refreshTimer = null;

/** Show an error under the form, or hide it with no message. */
function showError(message) {
  errorLine.textContent = message || "";
  errorLine.hidden = !message;
}

/** Return a table cell holding text. */
function cell(text, className) {
  const td = document.createElement("td");
  td.textContent = text;
  if (className) td.className = className;
  return td;
}

/** Return a small button that runs `action` on the schedule. */
function button(label, name, schedule, action) {
  const element = document.createElement("button");
  element.type = "button";
  element.className = "button button-small";
  element.textContent = label;
  element.dataset.action = name;
  element.setAttribute("aria-label", `${label} ${schedule.filename}`);
  element.addEventListener("click", () => act(action));
  return element;
}

/** Return how a schedule's timing reads: "every 15 min" or "cron 0 6 * * *". */
function timingText(schedule) {
  if (schedule.cron) return `cron ${schedule.cron} (UTC)`;
  const minutes = schedule.every_s / 60;
  return Number.isInteger(minutes) ? `every ${minutes} min` : `every ${schedule.every_s} s`;
}

/** Return the list of a schedule's last runs: a state badge linking to each run's job. */
function runsList(schedule) {
  const list = document.createElement("ul");
  list.className = "schedule-runs";
  for (const run of schedule.runs) {
    const item = document.createElement("li");
    const link = document.createElement("a");
    link.href = jobUrl(run.id);
    link.className = "badge";
    link.dataset.state = run.state;
    link.textContent = STATE_LABELS[run.state] || run.state;
    link.title = formatTime(run.created_at);
    item.append(link);
    list.append(item);
  }
  if (!schedule.runs.length) list.textContent = "none yet";
  return list;
}

/** Return the next-run text of a schedule. */
function nextText(schedule) {
  if (schedule.paused) return "paused";
  return `${formatTime(schedule.next_run_at)} · ${countdownText(schedule.next_run_at).replace("Starts", "starts")}`;
}

/** Return the row of one schedule, with its actions. */
function scheduleRow(schedule) {
  const tr = document.createElement("tr");
  tr.dataset.scheduleId = schedule.id;
  tr.dataset.paused = String(schedule.paused);
  const processor = processors.get(schedule.processor);
  const path = `/schedules/${encodeURIComponent(schedule.id)}`;
  const next = cell(nextText(schedule), "schedule-next");
  next.dataset.nextRunAt = schedule.next_run_at || "";
  const runs = document.createElement("td");
  runs.append(runsList(schedule));
  const actions = document.createElement("td");
  actions.append(
    schedule.paused
      ? button("Resume", "resume", schedule, () => request("PATCH", path, { paused: false }))
      : button("Pause", "pause", schedule, () => request("PATCH", path, { paused: true })),
    button("Run now", "run", schedule, () => request("POST", `${path}/run`)),
    button("Delete", "delete", schedule, () => remove(schedule, path)),
  );
  tr.append(
    cell(schedule.url, "schedule-url"),
    cell(processor ? processor.title : schedule.processor),
    cell(timingText(schedule)),
    next,
    runs,
    actions,
  );
  return tr;
}

/** Delete a schedule after asking. */
async function remove(schedule, path) {
  if (!window.confirm(`Delete the schedule of ${schedule.url}? Its past runs stay.`)) return;
  await request("DELETE", path);
}

/** Run an action, show its error if any, then show the list as it is now. */
async function act(action) {
  showError("");
  try {
    await action();
  } catch (error) {
    showError(error.message);
  }
  await refresh();
}

/** Load the schedules and show them. */
async function refresh() {
  try {
    const { schedules } = await request("GET", "/schedules");
    shown = schedules;
    rows.replaceChildren(...schedules.map(scheduleRow));
    table.hidden = schedules.length === 0;
    empty.hidden = schedules.length !== 0;
  } catch (error) {
    showError(error.message);
  }
}

/** Refresh soon, once for a burst of events. */
function refreshSoon() {
  if (refreshTimer) return;
  refreshTimer = window.setTimeout(() => {
    refreshTimer = null;
    refresh();
  }, REFRESH_DELAY_MS);
}

/** Refresh when a job of one of the schedules changes state. */
function onJob(job) {
  if (job.schedule || shown.some((s) => s.runs.some((run) => run.id === job.id))) refreshSoon();
}

/** Advance the countdowns; once a next run is past, the list is read again. */
function tick() {
  for (const td of rows.querySelectorAll(".schedule-next")) {
    const schedule = shown.find((s) => s.id === td.parentElement.dataset.scheduleId);
    if (!schedule) continue;
    const text = nextText(schedule);
    if (td.textContent !== text) td.textContent = text;
  }
}

/** Return the form's schedule, in the API's terms. */
function readForm() {
  const body = {
    url: document.getElementById("schedule-url").value.trim(),
    processor: document.getElementById("schedule-processor").value,
  };
  if (kind.value === "cron") body.cron = document.getElementById("schedule-cron").value.trim();
  else body.every_s = Number(document.getElementById("schedule-every").value) * 60;
  return body;
}

/** Add a schedule from the form. */
async function create(event) {
  event.preventDefault();
  showError("");
  try {
    await request("POST", "/schedules", readForm());
    form.reset();
    showKind();
    await refresh();
  } catch (error) {
    showError(error.message);
  }
}

/** Show the field of the chosen kind of timing. */
function showKind() {
  const cron = kind.value === "cron";
  document.getElementById("schedule-cron-field").hidden = !cron;
  document.getElementById("schedule-every-field").hidden = cron;
}

/** Fill the processor menu. */
async function loadProcessors() {
  const select = document.getElementById("schedule-processor");
  try {
    const list = await listProcessors();
    processors = new Map(list.map((p) => [p.name, p]));
    select.replaceChildren(
      ...list.map((p) => {
        const option = document.createElement("option");
        option.value = p.name;
        option.textContent = p.title;
        return option;
      }),
    );
  } catch (error) {
    showError(error.message);
  }
}

form.addEventListener("submit", create);
kind.addEventListener("change", showKind);
connectLive({ onJob, onReconnect: refresh });
window.setInterval(tick, 1000);
await loadProcessors();
await refresh();
