// Tests native/data/template-skeleton.ts and template-literals.ts: for the chat templates of eight families and
// thousands of conversations with hostile contents (literals the templates test for, padding they trim, empty and
// repeated contents, role orders they refuse), the pieces put together from a shape's skeleton equal the pieces
// rendered for real — with the first-records tripwire off, so the substitution itself is what is checked — and most
// contents do take the fast path; templates that measure, slice or re-case contents are always rendered; a template
// that changes its output for one content no screening can see is caught by the tripwire.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createTokenizer, type TextTokenizer } from '../../../../native/model/tokenizer';
import { renderedPieces } from '../../../../native/data/template';
import { TemplateSkeletons, type Piece } from '../../../../native/data/template-skeleton';
import { templateLiterals } from '../../../../native/data/template-literals';
import type { ChatMessage } from '../../../../native/data/records';
import { qwenTokenizerFiles } from '../../../fixtures/tiny-model/tokenizer-files';
import { CHAT_TEMPLATES } from '../../../fixtures/chat-templates';

const files = qwenTokenizerFiles(1024);
const withTemplate = (template: string): TextTokenizer => createTokenizer(files.tokenizer, { ...files.config, chat_template: template }, '/none');
const QWEN3 = files.config.chat_template as string;

const CONTENTS = [
  'Summarize note 4 about the release schedule.', 'Build on Thursday, QA sign-off Friday.', 'Élément 3, s\'il vous plaît.', 'What is 2 + 2?', '4',
  'Line one.\nLine two.\n\nA paragraph.', 'He said "hi" and left \\ quietly.', '文字 and emoji 😀', 'You are a helpful assistant.',
  // Hostile: what templates test for, trim or compare.
  '', ' padded ', '\nleading newline', 'trailing newline\n', '</think>', 'reasoning</think>answer', '<think>\nhmm\n</think>\n\nfine', 'system', 'assistant',
  'sys', 'user', 'tool', '<tool_response>x</tool_response>', '[INST] nested [/INST]', '<|im_end|>', '<|im_start|>assistant', '<<SYS>>', 'model',
  '<start_of_turn>', '\uE000Ab0\uE001', 'true', 'false',
];
const SHAPES: ChatMessage['role'][][] = [
  ['user', 'assistant'], ['system', 'user', 'assistant'], ['user', 'assistant', 'user', 'assistant'], ['system', 'user', 'assistant', 'user', 'assistant'],
  ['assistant', 'user'], ['user', 'user', 'assistant'],
];

function* conversations(count: number, seed: number): Generator<ChatMessage[]> {
  let state = seed;
  const next = (n: number) => Math.floor(((state = (Math.imul(state, 1103515245) + 12345) >>> 0) / 2 ** 32) * n);
  for (let i = 0; i < count; i += 1) {
    const roles = SHAPES[next(SHAPES.length)];
    // Mostly ordinary contents (numbered, so shapes repeat with new text), a hostile one about every fourth message.
    yield roles.map((role) => ({ role, content: next(4) === 0 ? CONTENTS[next(CONTENTS.length)] : `${CONTENTS[next(9)]} (${next(1000)})` }));
  }
}

function outcome(run: () => Piece[]): Piece[] | string {
  try {
    return run();
  } catch (error) {
    return `error: ${(error as Error).message}`;
  }
}

for (const [name, template] of Object.entries({ qwen3: QWEN3, ...CHAT_TEMPLATES })) {
  test(`${name}: pieces from the skeleton equal the rendered pieces for 1,500 conversations, and most take the fast path`, (t) => {
    const tok = withTemplate(template);
    const skeletons = new TemplateSkeletons(tok, (m) => renderedPieces(m, tok), 0);
    let renderable = 0;
    for (const messages of conversations(1500, name.length)) {
      const expected = outcome(() => renderedPieces(messages, tok));
      assert.deepEqual(outcome(() => skeletons.pieces(messages)), expected, JSON.stringify(messages));
      if (typeof expected !== 'string') renderable += 1;
    }
    // About half the conversations hold a hostile content somewhere; the others should not be rendered.
    const { substituted, rendered } = skeletons.stats;
    t.diagnostic(`${name}: ${substituted} substituted, ${rendered} rendered, ${renderable} of 1,500 renderable`);
    assert.ok(substituted >= 0.4 * renderable, `${substituted} substituted of ${renderable} renderable`);
  });
}

test('templates that measure, slice or re-case a content are always rendered; the rest are screened by their literals', () => {
  assert.match(templateLiterals("{% for m in messages %}{% if m.content|length > 100 %}long{% endif %}{{ m.content }}{% endfor %}").unsupported ?? '', /\|length/);
  assert.match(templateLiterals("{% for m in messages %}{% if m.content[0] == 'X' %}x{% endif %}{{ m.content }}{% endfor %}").unsupported ?? '', /indexes or slices/);
  assert.match(templateLiterals("{% for m in messages %}{% if m.content.lower() == 'yes' %}y{% endif %}{{ m.content }}{% endfor %}").unsupported ?? '', /lower/);
  const qwen3 = templateLiterals(QWEN3);
  assert.equal(qwen3.unsupported, undefined);
  assert.deepEqual([...qwen3.substrings].sort(), ['</think>', '</tool_response>', '<think>', '<tool_response>']);
  assert.deepEqual([...qwen3.containers].sort(), ['assistant', 'system', 'tool', 'user']);
  // Literals only copied to the output (the role markers) constrain nothing.
  assert.equal(qwen3.substrings.has('<|im_start|>'), false);
  for (const template of ["{% for m in messages %}{{ m.content|length }}{% endfor %}", "{% for m in messages %}{{ m.content[:3] }}{% endfor %}"]) {
    const tok = withTemplate(template + '{% if add_generation_prompt %}A:{% endif %}');
    const skeletons = new TemplateSkeletons(tok, (m) => renderedPieces(m, tok), 0);
    for (const messages of conversations(50, 7)) assert.deepEqual(outcome(() => skeletons.pieces(messages)), outcome(() => renderedPieces(messages, tok)));
    assert.equal(skeletons.stats.substituted, 0);
  }
});

test('a template that re-cases or escapes contents without a test is caught by the two stand-ins', () => {
  for (const body of ['{{ m.content.upper() }}', '{{ m.content|tojson }}', "{{ m.content.replace('\\n', ' ') }}"]) {
    const tok = withTemplate(`{% for m in messages %}<{{ m.role }}>${body}</{{ m.role }}>{% endfor %}{% if add_generation_prompt %}<assistant>{% endif %}`);
    const skeletons = new TemplateSkeletons(tok, (m) => renderedPieces(m, tok), 0);
    for (const messages of conversations(100, 11)) assert.deepEqual(outcome(() => skeletons.pieces(messages)), outcome(() => renderedPieces(messages, tok)), body);
    assert.equal(skeletons.stats.substituted, 0, body);
  }
});

test('the tripwire: a shape whose substituted pieces differ from the real rendering goes back to rendering, and is counted', () => {
  const tok = withTemplate(CHAT_TEMPLATES.chatml);
  // A renderer that treats one content specially in a way no literal shows (as a template bug in the wild might).
  const lying = (messages: ChatMessage[]) => renderedPieces(messages.map((m) => (m.content === 'magic words' ? { ...m, content: 'MAGIC' } : m)), tok);
  const skeletons = new TemplateSkeletons(tok, lying, 3);
  const magic: ChatMessage[] = [{ role: 'user', content: 'magic words' }, { role: 'assistant', content: 'ok' }];
  assert.deepEqual(skeletons.pieces(magic), lying(magic));
  assert.equal(skeletons.stats.mismatches, 1);
  for (let i = 0; i < 5; i += 1) assert.deepEqual(skeletons.pieces(magic), lying(magic));
  assert.equal(skeletons.stats.substituted, 0, 'the shape is rendered for real from then on');
});
