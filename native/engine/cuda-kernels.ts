// The operator audit for the CUDA execution provider: which (op, element type) pairs the engine may emit so that every
// node of a training graph runs on the GPU. An op without a CUDA kernel silently falls back to the CPU provider and
// copies its tensors across the bus every step, so graphs are checked against this table before they reach a GPU.
//
// Source: microsoft/onnxruntime onnxruntime/core/providers/cuda/cuda_execution_provider.cc (kernel registrations,
// snapshot 0018ddb68e9b), read for the ONNX domain at model opset 17. Opset 17 is the engine's export opset on
// purpose: opset 18 moved the axes of ReduceMean/ReduceMax/… into inputs, and that snapshot registers no CUDA kernel
// for those version-18 schemas, so an opset-18 graph would put every norm on the CPU.

export type KernelType = 'float' | 'double' | 'float16' | 'bfloat16' | 'int32' | 'int64' | 'uint8' | 'bool';

/** Per op: the kernel's since-version that an opset-17 model resolves to, and the element types it is registered for. */
export interface CudaKernel {
  since: number;
  /** 'any' = one untyped kernel whose type constraint covers all fixed-size tensor types (data movement ops). */
  types: readonly KernelType[] | 'any';
}

const FLOATS = ['float', 'double', 'float16'] as const;
const FLOATS_BF16 = ['float', 'double', 'float16', 'bfloat16'] as const;
const ARITH = ['float', 'double', 'float16', 'bfloat16', 'int32', 'int64'] as const;

export const CUDA_KERNELS_OPSET17: Readonly<Record<string, CudaKernel>> = {
  Add: { since: 14, types: ARITH },
  Sub: { since: 14, types: ARITH },
  Mul: { since: 14, types: ARITH },
  Div: { since: 14, types: ARITH },
  Pow: { since: 15, types: 'any' },
  Neg: { since: 13, types: ['float', 'double', 'float16', 'int32', 'int64'] },
  Abs: { since: 13, types: ['float', 'double', 'float16', 'int32', 'int64'] },
  Sqrt: { since: 13, types: FLOATS },
  Reciprocal: { since: 13, types: FLOATS },
  Exp: { since: 13, types: FLOATS },
  Log: { since: 13, types: FLOATS },
  Erf: { since: 13, types: FLOATS },
  Sin: { since: 7, types: FLOATS },
  Cos: { since: 7, types: FLOATS },
  Sigmoid: { since: 13, types: FLOATS_BF16 },
  Tanh: { since: 13, types: FLOATS_BF16 },
  Relu: { since: 14, types: FLOATS_BF16 },
  MatMul: { since: 13, types: FLOATS_BF16 },
  Gemm: { since: 13, types: FLOATS_BF16 },
  Softmax: { since: 13, types: FLOATS_BF16 },
  LogSoftmax: { since: 13, types: FLOATS },
  LayerNormalization: { since: 17, types: FLOATS_BF16 },
  ReduceSum: { since: 13, types: ['float', 'double', 'float16', 'bfloat16', 'int32', 'int64'] },
  ReduceMean: { since: 13, types: ['float', 'double', 'float16', 'int32'] },
  ReduceMax: { since: 13, types: ['float', 'double', 'float16', 'int32', 'int64'] },
  ReduceMin: { since: 14, types: ['float', 'double', 'float16', 'int32', 'int64'] },
  ReduceSumSquare: { since: 13, types: FLOATS },
  Cast: { since: 13, types: ['float', 'double', 'float16', 'bfloat16', 'int32', 'int64', 'uint8', 'bool'] },
  Where: { since: 16, types: ['float', 'double', 'float16', 'int32', 'int64', 'uint8'] },
  Equal: { since: 13, types: ['float', 'double', 'float16', 'int32', 'int64', 'bool'] },
  Less: { since: 13, types: ['float', 'double', 'float16', 'int32', 'int64'] },
  Greater: { since: 13, types: ['float', 'double', 'float16', 'int32', 'int64'] },
  LessOrEqual: { since: 16, types: ['float', 'double', 'float16', 'int32', 'int64'] },
  GreaterOrEqual: { since: 16, types: ['float', 'double', 'float16', 'int32', 'int64'] },
  Not: { since: 1, types: ['bool'] },
  And: { since: 7, types: ['bool'] },
  Or: { since: 7, types: ['bool'] },
  Max: { since: 13, types: 'any' },
  Min: { since: 13, types: 'any' },
  Sum: { since: 13, types: 'any' },
  Clip: { since: 13, types: 'any' },
  Pad: { since: 13, types: ['float', 'double', 'float16', 'bool'] },
  Transpose: { since: 13, types: 'any' },
  Reshape: { since: 14, types: 'any' },
  Expand: { since: 13, types: 'any' },
  Concat: { since: 13, types: 'any' },
  Split: { since: 13, types: 'any' },
  Slice: { since: 13, types: 'any' },
  Squeeze: { since: 13, types: 'any' },
  Unsqueeze: { since: 13, types: 'any' },
  Flatten: { since: 13, types: 'any' },
  Identity: { since: 14, types: 'any' },
  Shape: { since: 15, types: 'any' },
  Gather: { since: 13, types: 'any' },
  GatherElements: { since: 13, types: 'any' },
  GatherND: { since: 13, types: 'any' },
  ScatterElements: { since: 13, types: 'any' },
  ScatterND: { since: 13, types: 'any' },
  Range: { since: 11, types: 'any' },
  Trilu: { since: 14, types: 'any' },
  CumSum: { since: 14, types: 'any' },
  TopK: { since: 11, types: 'any' },
  ArgMax: { since: 13, types: FLOATS },
  Dropout: { since: 13, types: 'any' },
  Loop: { since: 13, types: 'any' },
  If: { since: 13, types: 'any' },
  ConstantOfShape: { since: 9, types: 'any' },
};

/** Ops with no CUDA kernel at all that a careless graph might use, with the replacement the engine emits instead. */
export const CUDA_MISSING_WITH_REPLACEMENT: Readonly<Record<string, string>> = {
  SoftmaxCrossEntropyLoss: 'LogSoftmax + GatherElements + mask (masked mean)',
  NegativeLogLikelihoodLoss: 'GatherElements on LogSoftmax output + mask',
  OneHot: 'Range + Equal + Cast (OneHot has no double kernel on CPU and few types on CUDA)',
};

export interface AuditedNode {
  op: string;
  /** The element type the kernel is selected by (usually the first float input's type). */
  type: KernelType;
  name?: string;
}

export interface CudaAuditProblem {
  node: string;
  op: string;
  type: KernelType;
  reason: string;
}

/** Every node that would not get a CUDA kernel, with why and what to emit instead. */
export function auditForCuda(nodes: readonly AuditedNode[]): CudaAuditProblem[] {
  const problems: CudaAuditProblem[] = [];
  for (const node of nodes) {
    const kernel = CUDA_KERNELS_OPSET17[node.op];
    const label = node.name ?? node.op;
    if (!kernel) {
      const replacement = CUDA_MISSING_WITH_REPLACEMENT[node.op];
      problems.push({ node: label, op: node.op, type: node.type, reason: replacement ? `no CUDA kernel; emit ${replacement}` : 'not in the audited CUDA kernel table' });
    } else if (kernel.types !== 'any' && !kernel.types.includes(node.type)) {
      problems.push({ node: label, op: node.op, type: node.type, reason: `CUDA kernel exists only for ${kernel.types.join(', ')}; keep this op in float32` });
    }
  }
  return problems;
}
