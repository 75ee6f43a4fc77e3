#!/usr/bin/env bash
# bench/gpu/compare-methods.sh — issue 16's method comparison on the GPU machine (offline, no Node installed): stages
# and installs the parts of bench/gpu/prepare.sh through `check.sh --install-only`, makes a Qwen2.5-0.5B-shaped model
# with random bf16 weights (bench/memory/make-model.ts, bundled) and runs `lora-studio compare-methods` on the demo data
# (media/sample-data, which travels with the working tree). --rehearse does the same here on the CPU with the demo model
# (4 layers, hidden 256), 2 steps and 64 tokens, to prove the script before device time is spent on it.
#
#   bash bench/gpu/compare-methods.sh [--rehearse] [--budget 530] [--steps 20] [--seq-len 256] [--layers 24]
#                                     [--methods lora,dora,…]
#
# Device calls (as check.sh's header says: one per part, back to back, while the machine stays warm):
#   run(command="bash bench/gpu/compare-methods.sh", carry=[".gpu-cache/part-a"], timeout_s=120)   → exits 3 (part-b missing)
#   run(command="bash bench/gpu/compare-methods.sh", carry=[".gpu-cache/part-b"], timeout_s=560)   → the comparison
#
# The methods run one after the other, the most asked-for first, so a budget that runs out still returns those: the
# comparison gets SIGINT before the budget ends (it then stops the current method cleanly and prints the table of what
# ran). $OUT gets: check.log (staging/install), compare.log (this script), table.txt (the comparison's table),
# progress.log (its progress lines, timestamped), comparison.json (settings and results), gpu-mem.txt (nvidia-smi's
# memory.used every 0.5 s) and gpu-peak.txt (the peak of those samples while each method ran: device memory of the
# whole card, which the table's peak RSS — host memory of the trainer process — does not show).
set -Eeuo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
cd "$ROOT"

MODE=cuda
BUDGET=530
STEPS=20
SEQ_LEN=256
LAYERS=24
METHODS=lora,dora,qlora,lisa,prompt-tuning,prefix-tuning,adalora,relora,pissa
while [[ $# -gt 0 ]]; do
  case $1 in
    --rehearse) MODE=cpu ;;
    --budget) BUDGET=$2; shift ;;
    --steps) STEPS=$2; shift ;;
    --seq-len) SEQ_LEN=$2; shift ;;
    --layers) LAYERS=$2; shift ;;
    --methods) METHODS=$2; shift ;;
    -h|--help) sed -n '2,/^set -Eeuo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    *) echo "compare-methods.sh: unknown option $1" >&2; exit 2 ;;
  esac
  shift
done
if [[ $MODE == cpu ]]; then
  DEVICE=cpu STAGE=/tmp/lora-gpu-rehearse
  [[ $STEPS == 20 ]] && STEPS=2
  [[ $SEQ_LEN == 256 ]] && SEQ_LEN=64
else
  DEVICE=cuda STAGE=/tmp/lora-gpu
fi
OUTDIR=${OUT:-$ROOT/.gpu-cache/out-compare-$MODE}
mkdir -p "$OUTDIR"
T0=$EPOCHREALTIME
elapsed() { awk -v a="$1" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.1f", b - a }'; }
left() { awk -v t0="$T0" -v now="$EPOCHREALTIME" -v b="$BUDGET" 'BEGIN { printf "%d", b - (now - t0) }'; }

# ── parts and install: check.sh's own stages (exit 3 = a part has not arrived yet: carry the next one)
rc=0
OUT=$OUTDIR bash bench/gpu/check.sh --install-only --stage-dir "$STAGE" $([[ $MODE == cpu ]] && echo --rehearse) || rc=$?
((rc == 0)) || exit $rc

exec > >(tee "$OUTDIR/compare.log") 2>&1
say() { printf '[%s +%6ss] %s\n' "$(date -u +%H:%M:%S)" "$(elapsed "$T0")" "$*"; }
trap 'say "FAIL: command failed (exit $?) at line $LINENO: $BASH_COMMAND"' ERR
# shellcheck disable=SC1091
source "$STAGE/env.sh"
say "installed (node $("$NODE" --version), app $APP); budget ${BUDGET}s, $(left)s left"

# ── model
WORK=$STAGE/compare
rm -rf "$WORK" && mkdir -p "$WORK"
if [[ $MODE == cuda ]]; then
  say "making the Qwen2.5-0.5B-shaped model ($LAYERS layers, random bf16 weights)"
  "$NODE" "$APP/js/make-model.cjs" qwen2.5-0.5b "$LAYERS" "$WORK/model"
  SHAPE="Qwen2.5-0.5B shape ($LAYERS layers, hidden 896, 14 heads / 2 KV heads, intermediate 4864, vocab 151,680, tied), random bf16 weights"
else
  say "making the demo model (rehearsal)"
  "$NODE" "$APP/js/make-demo-model.cjs" "$WORK/model"
  SHAPE="demo model (Qwen2, 4 layers, hidden 256, 1,024 tokens), float32"
fi
say "model ready: $(du -sh "$WORK/model" | cut -f1); $(left)s left"

# ── GPU memory sampler (the card's memory.used; nothing else runs on it)
SAMPLER=
if [[ $MODE == cuda ]] && command -v nvidia-smi >/dev/null; then
  nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader | sed 's/^/    GPU /'
  (while :; do echo "$EPOCHREALTIME $(nvidia-smi --query-gpu=memory.used --format=csv,noheader,nounits | head -1)"; sleep 0.5; done) >"$OUTDIR/gpu-mem.txt" 2>/dev/null &
  SAMPLER=$!
fi

# ── the comparison: SIGINT 30 s before the budget ends (a clean stop and the table of what ran), SIGKILL 20 s later
limit=$(($(left) - 30))
((limit > 60)) || { say "FAIL: only $(left)s left of the ${BUDGET}s budget for the comparison"; exit 1; }
say "compare-methods: $METHODS, $STEPS steps, seq $SEQ_LEN, --device $DEVICE, stopped after ${limit}s at the latest"
rc=0
timeout -s INT -k 20 "$limit" "$NODE" "$APP/dist/cli.js" compare-methods --model "$WORK/model" \
  --data media/sample-data/instructions.jsonl --eval-data media/sample-data/held-out.jsonl --methods "$METHODS" \
  --steps "$STEPS" --seq-len "$SEQ_LEN" --device "$DEVICE" --out "$WORK/runs" \
  >"$OUTDIR/table.txt" 2> >(while IFS= read -r line; do printf '%s %s\n' "$EPOCHREALTIME" "$line"; done >"$OUTDIR/progress.log") || rc=$?
[[ -n $SAMPLER ]] && kill "$SAMPLER" 2>/dev/null
wait "$SAMPLER" 2>/dev/null || true
sleep 0.5 # the progress.log writer drains
say "compare-methods exited $rc"
cat "$OUTDIR/table.txt"
[[ -f $WORK/runs/comparison.json ]] && cp "$WORK/runs/comparison.json" "$OUTDIR/"

# ── per-method peak of the GPU memory samples, from the progress lines' '[i/n] label: training in …' times
if [[ -n $SAMPLER ]]; then
  "$NODE" - "$OUTDIR/progress.log" "$OUTDIR/gpu-mem.txt" >"$OUTDIR/gpu-peak.txt" <<'EOF' || true
const fs = require('node:fs');
const [progress, samples] = process.argv.slice(2).map((f) => fs.readFileSync(f, 'utf8').split('\n').filter(Boolean));
const starts = progress.map((l) => l.match(/^(\S+) \[(\d+)\/\d+\] (.*): training in /)).filter(Boolean).map((m) => ({ t: Number(m[1]), label: m[3] }));
const mem = samples.map((l) => l.split(' ').map(Number)).filter(([t, mib]) => Number.isFinite(t) && Number.isFinite(mib));
const idle = mem.length ? mem[0][1] : NaN;
console.log(`GPU memory.used (nvidia-smi, MiB, whole card), sampled every 0.5 s; before the first method: ${idle} MiB`);
starts.forEach((s, i) => {
  const end = starts[i + 1]?.t ?? Infinity;
  const peak = Math.max(...mem.filter(([t]) => t >= s.t && t < end).map(([, mib]) => mib));
  console.log(`${s.label.padEnd(36)} peak ${peak} MiB`);
});
EOF
  cat "$OUTDIR/gpu-peak.txt"
fi
{
  echo "settings: $SHAPE; compare-methods --methods $METHODS --steps $STEPS --seq-len $SEQ_LEN --device $DEVICE"
  echo "  (defaults otherwise: see comparison.json's common_train_args); data media/sample-data/instructions.jsonl, eval held-out.jsonl"
  echo "versions: node $("$NODE" --version), onnxruntime-node $("$NODE" -e "console.log(require('$APP/node_modules/onnxruntime-node/package.json').version)"), $(grep '^# commit' "$STAGE/incoming/MANIFEST" | sed 's/^# //')"
} | tee -a "$OUTDIR/table.txt"
say "done: $(ls "$OUTDIR" | tr '\n' ' ')"
exit $rc
