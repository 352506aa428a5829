// The JSON API: fetch helpers that send the CSRF token, and uploads with progress.

const API = document.body.dataset.api;
let sessionPromise = null;
let sessionKnown = null;

/** An error the API answered with ({"error": {"code", "message"}}), or a network failure. */
export class ApiError extends Error {
  constructor(status, code, message) {
    super(message);
    this.name = "ApiError";
    this.status = status;
    this.code = code;
  }
}

/** Return the API URL of a path such as "/jobs". */
export function apiUrl(path) {
  return `${API}${path}`;
}

/** Return the download URL of a job's result. */
export function resultUrl(jobId) {
  return apiUrl(`/jobs/${encodeURIComponent(jobId)}/result`);
}

/** Return the URL of preview ``number`` (from 1) of a job's result. */
export function previewUrl(jobId, number) {
  return apiUrl(`/jobs/${encodeURIComponent(jobId)}/previews/${number}`);
}

/** Return the session ({user, csrf_token}), asking the server once per page. */
export function getSession() {
  if (!sessionPromise) {
    sessionPromise = request("GET", "/session").then(
      (session) => {
        sessionKnown = session;
        return session;
      },
      (error) => {
        sessionPromise = null;
        throw error;
      },
    );
  }
  return sessionPromise;
}

/** Return an ApiError from a response body, whatever shape it has. */
function errorFrom(status, body) {
  const error = body && typeof body === "object" ? body.error : null;
  if (error && typeof error.message === "string") {
    return new ApiError(status, error.code || "error", error.message);
  }
  return new ApiError(status, "http_error", `The server answered ${status}.`);
}

/** Parse a response's JSON body, or return null when it has none. */
async function readJson(response) {
  const text = await response.text();
  if (!text) return null;
  try {
    return JSON.parse(text);
  } catch {
    return null;
  }
}

/** Send a request to the API and return its JSON body; writes carry the CSRF token. */
export async function request(method, path, body) {
  const headers = { Accept: "application/json" };
  if (method !== "GET") {
    headers["X-CSRFToken"] = (await getSession()).csrf_token;
  }
  if (body !== undefined) headers["Content-Type"] = "application/json";
  let response;
  try {
    response = await fetch(apiUrl(path), {
      method,
      headers,
      credentials: "same-origin",
      body: body === undefined ? undefined : JSON.stringify(body),
    });
  } catch {
    throw new ApiError(0, "network", "The server cannot be reached. Check your connection.");
  }
  const data = await readJson(response);
  if (!response.ok) throw errorFrom(response.status, data);
  return data;
}

/** List the processors with their options. */
export function listProcessors() {
  return request("GET", "/processors");
}

/** Return a page of jobs, newest first, older than the job `before` when given. */
export function listJobs(limit, before) {
  const params = new URLSearchParams({ limit: String(limit) });
  if (before) params.set("before", before);
  return request("GET", `/jobs?${params}`);
}

/** Return one job's snapshot. */
export function getJob(jobId) {
  return request("GET", `/jobs/${encodeURIComponent(jobId)}`);
}

/** Ask the server to cancel a job; return its snapshot. */
export function cancelJob(jobId) {
  return request("POST", `/jobs/${encodeURIComponent(jobId)}/cancel`);
}

/** Delete a finished job. */
export function deleteJob(jobId) {
  return request("DELETE", `/jobs/${encodeURIComponent(jobId)}`);
}

/**
 * Delete a finished job from a page that is being left: no waiting for the session (it must be
 * known already, see getSession), and `keepalive` so the request outlives the page. Tell
 * whether it could be sent.
 */
export function deleteJobOnLeave(jobId) {
  if (!sessionKnown) return false;
  fetch(apiUrl(`/jobs/${encodeURIComponent(jobId)}`), {
    method: "DELETE",
    headers: { Accept: "application/json", "X-CSRFToken": sessionKnown.csrf_token },
    credentials: "same-origin",
    keepalive: true,
  }).catch(() => {
    // The page is gone; the job stays, shown again on the next visit.
  });
  return true;
}

/**
 * Upload a file as a new job; resolve with its snapshot.
 *
 * XMLHttpRequest rather than fetch, because only it reports upload progress. `extra` holds
 * more form fields (run_at).
 * Returns {promise, abort}. abort() works at any time: an XMLHttpRequest that is not open yet
 * (the session is still being fetched) ignores abort(), so a flag stops it from opening.
 */
export function uploadJob(file, processor, options, onProgress, extra = {}) {
  return uploadForm(
    "/jobs",
    (form) => {
      form.append("processor", processor);
      form.append("options", JSON.stringify(options || {}));
      for (const [name, value] of Object.entries(extra)) form.append(name, value);
      form.append("file", file, file.name);
    },
    onProgress,
  );
}

/**
 * POST a multipart form to an API path with the session's CSRF token, reporting upload
 * progress (onProgress(loadedBytes, totalBytes)); `fill(form)` adds the fields. Returns
 * {promise, abort}: the promise resolves with the JSON answer or rejects with an ApiError, whose
 * `refused` lists each refused file's reason when the answer has them (batches).
 */
export function uploadForm(path, fill, onProgress) {
  const xhr = new XMLHttpRequest();
  let aborted = false;
  const cancelled = () => new ApiError(0, "aborted", "Upload cancelled.");
  const promise = getSession().then(
    (session) =>
      new Promise((resolve, reject) => {
        if (aborted) {
          reject(cancelled());
          return;
        }
        const form = new FormData();
        fill(form);
        xhr.open("POST", apiUrl(path));
        xhr.setRequestHeader("X-CSRFToken", session.csrf_token);
        xhr.setRequestHeader("Accept", "application/json");
        xhr.responseType = "text";
        xhr.upload.onprogress = (event) => {
          if (event.lengthComputable) onProgress(event.loaded, event.total);
        };
        xhr.onload = () => settleUpload(xhr, resolve, reject);
        xhr.onerror = () =>
          reject(new ApiError(0, "network", "The upload failed: the server cannot be reached."));
        xhr.onabort = () => reject(cancelled());
        xhr.send(form);
      }),
  );
  const abort = () => {
    aborted = true;
    xhr.abort();
  };
  return { promise, abort };
}

/** Resolve or reject an upload from its finished XMLHttpRequest. */
function settleUpload(xhr, resolve, reject) {
  let body = null;
  try {
    body = xhr.responseText ? JSON.parse(xhr.responseText) : null;
  } catch {
    body = null;
  }
  if (xhr.status >= 200 && xhr.status < 300 && body) resolve(body);
  else if (xhr.status === 413 && !(body && body.error)) {
    // A proxy in front answered with its own page: say what it means.
    reject(new ApiError(413, "file_too_large", "The file is larger than the server accepts."));
  } else {
    const failure = errorFrom(xhr.status, body);
    failure.refused = (body && Array.isArray(body.refused) && body.refused) || [];
    reject(failure);
  }
}
