/**
 * Python array printers. NumPy (with SciPy's special functions) is the base table; JAX and PyTorch
 * are overlays that change the module names and a few entries, as SymPy's JaxPrinter overlays its
 * NumPyPrinter.
 */
import { CodePrinter, prefixed, type FunctionTable } from './code.ts';
import { Precedence, type Printed } from './printer.ts';

const ELEMENTARY = ['exp', 'expm1', 'log', 'log1p', 'sqrt', 'sin', 'cos', 'tan', 'sinh', 'cosh', 'tanh', 'abs', 'sign'];

/** The array-library names the emitted Python modules use besides functions of trees. */
export interface PythonApi {
  /** Import lines. */
  readonly imports: readonly string[];
  /** The array module (np, jnp, torch). */
  readonly xp: string;
  /** Convert nested lists or arrays to float64 arrays. */
  readonly asarray: (x: string) => string;
  /** Move an axis: xp.moveaxis / torch.movedim. */
  readonly moveaxis: string;
  /** The diagonal of a matrix. */
  readonly diagonal: (x: string) => string;
  /** Back to nested Python lists (for JSON). */
  readonly tolist: (x: string) => string;
  /** The largest entry as a Python float. */
  readonly maxFloat: (x: string) => string;
  /** The largest entry of each row (along the last axis). */
  readonly rowMax: (x: string) => string;
  /** float64 zeros of a shape, an identity matrix, concatenation along the last axis of a list. */
  readonly zeros: (shape: string) => string;
  readonly eye: (n: string) => string;
  readonly concatenate: (list: string) => string;
  /** Contract axis 1 of a matrix with an axis of a tensor. */
  readonly tensordot: string;
  /** A NumPy float64 array (from numpy.load) as the library's array. */
  readonly fromNumpy: (x: string) => string;
}

export class NumPyPrinter extends CodePrinter {
  readonly target: string = 'NumPy';
  protected readonly constants = { pi: 'np.pi', e: 'np.e' };
  readonly api: PythonApi = {
    imports: ['import numpy as np', 'import scipy.special as special'],
    xp: 'np',
    asarray: (x) => `np.asarray(${x}, dtype=np.float64)`,
    moveaxis: 'np.moveaxis',
    diagonal: (x) => `np.diagonal(${x}).copy()`,
    tolist: (x) => `np.asarray(${x}).tolist()`,
    maxFloat: (x) => `float(np.max(${x}))`,
    rowMax: (x) => `np.max(${x}, axis=-1)`,
    zeros: (shape) => `np.zeros(${shape})`,
    eye: (n) => `np.eye(${n})`,
    concatenate: (list) => `np.concatenate(${list}, axis=1)`,
    tensordot: 'np.tensordot',
    fromNumpy: (x) => x,
  };
  protected get functions(): FunctionTable {
    return this.table('np.', 'special.');
  }
  protected table(xp: string, special: string): FunctionTable {
    const f = prefixed(xp);
    return {
      ...Object.fromEntries(ELEMENTARY.map((name) => [name, f(name)])),
      atan: f('arctan'),
      asin: f('arcsin'),
      max: f('maximum'),
      min: f('minimum'),
      erf: prefixed(special)('erf'),
      erfc: prefixed(special)('erfc'),
      Phi: prefixed(special)('ndtr'),
      sigmoid: prefixed(special)('expit'),
    };
  }
  power(base: Printed, exponent: Printed): Printed {
    return { text: `${this.wrap(base, Precedence.Atom)} ** ${this.wrap(exponent, Precedence.Atom)}`, precedence: Precedence.Power };
  }
  protected where(c: string, a: string, b: string): string {
    return `${this.api.xp}.where(${c}, ${a}, ${b})`;
  }
}

/** JAX: jax.numpy and jax.scipy.special, the same names as NumPy and SciPy. */
export class JaxPrinter extends NumPyPrinter {
  override readonly target: string = 'JAX';
  protected override readonly constants = { pi: 'jnp.pi', e: 'jnp.e' };
  override readonly api: PythonApi = {
    imports: ['import jax', 'import jax.numpy as jnp', 'import jax.scipy.special as special', 'import numpy as np', "jax.config.update('jax_enable_x64', True)"],
    xp: 'jnp',
    asarray: (x) => `jnp.asarray(${x}, dtype=jnp.float64)`,
    moveaxis: 'jnp.moveaxis',
    diagonal: (x) => `jnp.diagonal(${x})`,
    tolist: (x) => `np.asarray(${x}).tolist()`,
    maxFloat: (x) => `float(jnp.max(${x}))`,
    rowMax: (x) => `jnp.max(${x}, axis=-1)`,
    zeros: (shape) => `jnp.zeros(${shape}, dtype=jnp.float64)`,
    eye: (n) => `jnp.eye(${n}, dtype=jnp.float64)`,
    concatenate: (list) => `jnp.concatenate(${list}, axis=1)`,
    tensordot: 'jnp.tensordot',
    fromNumpy: (x) => `jnp.asarray(${x})`,
  };
  protected override get functions(): FunctionTable {
    return this.table('jnp.', 'special.');
  }
}

/** PyTorch: torch and torch.special; maximum and where take tensors, so plain numbers are wrapped. */
export class TorchPrinter extends NumPyPrinter {
  override readonly target: string = 'PyTorch';
  protected override readonly constants = { pi: 'math.pi', e: 'math.e' };
  override readonly api: PythonApi = {
    imports: ['import math', 'import torch'],
    xp: 'torch',
    asarray: (x) => `torch.as_tensor(${x}, dtype=torch.float64)`,
    moveaxis: 'torch.movedim',
    diagonal: (x) => `torch.diagonal(${x}).clone()`,
    tolist: (x) => `${x}.tolist()`,
    maxFloat: (x) => `float(torch.max(${x}))`,
    rowMax: (x) => `torch.amax(${x}, dim=-1)`,
    zeros: (shape) => `torch.zeros(${shape}, dtype=torch.float64)`,
    eye: (n) => `torch.eye(${n}, dtype=torch.float64)`,
    concatenate: (list) => `torch.cat(${list}, dim=1)`,
    tensordot: 'torch.tensordot',
    fromNumpy: (x) => `torch.from_numpy(${x})`,
  };
  protected override get functions(): FunctionTable {
    const f = prefixed('torch.');
    const t = (x: string) => `torch.as_tensor(${x}, dtype=torch.float64)`;
    return {
      ...this.table('torch.', 'torch.special.'),
      atan: f('atan'),
      asin: f('asin'),
      max: ([a, b]) => `torch.maximum(${t(a)}, ${t(b)})`,
      min: ([a, b]) => `torch.minimum(${t(a)}, ${t(b)})`,
    };
  }
  protected override where(c: string, a: string, b: string): string {
    const t = (x: string) => `torch.as_tensor(${x}, dtype=torch.float64)`;
    return `torch.where(${c}, ${t(a)}, ${t(b)})`;
  }
}
