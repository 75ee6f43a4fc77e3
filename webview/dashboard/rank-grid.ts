// AdaLoRA's final ranks as a grid (pure): a row per layer, a column per module kind (q_proj … down_proj), each cell
// the kept rank of init_r. 28 modules of a 4-layer model, or 168 of a 24-layer one, read at a glance this way where a
// list of full module paths would not: which layers and which projections the budget went to.
import type { ModuleRanks } from '../protocol';

export interface RankCell {
  rank: number;
  /** rank / init_r, 0…1: the cell's shade. */
  fraction: number;
  /** The module's full path, for the cell's tooltip. */
  name: string;
}

export interface RankGrid {
  initR: number;
  targetR?: number;
  /** Column headers: module kinds, in the model's order (attention, then MLP), others after them by name. */
  columns: string[];
  /** Rows by layer index (numerically), then rows of modules outside numbered layers. */
  rows: { label: string; cells: (RankCell | null)[] }[];
  /** Kept ranks over all modules, and what they started with (modules × init_r). */
  kept: number;
  initial: number;
}

/** PEFT's usual order of a decoder layer's linear modules. */
const ORDER = ['q_proj', 'k_proj', 'v_proj', 'o_proj', 'gate_proj', 'up_proj', 'down_proj'];

/** The layer index of a module path (`model.layers.3.mlp.up_proj` → 3): its first numeric segment. */
function layerOf(name: string): number | undefined {
  const m = /(?:^|\.)(\d+)(?:\.|$)/.exec(name);
  return m ? Number(m[1]) : undefined;
}

export function rankGrid(ranks: ModuleRanks): RankGrid {
  const kindOf = (name: string) => name.slice(name.lastIndexOf('.') + 1);
  const kinds = [...new Set(ranks.modules.map((m) => kindOf(m.name)))];
  const columns = [...ORDER.filter((k) => kinds.includes(k)), ...kinds.filter((k) => !ORDER.includes(k)).sort()];
  const rowsByKey = new Map<string, { label: string; layer: number | undefined; cells: (RankCell | null)[] }>();
  for (const m of ranks.modules) {
    const layer = layerOf(m.name);
    // Outside numbered layers, a module's own path (less its kind) names its row.
    const key = layer === undefined ? `~${m.name.slice(0, Math.max(0, m.name.lastIndexOf('.')))}` : `#${layer}`;
    let row = rowsByKey.get(key);
    if (!row) {
      row = { label: layer === undefined ? key.slice(1) || m.name : `layer ${layer}`, layer, cells: columns.map(() => null) };
      rowsByKey.set(key, row);
    }
    row.cells[columns.indexOf(kindOf(m.name))] = { rank: m.rank, fraction: ranks.initR > 0 ? Math.min(1, m.rank / ranks.initR) : 0, name: m.name };
  }
  const rows = [...rowsByKey.values()].sort((a, b) =>
    a.layer !== undefined && b.layer !== undefined ? a.layer - b.layer : a.layer !== undefined ? -1 : b.layer !== undefined ? 1 : a.label.localeCompare(b.label));
  const kept = ranks.modules.reduce((sum, m) => sum + m.rank, 0);
  return {
    initR: ranks.initR, ...(ranks.targetR !== undefined ? { targetR: ranks.targetR } : {}), columns,
    rows: rows.map(({ label, cells }) => ({ label, cells })), kept, initial: ranks.modules.length * ranks.initR,
  };
}

/** The grid's caption: the total kept and the mean rank against init_r and target_r. */
export function rankSummary(grid: RankGrid): string {
  const modules = grid.rows.reduce((n, r) => n + r.cells.filter((c) => c !== null).length, 0);
  const mean = modules > 0 ? grid.kept / modules : 0;
  return `${grid.kept.toLocaleString('en-US')} of ${grid.initial.toLocaleString('en-US')} ranks kept · mean ${Number(mean.toFixed(1))} per module` +
    ` (init_r ${grid.initR}${grid.targetR !== undefined ? `, target_r ${grid.targetR}` : ''})`;
}
