// A stand-in training worker for worker-client tests: serves the real run socket (native/train/ipc.ts), writes
// worker.json and status.json like the real worker, a step event and metrics.jsonl line every FAKE_STEP_MS (30)
// of FAKE_TOTAL (1000), and obeys FAKE_MODE: 'normal' (stop → done + exit 0), 'exit-early' (fails before
// listening), 'ignore-stop' (only SIGTERM ends it), 'hung' (neither stop nor SIGTERM: only SIGKILL ends it).
import { appendFileSync, rmSync } from 'node:fs';
import { WORKER_PROTOCOL_VERSION, type WorkerEvent } from '../../../../native/protocol';
import { serveRunSocket } from '../../../../native/train/ipc';
import { runPaths, writeRunStatus } from '../../../../native/train/run-dir';
import { writeJsonAtomic } from '../../../../native/util/atomic-write';

const runDir = process.argv[2];
const mode = process.env.FAKE_MODE ?? 'normal';
console.log(`fake worker starting in ${runDir} args=${process.argv.slice(3).join(' ')}`);
if (mode === 'hung') process.on('SIGTERM', () => console.log('fake worker: SIGTERM ignored'));
if (mode === 'exit-early') {
  console.error('fake worker: model folder not found');
  process.exit(3);
}
void main();

async function main(): Promise<void> {
  const total = Number(process.env.FAKE_TOTAL ?? 1000);
  let step = 0;
  const server = await serveRunSocket(runDir, (command) => {
    if (command.type === 'ping') server.broadcast({ type: 'status', phase: 'training', message: `pong at ${step}` });
    if (command.type === 'stop' && mode === 'normal') void finish();
  });
  // FAKE_WORKER_JSON_DELAY_MS widens the real worker's window between listening and writing worker.json.
  await new Promise((resolve) => setTimeout(resolve, Number(process.env.FAKE_WORKER_JSON_DELAY_MS ?? 0)));
  writeJsonAtomic(runPaths(runDir).worker, { pid: process.pid, socket: server.socketPath, started_at: new Date().toISOString(), protocol: WORKER_PROTOCOL_VERSION });
  writeRunStatus(runDir, { state: 'running', step, total_steps: total });
  const timer = setInterval(() => {
    step++;
    const event: WorkerEvent = {
      type: 'step', total_steps: total, step, epoch: 0, loss: 2 / step, lr: 1e-4, grad_norm: 1, tokens: step * 10,
      tokens_per_s: 100, elapsed_s: step * 0.03, memory_mb: 10,
    };
    const { type: _type, total_steps: _total, ...record } = event;
    appendFileSync(runPaths(runDir).metrics, JSON.stringify(record) + '\n');
    writeRunStatus(runDir, { state: 'running', step, total_steps: total });
    server.broadcast(event);
  }, Number(process.env.FAKE_STEP_MS ?? 30));

  async function finish(): Promise<void> {
    clearInterval(timer);
    writeRunStatus(runDir, { state: 'stopped', step, total_steps: total });
    server.broadcast({ type: 'done', adapter: runDir, reason: 'stopped', step });
    rmSync(runPaths(runDir).worker, { force: true });
    await server.close();
    process.exit(0);
  }
}
