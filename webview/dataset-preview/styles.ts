// Styles of the Dataset Preview, only VS Code theme variables (so light, dark and high-contrast themes all work).
// Injected as one <style> element carrying the page's CSP nonce.
import { ROW_HEIGHT } from './table';

export const styles = `
html, body { height: 100%; margin: 0; padding: 0; overflow: hidden; }
body { color: var(--vscode-foreground); background: var(--vscode-editor-background);
  font-family: var(--vscode-font-family); font-size: var(--vscode-font-size); }
#app { display: grid; grid-template-rows: auto auto minmax(120px, 3fr) minmax(80px, 2fr); height: 100vh; }
.toolbar { display: flex; flex-wrap: wrap; gap: 6px 10px; align-items: center; padding: 6px 10px;
  border-bottom: 1px solid var(--vscode-panel-border, transparent); }
.toolbar .file { font-weight: 600; }
.toolbar vscode-textfield { min-width: 220px; flex: 1 1 220px; max-width: 420px; }
.toolbar .status { color: var(--vscode-descriptionForeground); }
.toolbar vscode-single-select { width: 170px; }
.toolbar .reason { font-size: 0.9em;  color: var(--vscode-descriptionForeground); font-style: italic; }
.toolbar label { display: inline-flex; gap: 4px; align-items: center; }
.progress { min-height: 2px; }
.error-banner { padding: 6px 10px; color: var(--vscode-errorForeground);
  background: var(--vscode-inputValidation-errorBackground); border: 1px solid var(--vscode-inputValidation-errorBorder, transparent); }
.table { display: flex; flex-direction: column; min-height: 0; }
.viewport { flex: 1; overflow: auto; position: relative; outline: none; }
.viewport:focus-visible { outline: 1px solid var(--vscode-focusBorder); outline-offset: -1px; }
.spacer { position: relative; }
.rows { position: absolute; top: 0; left: 0; right: 0; will-change: transform; }
.row { display: grid; height: ${ROW_HEIGHT}px; line-height: ${ROW_HEIGHT}px; cursor: default;
  border-bottom: 1px solid var(--vscode-editorGroup-border, transparent); box-sizing: border-box; }
.table[data-layout="alpaca"] .row { grid-template-columns: 76px 3fr 2fr 3fr 1fr 72px; }
.table[data-layout="chat"] .row { grid-template-columns: 76px 52px 1fr 72px; }
.row.chat { grid-template-columns: 76px 52px 1fr 72px !important; }
.row.invalid { grid-template-columns: 76px 1fr !important; }
.row.header { font-weight: 600; background: var(--vscode-editorWidget-background);
  border-bottom: 1px solid var(--vscode-panel-border, var(--vscode-editorGroup-border)); }
.row:not(.header):hover { background: var(--vscode-list-hoverBackground); }
.row[aria-selected="true"] { background: var(--vscode-list-inactiveSelectionBackground); }
.viewport:focus .row[aria-selected="true"] { background: var(--vscode-list-activeSelectionBackground);
  color: var(--vscode-list-activeSelectionForeground); outline: 1px solid var(--vscode-list-focusOutline, transparent); outline-offset: -1px; }
.cell { padding: 0 6px; overflow: hidden; white-space: nowrap; text-overflow: ellipsis; }
.cell.num { text-align: right; font-variant-numeric: tabular-nums; color: var(--vscode-descriptionForeground); }
.cell.error { color: var(--vscode-errorForeground); }
.cell.pending { color: var(--vscode-descriptionForeground); }
.role { font-size: 0.85em; padding: 0 4px; margin: 0 4px 0 8px; border-radius: 3px;
  background: var(--vscode-badge-background); color: var(--vscode-badge-foreground); }
.role:first-child { margin-left: 0; }
.role-assistant { background: var(--vscode-gitDecoration-addedResourceForeground, var(--vscode-badge-background)); color: var(--vscode-editor-background); }
.bottom { display: grid; grid-template-columns: minmax(220px, 1fr) 2fr; min-height: 0; border-top: 1px solid var(--vscode-panel-border, var(--vscode-editorGroup-border)); }
.stats, .detail { overflow: auto; padding: 8px 10px; min-height: 0; }
.stats { border-right: 1px solid var(--vscode-panel-border, var(--vscode-editorGroup-border)); }
.stats-heading { font-weight: 600; margin-bottom: 6px; }
.stats-numbers { display: grid; grid-template-columns: repeat(5, auto); gap: 0 10px; margin: 0 0 8px; }
.stats-numbers dt { color: var(--vscode-descriptionForeground); grid-row: 1; }
.stats-numbers dd { margin: 0; grid-row: 2; font-variant-numeric: tabular-nums; }
.histogram { display: flex; align-items: flex-end; gap: 1px; height: 80px; }
.histogram .bar { flex: 1; height: 100%; display: flex; align-items: flex-end; }
.histogram .fill { width: 100%; min-height: 1px; background: var(--vscode-charts-blue, var(--vscode-progressBar-background)); }
.histogram .bar:hover .fill { background: var(--vscode-charts-orange, var(--vscode-focusBorder)); }
.axis { display: flex; justify-content: space-between; color: var(--vscode-descriptionForeground); font-size: 0.9em; }
.muted, .note { color: var(--vscode-descriptionForeground); }
.detail h3 { margin: 0 0 4px; font-size: 1.05em; }
.detail h4 { margin: 10px 0 4px; font-size: 0.95em; color: var(--vscode-descriptionForeground); text-transform: uppercase; }
.legend { display: flex; gap: 10px; align-items: center; margin-bottom: 4px; flex-wrap: wrap; }
pre { margin: 0; white-space: pre-wrap; word-break: break-word; font-family: var(--vscode-editor-font-family); font-size: var(--vscode-editor-font-size); }
.training-text { padding: 6px; border: 1px solid var(--vscode-panel-border, var(--vscode-editorGroup-border)); }
.training-text:focus-visible { outline: 1px solid var(--vscode-focusBorder); }
/* Masked: dimmed and dotted-underlined; trained: the diff "inserted" colour. Distinct without relying on hue alone. */
.seg.masked { color: var(--vscode-disabledForeground, var(--vscode-descriptionForeground)); text-decoration: underline dotted; }
.seg.train { background: var(--vscode-diffEditor-insertedTextBackground); color: var(--vscode-editor-foreground);
  outline: 1px solid var(--vscode-diffEditor-insertedLineBackground, transparent); }
.legend .seg { padding: 0 4px; }
.field { margin-bottom: 6px; }
.field-label { color: var(--vscode-descriptionForeground); font-size: 0.9em; }
.hint { color: var(--vscode-descriptionForeground); font-size: 0.9em; }
kbd { font-family: var(--vscode-editor-font-family); border: 1px solid var(--vscode-widget-border, var(--vscode-editorGroup-border)); border-radius: 3px; padding: 0 3px; }
`;
