// Job control over the API: the filtered list, retry, bulk actions and a job's log.

import { request } from "./api.js";

/** Return a page of jobs for a query ({state, processor, q, sort}), after `cursor` if given. */
export function queryJobs(query, limit, cursor) {
  const params = new URLSearchParams({ limit: String(limit) });
  for (const [name, value] of Object.entries(query)) if (value) params.set(name, value);
  if (cursor) params.set("cursor", cursor);
  return request("GET", `/jobs?${params}`);
}

/** Run a finished job again (with other options if given); return the new job's snapshot. */
export function retryJob(jobId, options) {
  return request("POST", `/jobs/${encodeURIComponent(jobId)}/retry`, options ? { options } : {});
}

/**
 * Cancel, delete, retry or restore jobs by ids (a list) or by a filter (an object); per-job
 * outcome. `more` adds fields to the request ({undo_s} holds a delete for an Undo).
 */
export function bulkAction(action, selection, more = {}) {
  const body = Array.isArray(selection) ? { action, ids: selection } : { action, filter: selection };
  return request("POST", "/jobs/bulk", { ...body, ...more });
}

/** Return a job's log lines after the line `after` (0: all kept). */
export function jobLogs(jobId, after = 0) {
  return request("GET", `/jobs/${encodeURIComponent(jobId)}/logs?after=${after}`);
}
