// Small DOM helpers every page script shares.

/** Return an element by id. */
export function byId(id) {
  return document.getElementById(id);
}

/** Return a new element with a class name and, optionally, its text (never parsed as HTML). */
export function make(tag, className, text) {
  const element = document.createElement(tag);
  if (className) element.className = className;
  if (text != null) element.textContent = text;
  return element;
}
