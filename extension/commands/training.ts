// Start training, compare, dataset preview: commands that open a panel or editor.
import * as vscode from 'vscode';
import { dirname } from 'node:path';
import { readRunConfig } from '../../native/train/run-dir';
import type { Ctx } from '../ctx';
import { openCompare } from '../panels/compare-panel';
import { openTrainingPanel } from '../panels/training-panel';
import { DATASET_PREVIEW_VIEW_TYPE } from '../datasets/preview-editor';
import { pathFromArg, requireTrust } from './args';

export const startTraining = (ctx: Ctx) => async (arg?: unknown) => {
  if (!requireTrust('train')) return;
  const dataset = pathFromArg(arg);
  openTrainingPanel(ctx, dataset?.endsWith('.jsonl') ? { dataset } : {});
};

export const compare = (ctx: Ctx) => async (arg?: unknown) => {
  if (!requireTrust('run models')) return;
  const adapterDir = pathFromArg(arg, 'path');
  // A run's adapter is the run folder; LISA's trained model is <run>/model, compared against the run's base.
  const modelDir = adapterDir ? (readRunConfig(adapterDir) ?? readRunConfig(dirname(adapterDir)))?.model : undefined;
  openCompare(ctx, { ...(adapterDir ? { adapterDir } : {}), ...(modelDir ? { modelDir } : {}) });
};

export const openDatasetPreview = (_ctx: Ctx) => async (arg?: unknown) => {
  const uri = arg instanceof vscode.Uri ? arg : vscode.window.activeTextEditor?.document.uri;
  if (!uri || !uri.path.endsWith('.jsonl')) {
    void vscode.window.showInformationMessage('Open a .jsonl file first, or right-click one in the explorer.');
    return;
  }
  await vscode.commands.executeCommand('vscode.openWith', uri, DATASET_PREVIEW_VIEW_TYPE);
};
