// Turn numbers from snapshots into text a person reads: sizes, rates, durations, times.

const BYTE_UNITS = ["B", "kB", "MB", "GB", "TB", "PB"];
const integer = new Intl.NumberFormat(undefined, { maximumFractionDigits: 0 });
const oneDecimal = new Intl.NumberFormat(undefined, { maximumFractionDigits: 1 });
const dateTime = new Intl.DateTimeFormat(undefined, { dateStyle: "medium", timeStyle: "medium" });

export const STATE_LABELS = {
  SCHEDULED: "Scheduled",
  PENDING: "Queued",
  STARTED: "Started",
  PROGRESS: "Running",
  RETRY: "Retrying",
  SUCCESS: "Done",
  FAILURE: "Failed",
  REVOKED: "Cancelled",
};

const ACTIVE = new Set(["SCHEDULED", "PENDING", "STARTED", "PROGRESS", "RETRY"]);
const TERMINAL = new Set(["SUCCESS", "FAILURE", "REVOKED"]);

/** Tell whether a job in this state can still be cancelled. */
export function isActive(state) {
  return ACTIVE.has(state);
}

/** Tell whether a job in this state has finished. */
export function isFinished(state) {
  return TERMINAL.has(state);
}

/** Return the countdown of a job run later: "Starts in 4 min 05 s", or "Starting…" once due. */
export function countdownText(runAt, nowMs = Date.now()) {
  const at = parseTime(runAt);
  if (at == null) return "";
  const seconds = Math.ceil((at - nowMs) / 1000);
  return seconds > 0 ? `Starts in ${formatDuration(seconds)}` : "Starting…";
}

const ordinals = new Intl.PluralRules("en", { type: "ordinal" });
const ORDINAL_SUFFIXES = { one: "st", two: "nd", few: "rd", other: "th" };

/** Return a place as an English ordinal: 1 -> "1st", 3 -> "3rd", 11 -> "11th", 22 -> "22nd". */
export function ordinal(place) {
  return `${integer.format(place)}${ORDINAL_SUFFIXES[ordinals.select(place)]}`;
}

/**
 * Return a queued job's place as a person reads it: "3rd in queue" for a job with two jobs
 * ahead of it (the snapshot's queue_position counts the jobs ahead; 0 is next); "" if unknown.
 */
export function queueText(job) {
  const ahead = job.queue_position;
  if (job.state !== "PENDING" || !Number.isInteger(ahead) || ahead < 0) return "";
  return `${ordinal(ahead + 1)} in queue`;
}

/**
 * Return where a job retrying after a passing error stands: "attempt 2 of 4, next try in 6 s",
 * counting down to its retry_at ("next try now" once due); "" for a job not in RETRY.
 */
export function retryText(job, nowMs = Date.now()) {
  if (job.state !== "RETRY") return "";
  const of = Number.isInteger(job.max_attempts) ? ` of ${job.max_attempts}` : "";
  const head = `attempt ${job.attempt}${of}`;
  const at = parseTime(job.retry_at);
  if (at == null) return head;
  const seconds = Math.ceil((at - nowMs) / 1000);
  return seconds > 0 ? `${head}, next try in ${formatDuration(seconds)}` : `${head}, next try now`;
}

/** Return a byte count as "12.3 MB" (powers of 1000, as file managers show them). */
export function formatBytes(bytes) {
  if (bytes == null || !Number.isFinite(bytes)) return "";
  let value = Math.abs(bytes);
  let unit = 0;
  while (value >= 1000 && unit < BYTE_UNITS.length - 1) {
    value /= 1000;
    unit += 1;
  }
  const text = unit === 0 ? integer.format(value) : oneDecimal.format(value);
  return `${bytes < 0 ? "-" : ""}${text} ${BYTE_UNITS[unit]}`;
}

/** Return an amount of the job's unit: bytes as a size, others as a grouped number. */
export function formatAmount(amount, unit) {
  if (amount == null) return "";
  if (unit === "bytes") return formatBytes(amount);
  const text = amount >= 100 ? integer.format(amount) : oneDecimal.format(amount);
  return unit ? `${text} ${unit}` : text;
}

/** Return a rate in the job's unit: "12.3 MB/s", "1,234 rows/s", "4.5 steps/s". */
export function formatRate(rate, unit) {
  if (rate == null || !Number.isFinite(rate)) return "";
  if (unit === "bytes") return `${formatBytes(rate)}/s`;
  return `${formatAmount(rate, unit || "")}/s`;
}

/** Return a duration in seconds as "45 s", "3 min 05 s", "2 h 04 min". */
export function formatDuration(seconds) {
  if (seconds == null || !Number.isFinite(seconds) || seconds < 0) return "";
  const total = Math.round(seconds);
  if (total < 60) return `${total} s`;
  const hours = Math.floor(total / 3600);
  const minutes = Math.floor((total % 3600) / 60);
  const secs = total % 60;
  if (hours === 0) return `${minutes} min ${String(secs).padStart(2, "0")} s`;
  if (hours < 48) return `${hours} h ${String(minutes).padStart(2, "0")} min`;
  return `${Math.floor(hours / 24)} d ${hours % 24} h`;
}

/**
 * Return the percent a person is shown (and a screen reader hears): whole below 100 from 10 up,
 * one decimal below 10, always rounded down so that nothing reads 100 before it is done.
 */
export function roundPercent(percent) {
  if (percent == null || !Number.isFinite(percent)) return null;
  return percent >= 10 ? Math.floor(percent) : Math.floor(percent * 10) / 10;
}

/** Return a percent as "42%" or "4.5%" (see roundPercent); empty when unknown. */
export function formatPercent(percent) {
  const shown = roundPercent(percent);
  return shown == null ? "" : `${oneDecimal.format(shown)}%`;
}

/** Return a number with digit grouping, or the value itself when it is not a number. */
export function formatNumber(value) {
  if (typeof value !== "number") return value == null ? "" : String(value);
  return Number.isInteger(value) ? integer.format(value) : new Intl.NumberFormat(undefined, { maximumSignificantDigits: 6 }).format(value);
}

/** Parse an ISO 8601 time into epoch milliseconds, or null. */
export function parseTime(iso) {
  if (!iso) return null;
  const ms = Date.parse(iso);
  return Number.isNaN(ms) ? null : ms;
}

/** Return an ISO time as a local date and time. */
export function formatTime(iso) {
  const ms = parseTime(iso);
  return ms == null ? "" : dateTime.format(ms);
}

/**
 * Return how long a job has run: until it finished, or until now while it runs; null when
 * unknown. A job that ended without a finish time counts until its last progress update.
 */
export function elapsedSeconds(job, nowMs = Date.now()) {
  const start = parseTime(job.started_at);
  if (start == null) return null;
  let end = nowMs;
  if (isFinished(job.state)) {
    const lastUpdate = job.progress && job.progress.ts;
    end = parseTime(job.finished_at) ?? (Number.isFinite(lastUpdate) ? lastUpdate * 1000 : null);
    if (end == null || end < start) return null;
  }
  return Math.max(0, (end - start) / 1000);
}
