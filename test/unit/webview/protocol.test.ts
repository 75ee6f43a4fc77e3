// Tests of webview/protocol.ts guards: well-formed messages pass, malformed ones (wrong tag, missing or bad fields) fail.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  WEBVIEW_PROTOCOL_VERSION, isCompareHostMessage, isCompareWebviewMessage, isDashboardHostMessage, isDashboardWebviewMessage,
  isTrainingHostMessage, isTrainingWebviewMessage, dashboardRunDir,
} from '../../../webview/protocol';

const settings = { maxNewTokens: 128, temperature: 0.7, topP: 0.9, seed: 1 };

test('training panel → host', () => {
  for (const ok of [
    { type: 'ready' }, { type: 'inspectModel', dir: '/m' }, { type: 'browse', field: 'eval_data' }, { type: 'refreshDevices' },
    { type: 'datasetStats', path: '/d.jsonl', maxSeqLen: 512 }, { type: 'datasetStats', path: '/d.jsonl', model: '/m', maxSeqLen: 512 },
    { type: 'start', values: { r: 8 } }, { type: 'savePreset', values: {} }, { type: 'loadPreset' }, { type: 'openDataset', path: '/d' },
  ]) assert.ok(isTrainingWebviewMessage(ok), JSON.stringify(ok));
  for (const bad of [
    null, 'ready', [], { type: 'nope' }, { type: 'inspectModel' }, { type: 'inspectModel', dir: '' }, { type: 'browse', field: 'seed' },
    { type: 'datasetStats', path: '/d', maxSeqLen: -1 }, { type: 'start' }, { type: 'start', values: [] }, { type: 'start', values: 'x' },
  ]) assert.equal(isTrainingWebviewMessage(bad), false, JSON.stringify(bad));
});

test('host → training panel checks the protocol version of init', () => {
  const init = { type: 'init', protocol: WEBVIEW_PROTOCOL_VERSION, values: {}, recentModels: [], datasets: [], devices: [] };
  assert.ok(isTrainingHostMessage(init));
  assert.equal(isTrainingHostMessage({ ...init, protocol: WEBVIEW_PROTOCOL_VERSION + 1 }), false);
  assert.ok(isTrainingHostMessage({ type: 'problems', problems: [{ field: 'r', message: 'must be ≥ 1' }] }));
  assert.equal(isTrainingHostMessage({ type: 'problems', problems: [{ field: 1 }] }), false);
  assert.ok(isTrainingHostMessage({ type: 'model', dir: '/m', info: null, error: 'unsupported' }));
  assert.equal(isTrainingHostMessage({ type: 'model', dir: '/m' }), false);
  // The panel resolves targets on info.config (native/model/lora.ts): a model without it is not usable.
  assert.ok(isTrainingHostMessage({ type: 'model', dir: '/m', info: { dir: '/m', config: {} } }));
  assert.equal(isTrainingHostMessage({ type: 'model', dir: '/m', info: { dir: '/m' } }), false);
  assert.equal(isTrainingHostMessage({ type: 'path', field: 'x', path: '/p' }), false);
});

test('dashboard both ways', () => {
  for (const ok of [{ type: 'ready' }, { type: 'stop' }, { type: 'resume' }, { type: 'openFolder' }, { type: 'showLog' }, { type: 'overlay', runDir: '/r' }]) {
    assert.ok(isDashboardWebviewMessage(ok));
  }
  assert.equal(isDashboardWebviewMessage({ type: 'overlay' }), false);
  assert.equal(isDashboardWebviewMessage({ type: 'delete' }), false);
  assert.ok(isDashboardHostMessage({ type: 'event', event: { type: 'status', phase: 'loading-model', message: 'loading model…' } }));
  assert.equal(isDashboardHostMessage({ type: 'event', event: 3 }), false);
  assert.equal(isDashboardHostMessage({ type: 'init', protocol: WEBVIEW_PROTOCOL_VERSION, metrics: [] }), false);
  const dashInit = { type: 'init', protocol: WEBVIEW_PROTOCOL_VERSION, metrics: [], evals: [], history: [] };
  assert.ok(isDashboardHostMessage(dashInit), 'ranks are optional (AdaLoRA only)');
  assert.ok(isDashboardHostMessage({ ...dashInit, ranks: { initR: 12, targetR: 8, modules: [{ name: 'model.layers.0.self_attn.q_proj', rank: 5 }] } }));
  assert.equal(isDashboardHostMessage({ ...dashInit, ranks: { initR: 12, modules: [{ name: 'q', rank: -1 }] } }), false);
  assert.equal(isDashboardHostMessage({ ...dashInit, ranks: { modules: [] } }), false);
  assert.ok(isDashboardHostMessage({ type: 'overlay', run: { runDir: '/b', name: 'b' }, metrics: [] }));
});

test('compare both ways, with generation settings checked', () => {
  assert.ok(isCompareWebviewMessage({ type: 'generate', model: '/m', adapter: '/a', prompt: 'hi', settings }));
  assert.equal(isCompareWebviewMessage({ type: 'generate', model: '/m', adapter: '/a', prompt: 'hi', settings: { ...settings, topP: 0 } }), false);
  assert.equal(isCompareWebviewMessage({ type: 'generate', model: '/m', adapter: '/a', prompt: 'hi', settings: { ...settings, maxNewTokens: 0.5 } }), false);
  assert.equal(isCompareWebviewMessage({ type: 'browse', field: 'data' }), false);
  assert.ok(isCompareHostMessage({ type: 'token', side: 'base', text: 'x' }));
  assert.equal(isCompareHostMessage({ type: 'token', side: 'left', text: 'x' }), false);
  assert.ok(isCompareHostMessage({ type: 'init', protocol: WEBVIEW_PROTOCOL_VERSION, settings }));
  assert.ok(isCompareHostMessage({ type: 'done', side: 'adapter', tokens: 3, seconds: 1, tokensPerSecond: 3 }));
});

test('a restored dashboard finds its run folder in the state it saved, and nothing in anything else', () => {
  assert.equal(dashboardRunDir({ log: true, smoothing: 0.6, runDir: '/w/.lora-studio/runs/run-1' }), '/w/.lora-studio/runs/run-1');
  // Saved before the first init (or by an older version): no run folder, so the host closes the empty panel.
  for (const state of [undefined, null, {}, { log: false, smoothing: 0.6 }, { runDir: '' }, { runDir: 3 }, ['/r'], '/r']) {
    assert.equal(dashboardRunDir(state), undefined, JSON.stringify(state));
  }
});
