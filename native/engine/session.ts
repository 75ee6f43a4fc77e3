// onnxruntime-node sessions, made in one place: the device → execution provider choice and the session options every
// graph of the product runs with (training, evaluation, generation, the engine's own checks).
import * as ort from 'onnxruntime-node';
import type { ResolvedDevice } from './cuda-discovery';
import { auditForCuda, type AuditedNode } from './cuda-kernels';
import type { ComputeDtype } from './onnx-export';

/** Where a graph runs: the CUDA provider on one device, or the CPU (cuda-discovery.ts resolveDevice). */
export type ResolvedProvider = Pick<ResolvedDevice, 'provider' | 'deviceId'>;

export interface SessionSpec {
  device?: ResolvedProvider;
  /** float64 graphs (gradient checks) run with basic optimizations: ORT's fusions (QuickGelu, …) are float32-only. */
  dtype?: ComputeDtype;
  /** The folder ONNX external data (the model's safetensors) is resolved in; ORT confines external data to it. */
  externalDataDir?: string;
  /**
   * Keep freed tensors in ORT's CPU arena for reuse (default). Off for a graph that runs briefly between large ones
   * (the optimizer): the arena would hold its peak — a dozen parameter-sized temporaries — for the whole run.
   */
  cpuArena?: boolean;
  /**
   * Leave ORT's constant folding off: a graph whose NF4 weights are dequantized outside recomputed segments (the
   * generation graphs) would otherwise be folded into a float32 copy of every weight at session creation.
   */
  noConstantFolding?: boolean;
}

export function executionProviders(device: ResolvedProvider | undefined): ort.InferenceSession.ExecutionProviderConfig[] {
  return device?.provider === 'cuda' ? [{ name: 'cuda', deviceId: device.deviceId }] : ['cpu'];
}

export function sessionOptions(spec: SessionSpec): ort.InferenceSession.SessionOptions {
  // No prepacking: MLAS would copy every Gemm weight per session, while unpacked float32 external data stays
  // memory-mapped and shared by all sessions of a model (measured: +0 MB per extra session instead of +1.1× the weights).
  const session: Record<string, string> = { disable_prepacking: '1' };
  if (spec.externalDataDir) session.model_external_initializers_file_folder_path = spec.externalDataDir;
  if (spec.noConstantFolding) session['optimization.disable_specified_optimizers'] = 'ConstantFolding';
  const options: ort.InferenceSession.SessionOptions = {
    graphOptimizationLevel: spec.dtype === 'float64' ? 'basic' : 'all',
    // No memory pattern: from its second run on, ORT would place every tensor at an offset planned once in one block,
    // which for a training graph is far larger than what is alive at once (measured, Qwen2.5-0.5B shape with 4 layers
    // at 1,024 tokens: 1.75 GB on the first run, 2.82 GB from the second; without the pattern 1.75 GB, as fast).
    enableMemPattern: false,
    enableCpuMemArena: spec.cpuArena ?? true,
    executionProviders: executionProviders(spec.device),
    extra: { session },
  };
  return options;
}

/** A graph and, to audit it for CUDA, its nodes' ops and kernel types (OnnxGraphSink.nodeList). */
export interface GraphBytes {
  bytes: Uint8Array;
  nodes?: readonly AuditedNode[];
}

/**
 * A session for `graph`. On CUDA the graph is audited first: a node without a CUDA kernel would silently run on the
 * CPU and copy its tensors across the bus every step, so it is an error in the engine, named with its op and type.
 */
export async function createSession(graph: GraphBytes, spec: SessionSpec): Promise<ort.InferenceSession> {
  if (spec.device?.provider === 'cuda' && graph.nodes) {
    const problems = auditForCuda(graph.nodes);
    if (problems.length > 0) {
      const list = problems.slice(0, 5).map((p) => `${p.op} (${p.type}) at ${p.node}: ${p.reason}`).join('; ');
      throw new Error(`internal error: ${problems.length} node(s) of this graph have no CUDA kernel and would fall back to the CPU: ${list}`);
    }
  }
  return ort.InferenceSession.create(graph.bytes, sessionOptions(spec));
}
