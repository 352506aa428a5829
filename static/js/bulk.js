// Bulk actions on the list: rows chosen by their boxes, or every job the filter matches, then
// cancel, delete or run again in one request; "clear finished" and "clear failed"; and each
// row's own Retry. What changes comes back to the rows as pushed job events. Deletes are held
// by the server for UNDO_S seconds: the rows show "being deleted" (in every tab, and after a
// reload) with an Undo of their own, and this tab shows one Undo toast for all of them.

import { ApiError } from "./api.js";
import { bulkAction, retryJob } from "./control.js";
import { deleteArmed, setText, showRowError } from "./jobs.js";
import { undoToast } from "./undo.js";
import { byId } from "./dom.js";

const VERBS = { cancel: "Cancelled", delete: "Deleting", retry: "Started again", restore: "Kept" };
// How long a bulk delete waits for an Undo (the server holds it; at most 60 s).
export const UNDO_S = 5;

/** Return "1 job" or "5 jobs". */
function jobsText(count) {
  return `${count.toLocaleString()} ${count === 1 ? "job" : "jobs"}`;
}

/** Return the filter part of the list's query, as the bulk API takes it. */
function filterOf(query) {
  const filter = {};
  for (const name of ["state", "processor", "q"]) if (query[name]) filter[name] = query[name];
  return filter;
}

/** Return what to say of a bulk answer. */
function summary(action, answer) {
  const parts = [`${VERBS[action]} ${jobsText(answer.done.length)}`];
  if (answer.skipped.length) parts.push(`${answer.skipped.length.toLocaleString()} skipped (${answer.skipped[0].error.message})`);
  if (answer.remaining) parts.push(`${answer.remaining.toLocaleString()} more match: run it again for them`);
  return `${parts.join("; ")}.`;
}

export class Bulk {
  /** Bind the bulk bar to the list; Undo toasts go to `toasts`, focus with no better place to `title`. */
  constructor(list, toasts, title) {
    this.list = list;
    this.toasts = toasts;
    this.title = title;
    this.selected = new Set();
    this.shown = byId("select-shown");
    this.matching = byId("select-matching");
    this.status = byId("bulk-status");
    list.body.addEventListener("change", (event) => {
      if (!event.target.classList.contains("row-select")) return;
      const id = event.target.closest("[data-id]").dataset.id;
      if (event.target.checked) this.selected.add(id);
      else this.selected.delete(id);
      this.matching.checked = false;
    });
    list.body.addEventListener("click", (event) => {
      const button = event.target.closest("button[data-action=retry], button[data-action=restore]");
      if (!button) return;
      const row = button.closest("[data-id]");
      if (button.dataset.action === "retry") this.retryRow(row, button);
      else this.restore([row.dataset.id], button.closest("[data-id]").querySelector(".job-link"));
    });
    this.shown.addEventListener("change", () => this.selectShown(this.shown.checked));
    this.matching.addEventListener("change", () => {
      if (this.matching.checked) this.selectShown(true);
    });
    for (const button of document.querySelectorAll("#bulk-bar [data-bulk]")) {
      button.addEventListener("click", () => this.run(button.dataset.bulk, button));
    }
    for (const button of document.querySelectorAll("#bulk-bar [data-clear]")) {
      button.addEventListener("click", () => this.holdDelete({ state: button.dataset.clear }, button));
    }
  }

  /** Check or uncheck every row shown. */
  selectShown(checked) {
    for (const box of this.list.body.querySelectorAll(".row-select")) {
      box.checked = checked;
      const id = box.closest("[data-id]").dataset.id;
      if (checked) this.selected.add(id);
      else this.selected.delete(id);
    }
    if (!checked) this.matching.checked = false;
  }

  /** Forget the selection (after an action, or when the list shows another query). */
  reset() {
    this.selected.clear();
    this.shown.checked = false;
    this.matching.checked = false;
    for (const box of this.list.body.querySelectorAll(".row-select")) box.checked = false;
  }

  /** Do an action on the selected rows, or on every job matching the filter. */
  async run(action, button) {
    const everything = this.matching.checked;
    const selection = everything ? filterOf(this.list.query) : [...this.selected];
    if (!everything && selection.length === 0) {
      setText(this.status, "Select jobs first.");
      return;
    }
    if (action === "delete") await this.holdDelete(selection, button);
    else await this.send(action, selection);
  }

  /**
   * Delete jobs after UNDO_S seconds unless undone: the server holds them, and the focus goes
   * to the Undo toast; after an Undo it comes back to `origin`, the button that deleted.
   */
  async holdDelete(selection, origin) {
    const answer = await this.send("delete", selection, { undo_s: UNDO_S });
    if (!answer || answer.done.length === 0) return;
    const ids = answer.done;
    const what = jobsText(ids.length);
    let timer = null;
    const toast = undoToast(`Deleting ${what}.`, `Undo deleting ${what}`, () => {
      window.clearTimeout(timer);
      this.closeToast(toast, origin);
      this.restore(ids, origin);
    });
    toast.classList.add("toast-bulk");
    this.toasts.append(toast);
    toast.querySelector("button").focus();
    timer = window.setTimeout(() => this.closeToast(toast, origin), UNDO_S * 1000);
  }

  /** Remove an Undo toast; focus in it goes back to `origin` (or the list's title). */
  closeToast(toast, origin) {
    const focused = toast.contains(document.activeElement);
    toast.remove();
    if (focused) (origin && origin.isConnected && !origin.hidden ? origin : this.title).focus();
  }

  /** Take held deletes back; the rows come back as pushed job events. */
  async restore(ids, focusAfter) {
    await this.send("restore", ids);
    if (focusAfter && focusAfter.isConnected) focusAfter.focus();
  }

  /** Send a bulk request, say what it did and return its answer (null after an error). */
  async send(action, selection, more = {}) {
    setText(this.status, "Working…");
    try {
      const answer = await bulkAction(action, selection, more);
      setText(this.status, summary(action, answer));
      if (action !== "restore") this.reset();
      return answer;
    } catch (error) {
      setText(this.status, error instanceof ApiError ? error.message : "Something went wrong.");
      return null;
    }
  }

  /** Run one row's failed or cancelled job again; the new job comes as a pushed row. */
  async retryRow(row, button) {
    if (!deleteArmed(button) || button.getAttribute("aria-disabled") === "true") return;
    button.setAttribute("aria-disabled", "true");
    showRowError(row, "");
    try {
      this.list.push(await retryJob(row.dataset.id));
    } catch (error) {
      showRowError(row, error instanceof ApiError ? error.message : "Something went wrong.");
    } finally {
      button.removeAttribute("aria-disabled");
    }
  }
}
