// Deletes held a few seconds before they are sent, each with an "Undo" toast; a page that is
// being left sends the ones it holds at once (a keepalive request outlives the page).

import { ApiError, deleteJob, deleteJobOnLeave, getSession } from "./api.js";
import { make } from "./dom.js";

export const HOLD_MS = 5000;
// A toast the pointer or the focus left gets at least this long again before it goes.
const RESUME_MIN_MS = 2000;

/** Return a toast that says `text`, with an Undo button (named `label`) that calls `onUndo`. */
export function undoToast(text, label, onUndo) {
  const toast = make("div", "toast");
  const undo = make("button", "button button-small", "Undo");
  undo.type = "button";
  undo.setAttribute("aria-label", label);
  undo.addEventListener("click", onUndo);
  toast.append(make("span", "toast-text", text), undo);
  return toast;
}

export class HeldDeletes {
  /** Bind to the toasts' live region; deletes wait `holdMs` before they are sent. */
  constructor(region, holdMs = HOLD_MS) {
    this.region = region;
    this.holdMs = holdMs;
    this.held = new Map(); // job id -> {toast, timer, deadline, callbacks}
    window.addEventListener("pagehide", () => this.sendAllNow());
  }

  /** Tell whether a job's delete is being held. */
  has(jobId) {
    return this.held.has(jobId);
  }

  /**
   * Hold a job's delete and show its toast, focused on Undo. Callbacks: onUndo() returns the
   * element to focus after an undo; onDone() runs once the server deleted it; onError(error)
   * when it refused; focusAfter() returns what to focus when the toast goes while focused.
   */
  hold(jobId, label, callbacks) {
    if (this.held.has(jobId)) return;
    getSession().catch(() => null); // known before the page may be left (deleteJobOnLeave)
    const toast = this.toast(jobId, label);
    const entry = { toast, timer: null, deadline: 0, remaining: this.holdMs, callbacks };
    this.held.set(jobId, entry);
    this.region.append(toast);
    this.resume(jobId);
    // The clock runs on while the focus rests where it was put; a user who moves it back in pauses it.
    entry.placingFocus = true;
    toast.querySelector("button").focus();
    entry.placingFocus = false;
  }

  /** Return the toast of a held delete: what was deleted, and its Undo button. */
  toast(jobId, label) {
    const toast = undoToast(`Deleted ${label}.`, `Undo deleting ${label}`, () => this.undo(jobId));
    toast.dataset.id = jobId;
    // Nobody loses the Undo while reading it or reaching for it.
    toast.addEventListener("pointerenter", () => this.pause(jobId));
    toast.addEventListener("pointerleave", () => this.resume(jobId));
    toast.addEventListener("focusin", () => {
      if (!this.held.get(jobId)?.placingFocus) this.pause(jobId);
    });
    toast.addEventListener("focusout", (event) => {
      if (!toast.contains(event.relatedTarget)) this.resume(jobId);
    });
    return toast;
  }

  /** Stop a held delete's clock. */
  pause(jobId) {
    const entry = this.held.get(jobId);
    if (!entry || entry.timer == null) return;
    window.clearTimeout(entry.timer);
    entry.timer = null;
    entry.remaining = Math.max(RESUME_MIN_MS, entry.deadline - performance.now());
  }

  /** Start (again) a held delete's clock. */
  resume(jobId) {
    const entry = this.held.get(jobId);
    if (!entry || entry.timer != null) return;
    entry.deadline = performance.now() + entry.remaining;
    entry.timer = window.setTimeout(() => this.send(jobId), entry.remaining);
  }

  /** Take a held delete back: nothing is sent. */
  undo(jobId) {
    const entry = this.close(jobId);
    if (!entry) return;
    const target = entry.callbacks.onUndo();
    if (target) target.focus();
  }

  /** Forget a held delete without sending it (the job was deleted elsewhere). */
  drop(jobId) {
    this.close(jobId);
  }

  /** Send a held delete now. */
  async send(jobId) {
    const entry = this.close(jobId);
    if (!entry) return;
    try {
      await deleteJob(jobId);
      entry.callbacks.onDone();
    } catch (error) {
      if (error instanceof ApiError && error.status === 404) entry.callbacks.onDone();
      else entry.callbacks.onError(error);
    }
  }

  /** Send every held delete with requests that outlive the page. */
  sendAllNow() {
    for (const [jobId, entry] of [...this.held]) {
      window.clearTimeout(entry.timer);
      if (deleteJobOnLeave(jobId)) this.held.delete(jobId);
    }
  }

  /** Remove a held delete and its toast, keeping the focus on the page; return the entry. */
  close(jobId) {
    const entry = this.held.get(jobId);
    if (!entry) return null;
    this.held.delete(jobId);
    window.clearTimeout(entry.timer);
    const focused = entry.toast.contains(document.activeElement);
    entry.toast.remove();
    if (focused) {
      const target = entry.callbacks.focusAfter();
      if (target) target.focus();
    }
    return entry;
  }
}
