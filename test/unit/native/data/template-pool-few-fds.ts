// Run by template-pool.test.ts under `ulimit -n 64`: fills the descriptor table with /dev/null until only `free` are
// left (fewer than the pool wants for a worker's announcement pipe, enough for its IPC channel), then tokenizes 200
// records whose template never ends on line 150, and prints the error: the announcements then travel as IPC
// messages, and the watchdog must still name the record.
import { closeSync, openSync } from 'node:fs';
import { devNull } from 'node:os';
import { createTokenizer } from '../../../../native/model/tokenizer';
import { tokenizeRecordsBounded } from '../../../../native/data/template-pool';
import { qwenTokenizerFiles } from '../../../fixtures/tiny-model/tokenizer-files';

const free = Number(process.argv[2]);
const files = qwenTokenizerFiles(1024);
const loop = "{% if messages[0].content == 'loop' %}{% for i in range(100000) %}{% for j in range(100000) %}{% endfor %}{% endfor %}{% endif %}{{ messages[0].content }}";
const tok = createTokenizer(files.tokenizer, { ...files.config, chat_template: loop }, '/none');
const records = Array.from({ length: 200 }, (_, i) => ({ line: i + 1, record: { format: 'alpaca' as const, instruction: i + 1 === 150 ? 'loop' : `fine ${i}`, output: 'x' } }));
const held: number[] = [];
try {
  for (;;) held.push(openSync(devNull, 'r'));
} catch {
  // the table is full
}
for (let i = 0; i < free; i += 1) closeSync(held.pop()!);
tokenizeRecordsBounded(tok, records, { trainOnPrompt: false, maxSeqLen: 48 }, {}, { recordBudgetMs: 3000, heapMb: 256 }).then(
  () => console.log('finished without an error'),
  (error: unknown) => console.log(String(error)),
);
