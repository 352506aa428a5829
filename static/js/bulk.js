// Bulk actions on the list: rows chosen by their boxes, or every job the filter matches, then
// cancel, delete or run again in one request; "clear finished" and "clear failed"; and each
// row's own Retry. What changes comes back to the rows as pushed job events.

import { ApiError } from "./api.js";
import { bulkAction, retryJob } from "./control.js";
import { deleteArmed, setText, showRowError } from "./jobs.js";
import { byId } from "./dom.js";

const VERBS = { cancel: "Cancelled", delete: "Deleted", retry: "Started again" };

/** Return the filter part of the list's query, as the bulk API takes it. */
function filterOf(query) {
  const filter = {};
  for (const name of ["state", "processor", "q"]) if (query[name]) filter[name] = query[name];
  return filter;
}

/** Return what to say of a bulk answer. */
function summary(action, answer) {
  const done = answer.done.length;
  const parts = [`${VERBS[action]} ${done.toLocaleString()} ${done === 1 ? "job" : "jobs"}`];
  if (answer.skipped.length) parts.push(`${answer.skipped.length.toLocaleString()} skipped (${answer.skipped[0].error.message})`);
  if (answer.remaining) parts.push(`${answer.remaining.toLocaleString()} more match: run it again for them`);
  return `${parts.join("; ")}.`;
}

export class Bulk {
  /** Bind the bulk bar to the list; `confirmDelete(text)` asks before anything is deleted. */
  constructor(list, confirmDelete = (text) => window.confirm(text)) {
    this.list = list;
    this.confirmDelete = confirmDelete;
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
      const button = event.target.closest("button[data-action=retry]");
      if (button) this.retryRow(button.closest("[data-id]"), button);
    });
    this.shown.addEventListener("change", () => this.selectShown(this.shown.checked));
    this.matching.addEventListener("change", () => {
      if (this.matching.checked) this.selectShown(true);
    });
    for (const button of document.querySelectorAll("#bulk-bar [data-bulk]")) {
      button.addEventListener("click", () => this.run(button.dataset.bulk));
    }
    for (const button of document.querySelectorAll("#bulk-bar [data-clear]")) {
      button.addEventListener("click", () => this.clear(button.dataset.clear, button.textContent));
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
  async run(action) {
    const everything = this.matching.checked;
    const selection = everything ? filterOf(this.list.query) : [...this.selected];
    if (!everything && selection.length === 0) {
      setText(this.status, "Select jobs first.");
      return;
    }
    if (action === "delete") {
      const what = everything ? "every finished job matching the filter" : `${selection.length} selected jobs`;
      if (!this.confirmDelete(`Delete ${what}, with their files? This cannot be undone.`)) return;
    }
    await this.send(action, selection);
  }

  /** Delete every job of a state ("Clear finished", "Clear failed"), after asking. */
  async clear(state, label) {
    if (!this.confirmDelete(`${label}: delete every such job, with its files? This cannot be undone.`)) return;
    await this.send("delete", { state });
  }

  /** Send a bulk request and say what it did. */
  async send(action, selection) {
    setText(this.status, "Working…");
    try {
      const answer = await bulkAction(action, selection);
      setText(this.status, summary(action, answer));
      this.reset();
    } catch (error) {
      setText(this.status, error instanceof ApiError ? error.message : "Something went wrong.");
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
