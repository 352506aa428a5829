// The account page's API tokens: list, create (the token shown once, with a copy button), revoke.

import { request } from "./api.js";
import { formatTime } from "./format.js";

const form = document.getElementById("token-form");
const nameInput = document.getElementById("token-name");
const errorLine = document.getElementById("token-error");
const created = document.getElementById("token-created");
const table = document.getElementById("token-list");
const rows = document.getElementById("token-rows");
const empty = document.getElementById("token-empty");

/** Show an error under the form, or hide it with no message. */
function showError(message) {
  errorLine.textContent = message || "";
  errorLine.hidden = !message;
}

/** Return a table cell holding text. */
function cell(text) {
  const td = document.createElement("td");
  td.textContent = text;
  return td;
}

/** Return the row of one token, with its revoke button. */
function tokenRow(token) {
  const tr = document.createElement("tr");
  tr.dataset.tokenId = token.id;
  tr.append(
    cell(token.name),
    cell(formatTime(token.created_at)),
    cell(token.last_used_at ? formatTime(token.last_used_at) : "never"),
  );
  const button = document.createElement("button");
  button.type = "button";
  button.className = "button button-small";
  button.textContent = "Revoke";
  button.setAttribute("aria-label", `Revoke ${token.name}`);
  button.addEventListener("click", () => revoke(token));
  const actions = document.createElement("td");
  actions.append(button);
  tr.append(actions);
  return tr;
}

/** Load the tokens and show them. */
async function refresh() {
  try {
    const { tokens } = await request("GET", "/tokens");
    rows.replaceChildren(...tokens.map(tokenRow));
    table.hidden = tokens.length === 0;
    empty.hidden = tokens.length !== 0;
  } catch (error) {
    showError(error.message);
  }
}

/** Create a token with the form's name and show it, this once. */
async function create(event) {
  event.preventDefault();
  showError("");
  try {
    const token = await request("POST", "/tokens", { name: nameInput.value.trim() });
    document.getElementById("token-created-name").textContent = token.name;
    document.getElementById("token-value").textContent = token.token;
    document.getElementById("token-copied").textContent = "";
    created.hidden = false;
    form.reset();
    await refresh();
  } catch (error) {
    showError(error.message);
  }
}

/** Copy the token just made to the clipboard, and say so. */
async function copy() {
  const status = document.getElementById("token-copied");
  try {
    await navigator.clipboard.writeText(document.getElementById("token-value").textContent);
    status.textContent = "Copied.";
  } catch {
    status.textContent = "Select it and copy it by hand.";
  }
}

/** Revoke a token after asking, then show the list without it. */
async function revoke(token) {
  if (!window.confirm(`Revoke "${token.name}"? Programs using it stop working at once.`)) return;
  showError("");
  try {
    await request("DELETE", `/tokens/${encodeURIComponent(token.id)}`);
  } catch (error) {
    if (error.status !== 404) showError(error.message);
  }
  await refresh();
}

form.addEventListener("submit", create);
document.getElementById("token-copy").addEventListener("click", copy);
refresh();
