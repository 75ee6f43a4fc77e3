// bench/tokenize: tokenizing Alpaca records for training (native/data/template-pool.ts: template workers on all
// cores, the real Qwen3 chat template or the Alpaca prompt, the tiny fixture tokenizer) against the untouched
// tokenizer library's encode of the same training texts on one thread — no template rendering, no response spans, no
// labels. Checks that both see the same tokens, then the median of 3 timed runs after one warm-up; ours/peer last
// (records/s). Each of our runs starts its pool as training does; its CPU time (this process and the workers, from
// /proc/self/stat) is printed too, since on a shared machine the wall time says more about the neighbours.
// Run through bench/tokenize/run.mjs, which bundles it as the extension ships (template-worker.js beside it).
import { availableParallelism } from 'node:os';
import { readFileSync } from 'node:fs';
import { Tokenizer } from '@huggingface/tokenizers';
import { createTokenizer } from '../../native/model/tokenizer';
import { TemplatePool, type TokenizedSet } from '../../native/data/template-pool';
import type { LocatedRecord } from '../../native/data/records';
import { qwenTokenizerFiles } from '../../test/fixtures/tiny-model/tokenizer-files';

const count = Number(process.argv.includes('--records') ? process.argv[process.argv.indexOf('--records') + 1] : 20_000);
const records: LocatedRecord[] = Array.from({ length: count }, (_, i) => ({
  line: i + 1,
  record: i % 2 === 0
    ? { format: 'alpaca', instruction: `Summarize note ${i} about the release schedule.`, input: `Note ${i}: the build moved to Thursday; QA signs off on Friday.`, output: `Build on Thursday, QA sign-off Friday (note ${i}).` }
    : { format: 'alpaca', instruction: `Translate item ${i} to French.`, output: `Élément ${i}, s'il vous plaît.` },
}));
const files = qwenTokenizerFiles(1024);
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
/** CPU seconds of this process and its reaped children (utime, stime, cutime, cstime of /proc/self/stat). */
function cpuSeconds(): number {
  const fields = readFileSync('/proc/self/stat', 'utf8').split(') ')[1].split(' ');
  return (Number(fields[11]) + Number(fields[12]) + Number(fields[13]) + Number(fields[14])) / 100;
}

async function main(): Promise<void> {
  const opts = { trainOnPrompt: false, maxSeqLen: 4096 };
  const rows: string[] = [];
  for (const [name, config] of [['Qwen3 chat template', files.config], ['no chat template (Alpaca prompt)', { ...files.config, chat_template: undefined }]] as const) {
    const tok = createTokenizer(files.tokenizer, config, '/none');
    const oursOnce = async () => {
      const pool = new TemplatePool(tok);
      try {
        return (await pool.tokenize(records, opts)) as TokenizedSet;
      } finally {
        await pool.dispose();
      }
    };
    const first = await oursOnce();
    // The peer encodes exactly the texts training trains on (decoded from our ids), so both do the same tokens' work.
    const library = new Tokenizer(files.tokenizer, config);
    const texts = first.examples.map((e) => tok.decode(e.inputIds));
    const peerIds = texts.map((t) => library.encode(t, { add_special_tokens: false }).ids);
    const ourTokens = first.examples.reduce((n, e) => n + e.inputIds.length, 0);
    const peerTokens = peerIds.reduce((n, ids) => n + ids.length, 0);
    if (first.examples.length !== count || Math.abs(ourTokens - peerTokens) > count) throw new Error(`disagree: ${first.examples.length} examples, ${ourTokens} vs ${peerTokens} tokens`);
    const oursTimes: number[] = [];
    const oursCpu: number[] = [];
    for (let k = 0; k < 3; k += 1) {
      const t = performance.now();
      const c = cpuSeconds();
      await oursOnce();
      oursTimes.push((performance.now() - t) / 1000);
      oursCpu.push(cpuSeconds() - c);
    }
    const ours = median(oursTimes);
    const peer = median([0, 1, 2].map(() => { const t = performance.now(); for (const text of texts) library.encode(text, { add_special_tokens: false }); return (performance.now() - t) / 1000; }));
    rows.push(`${name}: ours ${(count / ours).toFixed(0)} records/s (${ours.toFixed(2)} s wall on ${availableParallelism()} cores, ` +
      `${(count / median(oursCpu)).toFixed(0)} records per CPU-second), library encode ${(count / peer).toFixed(0)} records/s (${peer.toFixed(2)} s, 1 thread); ` +
      `ours/peer throughput ${(peer / ours).toFixed(2)}`);
  }
  console.log(`records: ${count.toLocaleString('en-US')} Alpaca records, tokenizer: Qwen3 trimmed to 1,024 ids (test/fixtures)`);
  for (const row of rows) console.log(row);
}
void main();
