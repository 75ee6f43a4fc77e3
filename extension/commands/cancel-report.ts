// What a cancelled long action (a `lora-studio … --json` child: merge, compose, export) really did, said from how
// the child ended and what its output folder holds afterwards, not from the click: it may have finished before the
// cancel reached it, stopped and cleaned up, or had to be killed. Pure: no vscode.

/** How a cancelled child ended (cli-child.ts). */
export interface CancelledEnd {
  /** Exit code; null when a signal ended it. */
  code: number | null;
  signal: NodeJS.Signals | null;
  /** It was still running `killAfterMs` after SIGTERM and was killed (SIGKILL). */
  killed: boolean;
}

export interface CancelReport {
  severity: 'info' | 'warning';
  message: string;
  /** Whether the output is complete and worth revealing. */
  finished: boolean;
}

/**
 * `what`: the action as a noun ("merge"); `out`: its output folder; `outHolds`: whether that folder exists with files
 * now; `staging`: where a killed action's unfinished files stay until the next one cleans them.
 */
export function cancelReport(what: string, out: string, end: CancelledEnd, outHolds: boolean, staging?: string): CancelReport {
  const What = what.charAt(0).toUpperCase() + what.slice(1);
  if (end.code === 0) {
    return { severity: 'info', finished: true, message: `The ${what} had already finished when the cancel arrived: its output is in ${out}.` };
  }
  const output = outHolds ? `${out} holds files from it — check or delete that folder` : `nothing was written to ${out}`;
  if (end.killed) {
    return {
      severity: 'warning', finished: false,
      message: `The ${what} did not stop after the cancel and was killed; ${output}.${staging ? ` Its unfinished files (${staging}) are removed by the next ${what}.` : ''}`,
    };
  }
  return { severity: 'info', finished: false, message: `${What} cancelled; ${output}.` };
}
