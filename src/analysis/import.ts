/**
 * Networks trained elsewhere, as corrmap network JSON (src/io.ts): a tfjs LayersModel (model.json +
 * weight shards; Dense layers and their activations), or bare weights (safetensors, .npz, a
 * directory of .npy) with the activations given by the user.
 */
import { existsSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { InputError } from '../../symbolic/errors.ts';
import { parseActivation } from '../../numeric/index.ts';
import { networkFromJson, readJson } from '../io.ts';
import { readNpy, readNpz, readSafetensors, type NumericArray } from './arrays.ts';
import type { NetworkJson, NetworkLayerJson } from './train.ts';

export interface Imported {
  network: NetworkJson;
  /** What the import changed or assumed, one sentence each (e.g. a final softmax dropped). */
  notes: string[];
}

export interface ImportOptions {
  /** For weights without a graph: one φ for every hidden layer, or one per layer (hidden or all). */
  activations?: readonly string[];
  params?: Readonly<Record<string, number>>;
  /** Orientation of 2-D weights in bare weight files; 'auto' decides from the biases and the chain. */
  layout?: 'auto' | 'out-in' | 'in-out';
}

const SELU = { alpha: 1.6732632423543772, scale: 1.0507009873554805 };

/**
 * Activation names in a LayersModel (as tfjs-layers serialises them, snake_case) → corrmap
 * expressions in z, following the tfjs-layers definitions (hard_sigmoid = clip(0.2 z + 0.5, 0, 1)
 * as in Keras 2, gelu exact, gelu_new the tanh approximation).
 */
export const LAYERS_ACTIVATIONS: Readonly<Record<string, string>> = {
  linear: 'linear',
  relu: 'relu(z)',
  relu6: 'min(relu(z), 6)',
  elu: 'elu(z)',
  selu: `${SELU.scale} * (relu(z) + ${SELU.alpha} * (elu(z) - relu(z)))`,
  sigmoid: 'sigmoid(z)',
  hard_sigmoid: 'max(0, min(1, 0.2*z + 0.5))',
  softplus: 'softplus(z)',
  softsign: 'z / (1 + abs(z))',
  tanh: 'tanh(z)',
  swish: 'silu(z)',
  silu: 'silu(z)',
  gelu: 'gelu(z)',
  gelu_new: '0.5*z*(1 + tanh(sqrt(2/pi)*(z + 0.044715*z^3)))',
  mish: 'z*tanh(softplus(z))',
  exponential: 'exp(z)',
};

/** Layers that leave a fully connected network's inference unchanged. */
const PASS_THROUGH = new Set(['InputLayer', 'Dropout', 'Flatten', 'GaussianNoise', 'GaussianDropout', 'AlphaDropout', 'SpatialDropout1D']);

interface KerasLayer {
  class_name: string;
  config: Record<string, unknown>;
  inbound_nodes?: unknown;
}

interface WeightEntry {
  name: string;
  shape: number[];
  dtype?: string;
  quantization?: unknown;
}

function activationName(value: unknown): string {
  if (value === undefined || value === null) return 'linear';
  if (typeof value === 'string') return value;
  const v = value as { class_name?: string; config?: { name?: string } };
  return v.config?.name ?? v.class_name ?? JSON.stringify(value);
}

/** hardSigmoid (a tfjs-layers class name) → hard_sigmoid (its serialised name). */
function snakeCase(name: string): string {
  return name.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);
}

function activationExpression(name: string, where: string): string {
  const e = LAYERS_ACTIVATIONS[name] ?? LAYERS_ACTIVATIONS[snakeCase(name)];
  if (e === undefined) throw new InputError(`${where}: activation "${name}" is not supported; known: ${Object.keys(LAYERS_ACTIVATIONS).join(', ')}, and softmax on the last layer`);
  return e;
}

/** The layer list of a LayersModel topology (Sequential or a chain-shaped functional Model). */
function topologyLayers(topology: unknown, where: string): KerasLayer[] {
  const t = topology as { model_config?: unknown; class_name?: string; config?: unknown };
  const model = (t?.model_config ?? t) as { class_name?: string; config?: unknown };
  const config = model?.config as { layers?: KerasLayer[] } | KerasLayer[] | undefined;
  const layers = Array.isArray(config) ? config : config?.layers;
  if (!Array.isArray(layers)) throw new InputError(`${where}: no layers in "modelTopology"; expected a tfjs LayersModel (model.save output)`);
  if (model.class_name !== 'Sequential') {
    // A functional model imports when it is a chain: every layer reads the one before it.
    layers.forEach((layer, k) => {
      const nodes = layer.inbound_nodes as unknown[][] | undefined;
      // Keras 2 / tfjs node lists ([[["dense_1", 0, 0, {}]]]) are checked; other encodings keep the listed order.
      if (k === 0 || !Array.isArray(nodes) || nodes.length === 0 || !Array.isArray(nodes[0])) return;
      const inputs = nodes[0];
      const names = inputs.map((i) => (Array.isArray(i) ? i[0] : undefined));
      if (nodes.length > 1 || names.length !== 1 || names[0] !== (layers[k - 1].config.name as string))
        throw new InputError(`${where}: layer "${layer.config.name}" (${layer.class_name}) does not read only the layer before it; corrmap imports chains of layers`);
    });
  }
  return layers;
}

/** The weights of a LayersModel, by name, from its manifest and shard files. */
function manifestWeights(json: { weightsManifest?: { paths: string[]; weights: WeightEntry[] }[] }, dir: string, where: string): Map<string, NumericArray> {
  const out = new Map<string, NumericArray>();
  if (!Array.isArray(json.weightsManifest)) throw new InputError(`${where}: no "weightsManifest"; expected model.json as written by tfjs model.save`);
  for (const group of json.weightsManifest) {
    const shards = group.paths.map((p) => {
      const path = join(dir, p);
      if (!existsSync(path)) throw new InputError(`${where}: weight shard "${p}" is missing (expected at ${path})`);
      return readFileSync(path);
    });
    const bytes = Buffer.concat(shards);
    let offset = 0;
    for (const w of group.weights) {
      if (w.quantization) throw new InputError(`${where}: weight "${w.name}" is quantized; export the model without quantization`);
      const dtype = w.dtype ?? 'float32';
      if (dtype !== 'float32') throw new InputError(`${where}: weight "${w.name}" has dtype ${dtype}; corrmap reads float32 weights`);
      const count = w.shape.reduce((a, b) => a * b, 1);
      if (offset + 4 * count > bytes.length) throw new InputError(`${where}: the weight shards end before weight "${w.name}" (shape [${w.shape.join(', ')}])`);
      const data = new Float32Array(count);
      const view = new DataView(bytes.buffer, bytes.byteOffset + offset, 4 * count);
      for (let k = 0; k < count; k++) data[k] = view.getFloat32(4 * k, true);
      out.set(w.name, { shape: w.shape, data, dtype });
      offset += 4 * count;
    }
  }
  return out;
}

function findWeight(weights: Map<string, NumericArray>, layer: string, kind: 'kernel' | 'bias', where: string): NumericArray | undefined {
  const exact = `${layer}/${kind}`;
  for (const [name, value] of weights) if (name === exact || name.endsWith(`/${exact}`)) return value;
  if (kind === 'kernel') throw new InputError(`${where}: no weight "${exact}" in the weights manifest (it has ${[...weights.keys()].join(', ')})`);
  return undefined;
}

/** Nested rows of a row-major matrix, transposed when `transpose` (stored [in, out] → rows are outputs). */
function matrixRows(a: NumericArray, transpose: boolean): number[][] {
  const [r, c] = a.shape;
  return transpose
    ? Array.from({ length: c }, (_, i) => Array.from({ length: r }, (_, j) => a.data[j * c + i]))
    : Array.from({ length: r }, (_, i) => Array.from(a.data.subarray(i * c, (i + 1) * c)));
}

/** A tfjs LayersModel: model.json (its weight shards beside it). */
export function importLayersModel(path: string): Imported {
  const json = readJson(path, 'model') as { modelTopology?: unknown; weightsManifest?: { paths: string[]; weights: WeightEntry[] }[]; layers?: unknown };
  if (json.modelTopology === undefined && Array.isArray(json.layers))
    throw new InputError(`${path} is already a corrmap network (it has "layers"); it needs no import`);
  const layers = topologyLayers(json.modelTopology, path);
  const weights = manifestWeights(json, dirname(path), path);
  const out: NetworkLayerJson[] = [];
  const notes: string[] = [];
  layers.forEach((layer, k) => {
    const name = String(layer.config.name ?? `#${k}`);
    const at = `${path}: layer "${name}" (${layer.class_name})`;
    const last = out[out.length - 1];
    /** An activation layer: φ of the Dense layer before it, which must still be linear. */
    const applyToLast = (expression: string) => {
      if (!last || last.activation !== 'linear') throw new InputError(`${at} follows ${last ? 'a nonlinearity' : 'no Dense layer'}; corrmap layers apply one φ after each Dense layer`);
      last.activation = expression;
    };
    const isLast = layers.slice(k + 1).every((l) => PASS_THROUGH.has(l.class_name));
    switch (layer.class_name) {
      case 'Dense': {
        const kernel = findWeight(weights, name, 'kernel', at)!;
        const bias = layer.config.use_bias === false ? undefined : findWeight(weights, name, 'bias', at);
        if (kernel.shape.length !== 2) throw new InputError(`${at}: kernel has shape [${kernel.shape.join(', ')}]; expected [inputs, units]`);
        const act = activationName(layer.config.activation);
        let activation: string;
        if (act === 'softmax') {
          if (!isLast) throw new InputError(`${at}: softmax inside the network is not supported (only on the last layer, where argmax ignores it)`);
          activation = 'linear';
          notes.push(`the softmax of "${name}" was dropped: the imported network outputs the logits, whose argmax is the same prediction`);
        } else activation = activationExpression(act, at);
        out.push({ weight: matrixRows(kernel, true), bias: bias ? Array.from(bias.data) : new Array<number>(kernel.shape[1]).fill(0), activation });
        return;
      }
      case 'Activation': {
        const act = activationName(layer.config.activation);
        if (act === 'softmax' && isLast) {
          notes.push(`the softmax layer "${name}" was dropped: the imported network outputs the logits, whose argmax is the same prediction`);
          return;
        }
        return applyToLast(activationExpression(act, at));
      }
      case 'Softmax':
        if (!isLast) throw new InputError(`${at}: softmax inside the network is not supported (only as the last layer)`);
        notes.push(`the softmax layer "${name}" was dropped: the imported network outputs the logits, whose argmax is the same prediction`);
        return;
      case 'ReLU':
        if (layer.config.maxValue != null) return applyToLast(`min(relu(z), ${Number(layer.config.maxValue)})`);
        return applyToLast('relu(z)');
      case 'LeakyReLU':
        return applyToLast(`max(z, ${Number(layer.config.alpha ?? 0.3)}*z)`);
      case 'ELU': {
        const alpha = Number(layer.config.alpha ?? 1);
        return applyToLast(alpha === 1 ? 'elu(z)' : `relu(z) + ${alpha}*(elu(z) - relu(z))`);
      }
      default:
        if (PASS_THROUGH.has(layer.class_name)) return;
        throw new InputError(
          `${at} is not supported; corrmap imports Dense layers, their activations (Activation, ReLU, LeakyReLU, ELU, Softmax last) and ${[...PASS_THROUGH].join(', ')}`,
        );
    }
  });
  if (out.length === 0) throw new InputError(`${path}: the model has no Dense layer`);
  if (out[out.length - 1].activation !== 'linear')
    notes.push(`the last layer applies ${out[out.length - 1].activation}; corrmap's prediction is the argmax of that layer's output`);
  return { network: checked({ layers: out }, path), notes };
}

/** Split "relu(z), max(z, 0.1*z)" at top-level commas only. */
export function splitActivations(text: string): string[] {
  const parts: string[] = [];
  let depth = 0;
  let start = 0;
  for (let i = 0; i < text.length; i++) {
    if (text[i] === '(') depth++;
    else if (text[i] === ')') depth--;
    else if (text[i] === ',' && depth === 0) {
      parts.push(text.slice(start, i).trim());
      start = i + 1;
    }
  }
  parts.push(text.slice(start).trim());
  return parts.filter((p) => p !== '');
}

/** Natural order: "layers.2" before "layers.10". */
function naturalCompare(a: string, b: string): number {
  return a.localeCompare(b, 'en', { numeric: true });
}

const WEIGHT_NAME = /^(.*?)[._/-]?(weight|kernel|W|w)$/;
const BIAS_NAME = /^(.*?)[._/-]?(bias|b)$/;
const NUMBERED = /^(W|w|weight|kernel|b|bias)[_-]?(\d+)$/;

interface WeightPair {
  name: string;
  weight: NumericArray;
  bias?: NumericArray;
}

/**
 * Layers of bare weight arrays: named pairs (fc1.weight/fc1.bias, W0/b0, dense/kernel) ordered
 * naturally by layer name, else the arrays in order, each 2-D array a weight and a 1-D array after
 * it that layer's bias (numpy.savez(w0, b0, w1, b1) writes arr_0, arr_1, …).
 */
function pairWeights(arrays: Map<string, NumericArray>, where: string): WeightPair[] {
  const groups = new Map<string, { weight?: NumericArray; bias?: NumericArray }>();
  let named = true;
  for (const [name, a] of arrays) {
    const numbered = NUMBERED.exec(name);
    const w = WEIGHT_NAME.exec(name);
    const b = BIAS_NAME.exec(name);
    let layer: string;
    let role: 'weight' | 'bias';
    if (numbered) [layer, role] = [numbered[2], /^(b|bias)$/.test(numbered[1]) ? 'bias' : 'weight'];
    else if (w && a.shape.length === 2) [layer, role] = [w[1], 'weight'];
    else if (b && a.shape.length === 1) [layer, role] = [b[1], 'bias'];
    else {
      named = false;
      break;
    }
    const g = groups.get(layer) ?? {};
    if (g[role]) {
      named = false;
      break;
    }
    g[role] = a;
    groups.set(layer, g);
  }
  if (named && [...groups.values()].every((g) => g.weight)) {
    return [...groups.keys()].sort(naturalCompare).map((name) => ({ name, weight: groups.get(name)!.weight!, bias: groups.get(name)!.bias }));
  }
  const pairs: WeightPair[] = [];
  for (const name of [...arrays.keys()].sort(naturalCompare)) {
    const a = arrays.get(name)!;
    if (a.shape.length === 2) pairs.push({ name, weight: a });
    else if (a.shape.length === 1 && pairs.length && !pairs[pairs.length - 1].bias) pairs[pairs.length - 1].bias = a;
    else throw new InputError(`${where}: array "${name}" of shape (${a.shape.join(', ')}) is neither a 2-D weight nor the 1-D bias following one`);
  }
  if (pairs.length === 0) throw new InputError(`${where}: no 2-D weight arrays found`);
  return pairs;
}

/** Whether weights are stored [out, in] (PyTorch) or [in, out] (Keras, x @ W): from biases, then the chain. */
function weightLayout(pairs: readonly WeightPair[], layout: ImportOptions['layout'], where: string): 'out-in' | 'in-out' {
  if (layout && layout !== 'auto') return layout;
  const votes = new Set<'out-in' | 'in-out'>();
  for (const p of pairs) {
    const [r, c] = p.weight.shape;
    if (p.bias && r !== c) {
      if (p.bias.shape[0] === r) votes.add('out-in');
      else if (p.bias.shape[0] === c) votes.add('in-out');
    }
  }
  for (let l = 0; l + 1 < pairs.length; l++) {
    const [r0, c0] = pairs[l].weight.shape;
    const [r1, c1] = pairs[l + 1].weight.shape;
    const outIn = r0 === c1;
    const inOut = c0 === r1;
    if (outIn !== inOut) votes.add(outIn ? 'out-in' : 'in-out');
  }
  if (votes.size === 1) return [...votes][0];
  if (votes.size === 2) throw new InputError(`${where}: the weight shapes fit neither layout throughout; check the layer order or give --layout out-in|in-out`);
  throw new InputError(`${where}: cannot tell whether weights are [outputs, inputs] (PyTorch) or [inputs, outputs] (Keras); give --layout out-in or --layout in-out`);
}

/** Per-layer activations from the user's list: one for all hidden layers, or one per hidden layer, or one per layer. */
function layerActivations(list: readonly string[] | undefined, layers: number, where: string): string[] {
  if (!list || list.length === 0)
    throw new InputError(`${where}: weight files carry no activations; give --activation (e.g. --activation relu for every hidden layer, or a comma list)`);
  if (list.length === 1) return Array.from({ length: layers }, (_, l) => (l === layers - 1 ? 'linear' : list[0]));
  if (list.length === layers - 1) return [...list, 'linear'];
  if (list.length === layers) return [...list];
  throw new InputError(`${where}: ${list.length} activations for ${layers} layers; give 1 (every hidden layer), ${layers - 1} (each hidden layer) or ${layers} (each layer)`);
}

/** Known activation names (relu, tanh, …) as expressions; anything else is an expression in z. */
function activationText(a: string): string {
  return LAYERS_ACTIVATIONS[a] ?? LAYERS_ACTIVATIONS[snakeCase(a)] ?? a;
}

/** Bare weights: safetensors, .npz, or a directory of .npy files (named by layer). */
export function importWeights(arrays: Map<string, NumericArray>, options: ImportOptions, where: string): Imported {
  const pairs = pairWeights(arrays, where);
  const acts = layerActivations(options.activations, pairs.length, where);
  const layout = weightLayout(pairs, options.layout, where);
  const params = options.params ?? {};
  const used = new Set<string>();
  const layers = pairs.map((p, l): NetworkLayerJson => {
    const rows = matrixRows(p.weight, layout === 'in-out');
    if (p.bias && p.bias.shape[0] !== rows.length)
      throw new InputError(`${where}: layer "${p.name}" has ${rows.length} outputs but a bias of length ${p.bias.shape[0]}`);
    const activation = activationText(acts[l]);
    const layer: NetworkLayerJson = { weight: rows, bias: p.bias ? Array.from(p.bias.data) : new Array<number>(rows.length).fill(0), activation };
    const own = parseActivation(activation).parameters.filter((name) => name in params);
    if (own.length) layer.params = Object.fromEntries(own.map((name) => (used.add(name), [name, params[name]])));
    return layer;
  });
  const unused = Object.keys(params).filter((name) => !used.has(name));
  if (unused.length) throw new InputError(`--param ${unused.join(', ')}: no activation has such a parameter`);
  return { network: checked({ layers }, where), notes: [`weights read as [${layout === 'out-in' ? 'outputs, inputs' : 'inputs, outputs'}]`] };
}

/** The network as corrmap reads it (widths chain, activations parse): fails here, not later. */
function checked(network: NetworkJson, where: string): NetworkJson {
  networkFromJson(network, where);
  return network;
}

/** Import whatever `path` is: model.json, *.safetensors, *.npz, or a directory of .npy (or a model.json). */
export function importNetwork(path: string, options: ImportOptions = {}): Imported {
  let isDir = false;
  try {
    isDir = statSync(path).isDirectory();
  } catch {
    throw new InputError(`cannot read "${path}": no such file or directory`);
  }
  if (isDir) {
    if (existsSync(join(path, 'model.json'))) return importNetwork(join(path, 'model.json'), options);
    const files = readdirSync(path).filter((f) => f.endsWith('.npy'));
    if (files.length === 0) throw new InputError(`"${path}" holds neither model.json nor .npy files`);
    const arrays = new Map(files.map((f) => [basename(f, '.npy'), readNpy(join(path, f))] as const));
    return importWeights(arrays, options, path);
  }
  if (path.endsWith('.safetensors')) return importWeights(readSafetensors(path), options, path);
  if (path.endsWith('.npz')) return importWeights(readNpz(path), options, path);
  if (path.endsWith('.json')) {
    if (options.activations !== undefined)
      throw new InputError(`${path}: a LayersModel names its own activations; --activation is for weight files (.safetensors, .npz, .npy)`);
    return importLayersModel(path);
  }
  throw new InputError(`"${path}": expected model.json (tfjs LayersModel), weights.safetensors, weights.npz or a directory of .npy files`);
}
