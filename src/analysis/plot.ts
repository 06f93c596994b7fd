/**
 * Figures from a grammar of graphics: a vega-lite specification is compiled to vega, rendered to
 * SVG in Node (vega's headless renderer), and rasterised to PNG by resvg. No browser is involved.
 */
import type * as Vega from 'vega';
import type { TopLevelSpec } from 'vega-lite';

/** A font that renders the same on every machine that has it; resvg falls back to any sans-serif. */
const FONT = 'DejaVu Sans, Arial, Helvetica, sans-serif';

/** SVG and PNG of a vega-lite specification (the PNG at twice the SVG's size, for print). */
export async function renderVegaLite(spec: object): Promise<{ svg: string; png: Uint8Array }> {
  // Loaded on first use: vega, vega-lite and resvg take seconds to load, which no other command should pay.
  const [vega, { compile }, { Resvg }] = await Promise.all([import('vega'), import('vega-lite'), import('@resvg/resvg-js')]);
  const given = spec as { config?: object };
  const withFont = { ...spec, config: { font: FONT, ...given.config } } as TopLevelSpec;
  let vegaSpec: Vega.Spec;
  try {
    vegaSpec = compile(withFont).spec;
  } catch (err) {
    throw new Error(`vega-lite could not compile the specification: ${(err as Error).message}`);
  }
  const view = new vega.View(vega.parse(vegaSpec), { renderer: 'none' });
  try {
    const svg = await view.toSVG();
    const png = new Resvg(svg, {
      background: 'white',
      fitTo: { mode: 'zoom', value: 2 },
      font: { loadSystemFonts: true, defaultFontFamily: 'DejaVu Sans', sansSerifFamily: 'DejaVu Sans' },
    })
      .render()
      .asPng();
    return { svg, png: new Uint8Array(png) };
  } finally {
    view.finalize();
  }
}
