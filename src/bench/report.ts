/**
 * What a benchmark run reports: every figure (for --json), the headline figures (printed at the end
 * and written into the README's table of figures with --readme), and the text log.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';

export const argv = process.argv.slice(2);
export const json = argv.includes('--json');
export const quick = argv.includes('--quick');

export const figures: Record<string, number | string> = {};
export const log = (text: string) => void (json || console.log(text));

/** A headline figure: one row of the README's table. */
interface Headline {
  readonly section: string;
  readonly what: string;
  readonly value: string;
}
const headlines: Headline[] = [];

/** Record a headline figure of a section (also kept under `key` in the JSON figures). */
export function headline(section: string, key: string, what: string, value: number, shown: string): void {
  figures[key] = value;
  headlines.push({ section, what, value: shown });
}

/** The load average, so figures measured on a busy machine say so. */
export function loadNote(): string {
  const [one, five] = loadavg();
  return `load average ${one.toFixed(1)} (5 min ${five.toFixed(1)}) on ${cpus().length} cores`;
}

const START = '<!-- bench:figures:start -->';
const END = '<!-- bench:figures:end -->';

/**
 * Replace the rows of the sections run in the README's table of figures (between the bench markers),
 * keeping the rows of sections not run; `order` is the order of the sections in the table.
 */
export function updateReadme(path: string, order: readonly string[], ran: readonly string[]): void {
  const text = readFileSync(path, 'utf8');
  const a = text.indexOf(START);
  const b = text.indexOf(END);
  if (a < 0 || b < a) throw new Error(`${path} has no table of figures between ${START} and ${END}`);
  const kept = text
    .slice(a + START.length, b)
    .split('\n')
    .filter((line) => line.startsWith('| ') && !line.startsWith('| section') && !line.startsWith('|--'))
    .map((line) => ({ section: line.split('|')[1].trim(), line }))
    .filter((row) => !ran.includes(row.section));
  const fresh = headlines.map((h) => ({ section: h.section, line: `| ${h.section} | ${h.what} | ${h.value} |` }));
  const rows = [...kept, ...fresh].sort((x, y) => order.indexOf(x.section) - order.indexOf(y.section));
  const stamp = `Measured by \`npm run bench -- --readme\` on ${new Date().toISOString().slice(0, 10)}, ${cpus().length} cores (${cpus()[0]?.model ?? 'unknown CPU'}), ${loadNote()} at the end of the run.`;
  const table = ['', stamp, '', '| section | figure | value |', '|---|---|---|', ...rows.map((r) => r.line), ''].join('\n');
  writeFileSync(path, text.slice(0, a + START.length) + table + text.slice(b));
}

/** The headline figures as lines of text, for the end of a run. */
export function headlineText(): string {
  const w = Math.max(...headlines.map((h) => h.section.length + h.what.length + 3), 0);
  return headlines.map((h) => `  ${`${h.section}: ${h.what}`.padEnd(w)}  ${h.value}`).join('\n');
}
