// Drives the VS Code workbench that code-server serves, in Debian's Chromium through playwright-core: opening it,
// the command palette, notifications, views, webview frames, and screenshots into test-output/e2e/.
import { chromium, type Browser, type FrameLocator, type Locator, type Page } from 'playwright-core';
import { mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { chromiumPath, repoRoot } from './code-server';

/** Screenshots, logs and workspaces: test-output/e2e/, or LORA_E2E_OUT (so two people's runs do not collide). */
export const outputDir = process.env.LORA_E2E_OUT ? resolve(process.env.LORA_E2E_OUT) : join(repoRoot, 'test-output', 'e2e');

/** Flags from this machine's notes: without the networking ones Chromium keeps dialing hosts it cannot reach. */
const chromiumArgs = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--disable-dev-shm-usage',
];

export class Workbench {
  private constructor(
    readonly browser: Browser,
    readonly page: Page,
    readonly url: string,
  ) {}

  /** Opens the workbench on a folder and waits until the workbench and its status bar are drawn. */
  static async open(serverUrl: string, folder: string): Promise<Workbench> {
    const browser = await chromium.launch({ executablePath: chromiumPath, args: chromiumArgs, headless: true });
    const context = await browser.newContext({ viewport: { width: 1600, height: 1000 } });
    const page = await context.newPage();
    const url = `${serverUrl}/?folder=${encodeURIComponent(folder)}`;
    const workbench = new Workbench(browser, page, url);
    await workbench.load();
    return workbench;
  }

  async load(): Promise<void> {
    await this.page.goto(this.url, { waitUntil: 'domcontentloaded', timeout: 60_000 });
    await this.waitReady();
  }

  /**
   * Reloads the window as a user does, with "Developer: Reload Window": the workbench shuts down in order (saving
   * its editor layout, so webview panels come back through their serializers), then the browser tab reloads.
   */
  async reload(): Promise<void> {
    const reloaded = this.page.waitForEvent('load', { timeout: 60_000 });
    await this.runCommand('Developer: Reload Window', { exact: true });
    await reloaded;
    await this.waitReady();
  }

  private async waitReady(): Promise<void> {
    await this.page.locator('.monaco-workbench').waitFor({ timeout: 60_000 });
    await this.page.locator('.part.statusbar').waitFor({ timeout: 60_000 });
    // The explorer or the activity bar is drawn once the workbench has restored its layout.
    await this.page.locator('.part.activitybar, .part.sidebar').first().waitFor({ timeout: 60_000 });
  }

  async close(): Promise<void> {
    await this.browser.close();
  }

  async screenshot(name: string): Promise<string> {
    mkdirSync(outputDir, { recursive: true });
    const path = join(outputDir, `${name}.png`);
    await this.page.screenshot({ path });
    return path;
  }

  /**
   * Runs a command through the palette: F1, type its title, wait for a row whose label matches, pick it.
   * The palette sometimes swallows F1 while the workbench still restores focus, so opening it is retried.
   */
  async runCommand(title: string, options: { exact?: boolean; label?: RegExp } = {}): Promise<void> {
    const rows = this.page.locator('.quick-input-widget .monaco-list-row');
    const label = options.label ?? (options.exact ? new RegExp(`^${escapeRegExp(title)}$`) : new RegExp(escapeRegExp(title), 'i'));
    const row = rows.filter({ has: this.page.locator('.label-name', { hasText: label }) }).first();
    // The palette lists the commands known when it opens; an extension's arrive once the extension host is up, so a
    // miss is retried with a freshly opened palette for up to 30s. A webview that takes focus closes the palette
    // under the click ("element is not visible"): that too is retried with a fresh palette.
    const deadline = Date.now() + 30_000;
    for (;;) {
      await this.typeInPalette(`>${title}`);
      let problem: string;
      try {
        await row.waitFor({ timeout: 5_000 });
        try {
          await row.click({ timeout: 5_000 });
          break;
        } catch (error) {
          problem = `the palette closed before its row "${title}" could be picked (${String(error).split('\n')[0]})`;
        }
      } catch {
        const offered = await rows.allInnerTexts();
        problem = `command palette has no command "${title}"; it offered: ${offered.slice(0, 10).join(' | ') || '(nothing)'}`;
      }
      await this.page.keyboard.press('Escape');
      if (Date.now() > deadline) throw new Error(problem);
    }
    await this.page.locator('.quick-input-widget').waitFor({ state: 'hidden', timeout: 10_000 }).catch(() => {});
  }

  async openPalette(): Promise<Locator> {
    const input = this.page.locator('.quick-input-widget input');
    for (let attempt = 0; attempt < 3; attempt++) {
      if (attempt > 0) {
        // Give the keyboard back to the workbench: close whatever holds it (a modal editor, a menu), then click
        // an inert spot. `force` and a short timeout, because an overlay may cover it.
        await this.page.keyboard.press('Escape');
        await this.page.locator('.part.statusbar').click({ position: { x: 700, y: 5 }, force: true, timeout: 2_000 }).catch(() => {});
      }
      await this.page.keyboard.press('F1');
      try {
        await input.waitFor({ state: 'visible', timeout: 4_000 });
        return input;
      } catch { /* retried: focus was still being restored */ }
    }
    throw new Error('the command palette did not open on F1');
  }

  /**
   * Opens the palette and types `text`. The palette can close again right after it opens when a view or webview of
   * the previous step takes focus late (seen on loaded CI machines: the input went inert, then hidden), so a fill that
   * does not land within 5 s reopens it.
   */
  async typeInPalette(text: string): Promise<void> {
    let problem = '';
    for (let attempt = 0; attempt < 4; attempt++) {
      const input = await this.openPalette();
      try {
        await input.fill(text, { timeout: 5_000 });
        return;
      } catch (error) {
        problem = String(error).split('\n')[0];
      }
      await this.page.keyboard.press('Escape');
    }
    throw new Error(`could not type "${text}" into the command palette in 4 tries: ${problem}`);
  }

  /** Quick Open (Ctrl+P) a workspace file by name. */
  async openFile(name: string): Promise<void> {
    const row = this.page.locator('.quick-input-widget .monaco-list-row', { hasText: name }).first();
    let problem = '';
    for (let attempt = 0; ; attempt++) {
      await this.typeInPalette(name);
      try {
        await row.waitFor({ timeout: 20_000 });
        break;
      } catch (error) {
        problem = String(error).split('\n')[0];
      }
      await this.page.keyboard.press('Escape');
      if (attempt === 3) throw new Error(`Quick Open could not find "${name}" after 4 tries: ${problem}`);
    }
    await this.page.keyboard.press('Enter');
    await this.page.locator('.quick-input-widget').waitFor({ state: 'hidden', timeout: 10_000 }).catch(() => {});
  }

  /** Reopens the active editor with the editor whose name matches (e.g. "Text Editor", a custom editor's name). */
  async reopenWith(editor: RegExp): Promise<void> {
    // Exact: "View: Reopen Editor with Text Editor" also matches the words and skips the editor list.
    await this.runCommand('Reopen Editor With', { label: /^View: Reopen Editor With(\.\.\.|…)$/ });
    const row = this.page.locator('.quick-input-widget .monaco-list-row', {
      has: this.page.locator('.label-name', { hasText: editor }),
    }).first();
    try {
      await row.waitFor({ timeout: 10_000 });
    } catch {
      const offered = await this.page.locator('.quick-input-widget .monaco-list-row').allInnerTexts();
      await this.page.keyboard.press('Escape');
      throw new Error(`"Reopen Editor With" offers no editor matching ${editor}; it offered: ${offered.join(' | ') || '(nothing)'}`);
    }
    await row.click();
    await this.page.locator('.quick-input-widget').waitFor({ state: 'hidden', timeout: 10_000 }).catch(() => {});
  }

  /** Messages of the notification toasts now showing. */
  async notifications(): Promise<string[]> {
    return this.page.locator('.notifications-toasts .notification-list-item-message').allInnerTexts();
  }

  /** Waits for a toast whose message matches; fails listing the toasts that were there. */
  async waitForNotification(pattern: RegExp, timeout = 30_000): Promise<Locator> {
    const toast = this.page.locator('.notifications-toasts .notification-list-item', {
      has: this.page.locator('.notification-list-item-message', { hasText: pattern }),
    }).first();
    try {
      await toast.waitFor({ timeout });
    } catch {
      throw new Error(`no notification matching ${pattern}; showing: ${(await this.notifications()).join(' | ') || '(none)'}`);
    }
    return toast;
  }

  /**
   * Right-clicks `target` and picks the context-menu entry whose label matches; fails listing the entries offered.
   * `retryFor` reopens the menu until then when the entry depends on state that may still be arriving.
   */
  async contextMenu(target: Locator, entry: RegExp, options: { retryFor?: number } = {}): Promise<void> {
    // The workbench draws context menus in a shadow root; Playwright's CSS locators pierce open ones.
    const items = this.page.locator('.monaco-menu .action-item .action-label');
    const item = items.filter({ hasText: entry }).first();
    const deadline = Date.now() + (options.retryFor ?? 0);
    for (;;) {
      await target.click({ button: 'right' });
      try {
        await item.waitFor({ timeout: options.retryFor ? 3_000 : 10_000 });
        break;
      } catch {
        const offered = await items.allInnerTexts();
        await this.page.keyboard.press('Escape');
        if (Date.now() > deadline) {
          throw new Error(`the context menu has no entry matching ${entry}; it offered: ${offered.filter((t) => t.trim()).join(' | ') || '(nothing)'}`);
        }
      }
    }
    await item.click();
    // A click that lands while the menu still animates in leaves it open with the entry highlighted: then Enter.
    const menu = this.page.locator('.monaco-menu').first();
    if (!(await menu.waitFor({ state: 'hidden', timeout: 2_000 }).then(() => true, () => false))) {
      await item.hover().catch(() => {});
      await this.page.keyboard.press('Enter');
      await menu.waitFor({ state: 'hidden', timeout: 5_000 });
    }
  }

  /** A status bar item whose text matches. */
  statusItem(pattern: RegExp): Locator {
    return this.page.locator('.part.statusbar .statusbar-item', { hasText: pattern }).first();
  }

  /** The activity bar entry of a view container, by its title. */
  activityItem(title: string): Locator {
    return this.page.locator(`.part.activitybar .action-item a.action-label[aria-label^="${title}"]`).first();
  }

  /** A view's pane header in the side bar or panel, by the view's title. */
  viewHeader(title: string): Locator {
    return this.page.locator('.pane-header', { has: this.page.locator('h3.title', { hasText: new RegExp(`^${escapeRegExp(title)}$`, 'i') }) }).first();
  }

  /** The pane (header and body) of a view, by its title. */
  viewPane(title: string): Locator {
    return this.page.locator('.split-view-view', { has: this.viewHeader(title) }).first();
  }

  /**
   * The content of a webview. Each webview lives in an outer iframe (class "webview ready" once loaded) holding
   * the extension's page in iframe#active-frame; `index` picks among several open webviews, by page order.
   */
  webview(index = 0): FrameLocator {
    return this.page.frameLocator('iframe.webview.ready').nth(index).frameLocator('iframe#active-frame');
  }

  /** The webview whose content contains an element matching `selector`, waiting up to `timeout`. */
  async webviewWith(selector: string, timeout = 30_000): Promise<FrameLocator> {
    const deadline = Date.now() + timeout;
    for (;;) {
      const count = await this.page.locator('iframe.webview.ready').count();
      for (let i = 0; i < count; i++) {
        const frame = this.webview(i);
        if ((await frame.locator(selector).count().catch(() => 0)) > 0) return frame;
      }
      if (Date.now() > deadline) throw new Error(`no webview (of ${count}) shows "${selector}" within ${timeout / 1000}s`);
      await this.page.waitForTimeout(500);
    }
  }
}

export function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
