/**
 * Figures from a grammar of graphics: a vega-lite specification is compiled to vega, rendered to
 * SVG in Node (vega's headless renderer), and rasterised to PNG by resvg. No browser is involved.
 */
import { Resvg } from '@resvg/resvg-js';
import * as vega from 'vega';
import { compile, type TopLevelSpec } from 'vega-lite';

/** A font that renders the same on every machine that has it; resvg falls back to any sans-serif. */
const FONT = 'DejaVu Sans, Arial, Helvetica, sans-serif';

/** SVG and PNG of a vega-lite specification (the PNG at twice the SVG's size, for print). */
export async function renderVegaLite(spec: object): Promise<{ svg: string; png: Uint8Array }> {
  const withFont = { config: { font: FONT }, ...spec } as TopLevelSpec;
  let vegaSpec: vega.Spec;
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
