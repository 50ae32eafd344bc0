/**
 * One request's exchange: what the handler's `info` holds (addresses,
 * version, the raw target, `signal`, `completed`, `upgrade()`), allocated
 * lazily so that a plain request costs one small object.
 *
 * @module
 */
import { type HeadParse, latin1 } from "./_head_parser.ts";
import type { ServeHandlerInfo, UpgradedConnection, UpgradeInit } from "./_server_types.ts";

/** What an exchange needs of its connection. */
export interface ExchangeHost {
  readonly remoteAddr: Deno.NetAddr;
  readonly localAddr: Deno.NetAddr;
  readonly scheme: string;
  readonly defaultHost: string;
  readonly maxBodySize: number;
  readonly shuttingDown: boolean;
  readonly disconnected: boolean;
  upgrade(exchange: Exchange, init: UpgradeInit): Promise<UpgradedConnection>;
}

/** The rarely used parts of an exchange, allocated on first use. */
interface ExchangeExtra {
  target: string | null;
  controller: AbortController | null;
  completed: Promise<void> | null;
  settle: [() => void, (e: unknown) => void] | null;
  error: unknown;
  upgraded: UpgradedConnection | null;
  upgradeDone: Promise<void> | null;
  endUpgrade: (() => void) | null;
}

/** Per request: the handler info and the request's connection-side state. */
export class Exchange implements ServeHandlerInfo {
  #conn: ExchangeHost;
  #p: HeadParse;
  #outcome = 0;
  #extra: ExchangeExtra | null = null;

  constructor(conn: ExchangeHost, p: HeadParse) {
    this.#conn = conn;
    this.#p = p;
  }

  #x(): ExchangeExtra {
    return this.#extra ??= {
      target: null,
      controller: null,
      completed: null,
      settle: null,
      error: null,
      upgraded: null,
      upgradeDone: null,
      endUpgrade: null,
    };
  }

  /** The connection taken over by `upgrade()`, or null. */
  get upgraded(): UpgradedConnection | null {
    return this.#extra === null ? null : this.#extra.upgraded;
  }

  /** Settles when an upgraded connection is released. */
  get upgradeDone(): Promise<void> | null {
    return this.#extra === null ? null : this.#extra.upgradeDone;
  }

  /** Ends the hold on an upgraded connection. */
  endUpgrade(): void {
    this.#extra?.endUpgrade?.();
  }

  /** Records an upgrade in progress. */
  setUpgrade(upgraded: UpgradedConnection, done: Promise<void>, end: () => void): void {
    const x = this.#x();
    x.upgraded = upgraded;
    x.upgradeDone = done;
    x.endUpgrade = end;
  }

  get remoteAddr(): Deno.NetAddr {
    return this.#conn.remoteAddr;
  }

  get scheme(): string {
    return this.#conn.scheme;
  }

  get defaultHost(): string {
    return this.#conn.defaultHost;
  }

  get maxBodySize(): number {
    return this.#conn.maxBodySize;
  }

  get localAddr(): Deno.NetAddr {
    return this.#conn.localAddr;
  }

  get method(): string {
    return this.#p.method;
  }

  get version(): "HTTP/1.0" | "HTTP/1.1" {
    return this.#p.minor === 0 ? "HTTP/1.0" : "HTTP/1.1";
  }

  get target(): string {
    const x = this.#x();
    return x.target ??= latin1(this.#p.buf, this.#p.targetStart, this.#p.targetEnd);
  }

  get signal(): AbortSignal {
    const x = this.#x();
    x.controller ??= new AbortController();
    if (!x.controller.signal.aborted) {
      if (this.#conn.disconnected) {
        x.controller.abort(new DOMException("The client disconnected", "AbortError"));
      } else if (this.#conn.shuttingDown) x.controller.abort(shutdownReason());
    }
    return x.controller.signal;
  }

  get completed(): Promise<void> {
    const x = this.#x();
    if (x.completed === null) {
      if (this.#outcome === 1) x.completed = Promise.resolve();
      else if (this.#outcome === 2) x.completed = Promise.reject(x.error);
      else {
        x.completed = new Promise<void>((resolve, reject) => {
          x.settle = [resolve, reject];
        });
      }
      x.completed.catch(() => {});
    }
    return x.completed;
  }

  /** The response was written (or failed). */
  finish(error?: unknown): void {
    if (this.#outcome !== 0) return;
    const x = this.#extra;
    if (error === undefined) {
      this.#outcome = 1;
      x?.settle?.[0]();
    } else {
      this.#outcome = 2;
      const y = this.#x();
      y.error = error;
      y.settle?.[1](error);
      this.abort(error);
    }
  }

  abort(reason: unknown): void {
    const controller = this.#extra?.controller;
    if (controller && !controller.signal.aborted) controller.abort(reason);
  }

  upgrade(init: UpgradeInit = {}): Promise<UpgradedConnection> {
    return this.#conn.upgrade(this, init);
  }
}

/** The reason handlers' signals abort with when the server shuts down. */
export function shutdownReason(): DOMException {
  return new DOMException("The server is shutting down", "AbortError");
}
