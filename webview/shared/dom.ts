// Tiny DOM helpers shared by the LoRA Studio webviews (no framework: the views are small and vscode-elements
// supplies the controls), plus the VS Code webview API handle typed by each view's message union.

/** Creates an element with a class and text or children. */
export function h<K extends keyof HTMLElementTagNameMap>(tag: K, className = '', ...children: (Node | string)[]): HTMLElementTagNameMap[K] {
  const node = document.createElement(tag);
  if (className) node.className = className;
  node.append(...children);
  return node;
}

/** A custom element (vscode-*) created by tag name and typed by the caller. */
export function custom<T extends HTMLElement>(tag: string, props: Partial<Record<string, unknown>> = {}): T {
  const node = document.createElement(tag) as T;
  Object.assign(node, props);
  return node;
}

export interface VsCodeApi<Out, State> {
  postMessage(message: Out): void;
  getState(): State | undefined;
  setState(state: State): void;
}

declare function acquireVsCodeApi<Out, State>(): VsCodeApi<Out, State>;

/** The webview API; acquireVsCodeApi may be called once per page, so each main.ts calls this once. */
export function vscodeApi<Out, State>(): VsCodeApi<Out, State> {
  return acquireVsCodeApi<Out, State>();
}

/** 1,234,567 */
export const count = (n: number): string => n.toLocaleString('en-US');
