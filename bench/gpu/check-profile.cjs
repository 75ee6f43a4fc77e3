#!/usr/bin/env node
// Checks ONNX Runtime profiles: every node that ran must have run on the expected execution provider.
//   node bench/gpu/check-profile.cjs --expect CUDAExecutionProvider [--summary FILE.json] PROFILE.json…
// ORT's profile (SessionOptions.enableProfiling) is a JSON array of trace events. A node's run is an event with
// cat "Node", name "<node>_kernel_time" and args { op_name, provider, … } (its "_fence_before/_after" events carry no
// provider and are skipped). Any node event on another provider (a CPU fallback: an op without a kernel of the
// expected provider, or one ORT placed on the CPU on purpose) fails the check, listed by op and provider with example
// node names. No node events at all also fails: profiling did not work, so nothing was verified.
// Exit status: 0 ok, 1 check failed, 2 usage or unreadable profile.
'use strict';

const { readFileSync, writeFileSync } = require('node:fs');
const { basename } = require('node:path');

/** Tallies one profile's node events: runs per provider, and per unexpected (provider, op) a count and examples. */
function summarizeProfile(events, expected) {
  if (!Array.isArray(events)) throw new Error('not an ONNX Runtime profile (expected a JSON array of trace events)');
  const providers = {};
  const unexpected = {};
  const nodes = new Set();
  let memcpy = 0;
  for (const event of events) {
    if (!event || event.cat !== 'Node' || !event.args || typeof event.args.provider !== 'string') continue;
    const { provider, op_name: op = '?' } = event.args;
    const node = String(event.name).replace(/_kernel_time$/, '');
    nodes.add(node);
    providers[provider] = (providers[provider] ?? 0) + 1;
    if (/^Memcpy/.test(op)) memcpy += 1;
    if (provider !== expected) {
      const key = `${op} on ${provider}`;
      const entry = (unexpected[key] ??= { runs: 0, nodes: [] });
      entry.runs += 1;
      if (entry.nodes.length < 3 && !entry.nodes.includes(node)) entry.nodes.push(node);
    }
  }
  const runs = Object.values(providers).reduce((a, b) => a + b, 0);
  return { runs, nodes: nodes.size, providers, unexpected, memcpy };
}

function checkProfiles(files, expected) {
  const perFile = files.map((file) => ({ file: basename(file), ...summarizeProfile(JSON.parse(readFileSync(file, 'utf8')), expected) }));
  const runs = perFile.reduce((sum, f) => sum + f.runs, 0);
  const problems = perFile.flatMap((f) => Object.entries(f.unexpected).map(([key, v]) => `${f.file}: ${key} (${v.runs} runs; e.g. ${v.nodes.join(', ')})`));
  if (runs === 0) problems.push('no node events in any profile: profiling was not enabled, or nothing ran');
  return { expected, files: perFile.length, runs, ok: problems.length === 0, problems, perFile };
}

function main(argv) {
  const files = [];
  let expected, summaryPath;
  for (let i = 0; i < argv.length; i += 1) {
    if (argv[i] === '--expect') expected = argv[++i];
    else if (argv[i] === '--summary') summaryPath = argv[++i];
    else files.push(argv[i]);
  }
  if (!expected || files.length === 0) {
    process.stderr.write('usage: check-profile.cjs --expect PROVIDER [--summary FILE.json] PROFILE.json…\n');
    return 2;
  }
  let result;
  try {
    result = checkProfiles(files, expected);
  } catch (error) {
    process.stderr.write(`check-profile: ${error instanceof Error ? error.message : String(error)}\n`);
    return 2;
  }
  if (summaryPath) writeFileSync(summaryPath, JSON.stringify(result, null, 2) + '\n');
  for (const f of result.perFile) {
    const providers = Object.entries(f.providers).map(([p, n]) => `${p} ${n}`).join(', ') || 'none';
    process.stdout.write(`  ${f.file}: ${f.nodes} nodes, ${f.runs} node runs (${providers})${f.memcpy ? `, ${f.memcpy} Memcpy runs` : ''}\n`);
  }
  if (result.ok) {
    process.stdout.write(`profile check ok: all ${result.runs} node runs in ${result.files} profile(s) on ${expected}\n`);
    return 0;
  }
  process.stdout.write(`profile check FAILED: ${result.problems.length} problem(s), expected every node on ${expected}:\n`);
  for (const problem of result.problems) process.stdout.write(`  ${problem}\n`);
  return 1;
}

module.exports = { summarizeProfile, checkProfiles };
if (require.main === module) process.exitCode = main(process.argv.slice(2));
