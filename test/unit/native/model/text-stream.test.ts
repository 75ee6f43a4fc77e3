// Tests of native/model/text-stream.ts with the real Qwen tokenizer (test/fixtures/tiny-model): multi-byte characters
// split across byte tokens never reach a piece as U+FFFD, the pieces always concatenate to the decode of all ids, and
// clean_up_tokenization_spaces cannot take back text already streamed.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createTokenizer, type TextTokenizer } from '../../../../native/model/tokenizer';
import { TextStream, unstableTailStart } from '../../../../native/model/text-stream';
import { qwenTokenizerFiles } from '../../../fixtures/tiny-model/tokenizer-files';

function tokenizer(vocab: number | 'full', config: Record<string, unknown> = {}): TextTokenizer {
  const files = qwenTokenizerFiles(vocab);
  return createTokenizer(files.tokenizer, { ...files.config, ...config }, '/nonexistent');
}

function stream(tok: TextTokenizer, ids: number[]): string[] {
  const s = new TextStream((all) => tok.decode(all, true));
  const pieces = ids.map((id) => s.push(id));
  pieces.push(s.end());
  return pieces.filter((p) => p !== '');
}

const TEXTS = [
  'héllo 🤗 世界 naïve café',
  'Ünïcödé ✓ 日本語テキスト 👩‍👩‍👧',
  'Zürich: 20 °C, 東京 ☀️ — ça va? 🎉🎉 Ωmega',
  '한국어와 中文 mixed with emoji 🚀 at the end 🚀',
];

for (const vocab of [600, 'full'] as const) {
  test(`streamed pieces (${vocab === 'full' ? 'full' : `${vocab}-token`} Qwen vocabulary): no U+FFFD, and they concatenate to the whole decode`, () => {
    const tok = tokenizer(vocab);
    let splits = 0;
    for (const text of TEXTS) {
      const ids = tok.encode(text, false);
      assert.equal(tok.decode(ids, true), text, 'the tokenizer round-trips the text');
      // The test must exercise the split: some prefix of the ids ends inside a character.
      for (let i = 1; i < ids.length; i++) if (tok.decode(ids.slice(0, i), true).endsWith('\uFFFD')) splits++;
      const pieces = stream(tok, ids);
      for (const piece of pieces) assert.ok(!piece.includes('\uFFFD'), `piece ${JSON.stringify(piece)} of ${JSON.stringify(text)} holds U+FFFD`);
      assert.equal(pieces.join(''), text);
      assert.ok(pieces.length > ids.length / 3, `${JSON.stringify(text)} streamed in ${pieces.length} pieces for ${ids.length} tokens`);
    }
    assert.ok(splits > 0, 'no character was split across tokens');
  });
}

test('a character split over byte tokens comes out whole, once its last byte arrives', () => {
  const tok = tokenizer(600);
  const ids = tok.encode('a🤗b', false);
  assert.ok(ids.length >= 5, `🤗 is 4 byte tokens in the small vocabulary (${ids.length} ids)`);
  const s = new TextStream((all) => tok.decode(all, true));
  const pieces = ids.map((id) => s.push(id));
  assert.deepEqual(pieces.filter((p) => p !== ''), ['a', '🤗', 'b']);
  assert.equal(s.end(), '');
});

test('bytes the model made that are not UTF-8 stay U+FFFD, as in the whole decode; a character cut off by the end too', () => {
  const tok = tokenizer(600);
  const [lead, continuation] = tok.encode('é', false);
  const ok = tok.encode('ok', false);
  const garbage = [...ok, continuation, ...ok];
  assert.equal(tok.decode(garbage, true), 'ok\uFFFDok');
  assert.equal(stream(tok, garbage).join(''), 'ok\uFFFDok');
  const cut = [...ok, lead];
  assert.deepEqual(stream(tok, cut), ['ok', '\uFFFD']);
});

test('clean_up_tokenization_spaces: a space the next token removes is never streamed', () => {
  const tok = tokenizer('full', { clean_up_tokenization_spaces: true });
  const ids = [...tok.encode('Hello', false), ...tok.encode(' ', false), ...tok.encode('.', false), ...tok.encode(' I', false),
    ...tok.encode(' n', false), ...tok.encode("'t", false), ...tok.encode(' know', false)];
  const whole = tok.decode(ids, true);
  assert.equal(whole, "Hello. In't know", 'the decoder rewrites " ." and " n\'t"');
  const pieces = stream(tok, ids);
  assert.equal(pieces.join(''), whole);
  assert.ok(!pieces.includes(' '), 'the space before "." was held back');
});

test('a generation that stops before its first token streams nothing', () => {
  const tok = tokenizer(600);
  assert.deepEqual(stream(tok, []), []);
});

test('unstableTailStart: trailing U+FFFD and a possible cleanup pattern wait; anything else is final', () => {
  assert.equal(unstableTailStart('abc'), 3);
  assert.equal(unstableTailStart('ab\uFFFD'), 2);
  assert.equal(unstableTailStart('ab\uFFFD\uFFFD'), 2);
  assert.equal(unstableTailStart('ab '), 2);
  assert.equal(unstableTailStart("I don '"), 5);
  assert.equal(unstableTailStart('I n'), 1);
  assert.equal(unstableTailStart('I a'), 3, 'a word that no cleanup pattern starts with is final');
  assert.equal(unstableTailStart('a 🤗'), 4);
  assert.equal(unstableTailStart(''), 0);
  assert.equal(unstableTailStart('\uFFFD'), 0);
});
