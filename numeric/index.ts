/** The public entry points of numeric/ for the modules above it (src/analysis). Re-exports only. */
export { tf, useBackend, withBackend, BACKENDS, DEFAULT_BACKEND, type BackendName, type TfBackendName } from './backend.ts';
export { compileExpression } from './kernels.ts';
export { Random } from './random.ts';
export { Cumulants } from './tensor.ts';
export { makeLayer, propagateReference, hasActivation, cachedRule, type Layer, type Network, type LayerResult, type PropagateOptions } from './network.ts';
export { propagate, propagateCompiled, uploadWeights, type BatchLayerResult, type CompiledOptions } from './propagate.ts';
export { taylorTable, evaluateTerms } from './reference.ts';
export { smoothedTable, gaussianLayer, MAX_SMOOTHED_K } from './general.ts';
export { robustExpectation, transitionPoints } from './quadrature.ts';
export { taylorCoefficients } from './taylorseries.ts';
export { FLOAT64_FUNCTIONS } from '../symbolic/atoms/index.ts';
export { VARIABLE } from '../symbolic/expression.ts';
export { gaussianSampler, sampleNetwork, type InputSampler, type Estimate, type LayerEstimates } from './montecarlo.ts';
export { normalCdf, normalQuantile, bonferroniCritical } from './statistics.ts';
export { cholesky, semidefiniteness } from './linalg.ts';
export { parseActivation, type ParsedExpression } from '../symbolic/expression.ts';
