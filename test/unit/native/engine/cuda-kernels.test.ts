import { test } from 'node:test';
import assert from 'node:assert/strict';
import { auditForCuda, CUDA_KERNELS_OPSET17 } from '../../../../native/engine/cuda-kernels';

test('the loss built from LogSoftmax + GatherElements in float32 passes; SoftmaxCrossEntropyLoss is refused with its replacement', () => {
  assert.deepEqual(auditForCuda([{ op: 'LogSoftmax', type: 'float' }, { op: 'GatherElements', type: 'float' }, { op: 'ReduceSum', type: 'float' }]), []);
  const [problem] = auditForCuda([{ op: 'SoftmaxCrossEntropyLoss', type: 'float', name: 'loss' }]);
  assert.equal(problem.node, 'loss');
  assert.match(problem.reason, /LogSoftmax \+ GatherElements/);
});

test('bf16 is accepted where a kernel exists (MatMul, Cast, Add) and refused where none does (ReduceMean, LogSoftmax, Where)', () => {
  assert.deepEqual(auditForCuda(['MatMul', 'Cast', 'Add', 'Softmax', 'Transpose'].map((op) => ({ op, type: 'bfloat16' as const }))), []);
  const refused = auditForCuda(['ReduceMean', 'LogSoftmax', 'Where', 'Sqrt'].map((op) => ({ op, type: 'bfloat16' as const }))).map((p) => p.op);
  assert.deepEqual(refused, ['ReduceMean', 'LogSoftmax', 'Where', 'Sqrt']);
});

test('unknown ops are reported, not ignored', () => {
  assert.equal(auditForCuda([{ op: 'MadeUpOp', type: 'float' }]).length, 1);
});

test('the table resolves opset-17 schemas: no entry claims a since-version above 17', () => {
  for (const [op, kernel] of Object.entries(CUDA_KERNELS_OPSET17)) assert.ok(kernel.since <= 17, `${op} since ${kernel.since}`);
});
