// Work that must finish once begun: putting a restore's target back. A face that handles SIGINT
// and SIGTERM asks here before it lets a second signal end the process: while a target is being
// put back, the process keeps going and the face says why. (A hard kill cannot be refused; the
// rollback marker lets the next restore finish the job, see restore/rollback-marker.ts.)

const running: string[] = [];

/** Runs work as critical: `doing` is what a face tells the person who presses Ctrl-C meanwhile. */
export async function critically<T>(doing: string, work: () => Promise<T>): Promise<T> {
  running.push(doing);
  try {
    return await work();
  } finally {
    running.splice(running.lastIndexOf(doing), 1);
  }
}

/** What critical work is under way (the innermost), or undefined. */
export function criticalWork(): string | undefined {
  return running.at(-1);
}
