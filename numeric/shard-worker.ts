// A worker thread's entry (numeric/workers.ts): runs tasks until it is stopped — shards of Monte
// Carlo runs, or groups of input distributions to propagate.
import { parentPort } from 'node:worker_threads';
import { runBatches, type ShardSpec } from './simulate.ts';
import { propagateGroup } from './propagate.ts';
import { networkFromSpec, serveTasks } from './workers.ts';

type Task = { kind: 'simulate'; spec: ShardSpec } | ({ kind: 'propagate' } & Parameters<typeof propagateGroup>[0]);

serveTasks(parentPort!, (task, progress) => {
  const t = task as Task;
  return t.kind === 'simulate' ? runBatches(networkFromSpec(t.spec.network), t.spec, progress) : propagateGroup(t);
});
