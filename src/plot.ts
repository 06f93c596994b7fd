/**
 * SVG figures, written by hand (no dependencies): small, exact, and readable in any browser.
 */
import type { Validation } from '../numeric/validation.ts';
import { ORDER_KEYS } from './io.ts';

const escape = (text: string) => text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

/**
 * The z-scores of a validation, one row per block (layer, pre/post, cumulant): every entry is a dot
 * at its |z| (log scale), exact blocks in blue, approximate ones in orange, the Bonferroni bound as
 * a red line. A block that agrees has all its dots left of the line.
 */
export function validationSvg(v: Validation, title: string): string {
  const rowHeight = 22;
  const left = 190;
  const width = 760;
  const plotWidth = width - left - 30;
  const top = 58;
  const height = top + v.blocks.length * rowHeight + 50;
  const zs = v.blocks.flatMap((b) => b.entries.map((e) => e.z)).filter(Number.isFinite);
  const lo = 1e-2;
  const hi = Math.max(10, v.critical * 2, ...zs) * 1.2;
  const x = (z: number) => left + (plotWidth * (Math.log10(Math.max(z, lo)) - Math.log10(lo))) / (Math.log10(hi) - Math.log10(lo));
  const parts: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="sans-serif" font-size="12">`,
    `<rect width="${width}" height="${height}" fill="white"/>`,
    `<text x="${width / 2}" y="20" text-anchor="middle" font-size="14">${escape(title)}</text>`,
    `<text x="${width / 2}" y="38" text-anchor="middle" fill="#555">|z| = |theory − Monte Carlo| / SE per entry; red line: Bonferroni bound ${v.critical.toFixed(2)} (α = ${v.alpha}, ${v.entries} entries)</text>`,
  ];
  for (let decade = Math.ceil(Math.log10(lo)); decade <= Math.floor(Math.log10(hi)); decade++) {
    const xx = x(10 ** decade);
    parts.push(`<line x1="${xx}" y1="${top - 6}" x2="${xx}" y2="${height - 40}" stroke="#ddd"/>`);
    parts.push(`<text x="${xx}" y="${height - 24}" text-anchor="middle" fill="#555">${10 ** decade >= 1 ? 10 ** decade : (10 ** decade).toFixed(-decade)}</text>`);
  }
  parts.push(`<text x="${left + plotWidth / 2}" y="${height - 8}" text-anchor="middle">|z| (log scale)</text>`);
  v.blocks.forEach((b, k) => {
    const y = top + k * rowHeight + rowHeight / 2;
    const colour = b.exact ? '#1f5fbf' : '#e08a00';
    const label = `layer ${b.layer} ${b.stage} ${ORDER_KEYS[b.order]}${b.exact ? '' : ' (approx.)'}`;
    parts.push(`<text x="${left - 8}" y="${y + 4}" text-anchor="end" fill="${b.verdict === 'disagrees' ? '#c00' : '#222'}">${escape(label)}</text>`);
    parts.push(`<line x1="${left}" y1="${y}" x2="${left + plotWidth}" y2="${y}" stroke="#f0f0f0"/>`);
    for (const e of b.entries) {
      const z = Number.isFinite(e.z) ? e.z : hi;
      parts.push(`<circle cx="${x(z).toFixed(1)}" cy="${y}" r="3" fill="${colour}" fill-opacity="0.6"><title>[${e.index.map((i) => i + 1).join(',')}] z = ${e.z.toFixed(2)}</title></circle>`);
    }
  });
  const bound = x(v.critical);
  parts.push(`<line x1="${bound}" y1="${top - 6}" x2="${bound}" y2="${height - 40}" stroke="#c00" stroke-width="1.5"/>`);
  parts.push(`<circle cx="14" cy="${height - 12}" r="4" fill="#1f5fbf"/><text x="22" y="${height - 8}">exact</text>`);
  parts.push(`<circle cx="74" cy="${height - 12}" r="4" fill="#e08a00"/><text x="82" y="${height - 8}">approximate</text>`);
  parts.push('</svg>');
  return parts.join('\n');
}
