// Sending several files from the upload card as one batch: one item with one bar while they go
// up, then the refused files each shown next to its own name, as single uploads show theirs.

import { uploadBatch } from "./batch.js";
import { formatPercent, roundPercent } from "./format.js";

const DONE_LINGER_MS = 1500;

/** Show each refused file of a batch as an upload item with its reason and a Dismiss button. */
function showRefused(uploader, processor, refused) {
  for (const { filename, error } of refused) {
    const file = { name: filename, size: null };
    const item = uploader.createItem(file, processor);
    uploader.el.list.prepend(item.element);
    uploader.showFailure(item, file, (error && error.message) || "Refused.");
  }
}

/** Send `files` as one batch from the upload card; the batch goes to uploader.onBatch. */
export async function sendBatch(uploader, files, processor, options) {
  const total = files.reduce((sum, file) => sum + file.size, 0);
  const label = { name: `${files.length} files`, size: total };
  const item = uploader.createItem(label, processor);
  const { element, parts } = item;
  uploader.el.list.prepend(element);
  element.dataset.state = "sending";
  parts.status.textContent = "Sending… 0%";
  const upload = uploadBatch(files, processor.name, options, (loaded, size) => {
    const percent = size ? (100 * loaded) / size : 0;
    parts.fill.style.width = `${percent}%`;
    parts.bar.setAttribute("aria-valuenow", String(roundPercent(percent)));
    parts.status.textContent =
      loaded >= size ? "Sent, waiting for the server…" : `Sending… ${formatPercent(percent)}`;
  });
  element.abort = upload.abort;
  try {
    const batch = await upload.promise;
    element.dataset.state = "done";
    parts.fill.style.width = "100%";
    parts.bar.setAttribute("aria-valuenow", "100");
    parts.status.textContent = "Sent: the batch is shown below.";
    parts.action.hidden = true;
    showRefused(uploader, processor, batch.refused || []);
    uploader.onBatch(batch);
    window.setTimeout(() => element.remove(), DONE_LINGER_MS);
  } catch (error) {
    if (element.dataset.state === "aborted") return;
    if (error.refused && error.refused.length > 0) {
      element.remove();
      showRefused(uploader, processor, error.refused);
    } else {
      uploader.showFailure(item, label, error.message);
    }
  }
}
