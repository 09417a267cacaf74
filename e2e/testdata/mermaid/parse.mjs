// Reads a Markdown file's first mermaid block with mermaid itself and prints its gantt tasks
// as JSON: section, name, start and end (ms), or the parse error.
import { JSDOM } from 'jsdom';
import { readFileSync } from 'node:fs';
const dom = new JSDOM('<!doctype html><html><body></body></html>', { pretendToBeVisual: true });
globalThis.window = dom.window; globalThis.document = dom.window.document;
globalThis.DOMParser = dom.window.DOMParser; globalThis.Element = dom.window.Element;
const { default: mermaid } = await import('mermaid');
const md = readFileSync(process.argv[2], 'utf8');
const m = md.match(/```mermaid\n([\s\S]*?)```/);
if (!m) { console.log(JSON.stringify({ error: 'no mermaid block' })); process.exit(0); }
try {
  await mermaid.parse(m[1]);
  const d = await mermaid.mermaidAPI.getDiagramFromText(m[1]);
  const tasks = d.db.getTasks().map(t => ({ section: t.section, name: t.task, start: +t.startTime, end: +t.endTime, milestone: !!t.milestone, crit: !!t.crit }));
  console.log(JSON.stringify({ type: d.type, tasks }));
} catch (e) { console.log(JSON.stringify({ error: String(e.message || e) })); }
