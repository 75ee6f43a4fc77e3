// The status-bar item of the active run (step/total, loss, ETA); a click opens its dashboard. Hidden when idle.
import * as vscode from 'vscode';
import type { Ctx } from '../ctx';
import { StepPace } from '../../native/train/event-text';
import { activeRun, statusText } from './status-text';

export function registerStatusBar(ctx: Ctx): void {
  const item = ctx.own(vscode.window.createStatusBarItem('loraStudio.activeRun', vscode.StatusBarAlignment.Left, 50));
  item.name = 'LoRA Studio: active run';
  // The shown run's step rate, from the updates seen (the ETA leaves out the compile and warm-up of the first steps).
  let paced: { dir: string; pace: StepPace } | undefined;
  const update = () => {
    const run = activeRun(ctx.runs());
    if (!run) {
      item.hide();
      return;
    }
    if (paced?.dir !== run.dir) paced = { dir: run.dir, pace: new StepPace() };
    const { text, tooltip } = statusText(run, paced.pace);
    item.text = text;
    item.tooltip = tooltip;
    item.command = { command: 'loraStudio.openDashboard', title: 'Open Dashboard', arguments: [run.dir] };
    item.show();
  };
  ctx.own(ctx.onDidChangeRuns(update));
  update();
}
