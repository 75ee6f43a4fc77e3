import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';

test('doctor --json reports the runtime, the CUDA diagnosis, the auto device and a passing engine self-check', () => {
  const result = spawnSync(process.execPath, ['dist/cli.js', 'doctor', '--json'], { encoding: 'utf8' });
  assert.equal(result.status, 0, result.stderr);
  const report = JSON.parse(result.stdout);
  assert.equal(report.onnxruntime, '1.30.0');
  assert.ok(report.providers.some((p: { name: string }) => p.name === 'cpu'));
  assert.equal(report.selfCheck.ok, true);
  assert.ok(report.selfCheck.maxError < 1e-6);
  // Every gradient rule checked in float64 (the shape issue 4 asks for).
  assert.deepEqual(report.gradcheck.failed, []);
  assert.ok(report.gradcheck.ops >= 30, `only ${report.gradcheck.ops} rules checked`);
  assert.ok(report.gradcheck.max_rel_err > 0 && report.gradcheck.max_rel_err <= 1e-6);
  // Either CUDA is usable, or auto falls back to the CPU saying why.
  if (!report.cuda.usable) {
    assert.equal(report.auto.provider, 'cpu');
    assert.match(report.auto.notice, /Training on the CPU: .+/);
  }
});
