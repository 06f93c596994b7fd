import { describe, expect, it } from 'vitest';
import { renderVegaLite } from '../src/analysis/plot.ts';

const PNG_SIGNATURE = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];

describe('vega-lite rendering', () => {
  it('renders a bar chart to an SVG with one mark per datum and to a PNG of twice its size', async () => {
    const values = [3, 1, 4, 1, 5].map((v, k) => ({ order: `k${k}`, value: v }));
    const spec = {
      data: { values },
      mark: 'bar',
      width: 200,
      height: 100,
      encoding: { x: { field: 'order', type: 'nominal' }, y: { field: 'value', type: 'quantitative' } },
      title: 'a test figure',
    };
    const { svg, png } = await renderVegaLite(spec);
    expect(svg).toMatch(/^<svg xmlns="http:\/\/www.w3.org\/2000\/svg"/);
    const bars = /<g class="mark-rect role-mark marks"[^>]*>(.*?)<\/g>/.exec(svg)![1].match(/<path /g);
    expect(bars).toHaveLength(5);
    expect(svg).toContain('a test figure');
    // The tallest bar (5) is five times the shortest (1): heights come from the data.
    const heights = [...svg.matchAll(/aria-label="order: k\d; value: (\d)"[^>]*d="M[\d.]+,[\d.]+h[\d.]+v([\d.]+)h/g)].map((m) => [Number(m[1]), Number(m[2])]);
    expect(heights).toHaveLength(5);
    const [one, five] = [heights.find((h) => h[0] === 1)![1], heights.find((h) => h[0] === 5)![1]];
    expect(five / one).toBeCloseTo(5, 6);

    expect(Array.from(png.subarray(0, 8))).toEqual(PNG_SIGNATURE);
    const view = new DataView(png.buffer, png.byteOffset, png.byteLength);
    const [svgWidth, svgHeight] = /width="(\d+)" height="(\d+)"/.exec(svg)!.slice(1).map(Number);
    // IHDR: width and height at bytes 16 and 20.
    expect([view.getUint32(16), view.getUint32(20)]).toEqual([2 * svgWidth, 2 * svgHeight]);
    expect(svgWidth).toBeGreaterThan(200);
    expect(png.length).toBeGreaterThan(2000);
  });

  it('rejects a specification vega-lite cannot compile', async () => {
    await expect(renderVegaLite({ data: { values: [] }, mark: 'no-such-mark', encoding: {} })).rejects.toThrow(/vega-lite could not compile the specification/);
  });
});
