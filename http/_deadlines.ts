/**
 * Coarse deadlines for client requests: one shared interval timer instead of
 * a `setTimeout`/`clearTimeout` pair per request (which costs more than the
 * rest of a small request's bookkeeping). Precision is the tick, 25 ms.
 *
 * @module
 */

/** A registered deadline; pass it to {@linkcode cancelDeadline}. */
export interface Deadline {
  at: number;
  fire: () => void;
}

const TICK = 25;
const pending = new Set<Deadline>();
let timer: ReturnType<typeof setInterval> | undefined;

function tick(): void {
  const now = Date.now();
  for (const deadline of pending) {
    if (deadline.at <= now) {
      pending.delete(deadline);
      deadline.fire();
    }
  }
  if (pending.size === 0) {
    clearInterval(timer);
    timer = undefined;
  }
}

/** Calls `fire` once, about `ms` milliseconds from now, unless cancelled first. */
export function addDeadline(ms: number, fire: () => void): Deadline {
  const deadline = { at: Date.now() + ms, fire };
  pending.add(deadline);
  timer ??= setInterval(tick, TICK);
  return deadline;
}

/** Cancels a deadline (safe to repeat, or to call after it fired). */
export function cancelDeadline(deadline: Deadline | null | undefined): void {
  if (deadline === null || deadline === undefined) return;
  pending.delete(deadline);
  if (pending.size === 0 && timer !== undefined) {
    clearInterval(timer);
    timer = undefined;
  }
}
