/**
 * NEW-ENVIRON (RFC 1572) encoding: parsing a SEND request and building the
 * IS answer, with the VAR / VALUE / ESC / USERVAR escaping of names and
 * values. IAC doubling is the codec's job and happens afterwards.
 *
 * @module
 */

/** Subnegotiation verbs. */
export const ENVIRON_IS = 0;
export const ENVIRON_SEND = 1;
export const ENVIRON_INFO = 2;
/** Type and escape bytes inside the variable list. */
export const ENVIRON_VAR = 0;
export const ENVIRON_VALUE = 1;
export const ENVIRON_ESC = 2;
export const ENVIRON_USERVAR = 3;

/** The variable names RFC 1572 defines; they travel as VAR, all others as USERVAR. */
export const WELL_KNOWN_ENVIRON_VARS: ReadonlySet<string> = new Set([
  "USER",
  "JOB",
  "ACCT",
  "PRINTER",
  "SYSTEMTYPE",
  "DISPLAY",
]);

/** One entry of a SEND request: a type and a name, or a type alone meaning "all of them". */
export interface EnvironRequest {
  type: typeof ENVIRON_VAR | typeof ENVIRON_USERVAR;
  /** The name, or `null` when the request asks for every variable of the type. */
  name: string | null;
}

const decoder = new TextDecoder();
const encoder = new TextEncoder();

/**
 * Parses the bytes after SEND. An empty list means "send everything" and is
 * returned as both wildcards. Returns `null` when a byte other than VAR or
 * USERVAR starts an entry.
 */
export function parseEnvironSend(data: Uint8Array): EnvironRequest[] | null {
  if (data.length === 0) {
    return [{ type: ENVIRON_VAR, name: null }, { type: ENVIRON_USERVAR, name: null }];
  }
  const out: EnvironRequest[] = [];
  let i = 0;
  while (i < data.length) {
    const type = data[i++]!;
    if (type !== ENVIRON_VAR && type !== ENVIRON_USERVAR) return null;
    const name: number[] = [];
    while (i < data.length) {
      const b = data[i]!;
      if (b === ENVIRON_VAR || b === ENVIRON_USERVAR) break;
      if (b === ENVIRON_ESC) {
        i++;
        if (i < data.length) name.push(data[i]!);
        i++;
        continue;
      }
      // A VALUE byte has no meaning in a SEND list; keep it as part of the name.
      name.push(b);
      i++;
    }
    out.push({ type, name: name.length === 0 ? null : decoder.decode(new Uint8Array(name)) });
  }
  return out;
}

function pushEscaped(out: number[], text: string): void {
  for (const b of encoder.encode(text)) {
    if (b <= ENVIRON_USERVAR) out.push(ENVIRON_ESC);
    out.push(b);
  }
}

/**
 * Builds the bytes after IS for a request: each asked-for variable that is
 * set is sent as `type name VALUE value`, one that is not set as `type name`
 * alone (RFC 1572: the name without VALUE says it is undefined), and a
 * wildcard sends every set variable of its type. Each variable goes once.
 */
export function buildEnvironIs(
  requests: EnvironRequest[],
  environment: ReadonlyMap<string, string>,
): Uint8Array {
  const out: number[] = [ENVIRON_IS];
  const sent = new Set<string>();
  const typeOf = (name: string): number =>
    WELL_KNOWN_ENVIRON_VARS.has(name) ? ENVIRON_VAR : ENVIRON_USERVAR;
  const emit = (type: number, name: string): void => {
    const key = `${type}:${name}`;
    if (sent.has(key)) return;
    sent.add(key);
    out.push(type);
    pushEscaped(out, name);
    const value = environment.get(name);
    if (value !== undefined && typeOf(name) === type) {
      out.push(ENVIRON_VALUE);
      pushEscaped(out, value);
    }
  };
  for (const request of requests) {
    if (request.name !== null) {
      emit(request.type, request.name);
      continue;
    }
    for (const name of environment.keys()) {
      if (typeOf(name) === request.type) emit(request.type, name);
    }
  }
  return new Uint8Array(out);
}
