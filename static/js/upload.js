// The upload card: pick a processor and its options, drop or choose files, and watch each
// file go up with its own percentage; API errors stay next to the file they belong to.

import { request, uploadJob } from "./api.js";
import { sendBatch } from "./batchupload.js";
import { formatBytes, formatPercent, roundPercent } from "./format.js";
import { readOptions, renderOptions } from "./options.js";
import { make } from "./dom.js";

const MAX_PARALLEL = 3;
const DONE_LINGER_MS = 1500;
const STORAGE_KEY = "taskboard.processor";

/** Return what the browser remembers under a key, or null where storage is blocked. */
function remembered(key) {
  try {
    return window.localStorage.getItem(key);
  } catch {
    return null;
  }
}

/** Remember a value under a key, if the browser lets the page store anything. */
function remember(key, value) {
  try {
    window.localStorage.setItem(key, value);
  } catch {
    // Blocked or full storage: the choice is simply not remembered.
  }
}

/** Return the upload card's start time as ISO 8601 UTC (none when empty), or why it is wrong. */
function readRunAt() {
  const value = document.getElementById("run-at")?.value;
  if (!value) return { runAt: null, error: null };
  const at = new Date(value);
  if (Number.isNaN(at.getTime())) return { runAt: null, error: "The start time cannot be read." };
  if (at.getTime() <= Date.now()) return { runAt: null, error: "The start time is in the past." };
  return { runAt: at.toISOString(), error: null };
}

/** Return the largest file the server takes (the page says), or null when it does not say. */
function maxUploadBytes() {
  return Number(document.body.dataset.maxUploadBytes) || null;
}

/** Tell whether a drag carries files (rather than text or a link). */
function carriesFiles(event) {
  return [...(event.dataTransfer?.types || [])].includes("Files");
}

/** Return the "Accepts ..." hint of a processor. */
function acceptsText(processor) {
  const accepts = processor.accepts || ["*"];
  return accepts.includes("*") ? "Accepts any file." : `Accepts ${accepts.join(", ")}.`;
}

/**
 * Read the card's "When a job ends" choice: {notify} (a list for the API's `notify` field, see
 * notify.js for the tab's own notice) or {error} when the webhook URL is not a URL.
 */
function readNotify() {
  const notify = [];
  const email = document.getElementById("notify-email");
  if (email && email.checked) notify.push("email");
  const webhook = document.getElementById("notify-webhook");
  if (webhook && webhook.value.trim() !== "") {
    if (!webhook.checkValidity()) {
      webhook.reportValidity();
      return { error: `Webhook URL: ${webhook.validationMessage}` };
    }
    notify.push({ webhook: webhook.value.trim() });
  }
  return { notify };
}

export class Uploader {
  /** Bind the upload card; `onCreated(snapshot)` gets each job the server accepts. */
  constructor(elements, onCreated) {
    this.el = elements;
    this.onCreated = onCreated;
    this.onBatch = null; // set to take several files as one batch: onBatch(snapshot)
    this.processors = [];
    this.queue = [];
    this.active = 0;
    this.el.select.addEventListener("change", () => this.chooseProcessor(this.el.select.value));
    this.el.input.addEventListener("change", () => {
      this.addFiles(this.el.input.files);
      this.el.input.value = "";
    });
    this.el.list.addEventListener("click", (event) => this.onListClick(event));
    this.bindDropzone();
    document.getElementById("import-button")?.addEventListener("click", () => this.importUrl());
    document.getElementById("import-url")?.addEventListener("keydown", (event) => {
      if (event.key !== "Enter") return;
      event.preventDefault(); // the form has nothing to submit: Enter imports
      this.importUrl();
    });
  }

  /** Send the URL typed as a URL import with the processor, options and start time chosen. */
  async importUrl() {
    const field = document.getElementById("import-url");
    const url = field.value.trim();
    const processor = this.current();
    const { options, error } = processor ? readOptions(this.el.fields, processor.options || {}) : {};
    const { runAt, error: timeError } = readRunAt();
    const { notify, error: notifyError } = readNotify();
    const problem = !url
      ? "Type the URL of a file."
      : !processor
        ? "Choose a processor first."
        : error || timeError || notifyError;
    this.el.error.textContent = problem || "";
    if (problem) return;
    const body = { url, processor: processor.name, options, ...(runAt ? { run_at: runAt } : {}) };
    if (notify.length > 0) body.notify = notify;
    try {
      this.onCreated(await request("POST", "/jobs", body));
      field.value = "";
    } catch (failure) {
      this.el.error.textContent = failure.message;
    }
  }

  /** Fill the processor choice from /api/processors. */
  setProcessors(processors) {
    this.processors = processors;
    const { select } = this.el;
    select.replaceChildren(
      ...processors.map((p) => {
        const option = make("option", null, p.title || p.name);
        option.value = p.name;
        return option;
      }),
    );
    select.disabled = processors.length === 0;
    const last = remembered(STORAGE_KEY);
    const initial = processors.some((p) => p.name === last) ? last : processors[0]?.name;
    if (initial) {
      select.value = initial;
      this.chooseProcessor(initial);
    }
  }

  /** Return the processor chosen now. */
  current() {
    return this.processors.find((p) => p.name === this.el.select.value);
  }

  /** Show the chosen processor's options form and narrow the file picker to what it takes. */
  chooseProcessor(name) {
    const processor = this.processors.find((p) => p.name === name);
    if (!processor) return;
    remember(STORAGE_KEY, name);
    this.el.accepts.textContent = acceptsText(processor);
    const accepts = processor.accepts || ["*"];
    if (accepts.includes("*")) this.el.input.removeAttribute("accept");
    else this.el.input.accept = accepts.join(",");
    const count = renderOptions(this.el.fields, processor.options);
    this.el.options.hidden = count === 0;
    this.el.error.textContent = "";
  }

  /**
   * Let files be dropped on the zone, and a click anywhere on it open the picker. A file dropped
   * beside the zone is ignored: the browser would otherwise open it in place of the dashboard.
   */
  bindDropzone() {
    const { zone, input } = this.el;
    for (const type of ["dragover", "drop"]) {
      window.addEventListener(type, (event) => {
        if (!carriesFiles(event) || zone.contains(event.target)) return;
        event.preventDefault();
        event.dataTransfer.dropEffect = "none";
      });
    }
    const over = (event) => {
      if (!carriesFiles(event)) return;
      event.preventDefault();
      event.dataTransfer.dropEffect = "copy";
      zone.classList.add("is-over");
    };
    zone.addEventListener("dragenter", over);
    zone.addEventListener("dragover", over);
    zone.addEventListener("dragleave", (event) => {
      if (!zone.contains(event.relatedTarget)) zone.classList.remove("is-over");
    });
    zone.addEventListener("drop", (event) => {
      event.preventDefault();
      zone.classList.remove("is-over");
      this.addFiles(event.dataTransfer.files);
    });
    zone.addEventListener("click", (event) => {
      if (event.target === input || event.target.closest("label")) return;
      input.click();
    });
  }

  /** Queue files for upload with the processor and options chosen now. */
  addFiles(fileList) {
    const files = [...(fileList || [])];
    if (files.length === 0) return;
    const processor = this.current();
    if (!processor) {
      this.el.error.textContent = "Choose a processor first.";
      return;
    }
    const { options, error } = readOptions(this.el.fields, processor.options || {});
    const { runAt, error: timeError } = readRunAt();
    if (error || timeError) {
      this.el.error.textContent = error || timeError;
      return;
    }
    const { notify, error: notifyError } = readNotify();
    if (notifyError) {
      this.el.error.textContent = notifyError;
      return;
    }
    this.el.error.textContent = "";
    const limit = maxUploadBytes();
    const fitting = files.filter((file) => !(limit && file.size > limit));
    // Several files at once make one batch (one bar for them all); one file stays a plain job.
    const asBatch = fitting.length > 1 && this.onBatch;
    for (const file of files) {
      if (asBatch && fitting.includes(file)) continue;
      const item = this.createItem(file, processor);
      this.el.list.prepend(item.element);
      if (limit && file.size > limit) {
        this.showFailure(item, file, `Too large: the server takes files up to ${formatBytes(limit)}.`);
      } else {
        this.queue.push({ ...item, file, processor: processor.name, options, notify, runAt });
      }
    }
    if (asBatch) sendBatch(this, fitting, processor, options);
    this.pump();
  }

  /** Show why a file was not sent, next to it, with a button to dismiss it. */
  showFailure({ element, parts }, file, message) {
    element.dataset.state = "error";
    parts.status.textContent = "Not sent.";
    parts.error.textContent = message;
    parts.action.textContent = "Dismiss";
    parts.action.dataset.action = "dismiss";
    parts.action.setAttribute("aria-label", `Dismiss the error about ${file.name}`);
  }

  /** Return the list item that shows one file's upload. */
  createItem(file, processor) {
    const element = make("li", "upload-item");
    element.dataset.state = "waiting";
    const head = make("div", "upload-head");
    const name = make("span", "upload-name", file.name);
    name.title = file.name;
    const meta = make("span", "hint", `${formatBytes(file.size)} · ${processor.title || processor.name}`);
    const action = make("button", "button button-small button-quiet", "Cancel");
    action.type = "button";
    action.dataset.action = "abort";
    action.setAttribute("aria-label", `Stop sending ${file.name}`);
    head.append(name, meta, action);
    const bar = make("span", "bar");
    bar.setAttribute("role", "progressbar");
    bar.setAttribute("aria-valuemin", "0");
    bar.setAttribute("aria-valuemax", "100");
    bar.setAttribute("aria-valuenow", "0");
    bar.setAttribute("aria-label", `Sending ${file.name}`);
    const fill = make("span", "bar-fill");
    bar.append(fill);
    const status = make("span", "upload-status hint", "Waiting…");
    const error = make("p", "upload-error");
    error.setAttribute("role", "alert");
    element.append(head, bar, status, error);
    return { element, parts: { bar, fill, status, error, action } };
  }

  /** Start queued uploads while fewer than MAX_PARALLEL are on their way. */
  pump() {
    while (this.active < MAX_PARALLEL && this.queue.length > 0) {
      const item = this.queue.shift();
      if (item.element.dataset.state === "aborted") continue;
      this.active += 1;
      this.send(item).finally(() => {
        this.active -= 1;
        this.pump();
      });
    }
  }

  /** Send one file and show how far it got, then hand the new job over or show the error. */
  async send(item) {
    const { element, parts } = item;
    element.dataset.state = "sending";
    parts.status.textContent = "Sending… 0%";
    const extra = {};
    if (item.runAt) extra.run_at = item.runAt;
    if (item.notify && item.notify.length > 0) extra.notify = JSON.stringify(item.notify);
    const upload = uploadJob(
      item.file,
      item.processor,
      item.options,
      (loaded, total) => {
        const percent = total ? (100 * loaded) / total : 0;
        parts.fill.style.width = `${percent}%`;
        parts.bar.setAttribute("aria-valuenow", String(roundPercent(percent)));
        parts.status.textContent =
          loaded >= total ? "Sent, waiting for the server…" : `Sending… ${formatPercent(percent)}`;
      },
      extra,
    );
    item.element.abort = upload.abort;
    try {
      const job = await upload.promise;
      element.dataset.state = "done";
      parts.fill.style.width = "100%";
      parts.bar.setAttribute("aria-valuenow", "100");
      parts.status.textContent = `Sent: the job is ${item.runAt ? "scheduled" : "queued"} below.`;
      parts.action.hidden = true;
      this.onCreated(job);
      window.setTimeout(() => element.remove(), DONE_LINGER_MS);
    } catch (error) {
      if (element.dataset.state === "aborted") return;
      this.showFailure(item, item.file, error.message);
    }
  }

  /** Stop an upload, or dismiss a finished one's error; the focus moves to the next item. */
  onListClick(event) {
    const button = event.target.closest("button[data-action]");
    if (!button) return;
    const element = button.closest(".upload-item");
    if (button.dataset.action === "abort") {
      element.dataset.state = "aborted";
      if (element.abort) element.abort();
    }
    const next = this.focusAfter(element);
    element.remove();
    next.focus();
  }

  /** Return what takes the focus when an item goes: the next item's button, else the file picker. */
  focusAfter(element) {
    for (const step of ["nextElementSibling", "previousElementSibling"]) {
      const button = element[step] && element[step].querySelector("button[data-action]:not([hidden])");
      if (button) return button;
    }
    return this.el.input;
  }
}
