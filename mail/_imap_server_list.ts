/**
 * LIST and LSUB (RFC 3501 §6.3.8, §6.3.9) matching: the reference and the
 * pattern with the `*` and `%` wildcards, and the mailbox attributes
 * (`\Noselect`, CHILDREN's `\HasChildren`/`\HasNoChildren` RFC 3348, and
 * SPECIAL-USE RFC 6154 attributes from the usual folder names).
 *
 * @module
 */

/** The longest LIST pattern accepted (after runs of wildcards are merged). */
export const MAX_LIST_PATTERN = 1024;

/**
 * Makes a matcher for names (store spelling) from LIST's reference and
 * pattern. Matching runs in time proportional to the pattern times the
 * name (no backtracking), so no pattern can make it slow.
 *
 * @throws {RangeError} When the pattern is longer than {@linkcode MAX_LIST_PATTERN}.
 */
export function listMatcher(
  reference: string,
  pattern: string,
  delimiter: string,
): (name: string) => boolean {
  let full = reference + pattern;
  // INBOX is case-insensitive, also as the first level.
  const first = full.split(delimiter)[0]!;
  if (first.toUpperCase() === "INBOX") full = "INBOX" + full.slice(first.length);
  // A run of wildcards is one: `*` if it holds one, else `%`.
  const glob = full.replace(/[*%]{2,}/g, (run) => (run.includes("*") ? "*" : "%"));
  if (glob.length > MAX_LIST_PATTERN) {
    throw new RangeError(
      `Cannot match LIST pattern: it is longer than ${MAX_LIST_PATTERN} characters`,
    );
  }
  return (name) => globMatch(glob, name, delimiter);
}

/** Whether `name` matches `glob` (`*` anything, `%` anything but the delimiter). */
function globMatch(glob: string, name: string, delimiter: string): boolean {
  const n = name.length;
  let prev = new Uint8Array(n + 1);
  prev[0] = 1;
  for (let i = 0; i < glob.length; i++) {
    const c = glob[i]!;
    const cur = new Uint8Array(n + 1);
    let any = 0;
    if (c === "*") {
      for (let j = 0; j <= n; j++) {
        any |= prev[j]!;
        cur[j] = any;
      }
    } else if (c === "%") {
      for (let j = 0; j <= n; j++) {
        if (j > 0 && name[j - 1] === delimiter) any = 0;
        any |= prev[j]!;
        cur[j] = any;
      }
    } else {
      for (let j = 1; j <= n; j++) {
        cur[j] = prev[j - 1] === 1 && name[j - 1] === c ? 1 : 0;
        any |= cur[j]!;
      }
      if (any === 0) return false;
    }
    prev = cur;
  }
  return prev[n] === 1;
}

const SPECIAL_USE = new Map<string, string>(Object.entries({
  "sent": "\\Sent",
  "sent items": "\\Sent",
  "sent messages": "\\Sent",
  "drafts": "\\Drafts",
  "trash": "\\Trash",
  "deleted items": "\\Trash",
  "deleted messages": "\\Trash",
  "junk": "\\Junk",
  "spam": "\\Junk",
  "archive": "\\Archive",
}));

/** The SPECIAL-USE attribute of a top-level folder with a well-known name, or null. */
export function specialUse(name: string, delimiter: string): string | null {
  if (name.includes(delimiter)) return null;
  return SPECIAL_USE.get(name.toLowerCase()) ?? null;
}
