// The devices the training panel offers: each NVIDIA GPU with its free memory, and the CPU with free RAM.
// The host must not load native/engine (onnxruntime), so it asks nvidia-smi directly — the same query
// cuda-discovery uses — rather than spawning `lora-studio doctor --json`: a ~50 ms query gives fresh free memory
// every time the panel opens or Refresh is pressed, without starting Node and onnxruntime's bindings.
import { execFile } from 'node:child_process';
import { freemem, totalmem, cpus } from 'node:os';
import type { DeviceInfo } from '../../webview/protocol';

const MIB = 1024 * 1024;
export const NVIDIA_SMI_ARGS = ['--query-gpu=index,name,memory.total,memory.free', '--format=csv,noheader,nounits'];

/** Parses `nvidia-smi --query-gpu=index,name,memory.total,memory.free --format=csv,noheader,nounits`. */
export function parseGpus(output: string): DeviceInfo[] {
  const gpus: DeviceInfo[] = [];
  for (const line of output.split('\n')) {
    const parts = line.split(',').map((p) => p.trim());
    if (parts.length < 4 || !/^\d+$/.test(parts[0])) continue;
    // A GPU name may itself contain commas: the last two fields are the numbers.
    const total = Number(parts[parts.length - 2]);
    const free = Number(parts[parts.length - 1]);
    const name = parts.slice(1, -2).join(', ');
    gpus.push({
      id: `cuda:${Number(parts[0])}`,
      label: `${name} (cuda:${parts[0]})`,
      ...(Number.isFinite(total) ? { totalBytes: total * MIB } : {}),
      ...(Number.isFinite(free) ? { freeBytes: free * MIB } : {}),
    });
  }
  return gpus;
}

export function cpuDevice(): DeviceInfo {
  return { id: 'cpu', label: `CPU (${cpus().length} cores)`, freeBytes: freemem(), totalBytes: totalmem() };
}

/** GPUs (none when nvidia-smi is missing or fails within 5 s) followed by the CPU. */
export function listDevices(run: (file: string, args: string[]) => Promise<string> = execText): Promise<DeviceInfo[]> {
  return run('nvidia-smi', NVIDIA_SMI_ARGS).then(parseGpus, () => []).then((gpus) => [...gpus, cpuDevice()]);
}

function execText(file: string, args: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(file, args, { timeout: 5000, windowsHide: true }, (error, stdout) => (error ? reject(error) : resolve(stdout)));
  });
}
