/**
 * nerdamer, loaded on first use: only the closed forms of non-polynomial activations (and the rare
 * polynomial the exact path cannot read) need it, and loading it costs more start-up than a whole
 * polynomial derivation. Every caller goes through this one instance, so its settings and its
 * expression history are shared.
 */
import { createRequire } from 'node:module';
import type Nerdamer from 'nerdamer-prime';

let instance: typeof Nerdamer | undefined;

/** The nerdamer function with its Algebra and Calculus add-ons (diff, expand). */
export function nerdamer(): typeof Nerdamer {
  return (instance ??= createRequire(import.meta.url)('nerdamer-prime/all') as typeof Nerdamer);
}

/** Whether nerdamer has been loaded in this process. */
export function nerdamerLoaded(): boolean {
  return instance !== undefined;
}
