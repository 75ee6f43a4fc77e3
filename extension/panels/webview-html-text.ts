// The webview page text and its CSP (no vscode import, so it is unit-tested): default-src 'none'; scripts by nonce
// only; styles from the webview's own origin plus nonce (Lit's constructable stylesheets need no 'unsafe-inline').
import { randomBytes } from 'node:crypto';

/** 128 random bits, base64: a CSP nonce must be unguessable and new for every page. */
export function webviewNonce(): string {
  return randomBytes(16).toString('base64');
}

export function contentSecurityPolicy(cspSource: string, nonce: string): string {
  return [
    "default-src 'none'",
    `script-src 'nonce-${nonce}'`,
    `style-src ${cspSource} 'nonce-${nonce}'`,
    `font-src ${cspSource}`,
    `img-src ${cspSource} data:`,
  ].join('; ');
}

const escapeAttr = (s: string): string => s.replace(/&/g, '&amp;').replace(/"/g, '&quot;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

export function buildWebviewHtml(page: { nonce: string; cspSource: string; title: string; script: string; styles: string[] }): string {
  const links = page.styles.map((href, i) => `<link rel="stylesheet" href="${escapeAttr(href)}"${i === 0 ? ' id="vscode-codicon-stylesheet"' : ''}>`).join('\n');
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="UTF-8">
<meta http-equiv="Content-Security-Policy" content="${escapeAttr(contentSecurityPolicy(page.cspSource, page.nonce))}">
<meta name="viewport" content="width=device-width, initial-scale=1.0">
${links}
<title>${escapeAttr(page.title)}</title>
</head>
<body>
<div id="app" data-nonce="${escapeAttr(page.nonce)}"></div>
<script type="module" nonce="${escapeAttr(page.nonce)}" src="${escapeAttr(page.script)}"></script>
</body>
</html>`;
}
