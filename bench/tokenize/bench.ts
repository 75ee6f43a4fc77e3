// bench/tokenize: tokenizing Alpaca records for training (native/data/template-pool.ts: template workers, the real
// Qwen3 chat template or the Alpaca prompt) against the untouched tokenizer library's encode of the same training
// texts on one thread (the first 20,000) — no template rendering, no response spans, no labels. Both tokenizers: the
// FULL Qwen3 one (151k ids, the 11 MB tokenizer.json users train with) and the fixture trimmed to 1,024 ids. Checks
// that ours and the library see the same tokens, then the median of --runs timed runs after one warm-up (the check).
// Each of our runs starts its pool with a freshly loaded tokenizer, as training does (worker start-up included).
// Printed: records/s wall, the main process's CPU seconds (process.cpuUsage: what training's own thread spends) and
// all CPU seconds (workers too, /proc/self/stat), and the load average before and after, since on a shared machine
// the wall time also says what the neighbours did.
// Run through bench/tokenize/run.mjs, which bundles it as the extension ships (template-worker.js beside it).
// Options: --records N (200000) --runs N (3) --workers N (the pool's default) --tokenizer full|trimmed|both
// --template on|off|both --peer on|off (off: no library run nor check, for comparing two builds of ours).
import { availableParallelism, loadavg } from 'node:os';
import { readFileSync } from 'node:fs';
import { Tokenizer } from '@huggingface/tokenizers';
import { createTokenizer } from '../../native/model/tokenizer';
import { TemplatePool, type TokenizedSet } from '../../native/data/template-pool';
import type { LocatedRecord } from '../../native/data/records';
import { qwenTokenizerFiles } from '../../test/fixtures/tiny-model/tokenizer-files';

function option(name: string, fallback: string): string {
  const at = process.argv.indexOf(`--${name}`);
  return at >= 0 && at + 1 < process.argv.length ? process.argv[at + 1] : fallback;
}
const count = Number(option('records', '200000'));
const runs = Number(option('runs', '3'));
const workers = process.argv.includes('--workers') ? Number(option('workers', '')) : undefined;
/** Records the library encodes (a sample: its one-thread rate is the same on all 200k, which would take minutes). */
const PEER_RECORDS = 20_000;
const withPeer = option('peer', 'on') !== 'off';
const which = (name: string, values: string[]) => (option(name, 'both') === 'both' ? values : [option(name, 'both')]);

const records: LocatedRecord[] = Array.from({ length: count }, (_, i) => ({
  line: i + 1,
  record: i % 2 === 0
    ? { format: 'alpaca', instruction: `Summarize note ${i} about the release schedule.`, input: `Note ${i}: the build moved to Thursday; QA signs off on Friday.`, output: `Build on Thursday, QA sign-off Friday (note ${i}).` }
    : { format: 'alpaca', instruction: `Translate item ${i} to French.`, output: `Élément ${i}, s'il vous plaît.` },
}));
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
/** CPU seconds of this process and its reaped children (utime, stime, cutime, cstime of /proc/self/stat). */
function allCpuSeconds(): number {
  const fields = readFileSync('/proc/self/stat', 'utf8').split(') ')[1].split(' ');
  return (Number(fields[11]) + Number(fields[12]) + Number(fields[13]) + Number(fields[14])) / 100;
}
function mainCpuSeconds(): number {
  const { user, system } = process.cpuUsage();
  return (user + system) / 1e6;
}
const load = () => loadavg().map((x) => x.toFixed(2)).join(' ');

async function main(): Promise<void> {
  const opts = { trainOnPrompt: false, maxSeqLen: 4096 };
  console.log(`records: ${count.toLocaleString('en-US')} Alpaca records; ${availableParallelism()} cores; pool workers: ${workers ?? 'default'}; median of ${runs} runs; load average before: ${load()}`);
  for (const vocab of which('tokenizer', ['full', 'trimmed'])) {
    const files = qwenTokenizerFiles(vocab === 'full' ? 'full' : 1024);
    const tokName = vocab === 'full' ? `Qwen3 full (${files.size.toLocaleString('en-US')} ids)` : 'Qwen3 trimmed to 1,024 ids';
    for (const template of which('template', ['on', 'off'])) {
      const config = template === 'on' ? files.config : { ...files.config, chat_template: undefined };
      const oursOnce = async (tok = createTokenizer(files.tokenizer, config, '/none'), some = records) => {
        const pool = new TemplatePool(tok, workers);
        try {
          return (await pool.tokenize(some, opts)) as TokenizedSet;
        } finally {
          await pool.dispose();
        }
      };
      const tok = createTokenizer(files.tokenizer, config, '/none');
      const first = await oursOnce(tok);
      // The peer encodes exactly the texts training trains on (decoded from our ids), so both do the same tokens' work;
      // on the first PEER_RECORDS (its rate does not depend on how many: one thread, no start-up), checked equal.
      const library = new Tokenizer(files.tokenizer, config);
      const sample = withPeer ? first.examples.slice(0, PEER_RECORDS) : [];
      const texts = sample.map((e) => tok.decode(e.inputIds));
      const peerIds = texts.map((t) => library.encode(t, { add_special_tokens: false }).ids);
      const ourTokens = sample.reduce((n, e) => n + e.inputIds.length, 0);
      const peerTokens = peerIds.reduce((n, ids) => n + ids.length, 0);
      if (first.examples.length !== count || Math.abs(ourTokens - peerTokens) > sample.length) throw new Error(`disagree: ${first.examples.length} examples, ${ourTokens} vs ${peerTokens} tokens`);
      const wall: number[] = [];
      const mainCpu: number[] = [];
      const allCpu: number[] = [];
      for (let k = 0; k < runs; k += 1) {
        // A fresh tokenizer, as a training run loads it: the pool's start-up is all timed.
        const fresh = createTokenizer(files.tokenizer, config, '/none');
        const t = performance.now();
        const [c, m] = [allCpuSeconds(), mainCpuSeconds()];
        await oursOnce(fresh);
        wall.push((performance.now() - t) / 1000);
        mainCpu.push(mainCpuSeconds() - m);
        allCpu.push(allCpuSeconds() - c);
      }
      const ours = median(wall);
      // Of that, the start-up (files sent to each worker, parsed, built into a tokenizer): a pool given one record.
      const startups: number[] = [];
      for (let k = 0; k < runs; k += 1) {
        const fresh = createTokenizer(files.tokenizer, config, '/none');
        const t = performance.now();
        await oursOnce(fresh, records.slice(0, 1));
        startups.push((performance.now() - t) / 1000);
      }
      const peer = !withPeer ? NaN : median([0, 1, 2].map(() => { const t = performance.now(); for (const text of texts) library.encode(text, { add_special_tokens: false }); return (performance.now() - t) / 1000; }));
      console.log(`${tokName}, ${template === 'on' ? 'Qwen3 chat template' : 'no chat template (Alpaca prompt)'}: ` +
        `ours ${(count / ours).toFixed(0)} records/s wall (${ours.toFixed(2)} s; runs ${wall.map((w) => w.toFixed(2)).join(', ')}), ` +
        `start-up ${median(startups).toFixed(2)} s wall, main process ${median(mainCpu).toFixed(2)} CPU-s, all ${median(allCpu).toFixed(2)} CPU-s (${(count / median(allCpu)).toFixed(0)} records per CPU-second); ` +
        `library encode ${(texts.length / peer).toFixed(0)} records/s (${peer.toFixed(2)} s for ${texts.length.toLocaleString('en-US')}, 1 thread); ` +
        `ours/peer throughput ${((count / ours) / (texts.length / peer)).toFixed(2)}; load average now: ${load()}`);
    }
  }
}
void main();
