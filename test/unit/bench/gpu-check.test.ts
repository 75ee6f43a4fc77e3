// The GPU check's pieces that run without a GPU: the ORT profile checker (bench/gpu/check-profile.cjs), the profiling
// preload (bench/gpu/ort-profile.cjs) on a real CPU session, the fatbin pruner (bench/gpu/prune-fatbin.py) on a
// synthetic ELF, and the shell scripts' syntax and offline promise (check.sh never calls npm).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as ort from 'onnxruntime-node';
import { OnnxGraphSink } from '../../../native/engine/onnx-export';
import { createSession } from '../../../native/engine/session';

const requireHere = createRequire(__filename);
const { summarizeProfile, checkProfiles } = requireHere('../../../bench/gpu/check-profile.cjs') as {
  summarizeProfile(events: unknown, expected: string): { runs: number; nodes: number; providers: Record<string, number>; unexpected: Record<string, { runs: number; nodes: string[] }>; memcpy: number };
  checkProfiles(files: string[], expected: string): { ok: boolean; runs: number; problems: string[] };
};

const nodeEvent = (node: string, op: string, provider: string) => ({ cat: 'Node', name: `${node}_kernel_time`, ph: 'X', args: { op_name: op, provider } });
const fence = (node: string) => ({ cat: 'Node', name: `${node}_fence_before`, ph: 'X', args: { op_name: 'MatMul' } });
const session = { cat: 'Session', name: 'session_initialization', ph: 'X', args: {} };

function checkCli(args: string[]) {
  return spawnSync(process.execPath, ['bench/gpu/check-profile.cjs', ...args], { encoding: 'utf8' });
}

test('check-profile counts node runs per provider and lists the ones off the expected provider, by op', () => {
  const events = [session, fence('mm'), nodeEvent('mm', 'MatMul', 'CUDAExecutionProvider'), nodeEvent('mm', 'MatMul', 'CUDAExecutionProvider'),
    nodeEvent('shape_1', 'Shape', 'CPUExecutionProvider'), nodeEvent('copy', 'MemcpyToHost', 'CUDAExecutionProvider')];
  const summary = summarizeProfile(events, 'CUDAExecutionProvider');
  assert.equal(summary.runs, 4);
  assert.equal(summary.nodes, 3);
  assert.deepEqual(summary.providers, { CUDAExecutionProvider: 3, CPUExecutionProvider: 1 });
  assert.deepEqual(summary.unexpected, { 'Shape on CPUExecutionProvider': { runs: 1, nodes: ['shape_1'] } });
  assert.equal(summary.memcpy, 1);
  assert.throws(() => summarizeProfile({ traceEvents: [] }, 'CPUExecutionProvider'), /JSON array/);
});

test('check-profile exits 0 when every node ran on the provider, 1 on a fallback or no node events, 2 on unreadable input', () => {
  const dir = mkdtempSync(join(tmpdir(), 'check-profile-'));
  const write = (name: string, content: unknown) => {
    writeFileSync(join(dir, name), typeof content === 'string' ? content : JSON.stringify(content));
    return join(dir, name);
  };
  const good = write('good.json', [session, nodeEvent('mm', 'MatMul', 'CUDAExecutionProvider')]);
  const fallback = write('fallback.json', [nodeEvent('mm', 'MatMul', 'CUDAExecutionProvider'), nodeEvent('loss', 'SoftmaxCrossEntropyLoss', 'CPUExecutionProvider')]);
  const empty = write('empty.json', [session]);
  const torn = write('torn.json', '[{"cat": "Node"');

  const ok = checkCli(['--expect', 'CUDAExecutionProvider', '--summary', join(dir, 'summary.json'), good]);
  assert.equal(ok.status, 0, ok.stdout + ok.stderr);
  assert.match(ok.stdout, /profile check ok: all 1 node runs in 1 profile\(s\) on CUDAExecutionProvider/);
  assert.equal(JSON.parse(readFileSync(join(dir, 'summary.json'), 'utf8')).ok, true);

  const failed = checkCli(['--expect', 'CUDAExecutionProvider', good, fallback]);
  assert.equal(failed.status, 1);
  assert.match(failed.stdout, /fallback\.json: SoftmaxCrossEntropyLoss on CPUExecutionProvider \(1 runs; e\.g\. loss\)/);

  const nothing = checkCli(['--expect', 'CUDAExecutionProvider', empty]);
  assert.equal(nothing.status, 1);
  assert.match(nothing.stdout, /no node events/);

  assert.equal(checkCli(['--expect', 'CUDAExecutionProvider', torn]).status, 2);
  assert.equal(checkCli([good]).status, 2);
});

test('the profiling preload makes every session write a profile that check-profile reads (real CPU session)', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'ort-profile-'));
  process.env.LORA_GPU_PROFILE_PREFIX = join(dir, 'prof', 'ort');
  requireHere('../../../bench/gpu/ort-profile.cjs');
  for (let i = 0; i < 2; i += 1) {
    // Two sessions made milliseconds apart: each needs a profile of its own.
    const g = new OnnxGraphSink('float32', () => {
      throw new Error('no weights');
    });
    const x = g.input('x', 'float', [4]);
    g.output('y', g.op('Relu', [g.op('Add', [x, x])]));
    const s = await createSession({ bytes: g.toBytes() }, {});
    const out = await s.run({ x: new ort.Tensor('float32', Float32Array.from([-1, 0, 1, 2]), [4]) });
    assert.deepEqual(Array.from(out.y.data as Float32Array), [0, 0, 2, 4]);
    await s.release();
  }
  const files = readdirSync(join(dir, 'prof')).filter((f) => f.endsWith('.json')).map((f) => join(dir, 'prof', f));
  assert.equal(files.length, 2, `profiles: ${files.join(', ')}`);
  const cpu = checkProfiles(files, 'CPUExecutionProvider');
  assert.ok(cpu.ok, cpu.problems.join('; '));
  assert.equal(cpu.runs, 4);
  const cuda = checkProfiles(files, 'CUDAExecutionProvider');
  assert.equal(cuda.ok, false);
  assert.ok(cuda.problems.some((p) => /Relu on CPUExecutionProvider/.test(p)), cuda.problems.join('; '));
});

/** A minimal ELF64 with a .nv_fatbin section: two fatbins (sm_80 + sm_90 cubins, then sm_90 alone), 8 bytes apart. */
function syntheticCudaLibrary(): { elf: Buffer; payloads: { sm: number; offset: number; size: number; fill: number }[] } {
  const entry = (sm: number, fill: number, size: number) => {
    const header = Buffer.alloc(64);
    header.writeUInt16LE(2, 0); // cubin
    header.writeUInt32LE(64, 4);
    header.writeBigUInt64LE(BigInt(size), 8);
    header.writeUInt32LE(sm, 28);
    return { header, payload: Buffer.alloc(size, fill), sm, fill };
  };
  const fatbin = (entries: ReturnType<typeof entry>[]) => {
    const body = Buffer.concat(entries.flatMap((e) => [e.header, e.payload]));
    const header = Buffer.alloc(16);
    header.writeUInt32LE(0xba55ed50, 0);
    header.writeUInt16LE(1, 4);
    header.writeUInt16LE(16, 6);
    header.writeBigUInt64LE(BigInt(body.length), 8);
    return Buffer.concat([header, body]);
  };
  const first = [entry(80, 0xab, 40), entry(90, 0xcd, 24)];
  const second = [entry(90, 0xef, 16)];
  const section = Buffer.concat([fatbin(first), Buffer.alloc(8), fatbin(second)]);
  const names = Buffer.from('\0.nv_fatbin\0.shstrtab\0');
  const sectionAt = 64, namesAt = sectionAt + section.length, headersAt = Math.ceil((namesAt + names.length) / 8) * 8;
  const elf = Buffer.alloc(headersAt + 3 * 64);
  Buffer.from([0x7f, 0x45, 0x4c, 0x46, 2, 1, 1]).copy(elf, 0);
  elf.writeBigUInt64LE(BigInt(headersAt), 0x28);
  elf.writeUInt16LE(64, 0x3a);
  elf.writeUInt16LE(3, 0x3c);
  elf.writeUInt16LE(2, 0x3e);
  section.copy(elf, sectionAt);
  names.copy(elf, namesAt);
  const sectionHeader = (index: number, name: number, offset: number, size: number) => {
    const at = headersAt + index * 64;
    elf.writeUInt32LE(name, at);
    elf.writeUInt32LE(1, at + 4); // PROGBITS
    elf.writeBigUInt64LE(BigInt(offset), at + 24);
    elf.writeBigUInt64LE(BigInt(size), at + 32);
  };
  sectionHeader(1, 1, sectionAt, section.length);
  sectionHeader(2, 12, namesAt, names.length);
  const payloads: { sm: number; offset: number; size: number; fill: number }[] = [];
  let at = sectionAt + 16;
  for (const e of first) {
    payloads.push({ sm: e.sm, offset: at + 64, size: e.payload.length, fill: e.fill });
    at += 64 + e.payload.length;
  }
  at += 8 + 16;
  for (const e of second) payloads.push({ sm: e.sm, offset: at + 64, size: e.payload.length, fill: e.fill });
  return { elf, payloads };
}

test('prune-fatbin.py zeroes the other architectures\' cubins in place and keeps sm_90 byte for byte', (t) => {
  if (spawnSync('python3', ['--version']).status !== 0) {
    t.skip('python3 is not installed (prepare.sh needs it; this test does too)');
    return;
  }
  const dir = mkdtempSync(join(tmpdir(), 'prune-fatbin-'));
  const { elf, payloads } = syntheticCudaLibrary();
  writeFileSync(join(dir, 'in.so'), elf);
  const run = spawnSync('python3', ['bench/gpu/prune-fatbin.py', join(dir, 'in.so'), join(dir, 'out.so'), '--keep-sm', '90'], { encoding: 'utf8' });
  assert.equal(run.status, 0, run.stderr);
  assert.match(run.stderr, /3 entries; kept cubin sm_90 0\.0 MB; zeroed sm_80/);
  const out = readFileSync(join(dir, 'out.so'));
  assert.equal(out.length, elf.length);
  const expected = Buffer.from(elf);
  for (const p of payloads) if (p.sm !== 90) expected.fill(0, p.offset, p.offset + p.size);
  assert.ok(out.equals(expected), 'only the sm_80 payload changes, to zeros');
  assert.ok(payloads.filter((p) => p.sm === 90).every((p) => out.subarray(p.offset, p.offset + p.size).every((b) => b === p.fill)));

  const none = spawnSync('python3', ['bench/gpu/prune-fatbin.py', join(dir, 'in.so'), join(dir, 'none.so'), '--keep-sm', '100'], { encoding: 'utf8' });
  assert.notEqual(none.status, 0);
  assert.match(none.stderr, /no sm_100 cubin/);
});

test('bench/gpu/check.sh and prepare.sh parse, and check.sh never calls npm (it runs offline)', () => {
  for (const script of ['bench/gpu/check.sh', 'bench/gpu/prepare.sh']) {
    const syntax = spawnSync('bash', ['-n', script], { encoding: 'utf8' });
    assert.equal(syntax.status, 0, `${script}: ${syntax.stderr}`);
  }
  const code = readFileSync('bench/gpu/check.sh', 'utf8').split('\n').filter((line) => !/^\s*#/.test(line));
  assert.deepEqual(code.filter((line) => /\b(npm|npx|curl|wget|pip)\b/.test(line)), []);
});
