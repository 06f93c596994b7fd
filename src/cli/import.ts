import { writeFileSync } from 'node:fs';
import { InputError } from '../../symbolic/errors.ts';
import { oneOf, parameterOptions, parseOptions, type Command } from './command.ts';

export const importCommand: Command = {
  name: 'import',
  summary: 'convert a network trained elsewhere (tfjs, PyTorch, NumPy) to network.json',
  usage: `Usage: corrmap import <model.json | weights.safetensors | weights.npz | dir-of-.npy>
                      [--activation φ | --activation φ1,φ2,…] [--param a=…] [--layout out-in|in-out]
                      [--out network.json] [--json]

Reads a fully connected network and writes it in corrmap's format (the input of propagate,
validate and analyse):

  model.json           a tfjs LayersModel (model.save; its weight shards beside it): Dense layers
                       with their activations (linear, relu, relu6, elu, selu, sigmoid, hard_sigmoid
                       = clip(0.2 z + 0.5, 0, 1), softplus, softsign, tanh, swish/silu, gelu, gelu_new,
                       mish, exponential),
                       Activation, ReLU, LeakyReLU and ELU layers after a Dense layer, and Dropout,
                       Flatten, InputLayer (no effect at inference). A softmax at the end is dropped:
                       the imported network outputs the logits (same argmax).
  *.safetensors, *.npz, a directory of .npy
                       weights and biases only (PyTorch state_dict, numpy.savez): layers are paired by
                       name (0.weight/0.bias, fc1.weight, W0/b0, dense/kernel) in natural order, or
                       taken in order (arr_0, arr_1, …: each 2-D array a weight, a 1-D array after it
                       its bias); the activations come from --activation.

Options:
  --activation φ       for weight files: φ of every hidden layer (the last is linear), or a comma list
                       with one φ per hidden layer or per layer; a name above (relu, tanh, …) or an
                       expression in z ("z + 0.1*z^2")
  --param name=value   a parameter of φ (repeatable)
  --layout L           weights stored as out-in ([outputs, inputs], PyTorch) or in-out ([inputs, outputs],
                       Keras, x @ W); default: decided from the biases and the chain of widths
  --out <file>         where to write the network (default network.json)
  --json               print a summary as JSON
  -h, --help           show this help

Limits: chains of fully connected layers only (an unsupported layer is an error naming it and its
class); float32 LayersModel weights (not quantized); a pickled torch.save file is not read (save the
state_dict with safetensors or numpy.savez).

Examples:
  corrmap import model/model.json --out network.json
  corrmap import weights.safetensors --activation relu --out network.json`,
  async run(argv, out) {
    const { values, positionals } = parseOptions('import', argv, {
      activation: { type: 'string' },
      param: { type: 'string', multiple: true },
      layout: { type: 'string' },
      out: { type: 'string', short: 'o' },
      json: { type: 'boolean' },
    });
    if (values.help) return void out.log(this.usage);
    if (positionals.length !== 1) throw new InputError(`import takes one model or weights path, got ${positionals.length} (see corrmap import --help)`);
    const { importNetwork, splitActivations } = await import('../analysis/import.ts');
    const layout = oneOf(values.layout, 'layout', ['auto', 'out-in', 'in-out'] as const, 'auto');
    const imported = importNetwork(positionals[0], {
      activations: values.activation === undefined ? undefined : splitActivations(values.activation),
      params: parameterOptions(values.param),
      layout,
    });
    const target = values.out ?? 'network.json';
    try {
      writeFileSync(target, JSON.stringify(imported.network));
    } catch (err) {
      throw new InputError(`cannot write the network "${target}": ${(err as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such directory' : (err as Error).message}`);
    }
    const layers = imported.network.layers;
    const widths = [layers[0].weight[0].length, ...layers.map((l) => l.weight.length)];
    if (values.json) return void out.log(JSON.stringify({ network: target, widths, activations: layers.map((l) => l.activation), notes: imported.notes }));
    out.log(
      [
        `network ${widths.join(' → ')}`,
        ...layers.map((l, k) => `  layer ${k + 1}: ${l.weight[0].length} → ${l.weight.length}, φ(z) = ${l.activation}${l.params ? ` (${Object.entries(l.params).map(([a, v]) => `${a} = ${v}`).join(', ')})` : ''}`),
        ...imported.notes.map((n) => `note: ${n}`),
        `wrote ${target}`,
      ].join('\n'),
    );
  },
};
