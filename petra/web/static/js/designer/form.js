// The property panel, generated from the JSON Schema the palette carries (a
// block's params schema, or a section item's schema): one field per property,
// its default as the placeholder, its unit and description beside it, an enum as
// a choice, a number with its limits. Each field shows the check's error for it.
// An empty field removes the key (the default applies).
//
// data-test: props (data-node), prop-<key> (the input), prop-error-<key>, prop-input-<port>
// (a constant for an unconnected block input), props-none.
import { h } from '../dom.js';

const UNIT_SUFFIX = [[/_seconds$|_s$/, 's'], [/_ms$/, 'ms'], [/_minutes$/, 'min'], [/_hours$/, 'h'], [/_hz$/, 'Hz'],
  [/_percent$|_pct$/, '%'], [/_bytes$/, 'bytes'], [/_days$/, 'days']];

/** The unit of a property: the schema's own (x-unit / unit) or what its name says (delay_seconds -> s). */
export function unitOf(key, schema) {
  if (schema && (schema['x-unit'] || schema.unit)) return schema['x-unit'] || schema.unit;
  for (const [pattern, unit] of UNIT_SUFFIX) if (pattern.test(key)) return unit;
  return '';
}

function types(schema) {
  if (!schema) return [];
  if (Array.isArray(schema.type)) return schema.type;
  if (schema.type) return [schema.type];
  if (schema.anyOf || schema.oneOf) return (schema.anyOf || schema.oneOf).flatMap(types);
  return [];
}

/** The field kind for a property schema: enum, bool, number, integer, text, json. */
export function fieldKind(schema) {
  if (!schema) return 'text';
  if (Array.isArray(schema.enum)) return 'enum';
  const t = types(schema).filter((x) => x !== 'null');
  if (t.length === 1 && t[0] === 'boolean') return 'bool';
  if (t.length === 1 && t[0] === 'integer') return 'integer';
  if (t.length === 1 && t[0] === 'number') return 'number';
  if (t.includes('object') || t.includes('array')) return 'json';
  if (t.some((x) => x === 'number' || x === 'integer' || x === 'boolean')) return 'scalar';
  return 'text';
}

/** A field's text back to a value of its kind; undefined for an empty field; throws on bad JSON. */
export function parseField(kind, text) {
  if (text === '' || text === undefined) return undefined;
  if (kind === 'bool') return text === 'true';
  if (kind === 'integer' || kind === 'number') {
    const n = Number(text);
    return Number.isFinite(n) ? n : text; // the check says what is wrong with a non-number
  }
  if (kind === 'json') return JSON.parse(text);
  if (kind === 'scalar') {
    if (text === 'true' || text === 'false') return text === 'true';
    const n = Number(text);
    return text.trim() !== '' && Number.isFinite(n) ? n : text;
  }
  return text;
}

function shown(kind, value) {
  if (value === undefined || value === null) return '';
  if (kind === 'json') return JSON.stringify(value);
  return String(value);
}

/** Show `errors` (key -> messages) on a form already drawn (while the engineer's cursor is in it). */
export function showFieldErrors(form, errors) {
  for (const el of form.querySelectorAll('.field-error')) {
    const messages = errors.get(el.dataset.key) || [];
    el.textContent = messages.join('; ');
    el.hidden = !messages.length;
    el.closest('.prop')?.classList.toggle('invalid', messages.length > 0);
  }
}

/**
 * One form for the properties of `schema` on `values`; `onSet(key, value)` on each change.
 * `errors` maps a key to its messages. `skip` is a set of keys not to show.
 */
export function schemaFields(schema, values, onSet, errors = new Map(), { prefix = 'prop', skip = new Set() } = {}) {
  const required = new Set(schema?.required || []);
  const props = schema?.properties || {};
  return Object.entries(props).filter(([key]) => !skip.has(key)).map(([key, sub]) => {
    const kind = fieldKind(sub);
    const value = values?.[key];
    const common = { 'data-test': `${prefix}-${key}`, name: key, 'aria-invalid': errors.has(key) ? 'true' : undefined };
    let input;
    if (kind === 'enum' || kind === 'bool') {
      const options = kind === 'bool' ? [true, false] : sub.enum;
      const unset = sub.default !== undefined ? `(default: ${sub.default})` : required.has(key) ? '(choose)' : '(none)';
      input = h('select', common, h('option', { value: '' }, unset),
        options.map((o) => h('option', { value: String(o), selected: value !== undefined && String(value) === String(o) }, String(o))));
    } else if (kind === 'json') {
      input = h('textarea', { ...common, rows: 2, spellcheck: false, placeholder: sub.default !== undefined ? JSON.stringify(sub.default) : '' },
        shown(kind, value));
    } else {
      const numeric = kind === 'number' || kind === 'integer';
      const min = sub.minimum ?? sub.exclusiveMinimum;
      input = h('input', { ...common, type: numeric ? 'number' : 'text', step: kind === 'integer' ? 1 : numeric ? 'any' : undefined,
        min, max: sub.maximum ?? sub.exclusiveMaximum, value: shown(kind, value), autocomplete: 'off', spellcheck: false,
        placeholder: sub.default !== undefined ? String(sub.default) : '' });
    }
    const error = h('small', { class: 'error field-error', 'data-test': `${prefix}-error-${key}`, 'data-key': key, hidden: !errors.has(key) },
      (errors.get(key) || []).join('; '));
    input.addEventListener('change', () => {
      let parsed;
      try {
        parsed = parseField(kind, input.value);
      } catch (failure) {
        error.textContent = `not JSON: ${failure.message}`;
        error.hidden = false;
        return;
      }
      onSet(key, parsed);
    });
    const unit = unitOf(key, sub);
    const help = [sub.description, sub.default !== undefined ? `default ${JSON.stringify(sub.default)}` : ''].filter(Boolean).join(' · ');
    return h('label', { class: `prop${errors.has(key) ? ' invalid' : ''}` },
      h('span', { class: 'prop-name' }, key, required.has(key) ? h('b', { title: 'required' }, ' *') : null,
        unit ? h('span', { class: 'unit', 'data-test': `${prefix}-unit-${key}` }, ` [${unit}]`) : null),
      input,
      help ? h('small', { class: 'muted' }, help) : null,
      error);
  });
}
