// "Export to GGUF…" without VS Code: each choice becomes the `lora-studio export` arguments the CLI accepts, the
// suggested outputs sit beside the run, and the final JSON line is read back (anything else is log text).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { exportArgs, GGUF_EXPORT_CHOICES, parseExportLine, suggestedExportPath } from '../../../../extension/commands/export-gguf-args';
import { FORMATS } from '../../../../native/cli/export';

test('every choice names a format the CLI has, with the dtype it takes', () => {
  for (const choice of GGUF_EXPORT_CHOICES) {
    assert.ok(choice.format in FORMATS, `${choice.format} is an export format`);
    const args = exportArgs('cli.js', { run: '/w/runs/r1', model: '/m/qwen', out: '/w/x', choice });
    assert.deepEqual(args.slice(0, 10), ['cli.js', 'export', '--format', choice.format, '--run', '/w/runs/r1', '--model', '/m/qwen', '--out', '/w/x']);
    assert.equal(args.at(-1), '--json');
    assert.equal(args.includes('--dtype'), choice.dtype !== undefined);
  }
});

test('suggested outputs: beside the run, named after it (and the model and dtype for a merged GGUF)', () => {
  const [adapter, f16, q8, ollama] = GGUF_EXPORT_CHOICES;
  assert.equal(suggestedExportPath('/w/runs/r1', '/m/qwen', adapter), join('/w/runs', 'r1-lora.gguf'));
  assert.equal(suggestedExportPath('/w/runs/r1', '/m/qwen', f16), join('/w/runs', 'qwen-r1-f16.gguf'));
  assert.equal(suggestedExportPath('/w/runs/r1', '/m/qwen', q8), join('/w/runs', 'qwen-r1-q8_0.gguf'));
  assert.equal(suggestedExportPath('/w/runs/r1', '/m/qwen', ollama), join('/w/runs', 'r1-ollama'));
});

test('the done and error lines of export --json are read; other lines are not', () => {
  assert.deepEqual(parseExportLine('{"type":"done","out":"/x.gguf","notes":["a",3]}'), { type: 'done', out: '/x.gguf', notes: ['a'] });
  assert.deepEqual(parseExportLine('{"type":"error","message":"no"}'), { type: 'error', message: 'no' });
  assert.equal(parseExportLine('GGUF model written to /x'), undefined);
  assert.equal(parseExportLine('{"type":"done"}'), undefined);
});
