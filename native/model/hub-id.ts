// The Hugging Face id of a local model folder, when something knows it: a `.lora-studio.json` note in the folder
// ({"hub_id": "org/name"}), a Hugging Face cache path (…/models--org--name/snapshots/<sha>/), or the folder's
// config.json `_name_or_path` (transformers writes the id it loaded from there, or a local path, which is no use
// elsewhere). An adapter's base_model_name_or_path and a cluster export's model use it, so they work on machines
// without this folder; with no id known, the path is kept.
import { existsSync, readFileSync } from 'node:fs';
import { isAbsolute, join } from 'node:path';

export const MODEL_NOTE = '.lora-studio.json';

/** `org/name` as the Hub spells repository ids (one slash; letters, digits, - _ .), not a path. */
export function isHubId(value: string): boolean {
  if (isAbsolute(value) || /^[A-Za-z]:[\\/]/.test(value) || value.startsWith('.') || value.startsWith('~') || value.includes('\\')) return false;
  return /^[A-Za-z0-9][A-Za-z0-9_.-]*\/[A-Za-z0-9][A-Za-z0-9_.-]*$/.test(value) && !value.includes('..');
}

function readJson(path: string): Record<string, unknown> | undefined {
  try {
    const value: unknown = JSON.parse(readFileSync(path, 'utf8'));
    return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}

/** The Hub id of the model in `dir`, or undefined when nothing in or about the folder names one. */
export function hubIdOf(dir: string): string | undefined {
  const note = readJson(join(dir, MODEL_NOTE))?.hub_id;
  if (typeof note === 'string' && isHubId(note)) return note;
  const cached = /(?:^|[\\/])models--([^\\/]+?)--([^\\/]+)[\\/]snapshots[\\/][^\\/]+[\\/]?$/.exec(dir);
  if (cached && isHubId(`${cached[1]}/${cached[2]}`)) return `${cached[1]}/${cached[2]}`;
  const named = readJson(join(dir, 'config.json'))?._name_or_path;
  // A relative "models/foo" that exists beside the folder is a path, however it is spelled.
  if (typeof named === 'string' && isHubId(named) && !existsSync(join(dir, '..', named)) && !existsSync(named)) return named;
  return undefined;
}

/** What to record as a model's name: its Hub id when known, else the given path (or id) unchanged. */
export function baseModelName(model: string): string {
  return existsSync(join(model, 'config.json')) ? hubIdOf(model) ?? model : model;
}
