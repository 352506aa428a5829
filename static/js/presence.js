// What the page says about workers: the server pushes `workers` (online workers per queue and
// per processor) on connect and on every change; no page asks for it.

/**
 * Return the dashboard's notice for a `workers` event: every processor without a worker, or ""
 * when each has one (or nothing is known yet). `processors` maps names to {title}.
 */
export function workersNotice(workers, processors) {
  if (!workers || !workers.processors) return "";
  if (workers.online === 0) return "No worker is online: new jobs wait in the queue until one starts.";
  const missing = Object.entries(workers.processors)
    .filter(([, count]) => count === 0)
    .map(([name]) => (processors.get(name) || { title: name }).title);
  if (missing.length === 0) return "";
  return `No worker is online for ${missing.join(", ")}: those jobs wait in the queue until one starts.`;
}

/** Show a notice in an element, hidden when it says nothing. */
export function showNotice(element, text) {
  if (element.textContent !== text) element.textContent = text;
  element.hidden = text === "";
}
