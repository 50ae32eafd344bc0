/**
 * One running CGI script and its process group: spawn, end (SIGTERM, then
 * SIGKILL after a grace period) and know when every process of it is gone.
 * See `_cgi_group.ts` for what the group signals do and need.
 *
 * @module
 */
import { liveGroupMembers, signalProcessGroup } from "./_cgi_group.ts";

/** How to start a script. */
export interface CgiSpawnOptions {
  command: string;
  args: string[];
  cwd: string;
  env: Record<string, string>;
  /** Whether standard error is piped (else discarded). */
  stderr: boolean;
  /** Milliseconds between SIGTERM and SIGKILL. */
  gracePeriod: number;
}

/** How long {@linkcode CgiProcess.end} waits after SIGKILL before it stops waiting. */
const SETTLE_MS = 1000;
/** How often a group that survived SIGKILL is looked at again. */
const WATCH_MS = 1000;

const GROUPS = Deno.build.os !== "windows";

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/**
 * A script started in its own process group. Whatever the script leaves
 * running when it exits is ended then (SIGTERM, SIGKILL after the grace
 * period): a script's processes never outlive it. {@linkcode CgiProcess.gone}
 * settles when no process of the group runs any more.
 */
export class CgiProcess {
  /** The script's pid, which is also its process group id. */
  readonly pid: number;
  /** The script's standard input. */
  readonly stdin: WritableStream<Uint8Array>;
  /** The script's standard output. */
  readonly stdout: ReadableStream<Uint8Array>;
  /** The script's standard error, when piped. */
  readonly stderr: ReadableStream<Uint8Array> | null;
  /** Settles when every process of the group is gone. */
  readonly gone: Promise<void>;
  #child: Deno.ChildProcess;
  #grace: number;
  #grouped: boolean;
  #exited = false;
  #isGone = false;
  #markGone!: () => void;
  #ending: Promise<void> | null = null;
  #done: Promise<void>;

  /**
   * Starts the script.
   *
   * @throws Whatever `Deno.Command.spawn` throws (missing program, permissions).
   */
  constructor(options: CgiSpawnOptions) {
    this.#child = new Deno.Command(options.command, {
      args: options.args,
      cwd: options.cwd,
      env: options.env,
      clearEnv: true,
      // setsid(2) in the child: its own session and process group.
      detached: GROUPS,
      stdin: "piped",
      stdout: "piped",
      stderr: options.stderr ? "piped" : "null",
    }).spawn();
    this.pid = this.#child.pid;
    this.stdin = this.#child.stdin;
    this.stdout = this.#child.stdout;
    this.stderr = options.stderr ? this.#child.stderr : null;
    this.#grace = options.gracePeriod;
    this.gone = new Promise<void>((resolve) => (this.#markGone = resolve));
    // Without the permission to signal groups, only the script itself is
    // signalled and counted.
    this.#grouped = GROUPS && signalProcessGroup(this.pid, 0) !== "unsupported";
    this.#done = this.#child.status.then(
      () => this.#afterExit(),
      () => this.#afterExit(),
    );
  }

  /** Whether the group can be signalled as a whole. */
  get grouped(): boolean {
    return this.#grouped;
  }

  async #afterExit(): Promise<void> {
    this.#exited = true;
    if (await this.#check()) return;
    // The script is done; what it left behind goes too.
    await this.end();
  }

  /**
   * Settles when the script has exited and its group is gone (or, for a
   * group that survives SIGKILL, once {@linkcode CgiProcess.end} gave up
   * waiting for it).
   */
  done(): Promise<void> {
    return this.#done;
  }

  /** Whether every process of the group is gone; counts it gone when so. */
  async #check(): Promise<boolean> {
    if (this.#isGone) return true;
    if (!this.#exited) return false;
    if (!this.#grouped) return this.#gone();
    const found = signalProcessGroup(this.pid, 0);
    if (found === "gone" || found === "unsupported") return this.#gone();
    // Something is left; zombies waiting for init do not count.
    if ((await liveGroupMembers(this.pid)) !== 0) return false;
    // A member forking while /proc was read could have been missed: it gets
    // SIGKILL (zombies ignore it), and the count must still be zero.
    if (this.#isGone) return true;
    signalProcessGroup(this.pid, "SIGKILL");
    if ((await liveGroupMembers(this.pid)) !== 0) return false;
    return this.#gone();
  }

  #gone(): true {
    if (!this.#isGone) {
      this.#isGone = true;
      this.#markGone();
    }
    return true;
  }

  #signal(signal: Deno.Signal): void {
    if (this.#isGone) return; // the group id may belong to someone else now
    if (!this.#exited) {
      try {
        this.#child.kill(signal);
      } catch {
        // exited meanwhile
      }
    }
    if (this.#grouped) signalProcessGroup(this.pid, signal);
  }

  /** Polls until the group is gone or `ms` have passed; true when gone. */
  async #waitGone(ms: number): Promise<boolean> {
    const deadline = Date.now() + ms;
    let step = 5;
    for (;;) {
      if (await this.#check()) return true;
      const left = deadline - Date.now();
      if (left <= 0) return false;
      await delay(Math.min(step, left));
      step = Math.min(step * 2, 100);
    }
  }

  /**
   * Ends the whole group: SIGTERM, then SIGKILL when it is not gone after
   * the grace period. Settles when it is gone, or a second after SIGKILL;
   * a group that is still there then (a setuid member we may not signal, a
   * process stuck in the kernel) is watched on and stays counted until it
   * is gone.
   */
  end(): Promise<void> {
    this.#ending ??= this.#end();
    return this.#ending;
  }

  async #end(): Promise<void> {
    if (await this.#check()) return;
    this.#signal("SIGTERM");
    if (await this.#waitGone(this.#grace)) return;
    this.#signal("SIGKILL");
    if (await this.#waitGone(SETTLE_MS)) return;
    void this.#watch();
  }

  async #watch(): Promise<void> {
    while (!(await this.#check())) {
      this.#signal("SIGKILL");
      await new Promise<void>((resolve) => {
        const id = setTimeout(resolve, WATCH_MS);
        Deno.unrefTimer(id as unknown as number);
      });
    }
  }
}
