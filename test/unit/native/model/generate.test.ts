// KV-cache generation (native/model/generate.ts) against the float64 reference: greedy tokens equal the argmax of a
// full reference forward at every step, with an unmerged LoRA adapter; sampling is seeded and respects top-p.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { KvDecoder, generateIds, sampleToken, uniformRandom, type DecoderLora } from '../../../../native/model/generate';
import { randomWeights, referenceLogits, seededRandom } from './llama-reference';
import { TINY_CONFIGS } from './tiny-configs';

function argmax(x: ArrayLike<number>): number {
  let best = 0;
  for (let i = 1; i < x.length; i++) if (x[i] > x[best]) best = i;
  return best;
}

for (const arch of ['qwen2', 'llama', 'qwen3'] as const) {
  test(`generate (${arch}, float64, LoRA): KV-cache logits and greedy ids equal the reference step by step`, async () => {
    const config = TINY_CONFIGS[arch];
    const w = randomWeights(config, 7);
    const rnd = seededRandom(8), r = 2, E = config.hidden_size, qOut = config.num_attention_heads * config.head_dim;
    const site = 'model.layers.1.self_attn.q_proj';
    const A = Float64Array.from({ length: r * E }, () => rnd()), B = Float64Array.from({ length: qOut * r }, () => rnd());
    const lora: DecoderLora = { r, scaling: 2, weights: new Map([[site, { A: Float32Array.from(A), B: Float32Array.from(B), in: E, out: qOut }]]) };
    // The decoder receives float32 LoRA tensors: the reference uses the same rounded values.
    const refLora = { r, scaling: 2, weights: new Map([[site, { A: Float64Array.from(Float32Array.from(A)), B: Float64Array.from(Float32Array.from(B)) }]]) };
    const spec = { config, dtype: 'float64' as const, lora, weights: (name: string) => ({ kind: 'data' as const, data: w.get(name)! }) };
    const prompt = [3, 1, 4, 1, 5];
    const got: number[] = [];
    for await (const id of generateIds(spec, prompt, { maxNewTokens: 8, temperature: 0, topP: 1, seed: 0, stopIds: [] })) got.push(id);
    const seq = [...prompt];
    const want: number[] = [];
    for (let n = 0; n < 8; n++) {
      const logits = referenceLogits(config, w, [seq], [seq.map(() => 1)], refLora);
      const id = argmax(logits.subarray((seq.length - 1) * config.vocab_size, seq.length * config.vocab_size));
      want.push(id);
      seq.push(id);
    }
    assert.deepEqual(got, want);
    // Logits, not just argmaxes: every cached step matches a full reference forward.
    const decoder = await KvDecoder.create(spec, prompt.length, seq.length);
    try {
      let logits = await decoder.prefill(prompt);
      for (let n = 0; n < 8; n++) {
        const full = referenceLogits(config, w, [seq.slice(0, prompt.length + n)], [seq.slice(0, prompt.length + n).map(() => 1)], refLora);
        const last = full.subarray((prompt.length + n - 1) * config.vocab_size);
        let worst = 0;
        for (let v = 0; v < config.vocab_size; v++) worst = Math.max(worst, Math.abs(logits[v] - last[v]));
        assert.ok(worst < 1e-9, `step ${n}: max |Δlogit| ${worst}`);
        logits = await decoder.next(seq[prompt.length + n]);
      }
    } finally {
      await decoder.dispose();
    }
  });
}

test('generate: stops at a stop id and never yields it', async () => {
  const config = TINY_CONFIGS.mistral;
  const w = randomWeights(config, 9);
  const spec = { config, dtype: 'float32' as const, weights: (name: string) => ({ kind: 'data' as const, data: w.get(name)! }) };
  const all: number[] = [];
  for await (const id of generateIds(spec, [1, 2, 3], { maxNewTokens: 6, temperature: 0, topP: 1, seed: 0, stopIds: [] })) all.push(id);
  const stop = all[2];
  const cut: number[] = [];
  for await (const id of generateIds(spec, [1, 2, 3], { maxNewTokens: 6, temperature: 0, topP: 1, seed: 0, stopIds: [stop] })) cut.push(id);
  assert.deepEqual(cut, all.slice(0, all.indexOf(stop)));
});

test('sampleToken: greedy at temperature 0; top-p keeps only the nucleus; seeded', () => {
  const logits = [0, 5, 4.9, -3];
  assert.equal(sampleToken(logits, 0, 1, uniformRandom(1)), 1);
  const rand = uniformRandom(42);
  const seen = new Set<number>();
  for (let i = 0; i < 200; i++) seen.add(sampleToken(logits, 1, 0.9, rand));
  assert.deepEqual([...seen].sort(), [1, 2]);
  const a = uniformRandom(5), b = uniformRandom(5);
  assert.equal(sampleToken(logits, 2, 1, a), sampleToken(logits, 2, 1, b));
});
