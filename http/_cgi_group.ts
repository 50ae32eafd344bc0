/**
 * Process groups for CGI scripts (POSIX).
 *
 * A script is spawned with `Deno.Command`'s `detached: true`, which on Linux
 * (and the BSDs) calls setsid(2) in the child before exec, as Node's
 * `detached` does: the script becomes the leader of a new session and
 * process group whose id is its own pid, and every process it starts stays
 * in that group unless it calls setsid/setpgid itself. (Checked in Deno 2.9:
 * `/proc/<pid>/stat` of the child shows pgrp = sid = pid; no `setsid`
 * program is needed, so the pid Deno reports is the script's.)
 *
 * `Deno.kill(pid, signal)` hands the pid to kill(2) unchanged: a negative
 * pid signals the whole group, and signal 0 only checks that it exists.
 * kill(2) fails with ESRCH (`Deno.errors.NotFound`) when no process is left
 * in the group and with EPERM (`Deno.errors.PermissionDenied`) when none of
 * those left may be signalled by us (a setuid program). `Deno.kill` needs
 * `--allow-run` without a list of programs, `Deno.errors.NotCapable`
 * otherwise, and throws on Windows. kill(2) with -1 signals every process
 * the caller may signal and 0 its own group, so ids below 2 are refused
 * before `Deno.kill` is reached.
 *
 * A group whose members have all exited still answers kill(-pgid, 0) while
 * they are zombies, and an orphan's zombie waits for init, which on some
 * systems reaps only every second or two. Where `/proc` can be read,
 * {@linkcode liveGroupMembers} counts only the members that still run.
 *
 * @module
 */

/** What {@linkcode signalProcessGroup} achieved. */
export type GroupSignalResult =
  /** The signal was sent to at least one member (or, for 0, the group exists). */
  | "sent"
  /** No process is left in the group (ESRCH). */
  | "gone"
  /** Members are left but none may be signalled by us (EPERM). */
  | "denied"
  /** This process may not signal groups (no unscoped `--allow-run`, or Windows). */
  | "unsupported";

/**
 * Sends `signal` to every process in the group `pgid` (kill(2) with `-pgid`).
 *
 * @throws {RangeError} If `pgid` is not an integer above 1: kill(2) would
 *   signal every process (-1) or our own group (0).
 */
export function signalProcessGroup(pgid: number, signal: Deno.Signal | 0): GroupSignalResult {
  if (!Number.isSafeInteger(pgid) || pgid < 2) {
    throw new RangeError(`Cannot signal process group ${pgid}: not a process group id above 1`);
  }
  try {
    Deno.kill(-pgid, signal);
    return "sent";
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return "gone";
    if (error instanceof Deno.errors.PermissionDenied) return "denied";
    return "unsupported";
  }
}

let scan: Promise<Map<number, number> | null> | null = null;

/** One pass over `/proc`: the number of running (not zombie) processes per group. */
async function scanGroups(): Promise<Map<number, number> | null> {
  const counts = new Map<number, number>();
  let entries: AsyncIterable<Deno.DirEntry>;
  try {
    entries = Deno.readDir("/proc");
    for await (const entry of entries) {
      const c = entry.name.charCodeAt(0);
      if (c < 48 || c > 57) continue;
      let stat: string;
      try {
        stat = await Deno.readTextFile(`/proc/${entry.name}/stat`);
      } catch (error) {
        if (error instanceof Deno.errors.NotCapable) return null;
        continue; // exited meanwhile
      }
      // "pid (comm) state ppid pgrp ...": comm may hold spaces and parentheses.
      const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
      const state = fields[0];
      if (state === "Z" || state === "X" || state === "x") continue;
      const pgrp = Number(fields[2]);
      counts.set(pgrp, (counts.get(pgrp) ?? 0) + 1);
    }
  } catch {
    return null; // no /proc, or no permission to read it
  }
  return counts;
}

/**
 * The number of running (not zombie) processes in the group `pgid`, from
 * `/proc`; null when `/proc` cannot be read. Calls made while a scan is
 * under way share it.
 */
export async function liveGroupMembers(pgid: number): Promise<number | null> {
  scan ??= scanGroups().finally(() => (scan = null));
  const counts = await scan;
  return counts === null ? null : counts.get(pgid) ?? 0;
}
