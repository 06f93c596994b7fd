import type { Script } from 'node:vm';
export function runCachedScript(file: string): { exports: Record<string, unknown>; cached: boolean; script: Script };
export function writeCodeCache(file: string, warmUp: (exports: Record<string, unknown>) => Promise<void> | void): Promise<void>;
