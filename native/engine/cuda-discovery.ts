// CUDA discovery: finds onnxruntime-node's CUDA execution provider libraries and the CUDA libraries they need, lists
// GPUs, and explains precisely what is missing. ORT loads the provider from the folder of its own libonnxruntime.so
// (the binding's folder), and the provider's own dependencies (cuBLAS, cuDNN, cudart…) through the dynamic loader's
// search path — so both places are checked. All I/O goes through `DiscoveryIo`, so tests run on fakes.
import type { DeviceChoice } from '../protocol';
import { UserError } from '../util/errors';

export interface GpuInfo {
  index: number;
  name: string;
  memoryTotalMb: number;
  memoryFreeMb: number;
}

export interface MissingLibrary {
  library: string;
  neededBy: string;
}

export interface CudaDiscovery {
  usable: boolean;
  /** Folder holding libonnxruntime_providers_cuda.so, when found. */
  providerDir?: string;
  missing: MissingLibrary[];
  gpus: GpuInfo[];
  /** One paragraph: what was found, what is missing, how to fix it. Empty when usable. */
  explanation: string;
  /** The reason in a few words, for one-line notices (`lora-studio doctor` prints the explanation). Empty when usable. */
  summary: string;
}

export interface DiscoveryIo {
  platform: NodeJS.Platform;
  /** Folder of onnxruntime-node's native binding (where libonnxruntime.so.1 lives). */
  bindingDir: string;
  /** The `loraStudio.cuda.libraryPath` setting or `--cuda-library-path`, if set. */
  libraryPath?: string;
  ldLibraryPath: string[];
  exists(path: string): boolean;
  /** DT_NEEDED of a shared library (see elf-needed.ts). */
  needed(path: string): string[];
  /** Sonames the system loader cache knows (`ldconfig -p`), or [] when unavailable. */
  loaderCache(): string[];
  /** `nvidia-smi --query-gpu=index,name,memory.total,memory.free --format=csv,noheader,nounits` output, or undefined. */
  nvidiaSmi(): string | undefined;
}

const PROVIDER = 'libonnxruntime_providers_cuda.so';
const SHARED = 'libonnxruntime_providers_shared.so';
/** Libraries every Linux system has; never reported as missing CUDA pieces. */
const SYSTEM_LIBS = /^(libc|libm|libdl|librt|libpthread|libstdc\+\+|libgcc_s|ld-linux[\w-]*|libonnxruntime_providers_shared|libonnxruntime)\.so/;

export function parseNvidiaSmi(output: string): GpuInfo[] {
  return output
    .split('\n')
    .map((line) => line.split(',').map((part) => part.trim()))
    .filter((parts) => parts.length >= 4 && /^\d+$/.test(parts[0]))
    .map(([index, name, total, free]) => ({ index: Number(index), name, memoryTotalMb: Number(total), memoryFreeMb: Number(free) }));
}

function installAdvice(missing: string[]): string {
  const hints = new Set<string>();
  for (const lib of missing) {
    const major = /\.so\.(\d+)/.exec(lib)?.[1] ?? '';
    if (/cudnn/.test(lib)) hints.add(`cuDNN ${major} (pip: nvidia-cudnn-cu12 or nvidia-cudnn-cu13, or the cuDNN archive)`);
    else if (/cublas/.test(lib)) hints.add(`cuBLAS from CUDA ${major} (pip: nvidia-cublas-cu${major} or the CUDA ${major} toolkit)`);
    else if (/cudart/.test(lib)) hints.add(`the CUDA ${major} runtime (pip: nvidia-cuda-runtime-cu${major} or the CUDA ${major} toolkit)`);
    else if (/curand/.test(lib)) hints.add(`cuRAND (pip: nvidia-curand-cu12 or the CUDA toolkit)`);
    else if (/cufft/.test(lib)) hints.add(`cuFFT (pip: nvidia-cufft-cu12 or the CUDA toolkit)`);
    else hints.add(lib);
  }
  return [...hints].join('; ');
}

export function discoverCuda(io: DiscoveryIo): CudaDiscovery {
  const smi = io.nvidiaSmi();
  const gpus = smi === undefined ? [] : parseNvidiaSmi(smi);
  if (io.platform !== 'linux' && io.platform !== 'win32') {
    return { usable: false, missing: [], gpus, summary: `no CUDA on ${io.platform}`, explanation: `CUDA is not available on ${io.platform}; training runs on the CPU.` };
  }
  const searchDirs = [...(io.libraryPath ? [io.libraryPath] : []), io.bindingDir, ...io.ldLibraryPath];
  const providerDir = searchDirs.find((dir) => io.exists(`${dir}/${PROVIDER}`));
  if (!providerDir) {
    return {
      usable: false,
      missing: [{ library: PROVIDER, neededBy: 'onnxruntime-node' }],
      gpus,
      summary: 'the CUDA execution provider is not installed',
      explanation:
        `The CUDA execution provider (${PROVIDER} and ${SHARED}) is not installed: looked in ${searchDirs.join(', ')}. ` +
        `With internet access run \`ONNXRUNTIME_NODE_INSTALL=cuda12 npm rebuild onnxruntime-node --ignore-scripts=false\` in the extension folder, ` +
        `or copy both files of a matching ONNX Runtime build into ${io.bindingDir} (they must match onnxruntime-node's exact version). ` +
        `Without them training runs on the CPU.`,
    };
  }
  if (providerDir !== io.bindingDir) {
    return {
      usable: false,
      providerDir,
      missing: [{ library: PROVIDER, neededBy: 'onnxruntime-node' }],
      gpus,
      summary: `the CUDA provider is in ${providerDir}, not beside ONNX Runtime`,
      explanation:
        `Found ${PROVIDER} in ${providerDir}, but ONNX Runtime loads providers only from the folder of its own library, ` +
        `${io.bindingDir}: copy or symlink ${PROVIDER} and ${SHARED} there (and keep the CUDA libraries' folder in loraStudio.cuda.libraryPath).`,
    };
  }
  const known = new Set(io.loaderCache());
  const dirs = [providerDir, ...(io.libraryPath ? [io.libraryPath] : []), ...io.ldLibraryPath];
  const resolvable = (lib: string) => known.has(lib) || dirs.some((dir) => io.exists(`${dir}/${lib}`));
  const missing: MissingLibrary[] = [];
  if (!io.exists(`${providerDir}/${SHARED}`)) missing.push({ library: SHARED, neededBy: PROVIDER });
  for (const lib of io.needed(`${providerDir}/${PROVIDER}`)) {
    if (!SYSTEM_LIBS.test(lib) && !resolvable(lib)) missing.push({ library: lib, neededBy: PROVIDER });
  }
  if (missing.length > 0) {
    const names = missing.map((m) => m.library);
    return {
      usable: false,
      providerDir,
      missing,
      gpus,
      summary: `CUDA libraries missing (${names.join(', ')})`,
      explanation:
        `The CUDA execution provider is installed in ${providerDir} but needs libraries that cannot be found: ${names.join(', ')}. ` +
        `Install ${installAdvice(names)}, then point the setting loraStudio.cuda.libraryPath (or LD_LIBRARY_PATH) at the folder that holds them.`,
    };
  }
  if (gpus.length === 0 && smi === undefined) {
    return { usable: false, providerDir, missing: [], gpus, summary: 'no NVIDIA driver', explanation: 'The CUDA provider is installed, but no NVIDIA driver answered (nvidia-smi not found): install the NVIDIA driver.' };
  }
  if (gpus.length === 0) {
    return { usable: false, providerDir, missing: [], gpus, summary: 'no GPU', explanation: 'The CUDA provider is installed, but nvidia-smi lists no GPU.' };
  }
  return { usable: true, providerDir, missing: [], gpus, summary: '', explanation: '' };
}

export interface ResolvedDevice {
  provider: 'cpu' | 'cuda';
  deviceId: number;
  /** Shown to the user when `auto` fell back to the CPU, with the reason. */
  notice?: string;
}

/** auto → CUDA when usable, else CPU with a visible notice; explicit cuda fails with the explanation. */
export function resolveDevice(choice: DeviceChoice, discovery: CudaDiscovery): ResolvedDevice {
  if (choice === 'cpu') return { provider: 'cpu', deviceId: 0 };
  const requested = choice === 'auto' || choice === 'cuda' ? 0 : Number(choice.slice('cuda:'.length));
  if (!discovery.usable) {
    // One line: the full explanation is `lora-studio doctor`'s (and the error of an explicit --device cuda).
    if (choice === 'auto') return { provider: 'cpu', deviceId: 0, notice: `Training on the CPU: ${discovery.summary} (\`lora-studio doctor\` says how to enable CUDA).` };
    throw new UserError(`CUDA was requested (--device ${choice}) but cannot be used`, { fix: discovery.explanation, code: 'cuda-unavailable' });
  }
  if (!discovery.gpus.some((gpu) => gpu.index === requested)) {
    const list = discovery.gpus.map((gpu) => `cuda:${gpu.index} (${gpu.name})`).join(', ');
    throw new UserError(`GPU ${requested} does not exist`, { fix: `choose one of: ${list}`, code: 'cuda-no-such-gpu' });
  }
  return { provider: 'cuda', deviceId: requested };
}
