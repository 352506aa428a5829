// A job's result, rendered for a person: digests to copy, a CSV profile as a table, and any
// other shape as labelled values, with the raw JSON a click away.

import { previewUrl } from "./api.js";
import { formatBytes, formatDuration, formatNumber } from "./format.js";
import { labelOf } from "./options.js";
import { make } from "./dom.js";

const COPIED_MS = 1500;

/** Return a value as text: numbers grouped, sizes and durations by their key's meaning. */
function valueText(key, value) {
  if (typeof value === "number") {
    if (/(^|_)(size|bytes)$/.test(key)) return `${formatBytes(value)} (${formatNumber(value)} bytes)`;
    if (/(^|_)seconds$/.test(key)) return value < 60 ? `${formatNumber(value)} s` : formatDuration(value);
  }
  if (typeof value === "boolean") return value ? "yes" : "no";
  return value == null ? "—" : formatNumber(value);
}

/** Copy text to the clipboard; fall back to a selection where the Clipboard API is missing. */
async function copyText(text, source) {
  try {
    await navigator.clipboard.writeText(text);
    return true;
  } catch {
    const range = document.createRange();
    range.selectNodeContents(source);
    const selection = window.getSelection();
    selection.removeAllRanges();
    selection.addRange(range);
    return document.execCommand("copy");
  }
}

/** Return a copy button for the text of an element. */
function copyButton(source, label) {
  const button = make("button", "button button-small", "Copy");
  button.type = "button";
  button.setAttribute("aria-label", `Copy ${label}`);
  button.addEventListener("click", async () => {
    const copied = await copyText(source.textContent, source);
    button.textContent = copied ? "Copied" : "Select and copy";
    window.setTimeout(() => {
      button.textContent = "Copy";
    }, COPIED_MS);
  });
  return button;
}

/** Return the digests of a checksum, one per algorithm, each with a copy button. */
function renderDigests(digests) {
  const list = make("dl", "digests");
  for (const [algorithm, digest] of Object.entries(digests)) {
    const name = make("dt", "digest-name", algorithm.toUpperCase().replace("_", "-"));
    const value = make("dd", "digest");
    const code = make("code", "digest-value", String(digest));
    value.append(code, copyButton(code, `the ${algorithm} digest`));
    list.append(name, value);
  }
  return list;
}

/** Return the nodes showing a nested value: a split job's parts ("4 parts"), a count as a
 * number (and what it counts), else JSON. */
function nestedValue(value) {
  if (typeof value.total === "number" && typeof value.done === "number" && "running" in value) {
    const text = `${formatNumber(value.total)} ${value.total === 1 ? "part" : "parts"}`;
    return [document.createTextNode(value.done < value.total ? `${text}, ${formatNumber(value.done)} done` : text)];
  }
  if (typeof value.count === "number") {
    const nodes = [document.createTextNode(formatNumber(value.count))];
    const rest = Object.fromEntries(
      Object.entries(value).filter(([k, v]) => k !== "count" && !(Array.isArray(v) && v.length === 0)),
    );
    if (Object.keys(rest).length > 0) nodes.push(make("pre", "json", JSON.stringify(rest, null, 2)));
    return nodes;
  }
  return [make("pre", "json", JSON.stringify(value, null, 2))];
}

/** Return a definition list of a result's plain values; nested ones come as formatted JSON. */
function renderValues(result, skip) {
  const list = make("dl", "details");
  for (const [key, value] of Object.entries(result)) {
    if (skip.has(key)) continue;
    list.append(make("dt", null, labelOf(key)));
    const dd = make("dd");
    if (value !== null && typeof value === "object") dd.append(...nestedValue(value));
    else dd.textContent = valueText(key, value);
    list.append(dd);
  }
  return list;
}

/** Return the top values of a column as "value ×count" chips. */
function topValues(top) {
  if (!Array.isArray(top) || top.length === 0) return document.createTextNode("—");
  const list = make("ul", "top-values");
  for (const pair of Array.isArray(top) ? top.slice(0, 5) : []) {
    const [value, count] = Array.isArray(pair)
      ? pair
      : pair && typeof pair === "object" ? [pair.value, pair.count] : [pair, null];
    const item = make("li", "chip");
    item.append(make("span", "chip-value", value === "" ? "(empty)" : String(value)));
    if (count != null) item.append(make("span", "chip-count", `×${formatNumber(count)}`));
    list.append(item);
  }
  return list;
}

/** Return one column's statistic as table-cell text: a number grouped, text as it is. */
function statText(value) {
  if (value == null) return "—";
  return typeof value === "number" ? formatNumber(value) : String(value);
}

/** Return a CSV profile's columns as a table (scrolling sideways on narrow screens). */
function renderColumns(columns) {
  const headers = ["Column", "Type", "Nulls", "Distinct", "Min", "Max", "Mean", "Std dev", "Top values"];
  const table = make("table", "profile");
  const caption = make("caption", "visually-hidden", "Columns of the CSV file");
  const head = make("thead");
  const headRow = make("tr");
  for (const text of headers) {
    const th = make("th", null, text);
    th.scope = "col";
    headRow.append(th);
  }
  head.append(headRow);
  const body = make("tbody");
  for (const column of columns) {
    const row = make("tr");
    const name = make("th", "col-name", column.name == null ? "" : String(column.name));
    name.scope = "row";
    const estimated = column.distinct_estimated === true || column.distinct_exact === false;
    const distinct = `${estimated ? "≈ " : ""}${statText(column.distinct)}`;
    row.append(name, make("td", null, null));
    row.lastChild.append(make("span", "type-tag", String(column.type ?? "—")));
    for (const value of [column.nulls, distinct]) row.append(make("td", "num", statText(value)));
    // The bounds are values of the column, shown as its top values are (a year stays 2012).
    for (const value of [column.min, column.max]) row.append(make("td", "num", value == null ? "—" : String(value)));
    for (const value of [column.mean, column.stddev]) row.append(make("td", "num", statText(value)));
    const top = make("td");
    top.append(topValues(column.top));
    row.append(top);
    body.append(row);
  }
  table.append(caption, head, body);
  const scroller = make("div", "table-scroll");
  scroller.tabIndex = 0;
  scroller.setAttribute("role", "region");
  scroller.setAttribute("aria-label", "Columns of the CSV file");
  scroller.append(table);
  return scroller;
}

/** Return the previews of a result's images, each captioned with its thumbnail's name. */
function renderPreviews(previews, jobId) {
  const list = make("ul", "previews");
  previews.forEach((preview, i) => {
    const name = preview && typeof preview.name === "string" ? preview.name : `Image ${i + 1}`;
    const item = make("li", "preview");
    const figure = make("figure");
    const image = make("img");
    image.src = previewUrl(jobId, i + 1);
    image.alt = name;
    image.loading = "lazy";
    figure.append(image, make("figcaption", null, name));
    item.append(figure);
    list.append(item);
  });
  return list;
}

/** Return the raw JSON of a result, folded away. */
function rawJson(result) {
  const details = make("details", "raw");
  details.append(make("summary", null, "Raw JSON"), make("pre", "json", JSON.stringify(result, null, 2)));
  return details;
}

/** Fill a container with a job's result, whatever its processor. */
export function renderResult(container, result, jobId = null) {
  const parts = [];
  const skip = new Set();
  if (Array.isArray(result.previews)) {
    skip.add("previews");
    if (jobId && result.previews.length > 0) {
      parts.push(make("h3", "section-title", "Previews"), renderPreviews(result.previews, jobId));
    }
  }
  if (result.digests && typeof result.digests === "object") {
    parts.push(make("h3", "section-title", "Digests"), renderDigests(result.digests));
    skip.add("digests");
  }
  if (Array.isArray(result.columns)) {
    skip.add("columns");
    parts.push(make("h3", "section-title", "Summary"), renderValues(result, skip));
    parts.push(make("h3", "section-title", `Columns (${result.columns.length})`), renderColumns(result.columns));
  } else {
    parts.push(renderValues(result, skip));
  }
  parts.push(rawJson(result));
  container.replaceChildren(...parts);
}
