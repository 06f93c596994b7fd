/**
 * The pytorch section's closure (propagateCompiled, one tfjs instance) on the threaded-SIMD wasm
 * build, in a process of its own because the build must be chosen before the wasm backend starts.
 * usage: node --import tsx src/bench/closure-threaded.ts THREADS RUNS WIDTH-WIDTH-…
 * Prints one JSON line: the XNNPACK threads, the median seconds after a warm-up, the output means.
 */
import { threadedWasm } from './wasm-threads.ts';
import { hostClassInputs, median, sequential, wideNetwork } from './problems.ts';
import { propagateCompiled } from '../../numeric/propagate.ts';

const [threads, runs] = process.argv.slice(2, 4).map(Number);
const widths = process.argv[4].split('-').map(Number);
const pool = await threadedWasm(threads);
const network = wideNetwork(widths, 11);
const inputs = await hostClassInputs(10, widths[0]);
let mean: number[] = [];
const once = async () => {
  const t = performance.now();
  const layers = await propagateCompiled(network, inputs, { backend: 'wasm', inputOrder: 2, outputOrder: 2, keep: 'output' });
  mean = layers[layers.length - 1].post.flatMap((c) => [...c.order(1)!]);
  return (performance.now() - t) / 1000;
};
await once();
const seconds = median(await sequential(runs, once));
console.log(JSON.stringify({ threads: pool, seconds, mean }));
process.exit(0);
