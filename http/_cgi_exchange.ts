/**
 * One CGI exchange while its script runs: the deadline, the client's signal,
 * the stdin and stderr pumps, the response head read and the body stream,
 * and the cleanup that ends them all.
 *
 * Every way out ends the script's whole process group: the deadline, the
 * client's signal (a disconnect or the server shutting down), a failed
 * request body, a response the server does not need (malformed head, 204,
 * 304, a local redirect), a cancelled body, and the script's own exit (what
 * it left running). Reads from the pipes end when the group is gone; a pipe
 * still held by a process that left the group is cut at the deadline.
 *
 * @module
 */
import { BufferedReader } from "../net/buffered_reader.ts";
import { type HeaderField, readHeaderBlock } from "../net/mime_header.ts";
import type { CgiProcess } from "./_cgi_process.ts";
import { StdinPump } from "./_cgi_input.ts";

/** Why an exchange was stopped before the script finished on its own. */
export type CgiStopReason =
  /** The deadline passed: 504, or an errored body. */
  | "timeout"
  /** The client's signal aborted (gone, or the server shuts down): 503. */
  | "aborted"
  /** The request body failed: 400. */
  | "input"
  /** The server needs nothing more from the script. */
  | "abandoned";

/** Settings of one exchange. */
export interface CgiExchangeOptions {
  /** Milliseconds the script may run, from its start. */
  timeout: number;
  /** Aborted when the client goes away or the server shuts down. */
  signal?: AbortSignal;
  /** Receives standard error text, when piped. */
  onStderr?: (text: string) => void;
  /** The request body. */
  body: ReadableStream<Uint8Array> | Uint8Array | null;
}

/** How long cleanup waits for the pipes after a stop, once the group is ended. */
const PIPE_WAIT_MS = 1000;

/** Waits for `promise` at most `ms`; true when it settled in time. */
async function bounded(promise: Promise<void>, ms: number): Promise<boolean> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  try {
    return await Promise.race([
      promise.then(() => true),
      new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(false), ms))),
    ]);
  } finally {
    clearTimeout(timer);
  }
}

/** Copies standard error to a callback until it ends or is stopped. */
class StderrPump {
  readonly done: Promise<void>;
  #reader: ReadableStreamDefaultReader<Uint8Array>;

  constructor(stream: ReadableStream<Uint8Array>, sink: (text: string) => void) {
    this.#reader = stream.getReader();
    this.done = this.#run(sink);
  }

  async #run(sink: (text: string) => void): Promise<void> {
    const decoder = new TextDecoder();
    try {
      for (;;) {
        const { value, done } = await this.#reader.read();
        if (done) break;
        const text = decoder.decode(value, { stream: true });
        if (text !== "") sink(text);
      }
      const rest = decoder.decode();
      if (rest !== "") sink(rest);
    } catch {
      // cancelled, or the sink threw
    }
  }

  stop(): void {
    this.#reader.cancel().catch(() => {});
  }
}

/** See the module documentation. */
export class CgiExchange {
  #proc: CgiProcess;
  #timer: ReturnType<typeof setTimeout>;
  #signal: AbortSignal | undefined;
  #onAbort = () => this.stop("aborted");
  #stdin: StdinPump;
  #stderr: StderrPump | null = null;
  #head: BufferedReader;
  #out: ReadableStreamDefaultReader<Uint8Array> | null = null;
  /** Whether the script's output is no longer read. */
  #dropped = false;
  #reason: CgiStopReason | null = null;
  #stopped!: () => void;
  #whenStopped: Promise<void>;
  #finished: Promise<void> | null = null;

  constructor(proc: CgiProcess, options: CgiExchangeOptions) {
    this.#proc = proc;
    this.#whenStopped = new Promise<void>((resolve) => (this.#stopped = resolve));
    this.#head = new BufferedReader(proc.stdout, { bufferSize: 16384 });
    this.#timer = setTimeout(() => this.stop("timeout"), options.timeout);
    this.#signal = options.signal;
    this.#signal?.addEventListener("abort", this.#onAbort, { once: true });
    if (proc.stderr !== null) {
      if (options.onStderr !== undefined) {
        this.#stderr = new StderrPump(proc.stderr, options.onStderr);
      } else {
        proc.stderr.cancel().catch(() => {});
      }
    }
    this.#stdin = new StdinPump(options.body, proc.stdin, () => this.stop("input"));
    if (this.#signal?.aborted) this.stop("aborted");
  }

  /** Why the exchange was stopped, null while the script runs on its own. */
  get reason(): CgiStopReason | null {
    return this.#reason;
  }

  /**
   * Stops the exchange: the script's group is ended, the pipes are cut and
   * the request body is dropped. The first reason sticks.
   */
  stop(reason: CgiStopReason): void {
    if (this.#reason !== null) return;
    this.#reason = reason;
    this.#stopped();
    void this.#proc.end();
    this.#stdin.stop();
    // Standard error drains until the group is gone (what a script says
    // on SIGTERM is kept); the cleanup cuts it if something else holds it.
    this.#dropped = true;
    void this.#head.cancel();
    this.#out?.cancel().catch(() => {});
  }

  /**
   * Reads the script's header block; null when it is malformed, too big, or
   * the exchange was stopped before it came.
   */
  async readHead(maxBytes: number): Promise<HeaderField[] | null> {
    try {
      const fields = await readHeaderBlock(this.#head, {
        maxBytes,
        maxFields: 100,
        folding: "reject",
        nameSyntax: "token",
        decode: "latin1",
        lineEnding: "any",
      });
      return this.#reason === null ? fields : null;
    } catch {
      return null;
    }
  }

  /** Ends the script and waits for the cleanup: for error answers and bodiless ones. */
  async abandon(): Promise<void> {
    this.stop("abandoned");
    await this.finish();
  }

  /** Drops the script's output but lets it finish on its own (a local redirect). */
  async discardOutput(): Promise<void> {
    this.#dropped = true;
    await this.#head.cancel();
    await this.finish();
  }

  /**
   * Waits until the script is done: exited with its group gone, or ended
   * after a stop. Then the pumps are over, the deadline is cleared and the
   * client's signal is let go. Idempotent.
   */
  finish(): Promise<void> {
    this.#finished ??= this.#finish();
    return this.#finished;
  }

  async #finish(): Promise<void> {
    const proc = this.#proc;
    await Promise.race([proc.done(), this.#whenStopped.then(() => proc.end())]);
    // After a stop, the script's own bookkeeping (it has exited by now,
    // unless it is stuck in the kernel) settles too.
    if (this.#reason !== null) await bounded(proc.done(), PIPE_WAIT_MS);
    // The script is done: nothing more goes to it.
    this.#stdin.stop();
    if (this.#reason === null) {
      // Its pipes end now, unless a process that left the group holds
      // them: the deadline cuts those.
      await this.#stderr?.done;
      await this.#stdin.done;
    } else {
      await bounded(this.#stdin.done, PIPE_WAIT_MS);
      if (this.#stderr !== null && !(await bounded(this.#stderr.done, PIPE_WAIT_MS))) {
        this.#stderr.stop();
        await this.#stderr.done;
      }
    }
    clearTimeout(this.#timer);
    this.#signal?.removeEventListener("abort", this.#onAbort);
  }

  /**
   * The response body: the bytes after the head, then the script's output
   * until it ends. It errors when the exchange was stopped (the deadline,
   * the client); cancelling it ends the script.
   */
  body(): ReadableStream<Uint8Array> {
    if (this.#dropped) {
      // Nothing more is read: the body ends when the script is done.
      return new ReadableStream<Uint8Array>({
        pull: async (controller) => {
          await this.finish();
          const reason = this.#reason;
          if (reason === null || reason === "abandoned") controller.close();
          else controller.error(new Error(`Cannot finish CGI response: ${stopText(reason)}`));
        },
        cancel: () => this.abandon(),
      }, { highWaterMark: 0 });
    }
    const leftover = this.#head.release();
    const out = this.#proc.stdout.getReader();
    this.#out = out;
    if (this.#reason !== null) out.cancel().catch(() => {});
    return new ReadableStream<Uint8Array>({
      start(controller) {
        if (leftover.length > 0) controller.enqueue(leftover);
      },
      pull: async (controller) => {
        let chunk: ReadableStreamReadResult<Uint8Array>;
        try {
          chunk = await out.read();
        } catch (error) {
          this.stop("abandoned");
          await this.finish();
          controller.error(error);
          return;
        }
        if (!chunk.done) {
          controller.enqueue(chunk.value);
          return;
        }
        await this.finish();
        const reason = this.#reason;
        if (reason === null) controller.close();
        else controller.error(new Error(`Cannot finish CGI response: ${stopText(reason)}`));
      },
      cancel: async () => {
        this.stop("abandoned");
        await this.finish();
      },
    }, { highWaterMark: 0 });
  }
}

function stopText(reason: CgiStopReason): string {
  switch (reason) {
    case "timeout":
      return "the script timed out";
    case "aborted":
      return "the client went away or the server is shutting down";
    case "input":
      return "the request body failed";
    case "abandoned":
      return "the response was abandoned";
  }
}
