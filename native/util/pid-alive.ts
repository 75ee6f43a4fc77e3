// Whether a process lives, by pid: signal 0 checks without touching it; EPERM means it exists but is another user's.
// Used to tell a lock, a worker or a half-written folder of a live process from one a killed process left behind.
export function pidAlive(pid: number): boolean {
  if (!Number.isInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}
