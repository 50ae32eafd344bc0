import type { DeadlineClock, DeadlineEntry } from "./deadline_clock.ts";

/** Why a {@linkcode ConnectionDeadline} expired. */
export type ConnectionDeadlineReason = "idle" | "total";

/** Options for {@linkcode ConnectionDeadline}. */
export interface ConnectionDeadlineOptions {
  /**
   * Milliseconds without progress ({@linkcode ConnectionDeadline.touch})
   * before the connection expires; 0 for none.
   *
   * @default {0}
   */
  idleTimeout?: number;
  /**
   * Milliseconds the whole connection may last; 0 for no limit.
   *
   * @default {0}
   */
  totalTimeout?: number;
  /**
   * What to do at expiry (a server closes the connection, or answers 421
   * first); see {@linkcode ConnectionDeadline.onExpire}.
   */
  onExpire: (reason: ConnectionDeadlineReason) => void;
}

/**
 * The deadlines of one server connection, swept by a shared
 * {@linkcode DeadlineClock}: an idle deadline that every bit of progress
 * starts again (`touch()`), a phase deadline a protocol sets for one wait
 * (`after(ms)`: HTTP's head timeout), and a total lifetime. `TcpServer`
 * gives one to every connection as `info.deadline`; a server-side
 * `TextConn` touches it on every read and write.
 *
 * @example An idle connection expires, a busy one does not
 * ```ts
 * import { ConnectionDeadline, DeadlineClock } from "@inetkit/inetkit/net";
 * import { assertEquals } from "@std/assert";
 *
 * const clock = new DeadlineClock({ resolution: 10 });
 * const expired: string[] = [];
 * const idle = new ConnectionDeadline(clock, {
 *   idleTimeout: 40,
 *   onExpire: (why) => void expired.push(`idle:${why}`),
 * });
 * const busy = new ConnectionDeadline(clock, {
 *   idleTimeout: 40,
 *   onExpire: (why) => void expired.push(`busy:${why}`),
 * });
 * for (let i = 0; i < 8; i++) {
 *   busy.touch();
 *   await new Promise((resolve) => setTimeout(resolve, 15));
 * }
 * idle.dispose();
 * busy.dispose();
 * assertEquals(expired, ["idle:idle"]);
 * ```
 */
export class ConnectionDeadline implements DeadlineEntry {
  /** When the current wait ends (ms since the epoch), or 0; the clock reads it. */
  at = 0;
  #clock: DeadlineClock;
  #idle: number;
  #closeAt: number;
  #disposed = false;
  /**
   * What happens at expiry; a protocol may replace it to say goodbye
   * (`421 Timeout`) before closing.
   */
  onExpire: (reason: ConnectionDeadlineReason) => void;

  /**
   * Creates the deadlines and starts watching them (the idle one is armed).
   *
   * @param clock The clock that sweeps them.
   * @param options The idle and total timeouts and the expiry action.
   * @throws {RangeError} If a timeout is negative.
   */
  constructor(clock: DeadlineClock, options: ConnectionDeadlineOptions) {
    const idle = options.idleTimeout ?? 0;
    const total = options.totalTimeout ?? 0;
    if (!(idle >= 0) || !(total >= 0)) {
      throw new RangeError(
        `Cannot set deadlines: timeouts ${idle} and ${total} must not be negative`,
      );
    }
    this.#clock = clock;
    this.#idle = idle;
    this.onExpire = options.onExpire;
    this.#closeAt = total > 0 ? clock.now + total : 0;
    clock.add(this);
    this.touch();
  }

  /** The clock's current time (coarse: the last tick). */
  get now(): number {
    return this.#clock.now;
  }

  /** Milliseconds of idleness allowed; setting it re-arms the idle deadline. */
  get idleTimeout(): number {
    return this.#idle;
  }

  set idleTimeout(ms: number) {
    if (!(ms >= 0)) throw new RangeError(`Cannot set idleTimeout ${ms}: it must not be negative`);
    this.#idle = ms;
    this.touch();
  }

  /** Records progress: the idle deadline starts again. */
  touch(): void {
    this.#set(this.#idle);
  }

  /**
   * Sets the deadline of the current wait to `ms` from now (within the total
   * lifetime), replacing the idle one until the next `touch()`/`clear()`.
   *
   * @param ms Milliseconds; 0 for no phase deadline (only the total one).
   */
  after(ms: number): void {
    this.#set(ms);
  }

  /** Removes the current wait's deadline; only the total lifetime remains. */
  clear(): void {
    this.#set(0);
  }

  #set(ms: number): void {
    if (this.#disposed) return;
    const at = ms > 0 ? this.#clock.now + ms : 0;
    const closeAt = this.#closeAt;
    this.at = at === 0 ? closeAt : closeAt === 0 ? at : Math.min(at, closeAt);
  }

  /** Called by the clock when `at` passed. */
  expire(): void {
    if (this.#disposed) return;
    const total = this.#closeAt !== 0 && this.#clock.now >= this.#closeAt;
    this.onExpire(total ? "total" : "idle");
  }

  /** Stops watching (the connection ended). Safe to repeat. */
  dispose(): void {
    if (this.#disposed) return;
    this.#disposed = true;
    this.at = 0;
    this.#clock.delete(this);
  }
}
