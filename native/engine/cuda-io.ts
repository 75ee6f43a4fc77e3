// The real-system side of CUDA discovery: file checks, ELF reading, `ldconfig -p` and `nvidia-smi`.
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { DiscoveryIo } from './cuda-discovery';
import { readElfDynamicInfo } from './elf-needed';

function run(command: string, args: string[]): string | undefined {
  try {
    return execFileSync(command, args, { encoding: 'utf8', timeout: 5000, stdio: ['ignore', 'pipe', 'ignore'] });
  } catch {
    return undefined;
  }
}

/** The folder of onnxruntime-node's binding for this platform (bin/napi-v6/<platform>/<arch>). */
export function onnxruntimeBindingDir(): string {
  const packageJson = require.resolve('onnxruntime-node/package.json');
  return join(dirname(packageJson), 'bin', 'napi-v6', process.platform, process.arch);
}

export function systemDiscoveryIo(libraryPath?: string): DiscoveryIo {
  return {
    platform: process.platform,
    bindingDir: onnxruntimeBindingDir(),
    libraryPath: libraryPath || process.env.LORA_STUDIO_CUDA_LIBRARY_PATH || undefined,
    ldLibraryPath: (process.env.LD_LIBRARY_PATH ?? '').split(':').filter((p) => p !== ''),
    exists: existsSync,
    needed: (path) => {
      try {
        return readElfDynamicInfo(path).needed;
      } catch {
        return [];
      }
    },
    loaderCache: () =>
      (run('ldconfig', ['-p']) ?? run('/sbin/ldconfig', ['-p']) ?? '')
        .split('\n')
        .map((line) => /^\s*(\S+)\s+\(/.exec(line)?.[1])
        .filter((name): name is string => name !== undefined),
    nvidiaSmi: () => run('nvidia-smi', ['--query-gpu=index,name,memory.total,memory.free', '--format=csv,noheader,nounits']),
  };
}
