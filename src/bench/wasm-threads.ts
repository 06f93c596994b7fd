/**
 * tfjs's threaded-SIMD wasm build (XNNPACK with a pthread pool) under Node, for the bench only.
 * tfjs turns it off in Node (WASM_HAS_MULTITHREAD_SUPPORT is false there) because Emscripten's
 * pthread workers are made from Blob URLs, which worker_threads cannot load. Three shims make it
 * run: the Blobs tfjs builds (the pthread worker and the module factory it imports) are written
 * to files and their paths used instead; the factory gets the module-level names it closes over
 * in tfjs's Node bundle; and os.cpus() is doubled while the backend starts, since the build caps
 * its pool at half the logical cores (one thread on a 2-core machine). Call before anything
 * registers the wasm backend.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';

/** The names the threaded factory's source uses from the closure of tfjs-backend-wasm's Node bundle. */
const FACTORY_PRELUDE = "var require$$0 = require('fs'), require$$1 = require('path'), require$$3 = require('perf_hooks'), require$$4 = require('os'), commonjsGlobal = globalThis;\n";
const FACTORY_START = 'var WasmBackendModuleThreadedSimd';

export async function threadedWasm(threads: number): Promise<number> {
  const dir = mkdtempSync(join(os.tmpdir(), 'corrmap-wasm-threads-'));
  const factory = join(dir, 'factory.js');
  const NativeBlob = globalThis.Blob;
  const texts = new WeakMap<Blob, string>();
  class FileBlob extends NativeBlob {
    constructor(parts: string[], options?: BlobPropertyBag) {
      super(parts, options);
      const text = parts.join('');
      texts.set(this, text);
      if (text.startsWith(FACTORY_START)) writeFileSync(factory, FACTORY_PRELUDE + text);
    }
  }
  let files = 0;
  const createObjectURL = URL.createObjectURL;
  // The pthread worker imports the factory from the file, not from the Blob posted to it.
  URL.createObjectURL = (blob: Blob) => {
    const path = join(dir, `worker-${files++}.js`);
    const text = texts.get(blob) ?? '';
    writeFileSync(path, text.replace('typeof e.data.urlOrBlob=="string"', 'true').replace('importScripts(e.data.urlOrBlob)', `importScripts(${JSON.stringify(factory)})`));
    return path;
  };
  globalThis.Blob = FileBlob as typeof Blob;
  const cpus = os.cpus;
  os.cpus = () => [...cpus(), ...cpus()];
  try {
    const wasm = await import('@tensorflow/tfjs-backend-wasm');
    tf.env().set('WASM_HAS_MULTITHREAD_SUPPORT', true);
    wasm.setThreadsCount(threads);
    if (!(await tf.setBackend('wasm'))) throw new Error('the threaded wasm backend failed to start');
    return wasm.getThreadsCount();
  } finally {
    os.cpus = cpus;
    globalThis.Blob = NativeBlob;
    URL.createObjectURL = createObjectURL;
  }
}
