/**
 * Something with a deadline on a {@linkcode DeadlineClock}: `at` is when it
 * expires, in milliseconds since the epoch, or 0 for "not now". Setting `at`
 * is a field write, cheap enough to do on every read of a hot connection.
 */
export interface DeadlineEntry {
  /** When to expire (ms since the epoch), or 0 for no deadline. */
  at: number;
  /** Called once when `at` has passed; `at` is reset to 0 first. */
  expire(): void;
}

/** Options for {@linkcode DeadlineClock}. */
export interface DeadlineClockOptions {
  /**
   * Milliseconds between sweeps: the precision of every deadline.
   *
   * @default {25}
   */
  resolution?: number;
  /**
   * Keep ticking with no entries (a server that also reads `now`, or caches
   * a `Date` header in `onTick`). Otherwise the timer stops when the last
   * entry is removed and starts again with the next.
   *
   * @default {false}
   */
  persistent?: boolean;
}

/**
 * One interval timer for many deadlines: the idle, head and total deadlines
 * of every connection of a server, or of every command in flight in a
 * process, instead of a `setTimeout`/`clearTimeout` pair per wait (which
 * costs more than the rest of a small request's bookkeeping). Entries set
 * `at` as their state changes; each tick expires those whose time passed.
 *
 * @example An entry that expires
 * ```ts
 * import { DeadlineClock } from "@inetkit/inetkit/net";
 * import { assert } from "@std/assert";
 *
 * const clock = new DeadlineClock({ resolution: 10 });
 * let expired = false;
 * const entry = { at: 0, expire: () => void (expired = true) };
 * clock.add(entry);
 * entry.at = clock.now + 20;
 * await new Promise((resolve) => setTimeout(resolve, 80));
 * clock.delete(entry);
 * assert(expired);
 * ```
 */
export class DeadlineClock {
  #now = Date.now();
  #entries = new Set<DeadlineEntry>();
  #timer: ReturnType<typeof setInterval> | undefined;
  #resolution: number;
  #persistent: boolean;
  #closed = false;
  #unref = false;
  /** Called on every tick before deadlines are checked (a server caches its Date line here). */
  onTick: ((now: number) => void) | null = null;

  /**
   * Creates a clock; a persistent one starts ticking at once.
   *
   * @param options The resolution and whether the timer runs without entries.
   * @throws {RangeError} If the resolution is not a positive integer.
   */
  constructor(options?: DeadlineClockOptions) {
    options ??= {};
    const resolution = options.resolution ?? 25;
    if (!Number.isSafeInteger(resolution) || resolution < 1) {
      throw new RangeError(`Cannot create clock: resolution ${resolution} is not positive`);
    }
    this.#resolution = resolution;
    this.#persistent = options.persistent === true;
    if (this.#persistent) this.#start();
  }

  /**
   * The time of the last tick (ms since the epoch): deadlines are computed
   * from it (`clock.now + ms`). While the timer is stopped it is read fresh.
   */
  get now(): number {
    return this.#timer === undefined ? (this.#now = Date.now()) : this.#now;
  }

  /** The number of entries watched. */
  get size(): number {
    return this.#entries.size;
  }

  /**
   * Watches an entry until {@linkcode DeadlineClock.delete}. Its `at` may be
   * 0 now and set later.
   *
   * @param entry The entry.
   */
  add(entry: DeadlineEntry): void {
    if (this.#closed) throw new TypeError("Cannot add a deadline: the clock is closed");
    if (this.#timer === undefined) this.#now = Date.now();
    this.#entries.add(entry);
    this.#start();
  }

  /**
   * Stops watching an entry (safe to repeat).
   *
   * @param entry The entry.
   */
  delete(entry: DeadlineEntry): void {
    this.#entries.delete(entry);
    if (this.#entries.size === 0 && !this.#persistent) this.#stop();
  }

  /**
   * Lets the process exit while only this clock's timer is pending (for
   * process-wide client clocks).
   */
  unref(): void {
    this.#unref = true;
    if (this.#timer !== undefined) Deno.unrefTimer(this.#timer as unknown as number);
  }

  /** Undoes {@linkcode DeadlineClock.unref}. */
  ref(): void {
    this.#unref = false;
    if (this.#timer !== undefined) Deno.refTimer(this.#timer as unknown as number);
  }

  /** Sweeps now: updates `now`, calls `onTick`, expires what is due. */
  tick(): void {
    const now = this.#now = Date.now();
    this.onTick?.(now);
    for (const entry of this.#entries) {
      if (entry.at !== 0 && entry.at <= now) {
        entry.at = 0;
        entry.expire();
      }
    }
    if (this.#entries.size === 0 && !this.#persistent) this.#stop();
  }

  /** Stops the timer and forgets every entry. */
  close(): void {
    this.#closed = true;
    this.#entries.clear();
    this.#stop();
  }

  #start(): void {
    if (this.#timer !== undefined || this.#closed) return;
    this.#timer = setInterval(() => this.tick(), this.#resolution);
    if (this.#unref) Deno.unrefTimer(this.#timer as unknown as number);
  }

  #stop(): void {
    if (this.#timer === undefined) return;
    clearInterval(this.#timer);
    this.#timer = undefined;
  }
}

/** The process-wide clock for client-side deadlines (commands, requests). */
export const clientClock: DeadlineClock = new DeadlineClock({ resolution: 25 });

/**
 * A one-shot deadline on {@linkcode clientClock}: calls `fire` about `ms`
 * milliseconds from now unless cancelled with {@linkcode cancelDeadline}.
 *
 * @param ms Milliseconds from now.
 * @param fire What to do then.
 * @returns The entry, for cancelling.
 *
 * @example Cancelled before it fires
 * ```ts
 * import { addDeadline, cancelDeadline } from "@inetkit/inetkit/net";
 * import { assertEquals } from "@std/assert";
 *
 * let fired = false;
 * const deadline = addDeadline(10, () => void (fired = true));
 * cancelDeadline(deadline);
 * await new Promise((resolve) => setTimeout(resolve, 50));
 * assertEquals(fired, false);
 * ```
 */
export function addDeadline(ms: number, fire: () => void): DeadlineEntry {
  const entry: DeadlineEntry = {
    at: 0,
    expire: () => {
      clientClock.delete(entry);
      fire();
    },
  };
  clientClock.add(entry);
  entry.at = Date.now() + ms;
  return entry;
}

/**
 * Cancels a deadline from {@linkcode addDeadline} (safe to repeat, or to
 * call after it fired).
 *
 * @param entry The deadline, or nothing.
 */
export function cancelDeadline(entry: DeadlineEntry | null | undefined): void {
  if (entry === null || entry === undefined) return;
  entry.at = 0;
  clientClock.delete(entry);
}
