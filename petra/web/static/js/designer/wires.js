// What a wire drawn on the canvas means in the config (pure; the graph's
// conventions are petra/designer/graph.py's): every edge is a name in one
// node's props (the `holder`), so drawing a wire is an edit of that field and
// deleting one clears it. Two shortcuts PETRA's config has no edge for:
//   block output -> block input   a new signal between them (named <block>_<port>, typed by the
//                                  writer as PETRA types an undeclared signal), or the one the output
//                                  already writes;
//   alarm -> contact              the alarm's escalation chain (made, or the contact appended).
import { freshName, nodeName } from './store.js';

const CONCRETE = new Set(['bool', 'int', 'float', 'string']);

function portType(node, dir, port) {
  const list = dir === 'in' ? node.ports?.inputs : node.ports?.outputs;
  return (list || []).find((p) => p.name === port)?.type || '';
}

/** A new undeclared (implicit) signal node. */
export function signalNode(name, type) {
  const props = { name };
  if (CONCRETE.has(type)) props.type = type;
  return { id: `signal:${name}`, kind: 'signal', type: CONCRETE.has(type) ? type : '', label: name, path: null, implicit: true,
    ports: { inputs: [{ name: 'in', type }], outputs: [{ name: 'out', type }] }, props };
}

/**
 * The changes a wire from `from` ({node, port}, an output) to `to` (an input) makes:
 * {nodes: [new nodes], props: [{node, path, value, append}], edges: [new edges], ask: {from, to}}
 * (`ask` is the wire to put to POST /v1/designer/connect: for block -> block, the second half through the signal).
 */
export function planWire(graph, index, from, to, taken) {
  const a = index.get(from.node);
  const b = index.get(to.node);
  const out = { nodes: [], props: [], edges: [], ask: { from, to } };
  const edge = (f, t, kind) => ({ id: `${kind}:${f.node}.${f.port}->${t.node}.${t.port}`, from: f, to: t, kind });
  if (!a || !b) return out;
  if (a.kind === 'block' && b.kind !== 'signal') {
    // PETRA wires a block to anything through a signal: the one the output writes, or a new one
    let name = a.props?.outputs?.[from.port];
    let signal = typeof name === 'string' && name ? index.get(`signal:${name}`) : null;
    if (!signal) {
      name = freshName(`${nodeName(a.id)}_${from.port}`, taken);
      signal = signalNode(name, portType(a, 'out', from.port));
      out.nodes.push(signal);
      out.props.push({ node: a.id, path: ['outputs', from.port], value: name });
      out.edges.push(edge(from, { node: signal.id, port: 'in' }, 'wire'));
    }
    const withSignal = new Map(index);
    withSignal.set(signal.id, signal);
    const rest = planWire(graph, withSignal, { node: signal.id, port: 'out' }, to, taken);
    out.props.push(...rest.props);
    out.edges.push(...rest.edges);
    out.nodes.push(...rest.nodes);
    return out;
  }
  if (a.kind === 'alarm' && b.kind === 'contact') {
    const alarm = nodeName(a.id);
    const chainId = `escalation:${alarm}`;
    const chain = index.get(chainId);
    const contact = nodeName(b.id);
    if (!chain) {
      out.nodes.push({ id: chainId, kind: 'escalation', type: 'chain', label: alarm, path: null,
        ports: { inputs: [{ name: 'alarm', type: '' }], outputs: [{ name: 'contacts', type: '' }] },
        props: { alarm, contacts: [contact] } });
    } else {
      out.props.push({ node: chainId, path: ['contacts'], value: contact, append: true });
    }
    out.edges.push(edge({ node: a.id, port: 'escalation' }, { node: chainId, port: 'alarm' }, 'escalation'));
    out.edges.push(edge({ node: chainId, port: 'contacts' }, { node: b.id, port: 'escalation' }, 'escalation'));
    return out;
  }
  const name = (n) => nodeName(n.id);
  if (a.kind === 'block' && b.kind === 'signal') {
    out.props.push({ node: a.id, path: ['outputs', from.port], value: name(b) });
  } else if (a.kind === 'signal' && b.kind === 'block') {
    out.props.push({ node: b.id, path: ['inputs', to.port], value: name(a) });
  } else if (a.kind === 'signal' && b.kind === 'task') {
    out.props.push({ node: b.id, path: ['trigger'], value: name(a), append: true });
  } else if (a.kind === 'signal' && (b.kind === 'alarm' || b.kind === 'action' || b.kind === 'mapping')) {
    out.props.push({ node: b.id, path: b.kind === 'mapping' ? ['signal'] : [to.port], value: name(a) });
  } else if (a.kind === 'mapping' && b.kind === 'signal') {
    out.props.push({ node: a.id, path: ['signal'], value: name(b) });
  } else if (a.kind === 'alarm' && b.kind === 'escalation') {
    out.props.push({ node: b.id, path: ['alarm'], value: name(a) });
  } else if (a.kind === 'escalation' && b.kind === 'contact') {
    out.props.push({ node: a.id, path: ['contacts'], value: name(b), append: true });
  } else if (a.kind === 'task' && b.kind === 'block') {
    out.props.push({ node: b.id, path: ['task'], value: name(a) });
  } else if (a.kind === 'connection' && b.kind === 'signal') {
    out.props.push({ node: a.id, path: [from.port], value: name(b), append: true });
  }
  const kind = a.kind === 'signal' || b.kind === 'signal'
    ? (a.kind === 'alarm' || b.kind === 'alarm' ? 'alarm' : a.kind === 'mapping' || b.kind === 'mapping' ? 'mapping' : 'wire')
    : a.kind === 'escalation' || b.kind === 'escalation' ? 'escalation' : a.kind === 'task' ? 'task' : 'wire';
  out.edges.push(edge(from, to, kind));
  return out;
}

/** The prop edit that removes an edge: its `ref` (the server's) or the holder the wire rules name. */
export function unwire(edge, index) {
  if (edge.ref?.node && Array.isArray(edge.ref.field)) {
    const field = edge.ref.field;
    const last = field[field.length - 1];
    if (typeof last === 'number') return { node: edge.ref.node, path: field.slice(0, -1), removeAt: last };
    return { node: edge.ref.node, path: field, value: undefined };
  }
  const plan = planWire({ nodes: [], edges: [] }, index, edge.from, edge.to, new Set());
  const change = plan.props[plan.props.length - 1];
  if (!change) return null;
  return change.append ? { node: change.node, path: change.path, removeValue: change.value } : { node: change.node, path: change.path, value: undefined };
}
