// A process's peak resident memory, reported at its exit to a file its parent names. compare-methods runs each method
// in its own process so methods never share a heap, and reads each one's peak here: process.resourceUsage().maxRSS is
// the kernel's high-water mark (getrusage ru_maxrss) of the whole process, onnxruntime's native memory included.
import { readFileSync } from 'node:fs';
import { writeJsonAtomic } from './atomic-write';

/** The variable a parent sets to the file the child writes `{ peak_rss_bytes }` to when it exits. */
export const PEAK_RSS_ENV = 'LORA_STUDIO_PEAK_RSS_FILE';

/** When PEAK_RSS_ENV is set, writes this process's peak RSS there at exit (also after process.exit, e.g. a second Ctrl-C). */
export function reportPeakRssOnExit(env: NodeJS.ProcessEnv = process.env): void {
  const file = env[PEAK_RSS_ENV];
  if (!file) return;
  // Not inherited further: a process this one starts must not overwrite the report.
  delete env[PEAK_RSS_ENV];
  process.once('exit', () => {
    try {
      // maxRSS is in KiB (libuv normalizes ru_maxrss to kilobytes on every platform).
      writeJsonAtomic(file, { peak_rss_bytes: process.resourceUsage().maxRSS * 1024, pid: process.pid });
    } catch {
      // The parent then reports no peak for this process, rather than this exit failing.
    }
  });
}

/** The peak a child reported, or undefined when it wrote none (killed by a signal it could not handle). */
export function readPeakRss(file: string): number | undefined {
  try {
    const value = (JSON.parse(readFileSync(file, 'utf8')) as { peak_rss_bytes?: unknown }).peak_rss_bytes;
    return typeof value === 'number' && Number.isFinite(value) && value > 0 ? value : undefined;
  } catch {
    return undefined;
  }
}
