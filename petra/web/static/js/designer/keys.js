// The designer's keyboard shortcuts: one table, used by the key handler and
// shown in the help panel (so the two cannot disagree).
// data-test: designer-help (the panel), shortcut (a row, data-action).

export const SHORTCUTS = [
  { action: 'undo', keys: ['Ctrl+Z'], what: 'Undo' },
  { action: 'redo', keys: ['Ctrl+Shift+Z', 'Ctrl+Y'], what: 'Redo' },
  { action: 'copy', keys: ['Ctrl+C'], what: 'Copy the selected nodes' },
  { action: 'cut', keys: ['Ctrl+X'], what: 'Cut the selected nodes' },
  { action: 'paste', keys: ['Ctrl+V'], what: 'Paste (new names)' },
  { action: 'duplicate', keys: ['Ctrl+D'], what: 'Duplicate the selected nodes' },
  { action: 'selectAll', keys: ['Ctrl+A'], what: 'Select every node' },
  { action: 'delete', keys: ['Delete', 'Backspace'], what: 'Delete the selected nodes and wires' },
  { action: 'save', keys: ['Ctrl+S'], what: 'Save the draft and its layout in this browser' },
  { action: 'search', keys: ['Ctrl+F', '/'], what: 'Search nodes' },
  { action: 'zoomIn', keys: ['+', '='], what: 'Zoom in' },
  { action: 'zoomOut', keys: ['-'], what: 'Zoom out' },
  { action: 'fit', keys: ['0'], what: 'Fit the plant in the view' },
  { action: 'panLeft', keys: ['ArrowLeft'], what: 'Pan (with Shift: move the selection)' },
  { action: 'panRight', keys: ['ArrowRight'], what: 'Pan right' },
  { action: 'panUp', keys: ['ArrowUp'], what: 'Pan up' },
  { action: 'panDown', keys: ['ArrowDown'], what: 'Pan down' },
  { action: 'escape', keys: ['Escape'], what: 'Clear the selection' },
  { action: 'deploy', keys: ['Ctrl+Enter'], what: 'Deploy (engineer): plan first' },
  { action: 'help', keys: ['?', 'F1'], what: 'This help' },
];

/** The name of a key event as the table writes it (Ctrl stands for Cmd on a Mac too). */
export function keyName(event) {
  const parts = [];
  if (event.ctrlKey || event.metaKey) parts.push('Ctrl');
  let key = event.key;
  if (key.length === 1) key = key.toUpperCase() === key.toLowerCase() ? key : key.toUpperCase();
  if (event.shiftKey && (key.length > 1 || /[A-Z]/.test(key)) && parts.length) parts.push('Shift');
  parts.push(key);
  return parts.join('+');
}

/** The action of a key event, or null. */
export function actionOf(event) {
  if (event.shiftKey && !event.ctrlKey && !event.metaKey && event.key.startsWith('Arrow')) return `nudge${event.key.slice(5)}`;
  const name = keyName(event);
  const plain = event.key;
  for (const s of SHORTCUTS) {
    if (s.keys.includes(name)) return s.action;
    if (!event.ctrlKey && !event.metaKey && s.keys.includes(plain) && plain.length === 1) return s.action;
  }
  return null;
}
