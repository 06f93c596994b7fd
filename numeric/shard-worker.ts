// A worker thread running one shard of a Monte Carlo run (numeric/simulate.ts).
import { parentPort, workerData } from 'node:worker_threads';
import { shardMain, type ShardSpec } from './simulate.ts';

await shardMain(workerData as ShardSpec, (message) => parentPort!.postMessage(message));
