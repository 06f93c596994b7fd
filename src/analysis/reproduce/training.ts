/**
 * The training step of the reproduced experiments: φ = z + a z² on the hidden layers, Adam with the
 * settings each experiment states in its report.
 */
import type { Dataset } from '../data.ts';
import { trainNetwork } from '../train.ts';

/** What an experiment's settings fix about training. */
export interface TrainingSettings {
  readonly activation: string;
  readonly a: number;
  readonly epochs: number;
  readonly batch: number;
  readonly lr: number;
}

/**
 * Train widths `layers` on `train` as `s` states; progress is reported under `task` as the fraction
 * of all epochs done, and `onNote` (when given) hears the time estimate.
 */
export function trainAsStated(
  train: Dataset, test: Dataset, layers: number[], s: TrainingSettings, seed: number, task: string,
  progress: (task: string, fraction: number) => void, onNote?: (line: string) => void,
) {
  return trainNetwork(train, test, {
    layers,
    activation: s.activation,
    params: { a: s.a },
    epochs: s.epochs,
    batch: s.batch,
    lr: s.lr,
    seed,
    onProgress: (p) => progress(task, (p.epoch - 1 + p.step / p.steps) / s.epochs),
    onEstimate: onNote && ((e) => onNote(`${task}: ${e.steps} steps, about ${e.seconds.toFixed(0)} s`)),
  });
}
