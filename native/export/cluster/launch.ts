// The launch scripts of a cluster export: launch.sh runs on one node (every GPU of it), launch-multinode.sh runs on each
// of several nodes with the variables torchrun uses (MASTER_ADDR, MASTER_PORT, NNODES, NODE_RANK, NPROC_PER_NODE).
// Axolotl is started through `accelerate launch -m axolotl.cli.train` (it configures DeepSpeed/FSDP from its YAML);
// LLaMA-Factory through `llamafactory-cli train` with FORCE_TORCHRUN (its launcher reads the same variables), or through
// accelerate with FSDP; TRL's script through torchrun, or accelerate with FSDP. The accelerate options used are checked
// against accelerate's launch parser (test/fixtures/cluster-schemas/accelerate.json).
import type { TrainerName } from './dataset';
import { ACCELERATE_FILE, type Parallelism } from './parallel';

export const LF_TRAIN_SCRIPT = 'lf_train.py';

/** LLaMA-Factory's src/train.py (not installed by pip): accelerate launches a script, run_exp reads config.yaml from argv. */
export const LF_TRAIN_PY = `#!/usr/bin/env python3
"""Runs LLaMA-Factory's training on the config given as the first argument (as LLaMA-Factory's src/train.py does)."""
from llamafactory.train.tuner import run_exp


if __name__ == "__main__":
    run_exp()
`;

const HEAD = `#!/usr/bin/env bash
set -euo pipefail
cd "$(dirname "$0")"
NPROC_PER_NODE="\${NPROC_PER_NODE:-$(nvidia-smi -L | wc -l)}"
`;

const MULTI_CHECKS = `: "\${MASTER_ADDR:?set MASTER_ADDR to the address of node 0 (reachable from every node)}"
: "\${NNODES:?set NNODES to the number of nodes}"
: "\${NODE_RANK:?set NODE_RANK to this node's rank: 0 on the MASTER_ADDR node, then 1 … NNODES-1}"
MASTER_PORT="\${MASTER_PORT:-29500}"
export MASTER_ADDR MASTER_PORT NNODES NODE_RANK NPROC_PER_NODE
`;

/** accelerate launch's machine options for several nodes (the total process count, this machine's rank, the rendezvous). */
const ACCELERATE_MULTI = '--num_processes "$((NNODES * NPROC_PER_NODE))" --num_machines "$NNODES" --machine_rank "$NODE_RANK" --main_process_ip "$MASTER_ADDR" --main_process_port "$MASTER_PORT"';
const ACCELERATE_SINGLE = '--num_processes "$NPROC_PER_NODE"';
const TORCHRUN_MULTI = '--nnodes "$NNODES" --node_rank "$NODE_RANK" --master_addr "$MASTER_ADDR" --master_port "$MASTER_PORT" --nproc_per_node "$NPROC_PER_NODE"';
const TORCHRUN_SINGLE = '--standalone --nproc_per_node "$NPROC_PER_NODE"';

function command(trainer: TrainerName, parallelism: Parallelism, multi: boolean): string {
  const accelerate = multi ? ACCELERATE_MULTI : ACCELERATE_SINGLE;
  switch (trainer) {
    case 'axolotl':
      return `accelerate launch ${accelerate} -m axolotl.cli.train config.yaml`;
    case 'llamafactory':
      if (parallelism === 'fsdp') return `accelerate launch --config_file ${ACCELERATE_FILE} ${accelerate} ${LF_TRAIN_SCRIPT} config.yaml`;
      return 'FORCE_TORCHRUN=1 llamafactory-cli train config.yaml';
    case 'trl':
      if (parallelism === 'fsdp') return `accelerate launch --config_file ${ACCELERATE_FILE} ${accelerate} train.py`;
      return `torchrun ${multi ? TORCHRUN_MULTI : TORCHRUN_SINGLE} train.py`;
  }
}

/** The two scripts' text. */
export function launchScripts(trainer: TrainerName, parallelism: Parallelism): { 'launch.sh': string; 'launch-multinode.sh': string } {
  return {
    'launch.sh': `${HEAD}# One node: a process per GPU (set NPROC_PER_NODE to use fewer).\n` +
      (trainer === 'llamafactory' && parallelism !== 'fsdp' ? 'export NPROC_PER_NODE\n' : '') +
      `${command(trainer, parallelism, false)}\n`,
    'launch-multinode.sh': `${HEAD}# Several nodes: run this on every node with the same MASTER_ADDR, MASTER_PORT and NNODES and its own NODE_RANK.\n` +
      `${MULTI_CHECKS}${command(trainer, parallelism, true)}\n`,
  };
}

