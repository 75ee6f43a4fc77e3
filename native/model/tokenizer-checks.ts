// Is the tokenizer the model's? tokenizer.json is checked against config.json (and generation_config.json) before a
// model is used: a token id past vocab_size has no embedding row (onnxruntime's Gather reads out of range or fails
// mid-run), and a vocabulary cut down to a few tokens trains and generates garbage without an error anywhere.
//
// config.json's vocab_size may be larger than the tokenizer: checkpoints pad the embedding to a multiple of 64 or 128
// (Qwen2.5: 151,665 tokens, vocab_size 151,936; nanoGPT pads GPT-2's 50,257 to 50,304), and those rows are simply
// never produced. What is refused is what cannot be padding: ids ≥ vocab_size, a tokenizer knowing fewer than half of
// vocab_size's ids, and an EOS/BOS id of config.json or generation_config.json that the tokenizer does not have.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { UserError } from '../util/errors';

/** A tokenizer knowing fewer ids than this fraction of vocab_size was cut down (padding is a few percent at most). */
export const MIN_VOCAB_COVERAGE = 0.5;

/** What the checks need from config.json and generation_config.json. */
export interface VocabExpectations {
  vocab_size: number;
  bos_token_id?: number;
  eos_token_id?: number | number[];
  /** generation_config.json's eos_token_id. */
  generation_eos?: number | number[];
}

type Json = Record<string, unknown>;
const isObject = (value: unknown): value is Json => typeof value === 'object' && value !== null && !Array.isArray(value);

/** Every (token, id) of tokenizer.json: model.vocab (an object, or Unigram's list where the index is the id) and added_tokens. */
function tokenIds(tokenizer: Json): { base: Array<[string, unknown]>; added: Array<[string, unknown]> } {
  const model = isObject(tokenizer.model) ? tokenizer.model : {};
  const vocab = model.vocab;
  const base: Array<[string, unknown]> = Array.isArray(vocab)
    ? vocab.map((entry, id) => [String(Array.isArray(entry) ? entry[0] : entry), id])
    : isObject(vocab) ? Object.entries(vocab) : [];
  const added: Array<[string, unknown]> = Array.isArray(tokenizer.added_tokens)
    ? tokenizer.added_tokens.map((t) => [String(isObject(t) ? t.content : t), isObject(t) ? t.id : undefined])
    : [];
  return { base, added };
}

/** The problems of a parsed tokenizer.json against the model's config; empty when it is sane. */
export function tokenizerProblems(tokenizer: Json, expected: VocabExpectations): string[] {
  const { base, added } = tokenIds(tokenizer);
  const problems: string[] = [];
  const known = new Set<number>();
  const past: string[] = [];
  let pastCount = 0;
  let largest = -1;
  for (const [where, list] of [['model.vocab', base], ['added_tokens', added]] as const) {
    for (const [token, id] of list) {
      if (typeof id !== 'number' || !Number.isSafeInteger(id) || id < 0) {
        problems.push(`${where} gives ${JSON.stringify(token)} the id ${JSON.stringify(id)}, not a whole number ≥ 0`);
        continue;
      }
      largest = Math.max(largest, id);
      if (id >= expected.vocab_size) {
        if (pastCount++ < 3) past.push(`${JSON.stringify(token)} = ${id}`);
        continue;
      }
      known.add(id);
    }
  }
  if (pastCount > 0) {
    problems.push(`${pastCount.toLocaleString('en-US')} token id(s) are ≥ config.json's vocab_size ${expected.vocab_size.toLocaleString('en-US')} (${past.join(', ')}${pastCount > 3 ? ', …' : ''}; the largest is ${largest.toLocaleString('en-US')}): the embedding has no row for them`);
  }
  if (known.size < MIN_VOCAB_COVERAGE * expected.vocab_size) {
    problems.push(`it knows ${known.size.toLocaleString('en-US')} token ids (${base.length.toLocaleString('en-US')} in model.vocab, ${added.length.toLocaleString('en-US')} added) but config.json's vocab_size is ${expected.vocab_size.toLocaleString('en-US')}: the vocabulary was cut down, or the files are of different models`);
  }
  const special: Array<[string, number | number[] | undefined]> = [
    ['config.json eos_token_id', expected.eos_token_id], ['config.json bos_token_id', expected.bos_token_id],
    ['generation_config.json eos_token_id', expected.generation_eos],
  ];
  for (const [field, value] of special) {
    if (value === undefined) continue;
    const missing = (Array.isArray(value) ? value : [value]).filter((id) => !known.has(id));
    if (missing.length > 0) problems.push(`${field} ${JSON.stringify(value)}: ${missing.join(', ')} ${missing.length === 1 ? 'is not a token' : 'are not tokens'} of tokenizer.json`);
  }
  return problems;
}

/** Refuses a model folder whose tokenizer.json does not fit its config.json (see the header), naming the numbers. */
export function checkTokenizerVocab(dir: string, expected: VocabExpectations): void {
  const file = join(dir, 'tokenizer.json');
  // Parsed again here (tokenizer.ts owns loading it): tens of milliseconds once per model load.
  const tokenizer = JSON.parse(readFileSync(file, 'utf8')) as unknown;
  const problems = isObject(tokenizer) ? tokenizerProblems(tokenizer, expected) : ['it is not a JSON object'];
  if (problems.length === 0) return;
  throw new UserError(`tokenizer.json does not fit config.json: ${problems.join('; ')}`, {
    where: { file },
    fix: `use the tokenizer.json, config.json and generation_config.json of one model (download them again from the model's repository)`,
  });
}
