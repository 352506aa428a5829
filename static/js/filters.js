// The list's filter, search and order, kept in the page's URL so that a view can be bookmarked
// and shared; the list is asked again (from the server) whenever one of them changes.

import { byId, make } from "./dom.js";

const FIELDS = ["state", "processor", "q", "sort"];
const SEARCH_DELAY_MS = 300;

/** Return the query the page's URL asks for. */
export function queryFromUrl(search = window.location.search) {
  const params = new URLSearchParams(search);
  const query = {};
  for (const name of FIELDS) {
    const value = params.get(name);
    if (value) query[name] = value;
  }
  return query;
}

/** Put a query into the page's URL, without a new history entry for each keystroke. */
function writeUrl(query) {
  const params = new URLSearchParams();
  for (const name of FIELDS) if (query[name] && !(name === "sort" && query[name] === "newest")) params.set(name, query[name]);
  const search = params.toString();
  const url = `${window.location.pathname}${search ? `?${search}` : ""}`;
  if (url !== `${window.location.pathname}${window.location.search}`) window.history.replaceState(null, "", url);
}

/** Return the query the form shows. */
function readForm(form) {
  const query = {};
  for (const name of FIELDS) {
    const value = form.elements[name].value.trim();
    if (value) query[name] = value;
  }
  return query;
}

/** Show a query in the form; a value the form does not offer is added as an option. */
function fillForm(form, query) {
  for (const name of FIELDS) {
    const field = form.elements[name];
    const value = query[name] || (name === "sort" ? "newest" : "");
    if (field.tagName === "SELECT" && value && ![...field.options].some((o) => o.value === value)) {
      field.append(make("option", null, value));
      field.lastElementChild.value = value;
    }
    field.value = value;
  }
}

/**
 * Bind the filter form to the list: the URL's query is shown and applied at once (before the
 * first page loads), and each change asks for the list again. `onChange(query)` hears of it.
 */
export function bindFilters(list, onChange = () => {}) {
  const form = byId("job-filters");
  const query = queryFromUrl();
  list.query = query;
  fillForm(form, query);
  let timer = null;
  const apply = () => {
    window.clearTimeout(timer);
    const next = readForm(form);
    writeUrl(next);
    onChange(next);
    list.setQuery(next);
  };
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    apply();
  });
  form.addEventListener("change", (event) => {
    if (event.target.name !== "q") apply();
  });
  form.elements.q.addEventListener("input", () => {
    window.clearTimeout(timer);
    timer = window.setTimeout(apply, SEARCH_DELAY_MS);
  });
  return {
    /** Offer the processors in the form once they are known ({name: {title}}). */
    setProcessors(processors) {
      const select = form.elements.processor;
      const chosen = select.value;
      const options = [...processors].map(([name, info]) => {
        const option = make("option", null, info.title);
        option.value = name;
        return option;
      });
      select.replaceChildren(select.options[0], ...options);
      fillForm(form, { ...readForm(form), processor: chosen });
    },
  };
}
