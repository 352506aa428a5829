// What a job row's buttons do: Cancel at once, Delete held a few seconds with an Undo, and the
// keyboard focus kept on something sensible when a button goes away.

import { ApiError, cancelJob } from "./api.js";
import { deleteArmed, showRowError } from "./jobs.js";

/** Return the message of an action's error for the row. */
function errorText(error) {
  return error instanceof ApiError ? error.message : "Something went wrong.";
}

/** Return the link of the nearest shown row after `row` (else before it), or the list's title. */
export function focusNear(row, title) {
  for (const step of ["nextElementSibling", "previousElementSibling"]) {
    for (let other = row[step]; other; other = other[step]) {
      if (!other.hidden && !other.deleting) return other.querySelector(".job-link");
    }
  }
  return title;
}

/** Cancel a row's job; the button stays until the job's next state hides it. */
async function cancelRow(list, row, button) {
  if (button.getAttribute("aria-disabled") === "true") return;
  // aria-disabled, not disabled: a disabled button would drop the keyboard focus.
  button.setAttribute("aria-disabled", "true");
  row.cancelClicked = true; // arms the Delete that will come up (see fillRow)
  showRowError(row, "");
  try {
    list.push(await cancelJob(row.dataset.id));
  } catch (error) {
    button.removeAttribute("aria-disabled");
    showRowError(row, errorText(error));
    if (error.status === 404) list.push({ id: row.dataset.id, deleted: true });
  }
}

/** Hide a row and hold its job's delete behind an Undo toast. */
function deleteRow(list, held, row, button, title) {
  if (!deleteArmed(button)) return;
  const jobId = row.dataset.id;
  const label = row.querySelector(".job-link").textContent;
  showRowError(row, "");
  list.setHeld(jobId, true);
  held.hold(jobId, label, {
    onUndo: () => {
      list.setHeld(jobId, false);
      return row.querySelector(".action-delete");
    },
    onDone: () => list.push({ id: jobId, deleted: true }),
    onError: (error) => {
      list.setHeld(jobId, false);
      showRowError(row, `Not deleted: ${errorText(error)}`);
    },
    focusAfter: () => (row.isConnected && !row.deleting ? button : focusNear(row, title)),
  });
}

/** Run the row buttons of a job list; `title` takes the focus when no row is left. */
export function bindRowActions(list, held, title) {
  list.body.addEventListener("click", (event) => {
    const button = event.target.closest("button[data-action]");
    if (!button) return;
    const row = button.closest("[data-id]");
    if (button.dataset.action === "cancel") cancelRow(list, row, button);
    else if (button.dataset.action === "delete") deleteRow(list, held, row, button, title);
  });
}
