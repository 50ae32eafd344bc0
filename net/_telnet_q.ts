/**
 * The RFC 1143 "Q method" option negotiation state machine, as pure
 * functions over one side of one option. The codec applies the result and
 * sends the reply; nothing here does I/O.
 *
 * @module
 */

/** The four states of RFC 1143 §7. */
export const Q_NO = 0;
export const Q_YES = 1;
export const Q_WANTNO = 2;
export const Q_WANTYES = 3;
export type QState = typeof Q_NO | typeof Q_YES | typeof Q_WANTNO | typeof Q_WANTYES;

/** One side of one option: the state and the queue bit (EMPTY or OPPOSITE). */
export interface QSlot {
  state: QState;
  opposite: boolean;
}

/** What receiving a command does: the new slot, the reply (if any), and an RFC 1143 error. */
export interface QOutcome {
  state: QState;
  opposite: boolean;
  /** `true`: send the positive verb (DO / WILL); `false`: the negative; `null`: nothing. */
  reply: boolean | null;
  /** The RFC's "Error: DONT answered by WILL" cases. */
  error: string | null;
}

/**
 * Receiving the positive verb: WILL for the peer's side (our reply is DO or
 * DONT), DO for our side (our reply is WILL or WONT).
 */
export function receivePositive(slot: QSlot, agree: boolean): QOutcome {
  switch (slot.state) {
    case Q_NO:
      return agree
        ? { state: Q_YES, opposite: false, reply: true, error: null }
        : { state: Q_NO, opposite: false, reply: false, error: null };
    case Q_YES:
      return { state: Q_YES, opposite: slot.opposite, reply: null, error: null };
    case Q_WANTNO:
      return slot.opposite
        ? { state: Q_YES, opposite: false, reply: null, error: "refusal answered by acceptance" }
        : { state: Q_NO, opposite: false, reply: null, error: "refusal answered by acceptance" };
    case Q_WANTYES:
      return slot.opposite
        ? { state: Q_WANTNO, opposite: false, reply: false, error: null }
        : { state: Q_YES, opposite: false, reply: null, error: null };
  }
}

/** Receiving the negative verb: WONT for the peer's side, DONT for ours. */
export function receiveNegative(slot: QSlot): QOutcome {
  switch (slot.state) {
    case Q_NO:
      return { state: Q_NO, opposite: slot.opposite, reply: null, error: null };
    case Q_YES:
      return { state: Q_NO, opposite: false, reply: false, error: null };
    case Q_WANTNO:
      return slot.opposite
        ? { state: Q_WANTYES, opposite: false, reply: true, error: null }
        : { state: Q_NO, opposite: false, reply: null, error: null };
    case Q_WANTYES:
      return { state: Q_NO, opposite: false, reply: null, error: null };
  }
}

/**
 * Our own wish to enable (`enable` true) or disable the option: the new slot
 * and the verb to send, or `reply: null` when there is nothing to send
 * (already in that state, already negotiating it, or only the queue bit
 * changed).
 */
export function ask(slot: QSlot, enable: boolean): QOutcome {
  const same = { state: slot.state, opposite: slot.opposite, reply: null, error: null };
  if (enable) {
    switch (slot.state) {
      case Q_NO:
        return { state: Q_WANTYES, opposite: false, reply: true, error: null };
      case Q_YES:
        return same;
      case Q_WANTNO:
        return { state: Q_WANTNO, opposite: true, reply: null, error: null };
      case Q_WANTYES:
        return { state: Q_WANTYES, opposite: false, reply: null, error: null };
    }
  }
  switch (slot.state) {
    case Q_NO:
      return same;
    case Q_YES:
      return { state: Q_WANTNO, opposite: false, reply: false, error: null };
    case Q_WANTNO:
      return { state: Q_WANTNO, opposite: false, reply: null, error: null };
    case Q_WANTYES:
      return { state: Q_WANTYES, opposite: true, reply: null, error: null };
  }
}
