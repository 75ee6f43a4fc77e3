// Tests native/util/peak-rss.ts: a process asked for its peak RSS (PEAK_RSS_ENV) writes it at exit — also when it
// ends by process.exit — and does not pass the request on; a missing or damaged report reads as none.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PEAK_RSS_ENV, readPeakRss } from '../../../../native/util/peak-rss';

const dir = mkdtempSync(join(tmpdir(), 'peak-rss-'));
const module = join(import.meta.dirname, '..', '..', '..', '..', 'native', 'util', 'peak-rss.ts');
const script = (body: string) => `const { reportPeakRssOnExit } = require(${JSON.stringify(module)}); reportPeakRssOnExit(); ${body}`;

test('the child reports its own high-water mark at exit: a process that held 200 MB reports more than one that did not', () => {
  const run = (name: string, body: string, status: number) => {
    const file = join(dir, `${name}.json`);
    const child = spawnSync(process.execPath, ['--import', 'tsx', '-e', script(body)], { env: { ...process.env, [PEAK_RSS_ENV]: file }, encoding: 'utf8' });
    assert.equal(child.status, status, child.stderr);
    return { peak: readPeakRss(file), stdout: child.stdout.trim() };
  };
  const small = run('small', `console.log(process.env.${PEAK_RSS_ENV} === undefined ? 'not passed on' : 'passed on')`, 0);
  assert.equal(small.stdout, 'not passed on');
  const big = run('big', 'const b = Buffer.alloc(200 * 2 ** 20, 1); console.log(b[5]); process.exit(3)', 3);
  assert.ok(small.peak !== undefined && big.peak !== undefined, 'both wrote a report');
  assert.ok(big.peak - small.peak > 150 * 2 ** 20, `200 MB more resident: ${small.peak} vs ${big.peak} bytes`);
});

test('no report, or a damaged one, reads as none', () => {
  assert.equal(readPeakRss(join(dir, 'missing.json')), undefined);
  writeFileSync(join(dir, 'bad.json'), '{"peak_rss_bytes": "lots"}');
  assert.equal(readPeakRss(join(dir, 'bad.json')), undefined);
  writeFileSync(join(dir, 'torn.json'), '{"peak_rss');
  assert.equal(readPeakRss(join(dir, 'torn.json')), undefined);
});
