import { InputError } from '../../symbolic/errors.ts';
import type { BackendName } from '../../numeric/backend.ts';
import { fileDigest, mergeShards, readShard } from '../shards.ts';
import { parseOptions, type Command } from './command.ts';
import { compareLayers, drawnSamples, readRun, reportValidation, runFile, theoryOf } from './validate.ts';

export const mergeCommand: Command = {
  name: 'merge',
  summary: 'combine the shard files of a sharded validate run and print its validation',
  usage: `Usage: corrmap merge <shard-0.json> <shard-1.json> … [--network file] [--input file] [--entries]
                     [--plot file.svg|png] [--json]

Merges the shard files written by corrmap validate … --shard k/n --save file (k = 0 … n−1; any
order) and prints the validation exactly as corrmap validate prints it for one run: the Monte
Carlo estimates are bit for bit those of the unsharded run on the same backend (the batches'
random streams depend only on the seed and the batch). The theory is propagated again here from
the network and input files the shards name (by path and SHA-256).

Refuses shards of different runs (network, input, samples, batches, seed, backend or orders
differ), a shard given twice, and a missing shard, with one line naming the files.

Options:
  --network <file>     the network file, where it is not at the path the shards recorded (same bytes)
  --input <file>       the input file, likewise
  --entries            print every entry, not only the worst of each block
  --plot <file>        draw every entry's |z| against the bound, one row per block
  --json               machine-readable output (as corrmap validate --json)
  -h, --help           show this help

Exit code: 0 when every exact block agrees, 3 when one disagrees, 2 for bad input.

Example (a SLURM job array, one shard per task; see the README):
  sbatch --array=0-7 --wait --wrap 'corrmap validate net.json --input in.json --shard $SLURM_ARRAY_TASK_ID/8 --save shard-$SLURM_ARRAY_TASK_ID.json'
  corrmap merge shard-*.json`,
  async run(argv, out) {
    const { values, positionals } = parseOptions('merge', argv, {
      network: { type: 'string' },
      input: { type: 'string', short: 'i' },
      entries: { type: 'boolean' },
      plot: { type: 'string' },
      json: { type: 'boolean' },
    });
    if (values.help) return void out.log(this.usage);
    if (positionals.length === 0) throw new InputError('merge takes the shard files of one run (corrmap merge shard-*.json; see corrmap merge --help)');
    const merged = mergeShards(positionals.map(readShard), positionals);
    const { run } = merged;
    const file = (given: string | undefined, recorded: { path: string; sha256: string }, what: string) => {
      const path = given ?? recorded.path;
      let digest: string;
      try {
        digest = fileDigest(path);
      } catch {
        throw new InputError(`cannot read the ${what} file "${path}" the shards name; give it with --${what} <file>`);
      }
      if (digest !== recorded.sha256) throw new InputError(`the ${what} file "${path}" is not the one the shards ran (SHA-256 ${digest.slice(0, 12)}…, expected ${recorded.sha256.slice(0, 12)}…)`);
      return path;
    };
    const inputPath = file(values.input, run.input, 'input');
    const networkPath = file(values.network, run.network, 'network');
    const { input, network } = readRun(runFile(inputPath, 'input'), runFile(networkPath, 'network'), run.inputOrder, (key) => key);
    if (merged.stages.length !== 2 * network.layers.length || merged.stages.some((s, k) => s.width !== network.layers[k >> 1].rows))
      throw new InputError(`the shards' power sums do not match the layers of "${networkPath}"`);
    const started = performance.now();
    const theory = await theoryOf(network, input, run.backend as BackendName, run.inputOrder, run.outputOrder);
    const theorySeconds = (performance.now() - started) / 1000;
    const estimates = network.layers.map((_, l) => ({ pre: merged.stages[2 * l].estimates(), post: merged.stages[2 * l + 1].estimates() }));
    const info = {
      samples: drawnSamples(run.samples, run.batches), batches: run.batches, seed: run.seed, backend: run.backend, workers: merged.workers,
      inputOrder: run.inputOrder, outputOrder: run.outputOrder, theorySeconds, monteCarloSeconds: merged.seconds, shards: merged.shards,
    };
    return await reportValidation(network, input, compareLayers(theory, estimates, info), info, values, out);
  },
};
