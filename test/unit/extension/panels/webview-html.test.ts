// Tests of extension/panels/webview-html-text.ts: the CSP is strict and every page gets a fresh nonce.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { buildWebviewHtml, contentSecurityPolicy, webviewNonce } from '../../../../extension/panels/webview-html-text';

test('nonces are 128-bit, base64 and never repeat', () => {
  const seen = new Set<string>();
  for (let i = 0; i < 100; i++) {
    const n = webviewNonce();
    assert.equal(Buffer.from(n, 'base64').length, 16);
    assert.ok(!seen.has(n));
    seen.add(n);
  }
});

test('CSP: nothing by default, scripts by nonce only, no inline or eval, no remote origins', () => {
  const csp = contentSecurityPolicy('https://file+.vscode-resource.vscode-cdn.net', 'abc');
  assert.match(csp, /^default-src 'none'; /);
  assert.match(csp, /script-src 'nonce-abc'(;|$)/);
  assert.doesNotMatch(csp, /unsafe-inline|unsafe-eval|\*|https?:\/\/(?!file\+)/);
});

test('the page loads one module script with the nonce, styles from the webview origin, and escapes attributes', () => {
  const html = buildWebviewHtml({ nonce: 'n0', cspSource: 'vscode-src', title: 'A "B" <C>', script: 'vscode-src/dist/webview/x.js', styles: ['vscode-src/codicon.css', 'vscode-src/a.css'] });
  assert.match(html, /<script type="module" nonce="n0" src="vscode-src\/dist\/webview\/x\.js"><\/script>/);
  assert.equal((html.match(/<script/g) ?? []).length, 1);
  assert.match(html, /<link rel="stylesheet" href="vscode-src\/codicon\.css" id="vscode-codicon-stylesheet">/);
  assert.match(html, /<title>A &quot;B&quot; &lt;C&gt;<\/title>/);
  assert.match(html, /<div id="app" data-nonce="n0"><\/div>/);
});
