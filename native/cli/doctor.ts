// lora-studio doctor [--json]: what this machine can train with — onnxruntime-node's version and providers, the CUDA
// diagnosis (which library is missing and how to install it), the GPUs, the device `auto` picks, and an engine
// self-check (a LoRA layer's gradients against finite differences on the CPU) and a float64 gradient check of every
// rule in the engine's table.
import type { Command } from 'commander';
import * as ort from 'onnxruntime-node';
import { discoverCuda, resolveDevice } from '../engine/cuda-discovery';
import { systemDiscoveryIo } from '../engine/cuda-io';
import { engineSelfCheck } from '../engine/self-check';
import { runGradchecks, type GradcheckSummary } from '../engine/gradcheck-cases';

export interface DoctorReport {
  node: string;
  platform: string;
  onnxruntime: string;
  providers: { name: string; bundled: boolean }[];
  cuda: ReturnType<typeof discoverCuda>;
  auto: { provider: string; deviceId: number; notice?: string };
  selfCheck: Awaited<ReturnType<typeof engineSelfCheck>>;
  /** Every gradient rule against float64 central differences (issue 4's {ops, max_rel_err, failed}). */
  gradcheck: GradcheckSummary;
}

export async function doctorReport(libraryPath?: string): Promise<DoctorReport> {
  const cuda = discoverCuda(systemDiscoveryIo(libraryPath));
  const onnxruntime = (require('onnxruntime-node/package.json') as { version: string }).version;
  return {
    node: process.version,
    platform: `${process.platform}-${process.arch}`,
    onnxruntime,
    providers: ort.listSupportedBackends().map(({ name, bundled }) => ({ name, bundled })),
    cuda,
    auto: resolveDevice('auto', cuda),
    selfCheck: await engineSelfCheck(),
    gradcheck: await runGradchecks(),
  };
}

export function formatDoctor(report: DoctorReport): string {
  const yes = (ok: boolean) => (ok ? 'ok ' : 'NO ');
  const lines = [
    `Node ${report.node} on ${report.platform}; onnxruntime-node ${report.onnxruntime}`,
    `providers: ${report.providers.map((p) => `${p.name}${p.bundled ? '' : ' (needs its libraries)'}`).join(', ')}`,
    `${yes(report.cuda.usable)} CUDA${report.cuda.providerDir ? ` provider in ${report.cuda.providerDir}` : ''}`,
    ...report.cuda.gpus.map((gpu) => `    cuda:${gpu.index} ${gpu.name}, ${gpu.memoryFreeMb.toLocaleString('en-US')} of ${gpu.memoryTotalMb.toLocaleString('en-US')} MiB free`),
    ...(report.cuda.usable ? [] : [`    ${report.cuda.explanation}`]),
    `device auto → ${report.auto.provider === 'cuda' ? `cuda:${report.auto.deviceId}` : 'CPU'}`,
    `${yes(report.selfCheck.ok)} engine self-check (${report.selfCheck.ms.toFixed(0)} ms): ${report.selfCheck.message}`,
    `${yes(report.gradcheck.failed.length === 0)} gradient rules: ${report.gradcheck.ops} checked in float64, max relative error ${report.gradcheck.max_rel_err.toExponential(1)}`,
    ...report.gradcheck.failed.map((f) => `    failed: ${f} — please report this`),
  ];
  return lines.join('\n');
}

export function register(program: Command): void {
  program
    .command('doctor')
    .description('check onnxruntime, the CUDA provider and GPUs, and run an engine self-check')
    .option('--json', 'print the report as one JSON object', false)
    .option('--cuda-library-path <dir>', 'a folder holding the onnxruntime CUDA provider libraries')
    .action(async (flags: { json?: boolean; cudaLibraryPath?: string }) => {
      const report = await doctorReport(flags.cudaLibraryPath);
      process.stdout.write((flags.json ? JSON.stringify(report) : formatDoctor(report)) + '\n');
      if (!report.selfCheck.ok || report.gradcheck.failed.length > 0) process.exitCode = 1;
    });
}
