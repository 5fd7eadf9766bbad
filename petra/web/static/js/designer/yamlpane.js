// The YAML pane: a textarea for the text, except that a large text (a 2,000-node plant is ~100 kB, which a
// textarea takes a second or more to lay out) is shown as a virtualised view of the lines in sight, and
// becomes the textarea when the engineer clicks into it to edit (and again the view when they leave it).
//
// data-test: designer-yaml (the textarea), designer-yaml-view (the view of a large text).
import { h } from '../dom.js';

const LINE = 17; // px: designer.css .designer-yaml line-height
export const LARGE = 30000; // characters

export class YamlPane {
  /** onInput(text) on every edit in the textarea. */
  constructor(onInput) {
    this.text = '';
    this.editing = false;
    this.lines = [];
    this.area = h('textarea', { class: 'designer-yaml', 'data-test': 'designer-yaml', spellcheck: false, wrap: 'off',
      'aria-label': 'YAML' });
    this.body = h('pre', { class: 'yaml-lines' });
    this.spacer = h('div', { class: 'yaml-spacer' }, this.body);
    this.view = h('div', { class: 'designer-yaml designer-yaml-view', 'data-test': 'designer-yaml-view', tabindex: 0,
      hidden: true, title: 'Click to edit', role: 'textbox', 'aria-readonly': 'true' }, this.spacer);
    this.el = h('div', { class: 'designer-yaml-pane' }, this.area, this.view);
    this.area.addEventListener('input', () => { this.text = this.area.value; this.editing = true; onInput(this.text); });
    this.area.addEventListener('focus', () => { this.editing = true; });
    this.area.addEventListener('blur', () => {
      this.editing = false;
      if (this.text.length > LARGE) this.showView();
    });
    this.view.addEventListener('scroll', () => this.paint());
    this.view.addEventListener('click', (e) => {
      const r = this.view.getBoundingClientRect();
      this.edit(Math.floor((e.clientY - r.top + this.view.scrollTop) / LINE) + 1);
    });
    this.view.addEventListener('keydown', (e) => { if (e.key === 'Enter') { e.preventDefault(); this.edit(1); } });
  }

  get value() { return this.text; }

  /** Show `text` (not while the engineer is typing in it: their text is the newer). */
  set value(text) {
    this.text = text;
    if (this.editing) return;
    if (text.length > LARGE) {
      this.showView();
    } else {
      this.area.value = text;
      this.area.hidden = false;
      this.view.hidden = true;
    }
  }

  showView() {
    this.lines = this.text.split('\n');
    this.area.hidden = true;
    this.area.value = '';
    this.view.hidden = false;
    this.spacer.style.height = `${this.lines.length * LINE + 8}px`;
    this.paint();
  }

  paint() {
    if (this.view.hidden) return;
    const first = Math.max(0, Math.floor(this.view.scrollTop / LINE) - 10);
    const count = Math.ceil((this.view.clientHeight || 400) / LINE) + 20;
    this.body.style.transform = `translateY(${first * LINE}px)`;
    this.body.textContent = this.lines.slice(first, first + count).join('\n');
    this.body.dataset.first = String(first + 1);
  }

  /** Into the textarea (a large text pays its layout now, once), the cursor on `line`. */
  edit(line = 1) {
    if (this.area.hidden) {
      this.area.value = this.text;
      this.area.hidden = false;
      this.view.hidden = true;
    }
    this.area.focus();
    this.select(line);
  }

  /** Select `line` (1-based) and scroll to it. */
  select(line) {
    if (!this.area.hidden) {
      const lines = this.area.value.split('\n');
      const start = lines.slice(0, line - 1).reduce((n, l) => n + l.length + 1, 0);
      this.area.setSelectionRange(start, start + (lines[line - 1] || '').length);
      this.area.scrollTop = Math.max(0, (line - 5) * LINE);
    } else {
      this.view.scrollTop = Math.max(0, (line - 5) * LINE);
      this.paint();
    }
  }
}
