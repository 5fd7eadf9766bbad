// Keeps the graph, the YAML text and the check in step through the server (the
// only place that turns one into the other, so the page never disagrees with
// `petra check`):
//   graph edited  -> POST /v1/designer/yaml  (the graph applied to the last text: comments kept)
//                 -> POST /v1/designer/graph (the server's own graph of that text: its ports, ids, edges)
//   text edited   -> POST /v1/designer/graph
//   the /graph answer carries the check's verdict of that text (`petra check`'s: the same as POST /check)
// Each step is debounced; an answer to an older state than the current one is
// dropped (the newer request is on its way).

const GRAPH_DEBOUNCE_MS = 200;
const TEXT_DEBOUNCE_MS = 350;

export class Sync {
  /** on: {yaml(text), checked(result), failed(error, stage), busy(flag)} */
  constructor(api, store, on) {
    this.api = api;
    this.store = store;
    this.on = on;
    this.generation = 0;
    this.timer = 0;
    this.running = null;
    this.pendingText = null;
    this.lastCheck = null;
  }

  /** The graph changed (an edit in the canvas or the property panel). */
  graphChanged() {
    this.generation += 1;
    this.lastCheck = null;
    this.pendingText = null;
    this.arm(GRAPH_DEBOUNCE_MS, () => this.fromGraph());
  }

  /** The YAML text changed in the pane. */
  textChanged(text) {
    this.generation += 1;
    this.lastCheck = null;
    this.pendingText = text;
    this.arm(TEXT_DEBOUNCE_MS, () => this.fromText(text));
  }

  /** Check the current text now (after a load). */
  checkNow() {
    this.generation += 1;
    this.arm(0, () => this.check(this.generation));
  }

  arm(ms, job) {
    clearTimeout(this.timer);
    this.on.busy?.(true);
    this.job = job;
    this.timer = setTimeout(() => { this.job = null; this.running = this.run(job); }, ms);
  }

  async run(job) {
    try {
      await job();
    } finally {
      if (!this.job) this.on.busy?.(false);
    }
  }

  /** Wait until the text and graph are in step (before a connect, a plan or a deploy asks about the text). */
  async flush() {
    if (this.job) {
      clearTimeout(this.timer);
      const job = this.job;
      this.job = null;
      this.running = this.run(job);
    }
    while (this.running) {
      const current = this.running;
      await current;
      if (current === this.running) break;
    }
  }

  async fromGraph() {
    const generation = this.generation;
    const store = this.store;
    try {
      const { yaml } = await this.api.post('/v1/designer/yaml', { yaml: store.yaml, graph: store.changes(), file: store.file });
      if (generation !== this.generation) return;
      store.yaml = yaml;
      this.on.yaml(yaml);
      const answer = await this.api.post('/v1/designer/graph', { yaml, layout: { version: 1, nodes: store.layout }, file: store.file });
      if (generation !== this.generation) return;
      store.load({ graph: answer.graph, layout: answer.layout?.nodes || answer.layout }, { why: 'sync' });
      this.verdict(answer);
    } catch (error) {
      if (generation === this.generation) this.on.failed(error, 'graph');
    }
  }

  async fromText(text) {
    const generation = this.generation;
    const store = this.store;
    try {
      const answer = await this.api.post('/v1/designer/graph', { yaml: text, layout: { version: 1, nodes: store.layout }, file: store.file });
      if (generation !== this.generation) return;
      this.pendingText = null;
      if (answer.ok === undefined && (answer.errors || []).length) {
        // not YAML (yet): the graph stays as it was; the text's error is shown with its line
        store.yaml = text;
        this.verdict(answer);
        this.on.unreadable?.(answer.errors[0]);
        return;
      }
      store.load({ graph: answer.graph, layout: answer.layout?.nodes || answer.layout, yaml: text }, { record: true, why: 'text' });
      this.verdict(answer);
    } catch (error) {
      // text that is not YAML (yet): the graph stays as it was, the error is shown
      if (generation === this.generation) this.on.failed(error, 'text');
    }
  }

  /**
   * The check's verdict that came with a POST /v1/designer/graph answer (the server checks the text it makes
   * the graph of, as POST /check would: one request, one check, for every edit).
   */
  verdict(answer) {
    const errors = answer.errors || [];
    const result = { ok: answer.ok ?? errors.length === 0, errors, warnings: answer.warnings || [] };
    this.lastCheck = result;
    this.on.checked(result);
  }

  /** A load's answer (POST /graph) is the check of what was loaded. */
  loaded(answer) {
    clearTimeout(this.timer);
    this.job = null;
    this.generation += 1;
    this.verdict(answer);
    this.on.busy?.(false);
  }

  async check(generation) {
    try {
      const result = await this.api.post('/v1/designer/check', { yaml: this.store.yaml, file: this.store.file });
      if (generation !== this.generation) return;
      this.lastCheck = result;
      this.on.checked(result);
    } catch (error) {
      if (generation === this.generation) this.on.failed(error, 'check');
    }
  }

  /** True when nothing is waiting and the last check of this very text passed. */
  deployable() {
    return !this.job && this.pendingText === null && !!this.lastCheck?.ok;
  }
}
