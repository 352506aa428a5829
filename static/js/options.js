// A processor's options form, generated from the JSON Schema of each option, and read back.

import { make } from "./dom.js";

let fieldCounter = 0;

/** Return a label for an option name: "interval_ms" -> "Interval (ms)". */
export function labelOf(name) {
  const words = name.split(/[_-]+/);
  const last = words[words.length - 1];
  const units = { ms: "ms", s: "s", px: "px", kb: "kB", mb: "MB" };
  const unit = words.length > 1 && units[last] ? ` (${units[last]})` : "";
  const text = (unit ? words.slice(0, -1) : words).join(" ");
  return text.charAt(0).toUpperCase() + text.slice(1) + unit;
}

/** Return a unique id for a generated input. */
function nextId(name) {
  fieldCounter += 1;
  return `option-${name}-${fieldCounter}`;
}

/** Return the help text under a field, linked by aria-describedby. */
function hintFor(input, spec) {
  if (!spec.description) return null;
  const hint = make("p", "hint");
  hint.id = `${input.id}-hint`;
  hint.textContent = spec.description;
  input.setAttribute("aria-describedby", hint.id);
  return hint;
}

/** Return a number input honouring the schema's type, minimum and maximum. */
function numberField(name, spec) {
  const input = make("input");
  input.type = "number";
  input.inputMode = spec.type === "integer" ? "numeric" : "decimal";
  input.step = spec.type === "integer" ? "1" : "any";
  if (spec.minimum != null) input.min = String(spec.minimum);
  if (spec.maximum != null) input.max = String(spec.maximum);
  if (spec.default != null) input.value = String(spec.default);
  return input;
}

/** Return a select for a string with an enum. */
function selectField(name, spec) {
  const select = make("select");
  for (const value of spec.enum) {
    const option = make("option");
    option.value = String(value);
    option.textContent = value === "\t" ? "Tab" : String(value);
    option.selected = value === spec.default;
    select.append(option);
  }
  return select;
}

/** Return a group of checkboxes for an array of enum values. */
function checkboxGroup(name, spec) {
  const fieldset = make("fieldset", "field field-checks");
  fieldset.dataset.option = name;
  fieldset.dataset.kind = "array";
  const legend = make("legend");
  legend.textContent = labelOf(name);
  fieldset.append(legend);
  const chosen = new Set(spec.default || []);
  const box = make("div", "checks");
  for (const value of spec.items.enum) {
    const label = make("label", "check");
    const input = make("input");
    input.type = "checkbox";
    input.value = String(value);
    input.checked = chosen.has(value);
    label.append(input, document.createTextNode(String(value)));
    box.append(label);
  }
  fieldset.append(box);
  if (spec.description) {
    const hint = make("p", "hint");
    hint.textContent = spec.description;
    fieldset.append(hint);
  }
  return fieldset;
}

/** Tell whether an option is an array of plain numbers or strings (without a fixed choice). */
function isPlainList(spec) {
  return spec.type === "array" && ["integer", "number", "string"].includes(spec.items?.type);
}

/** Return the items of a comma-separated list; numbers where the schema wants them. */
function parseList(text, spec) {
  const words = text.split(/[\s,;]+/).filter((word) => word !== "");
  if (spec.items.type === "string") return words;
  // A word that is not a number is sent as it is, for the server to explain what is wrong.
  return words.map((word) => (Number.isFinite(Number(word)) ? Number(word) : word));
}

/** Return the control for one option, wrapped with its label and help text. */
function optionField(name, spec) {
  if (spec.type === "array" && spec.items && Array.isArray(spec.items.enum)) {
    return checkboxGroup(name, spec);
  }
  let input;
  let kind = spec.type || "string";
  // "parallel" is true, false or a number of parts: the page offers the switch, the API all three.
  if (Array.isArray(kind) && kind.includes("boolean")) kind = "boolean";
  if (kind === "integer" || kind === "number") input = numberField(name, spec);
  else if (Array.isArray(spec.enum)) {
    input = selectField(name, spec);
    kind = "enum";
  } else if (kind === "boolean") {
    input = make("input");
    input.type = "checkbox";
    input.checked = Boolean(spec.default);
  } else if (isPlainList(spec)) {
    // A list of numbers or words is typed as "128, 512", not as JSON.
    input = make("input");
    input.type = "text";
    if (Array.isArray(spec.default)) input.value = spec.default.join(", ");
    kind = "list";
  } else {
    input = make("input");
    input.type = "text";
    if (kind !== "string") kind = "json";
    if (spec.default != null) input.value = kind === "json" ? JSON.stringify(spec.default) : String(spec.default);
    if (spec.maxLength != null) input.maxLength = spec.maxLength;
  }
  input.id = nextId(name);
  input.name = name;
  const wrapper = make("div", kind === "boolean" ? "field field-inline" : "field");
  wrapper.dataset.option = name;
  wrapper.dataset.kind = kind;
  const label = make("label");
  label.htmlFor = input.id;
  label.textContent = labelOf(name);
  if (kind === "boolean") wrapper.append(input, label);
  else wrapper.append(label, input);
  const hint = hintFor(input, spec);
  if (hint) wrapper.append(hint);
  return wrapper;
}

/** Fill a container with the options form of a processor's schema. */
export function renderOptions(container, options) {
  const fields = Object.entries(options || {}).map(([name, spec]) => optionField(name, spec));
  container.replaceChildren(...fields);
  return fields.length;
}

/** Parse JSON typed by a person, or return the text as it is for the server to judge. */
function parseJson(text) {
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

/** Return the value of one generated field, or undefined to leave the server's default. */
function readField(field, specs) {
  const name = field.dataset.option;
  const spec = specs[name] || {};
  if (field.dataset.kind === "array") {
    return [...field.querySelectorAll("input:checked")].map((input) =>
      spec.items.enum.find((value) => String(value) === input.value),
    );
  }
  const input = field.querySelector("input, select");
  switch (field.dataset.kind) {
    case "integer":
    case "number":
      return input.value === "" ? undefined : Number(input.value);
    case "boolean":
      return input.checked;
    case "enum":
      return spec.enum.find((value) => String(value) === input.value);
    case "list":
      return input.value.trim() === "" ? undefined : parseList(input.value, spec);
    case "json":
      return input.value === "" ? undefined : parseJson(input.value);
    default:
      return input.value === "" ? undefined : input.value;
  }
}

/**
 * Read the options form back into an object; return {options} or {error} when a value is off.
 */
export function readOptions(container, specs) {
  const options = {};
  for (const field of container.querySelectorAll("[data-option]")) {
    const input = field.querySelector("input, select");
    if (input && !input.checkValidity()) {
      input.reportValidity();
      return { error: `${labelOf(field.dataset.option)}: ${input.validationMessage}` };
    }
    const value = readField(field, specs);
    const spec = specs[field.dataset.option] || {};
    if (field.dataset.kind === "array" && spec.minItems && value.length < spec.minItems) {
      return { error: `${labelOf(field.dataset.option)}: choose at least ${spec.minItems}.` };
    }
    if (value !== undefined) options[field.dataset.option] = value;
  }
  return { options };
}
