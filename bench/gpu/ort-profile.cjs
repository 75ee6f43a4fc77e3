// Preload: ONNX Runtime profiling for every session a Node process creates, without touching the engine.
//   LORA_GPU_PROFILE_PREFIX=/tmp/prof/ort node -r ./bench/gpu/ort-profile.cjs dist/cli.js train …
// Each InferenceSession.create gets enableProfiling and its own profileFilePrefix (<prefix>-<n>, n counting sessions in
// creation order; ORT appends _<date>_<time to the millisecond>.json, which alone could collide). ORT writes a
// session's profile when the session is released; sessions still open when the process exits are flushed with
// endProfiling() on 'exit'. bench/gpu/check-profile.cjs then reads the files.
// LORA_GPU_ORT_LOG_LEVEL=0..4 also sets the sessions' logSeverityLevel (0 verbose: ORT logs node placements).
// Why a preload: profiling is a check of this script's, not a setting users need, so the engine has no switch for it.
'use strict';

const prefix = process.env.LORA_GPU_PROFILE_PREFIX;
if (prefix) {
  const { mkdirSync } = require('node:fs');
  const { dirname } = require('node:path');
  mkdirSync(dirname(prefix), { recursive: true });
  // The same module instance the bundled CLI gets: onnxruntime-node is external to dist/cli.js, so both resolve it
  // through the same node_modules (or NODE_PATH) and share the InferenceSession class.
  const ort = require('onnxruntime-node');
  const Session = ort.InferenceSession;
  const create = Session.create;
  const logLevel = process.env.LORA_GPU_ORT_LOG_LEVEL;
  const open = new Set();
  let count = 0;

  const isOptions = (value) =>
    value !== null && typeof value === 'object' && !ArrayBuffer.isView(value) && !(value instanceof ArrayBuffer);

  Session.create = async function createWithProfiling(...args) {
    // create(path | bytes, options?) or create(buffer, byteOffset, byteLength?, options?): options is the last object.
    const at = isOptions(args[args.length - 1]) ? args.length - 1 : args.length;
    const options = { ...(args[at] ?? {}), enableProfiling: true, profileFilePrefix: `${prefix}-${++count}` };
    if (logLevel !== undefined) options.logSeverityLevel = Number(logLevel);
    args[at] = options;
    const session = await create.apply(this, args);
    open.add(session);
    const release = session.release.bind(session);
    session.release = async () => {
      open.delete(session);
      return release();
    };
    return session;
  };

  process.on('exit', () => {
    for (const session of open) {
      try {
        // endProfiling is async in onnxruntime-common but calls the binding synchronously before its first await.
        void session.endProfiling().catch(() => {});
      } catch {
        // a session the engine already disposed some other way
      }
    }
  });
}
