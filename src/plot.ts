/**
 * Figures of the CLI, as vega-lite specifications rendered by src/analysis/plot.ts (SVG and PNG).
 */
import type { Validation } from '../numeric/validation.ts';
import { renderVegaLite } from './analysis/plot.ts';
import { ORDER_KEYS } from './io.ts';

/**
 * The z-scores of a validation, one row per block (layer, pre/post, cumulant): every entry is a dot
 * at its |z| (log scale), exact blocks in blue, approximate ones in orange, the Bonferroni bound as
 * a red line. A block that agrees has all its dots left of the line.
 */
export function validationSpec(v: Validation, title: string): object {
  const lo = 1e-2;
  const finite = v.blocks.flatMap((b) => b.entries.map((e) => e.z)).filter(Number.isFinite);
  const hi = Math.max(10, v.critical * 2, ...finite) * 1.2;
  const label = (b: Validation['blocks'][number]) => `layer ${b.layer} ${b.stage} ${ORDER_KEYS[b.order]}${b.exact ? '' : ' (approx.)'}`;
  const rows = v.blocks.map(label);
  const points = v.blocks.flatMap((b) =>
    b.entries.map((e) => ({
      block: label(b),
      // Dots below the axis' range sit at its left end; an infinite z (zero SE) at its right end.
      z: Math.min(Math.max(Number.isFinite(e.z) ? e.z : hi, lo), hi),
      exact: b.exact ? 'exact' : 'approximate',
      entry: `[${e.index.map((i) => i + 1).join(',')}] z = ${e.z.toFixed(2)}`,
    })),
  );
  const x = { field: 'z', type: 'quantitative', scale: { type: 'log', domain: [lo, hi] }, title: '|z| (log scale)' };
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title: {
      text: title,
      subtitle: `|z| = |theory − Monte Carlo| / SE per entry; red line: Bonferroni bound ${v.critical.toFixed(2)} (α = ${v.alpha}, ${v.entries} entries)`,
    },
    width: 520,
    height: { step: 22 },
    background: 'white',
    layer: [
      {
        data: { values: points },
        mark: { type: 'point', filled: true, size: 30, opacity: 0.6 },
        encoding: {
          x,
          y: { field: 'block', type: 'nominal', sort: rows, title: null },
          color: { field: 'exact', type: 'nominal', scale: { domain: ['exact', 'approximate'], range: ['#1f5fbf', '#e08a00'] }, title: null, legend: { orient: 'bottom' } },
          tooltip: [{ field: 'block' }, { field: 'entry' }],
        },
      },
      { data: { values: [{ z: v.critical }] }, mark: { type: 'rule', color: '#c00', strokeWidth: 1.5 }, encoding: { x } },
    ],
  };
}

/** The validation plot as SVG and PNG. */
export function validationPlot(v: Validation, title: string): Promise<{ svg: string; png: Uint8Array }> {
  return renderVegaLite(validationSpec(v, title));
}
