/**
 * The progress bar of `inetkit get -o FILE` (HTTP, FTP downloads and
 * uploads): one line on standard error, sized to the terminal (its width is
 * asked again at every redraw, so a resized window is followed), with the
 * bytes so far and the total, the percentage, the rate and the time left,
 * as curl and wget show them. It redraws at most every 100 ms, ends with a
 * final line (the average rate and the time taken), and draws nothing when
 * standard error is not a terminal.
 *
 * ```text
 *  45% [=============>                 ] 4.5 MiB / 10.0 MiB  1.2 MiB/s  ETA 0:05
 * 100% [==============================] 10.0 MiB / 10.0 MiB  1.1 MiB/s  in 9.1s
 * ```
 *
 * @module
 */
import type { UrlProgress } from "../url/url_request.ts";
import type { CommandIo } from "./_command.ts";

/** Options for {@linkcode ProgressBar}. */
export interface ProgressBarOptions {
  /** Writes to the terminal (standard error). */
  write(text: string): void;
  /**
   * The terminal's width, asked at every redraw; `undefined` when unknown.
   *
   * @default {() => undefined (80 columns)}
   */
  columns?: () => number | undefined;
  /**
   * The clock, in milliseconds.
   *
   * @default {performance.now}
   */
  now?: () => number;
  /**
   * The fewest milliseconds between two redraws (the final line is always drawn).
   *
   * @default {100}
   */
  interval?: number;
  /**
   * Bytes that were there before this transfer (a resumed download): they
   * count in the percentage, not in the rate.
   *
   * @default {0}
   */
  start?: number;
}

/** Columns assumed when the terminal does not say. */
const DEFAULT_COLUMNS = 80;
/** The rate is measured over the last few seconds, so that it follows changes. */
const RATE_WINDOW = 5000;
/** Before this many milliseconds of samples the rate is not shown. */
const MIN_RATE_SPAN = 200;
/** The fewest milliseconds between two rate samples (memory stays small at any speed). */
const SAMPLE_SPACING = 50;
/** The narrowest bar worth drawing. */
const MIN_BAR = 6;

/**
 * A progress line on a terminal; see the module documentation.
 *
 * @example Drawing on a fake 40-column terminal with a fake clock
 * ```ts
 * import { ProgressBar } from "./_progress.ts";
 * import { assertEquals } from "@std/assert";
 *
 * let time = 0;
 * const drawn: string[] = [];
 * const bar = new ProgressBar({ write: (t) => void drawn.push(t), columns: () => 40, now: () => time });
 * time = 1000;
 * bar.update(524288, 1048576);
 * time = 2000;
 * bar.finish(1048576, 1048576);
 * assertEquals(drawn, [
 *   "\r 50% 512K/1.0M 512K/s ETA 0:01\x1b[K",
 *   "\r100% 1.0M/1.0M 512K/s in 2.0s\x1b[K\n",
 * ]);
 * ```
 */
export class ProgressBar {
  #write: (text: string) => void;
  #columns: () => number | undefined;
  #now: () => number;
  #interval: number;
  #start: number;
  #began: number;
  #lastDraw = -Infinity;
  #samples: { at: number; loaded: number }[] = [];
  #finished = false;

  /** Creates a bar; nothing is drawn before the first update. */
  constructor(options: ProgressBarOptions) {
    this.#write = options.write;
    this.#columns = options.columns ?? (() => undefined);
    this.#now = options.now ?? (() => performance.now());
    this.#interval = options.interval ?? 100;
    this.#start = options.start ?? 0;
    this.#began = this.#now();
    this.#samples.push({ at: this.#began, loaded: this.#start });
  }

  /** Whether the final line has been drawn. */
  get finished(): boolean {
    return this.#finished;
  }

  /** Sets the bytes that were there before the transfer (known only once it starts). */
  resumeFrom(bytes: number): void {
    this.#start = bytes;
    this.#samples = [{ at: this.#now(), loaded: bytes }];
  }

  /**
   * Records progress and redraws when the last redraw is old enough.
   *
   * @param loaded Bytes so far (those before a resume included).
   * @param total The whole size, or `null` when unknown.
   */
  update(loaded: number, total: number | null): void {
    if (this.#finished) return;
    const now = this.#now();
    this.#sample(now, loaded);
    if (now - this.#lastDraw < this.#interval) return;
    this.#lastDraw = now;
    this.#write(`\r${this.#line(now, loaded, total, false)}\x1b[K`);
  }

  /**
   * Draws the final line (average rate, time taken) and a newline; later
   * updates are ignored.
   *
   * @param loaded Bytes transferred in all.
   * @param total The whole size, or `null`.
   */
  finish(loaded: number, total: number | null): void {
    if (this.#finished) return;
    this.#finished = true;
    const now = this.#now();
    this.#sample(now, loaded);
    this.#write(`\r${this.#line(now, loaded, total, true)}\x1b[K\n`);
  }

  /**
   * Ends the line where it is (a failed transfer), so that a message can
   * follow on a line of its own; later updates are ignored.
   */
  stop(): void {
    if (this.#finished) return;
    this.#finished = true;
    if (this.#lastDraw !== -Infinity) this.#write("\n");
  }

  /** A callback for `onProgress` options: updates, and finishes at `done`. */
  readonly onProgress = (progress: UrlProgress): void => {
    if (progress.done) this.finish(progress.loaded, progress.total);
    else this.update(progress.loaded, progress.total);
  };

  #sample(now: number, loaded: number): void {
    // The rate compares the latest count with the oldest sample: a few samples a second do.
    if (now - this.#samples[this.#samples.length - 1]!.at < SAMPLE_SPACING) return;
    this.#samples.push({ at: now, loaded });
    // Keep one sample older than the window, so that the window stays full.
    while (this.#samples.length > 2 && now - this.#samples[1]!.at > RATE_WINDOW) {
      this.#samples.shift();
    }
  }

  /** Bytes per second over the window (or since the start, when final); null when too early. */
  #rate(now: number, loaded: number, final: boolean): number | null {
    const first = final ? { at: this.#began, loaded: this.#start } : this.#samples[0]!;
    const span = now - first.at;
    if (span < (final ? 1 : MIN_RATE_SPAN)) return null;
    return Math.max(0, loaded - first.loaded) / (span / 1000);
  }

  #line(now: number, loaded: number, total: number | null, final: boolean): string {
    const width = Math.max(1, (this.#columns() ?? DEFAULT_COLUMNS) - 1);
    const rate = this.#rate(now, loaded, final);
    const rateText = rate === null ? "--- B/s" : `${formatBytes(rate)}/s`;
    const known = total !== null && total > 0;
    let timeText: string;
    if (final) timeText = `in ${formatElapsed((now - this.#began) / 1000)}`;
    else if (known && rate !== null && rate > 0) {
      timeText = `ETA ${formatDuration(Math.max(0, total - loaded) / rate)}`;
    } else timeText = known ? "ETA --:--" : "";
    const loadedText = formatBytes(loaded);
    const sizes = known ? `${loadedText} / ${formatBytes(total)}` : loadedText;
    // wget's short units for narrow terminals: "4.5M/10M 1.2M/s".
    const shortSizes = known ? `${shortBytes(loaded)}/${shortBytes(total)}` : shortBytes(loaded);
    const shortRate = rate === null ? "---/s" : `${shortBytes(rate)}/s`;
    const join = (parts: string[], gap: string) => parts.filter((p) => p !== "").join(gap);
    const full = join([sizes, rateText, timeText], "  ");
    // From the most to the least: the bar goes first, then spaces, then the time and the rate.
    const tails = [
      full,
      join([shortSizes, shortRate, timeText], " "),
      join([shortSizes, shortRate], " "),
      shortSizes,
    ];
    if (!known) return fit([...tails, loadedText], width);
    const ratio = Math.min(1, Math.max(0, loaded / total));
    const percent = `${Math.floor(ratio * 100)}%`.padStart(4);
    const barWidth = width - percent.length - full.length - 4; // " [" and "] "
    if (barWidth >= MIN_BAR) return `${percent} [${bar(ratio, barWidth)}] ${full}`;
    return fit([...tails.map((tail) => `${percent} ${tail}`), percent.trim()], width);
  }
}

/** The first text that fits, else the last one cut to the width. */
function fit(texts: string[], width: number): string {
  for (const text of texts) if (text.length <= width) return text;
  return texts[texts.length - 1]!.slice(0, width);
}

function bar(ratio: number, width: number): string {
  const filled = Math.floor(ratio * width);
  if (filled >= width) return "=".repeat(width);
  return "=".repeat(filled) + ">" + " ".repeat(width - filled - 1);
}

/**
 * Bytes as `512 B`, `1.5 KiB`, `10.0 MiB`, `2.00 GiB`.
 *
 * @param n A number of bytes.
 * @returns The text.
 */
export function formatBytes(n: number): string {
  if (n < 1024) return `${Math.round(n)} B`;
  if (n < 1048576) return `${(n / 1024).toFixed(1)} KiB`;
  if (n < 1073741824) return `${(n / 1048576).toFixed(1)} MiB`;
  return `${(n / 1073741824).toFixed(2)} GiB`;
}

/** Bytes in wget's short units: `512B`, `1.5K`, `512K`, `10M`, `2.0G`. */
function shortBytes(n: number): string {
  const units = ["B", "K", "M", "G", "T"];
  let value = n;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  if (unit === 0) return `${Math.round(value)}B`;
  return `${value >= 100 ? Math.round(value) : value.toFixed(1)}${units[unit]}`;
}

/** A transfer's duration: `0.4s`, `12.3s`, then `1:02` and `1:02:03`. */
function formatElapsed(seconds: number): string {
  return seconds < 60 ? `${seconds.toFixed(1)}s` : formatDuration(seconds);
}

/**
 * Seconds as `0:05`, `12:34` or `1:02:03` (`>99h` beyond).
 *
 * @param seconds A duration.
 * @returns The text.
 */
export function formatDuration(seconds: number): string {
  const s = Math.ceil(seconds);
  if (s >= 100 * 3600) return ">99h";
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const rest = String(s % 60).padStart(2, "0");
  return h > 0 ? `${h}:${String(m).padStart(2, "0")}:${rest}` : `${m}:${rest}`;
}

/**
 * The progress bar for a command, or `undefined` when standard error is
 * not a terminal (or `silent`).
 *
 * @param io The command's terminal: `errIsTerminal`, `columns`, `now`.
 * @param silent `-s`: no bar.
 * @returns The bar, or `undefined`.
 */
export function progressBarFor(io: CommandIo, silent = false): ProgressBar | undefined {
  if (silent || io.errIsTerminal !== true) return undefined;
  return new ProgressBar({ write: (text) => io.err(text), columns: io.columns, now: io.now });
}
