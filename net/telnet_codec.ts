import { ProtocolError } from "./protocol_error.ts";
import { TELNET_COMMAND, TELNET_OPTION } from "./_telnet_constants.ts";
import { buildEnvironIs, ENVIRON_SEND, parseEnvironSend } from "./_telnet_environ.ts";
import {
  ask,
  Q_NO,
  Q_YES,
  type QOutcome,
  type QSlot,
  receiveNegative,
  receivePositive,
} from "./_telnet_q.ts";

export { TELNET_COMMAND, TELNET_OPTION, TELNET_PORT } from "./_telnet_constants.ts";

const IAC = TELNET_COMMAND.IAC;
const SB = TELNET_COMMAND.SB;
const SE = TELNET_COMMAND.SE;
const WILL = TELNET_COMMAND.WILL;
const WONT = TELNET_COMMAND.WONT;
const DO = TELNET_COMMAND.DO;
const DONT = TELNET_COMMAND.DONT;
const CR = 13;
const LF = 10;
const NUL = 0;
const TTYPE_IS = 0;
const TTYPE_SEND = 1;

/**
 * Which end of the connection performs an option: `"local"` is us (we send
 * WILL/WONT, the peer sends DO/DONT), `"remote"` is the peer (we send
 * DO/DONT, it sends WILL/WONT).
 */
export type TelnetSide = "local" | "remote";

/** A terminal size for NAWS (RFC 1073), in character cells. */
export interface TelnetWindowSize {
  /** The width, 0 to 65535 (0: unknown). */
  columns: number;
  /** The height, 0 to 65535 (0: unknown). */
  rows: number;
}

/**
 * The RFC 1143 state of one side of one option, as
 * {@linkcode TelnetCodec.optionState} reports it.
 */
export interface TelnetOptionState {
  /** `"no"` and `"yes"` are settled; `"wantno"` and `"wantyes"` await the peer's answer. */
  state: "no" | "yes" | "wantno" | "wantyes";
  /** The queue bit: `"opposite"` when the other change was asked for during a negotiation. */
  queue: "empty" | "opposite";
}

/**
 * What {@linkcode TelnetCodec.decode} reports besides the data, through
 * {@linkcode TelnetCodecOptions.onEvent}, in the order the bytes arrived:
 *
 * - `command`: a command other than option negotiation and subnegotiation
 *   (GA, NOP, DM, BRK, IP, AO, AYT, EC, EL, EOR, ABORT, SUSP, EOF, a stray SE,
 *   or an undefined byte after IAC). `offset` is the number of data bytes the
 *   current `decode` call returned before it.
 * - `option`: an option became enabled or disabled on one side.
 * - `subnegotiation`: a complete `IAC SB option ... IAC SE`, with IAC IAC
 *   unescaped; `handled` says the codec answered it itself (TERMINAL-TYPE
 *   SEND, NEW-ENVIRON SEND).
 * - `error`: something the peer got wrong that the codec recovered from;
 *   never fatal. Codes: `"SUBNEGOTIATION_TOO_LONG"` (the subnegotiation was
 *   dropped), `"BAD_SUBNEGOTIATION"` (IAC followed by a byte other than SE or
 *   IAC inside one, or a SEND the codec cannot parse), `"BAD_NEGOTIATION"`
 *   (the peer answered a refusal with an acceptance, RFC 1143's error cases).
 */
export type TelnetEvent =
  | { type: "command"; command: number; offset: number }
  | { type: "option"; option: number; side: TelnetSide; enabled: boolean }
  | { type: "subnegotiation"; option: number; data: Uint8Array; handled: boolean }
  | { type: "error"; error: ProtocolError };

/** Options for {@linkcode TelnetCodec}. */
export interface TelnetCodecOptions {
  /**
   * Writes bytes to the peer: negotiation replies, subnegotiations and the
   * data given to {@linkcode TelnetCodec.write}. Called in order; when it
   * returns a promise, the next call waits for it. A failure is kept and
   * reported by {@linkcode TelnetCodec.flush} and later writes.
   */
  send: (bytes: Uint8Array) => void | Promise<void>;
  /**
   * The options we agree to perform when the peer asks with DO; any other DO
   * is refused with WONT. Options with a configured value are added:
   * TERMINAL_TYPE when `terminalType` is set, NAWS when `windowSize` is set,
   * NEW_ENVIRON when `environment` is set.
   *
   * @default {[]}
   */
  local?: readonly number[];
  /**
   * The options we agree to let the peer perform when it offers with WILL;
   * any other WILL is refused with DONT.
   *
   * @default {[]}
   */
  remote?: readonly number[];
  /**
   * The terminal type(s) to answer TERMINAL-TYPE SEND with (RFC 1091):
   * printable ASCII, 1 to 40 characters each. With several, each SEND gets
   * the next; the last is sent twice to mark the end of the list, then the
   * list starts over.
   */
  terminalType?: string | readonly string[];
  /** The window size to send with NAWS (RFC 1073) once the peer has asked for it. */
  windowSize?: TelnetWindowSize;
  /**
   * The variables to answer NEW-ENVIRON SEND with (RFC 1572), UTF-8 encoded.
   * USER, JOB, ACCT, PRINTER, SYSTEMTYPE and DISPLAY travel as VAR, the
   * others as USERVAR. Only these are ever sent.
   */
  environment?: Readonly<Record<string, string>>;
  /**
   * Translate line ends as the NVT requires while BINARY is off: on output a
   * bare CR becomes CR NUL and a bare LF becomes CR LF; on input CR NUL
   * becomes CR. With BINARY on for a direction (RFC 856), that direction is
   * passed through unchanged either way.
   *
   * @default {true}
   */
  translateLineEnds?: boolean;
  /**
   * The most bytes one subnegotiation may carry between `IAC SB option` and
   * `IAC SE`. A longer one is dropped and reported as a
   * `"SUBNEGOTIATION_TOO_LONG"` error event; its bytes are never buffered.
   *
   * @default {4096}
   */
  maxSubnegotiationSize?: number;
  /** Receives the commands, option changes, subnegotiations and recovered errors. */
  onEvent?: (event: TelnetEvent) => void;
}

// Decoder states.
const S_DATA = 0;
const S_IAC = 1;
const S_VERB = 2;
const S_SB_OPTION = 3;
const S_SB_DATA = 4;
const S_SB_IAC = 5;

const STATE_NAMES = ["no", "yes", "wantno", "wantyes"] as const;

function isPromiseLike(value: unknown): value is PromiseLike<unknown> {
  return typeof (value as { then?: unknown } | null | undefined)?.then === "function";
}

function checkOption(option: number, action: string): void {
  if (!Number.isInteger(option) || option < 0 || option > 255) {
    throw new RangeError(`Cannot ${action}: option ${option} is not a byte`);
  }
}

function checkSide(side: string, action: string): void {
  if (side !== "local" && side !== "remote") {
    throw new TypeError(`Cannot ${action}: side "${side}" is not "local" or "remote"`);
  }
}

function checkWindowSize(columns: number, rows: number): void {
  for (const [name, value] of [["columns", columns], ["rows", rows]] as const) {
    if (!Number.isInteger(value) || value < 0 || value > 65535) {
      throw new RangeError(`Cannot set window size: ${name} ${value} is not from 0 to 65535`);
    }
  }
}

/** IAC-doubles `bytes` into `out` at `o`; returns the new offset. */
function putEscaped(out: Uint8Array, o: number, bytes: Uint8Array): number {
  for (const b of bytes) {
    out[o++] = b;
    if (b === IAC) out[o++] = IAC;
  }
  return o;
}

/** `IAC SB option <data, IAC doubled> IAC SE`. */
function subnegotiation(option: number, data: Uint8Array): Uint8Array {
  const out = new Uint8Array(data.length * 2 + 5);
  out[0] = IAC;
  out[1] = SB;
  out[2] = option;
  let o = putEscaped(out, 3, data);
  out[o++] = IAC;
  out[o++] = SE;
  return out.slice(0, o);
}

const encoder = new TextEncoder();

/**
 * A Telnet protocol engine (RFC 854, RFC 855) with a writer: it takes the
 * bytes read from the connection and returns the application data with every
 * IAC sequence removed, answering option negotiation on its own through the
 * `send` callback, and it encodes outgoing data (IAC doubling, NVT line ends).
 *
 * Negotiation follows the RFC 1143 Q method on both sides of every option
 * (states NO, YES, WANTNO, WANTYES with the EMPTY/OPPOSITE queue bit): a
 * command that does not change the state is never answered, so two codecs
 * cannot loop, and options outside the `local` / `remote` policy are refused
 * with WONT / DONT. It answers TERMINAL-TYPE SEND (RFC 1091), NEW-ENVIRON
 * SEND (RFC 1572) and sends NAWS (RFC 1073) once enabled; BINARY (RFC 856)
 * turns the line-end translation off for its direction.
 *
 * The decoder keeps partial sequences between calls, so a chunk may end
 * anywhere. It is synchronous and holds no timers or resources.
 *
 * @example Answering a server's opening negotiation
 * ```ts
 * import { TELNET_OPTION, TelnetCodec } from "@inetkit/inetkit/net";
 * import { assertEquals } from "@std/assert";
 *
 * const sent: number[] = [];
 * const telnet = new TelnetCodec({
 *   send: (bytes) => void sent.push(...bytes),
 *   remote: [TELNET_OPTION.ECHO, TELNET_OPTION.SUPPRESS_GO_AHEAD],
 *   terminalType: "XTERM",
 * });
 * // IAC DO TERMINAL-TYPE, IAC DO NAWS, IAC WILL ECHO, then "login: "
 * const data = telnet.decode(
 *   new Uint8Array([255, 253, 24, 255, 253, 31, 255, 251, 1, ...new TextEncoder().encode("login: ")]),
 * );
 * assertEquals(new TextDecoder().decode(data), "login: ");
 * // IAC WILL TERMINAL-TYPE, IAC WONT NAWS (no window size configured), IAC DO ECHO
 * assertEquals(sent, [255, 251, 24, 255, 252, 31, 255, 253, 1]);
 * assertEquals(telnet.isEnabled(TELNET_OPTION.ECHO, "remote"), true);
 * ```
 *
 * @example Encoding data: IAC doubled, NVT line ends
 * ```ts
 * import { TelnetCodec } from "@inetkit/inetkit/net";
 * import { assertEquals } from "@std/assert";
 *
 * const telnet = new TelnetCodec({ send: () => {} });
 * assertEquals([...telnet.encode(new Uint8Array([0xff, 0x41, 13, 10, 10, 13]))], [
 *   0xff, 0xff, 0x41, 13, 10, 13, 10, 13, 0,
 * ]);
 * ```
 */
export class TelnetCodec {
  #send: (bytes: Uint8Array) => void | Promise<void>;
  #onEvent: ((event: TelnetEvent) => void) | undefined;
  #acceptLocal = new Set<number>();
  #acceptRemote = new Set<number>();
  #local: QSlot[] = [];
  #remote: QSlot[] = [];
  #terminalTypes: string[];
  #terminalTypeIndex = 0;
  #windowSize: TelnetWindowSize | undefined;
  #environment: Map<string, string>;
  #translate: boolean;
  #maxSub: number;

  // Decoder.
  #state = S_DATA;
  #verb = 0;
  #sbOption = 0;
  #sb: Uint8Array;
  #sbLength = 0;
  #sbOverflow = false;
  #crPending = false;

  // Writer.
  #tail: Promise<void> | null = null;
  #failure: { error: unknown } | null = null;

  /**
   * Creates a codec. Nothing is sent until bytes are decoded or a method that
   * sends is called.
   *
   * @param options The writer, the option policy, the values to answer
   *   subnegotiations with, and the limits.
   * @throws {TypeError} If `send` is not a function, a terminal type is not 1
   *   to 40 printable ASCII characters, or an environment name is empty.
   * @throws {RangeError} If an option is not a byte, the window size is not
   *   from 0 to 65535, or `maxSubnegotiationSize` is not a positive integer.
   */
  constructor(options: TelnetCodecOptions) {
    if (typeof options?.send !== "function") {
      throw new TypeError("Cannot create Telnet codec: send is not a function");
    }
    this.#send = options.send;
    this.#onEvent = options.onEvent;
    for (let i = 0; i < 256; i++) {
      this.#local.push({ state: Q_NO, opposite: false });
      this.#remote.push({ state: Q_NO, opposite: false });
    }
    for (const option of options.local ?? []) {
      checkOption(option, "create Telnet codec");
      this.#acceptLocal.add(option);
    }
    for (const option of options.remote ?? []) {
      checkOption(option, "create Telnet codec");
      this.#acceptRemote.add(option);
    }
    const types = options.terminalType === undefined
      ? []
      : typeof options.terminalType === "string"
      ? [options.terminalType]
      : [...options.terminalType];
    for (const type of types) {
      if (typeof type !== "string" || !/^[\x21-\x7e]{1,40}$/.test(type)) {
        throw new TypeError(
          `Cannot create Telnet codec: terminal type ${
            JSON.stringify(type)
          } is not 1 to 40 printable ASCII characters`,
        );
      }
    }
    this.#terminalTypes = types;
    if (types.length > 0) this.#acceptLocal.add(TELNET_OPTION.TERMINAL_TYPE);
    if (options.windowSize !== undefined) {
      checkWindowSize(options.windowSize.columns, options.windowSize.rows);
      this.#windowSize = { columns: options.windowSize.columns, rows: options.windowSize.rows };
      this.#acceptLocal.add(TELNET_OPTION.NAWS);
    }
    this.#environment = new Map();
    if (options.environment !== undefined) {
      for (const [name, value] of Object.entries(options.environment)) {
        if (name.length === 0) {
          throw new TypeError("Cannot create Telnet codec: an environment name is empty");
        }
        this.#environment.set(name, String(value));
      }
      this.#acceptLocal.add(TELNET_OPTION.NEW_ENVIRON);
    }
    this.#translate = options.translateLineEnds ?? true;
    const maxSub = options.maxSubnegotiationSize ?? 4096;
    if (!Number.isInteger(maxSub) || maxSub < 1) {
      throw new RangeError(
        `Cannot create Telnet codec: maxSubnegotiationSize ${maxSub} is not a positive integer`,
      );
    }
    this.#maxSub = maxSub;
    this.#sb = new Uint8Array(Math.min(maxSub, 256));
  }

  /**
   * Decodes bytes read from the peer (RFC 854): returns the data with every
   * IAC sequence removed (IAC IAC becomes one 255 byte), answers
   * negotiations and subnegotiations through `send`, and reports commands
   * and changes through `onEvent`. A sequence cut between two calls is
   * completed by the next one.
   *
   * @param chunk The bytes as read; not kept.
   * @returns The application data of this chunk, possibly empty.
   *
   * @example A command split across two reads
   * ```ts
   * import { TELNET_COMMAND, TelnetCodec, type TelnetEvent } from "@inetkit/inetkit/net";
   * import { assertEquals } from "@std/assert";
   *
   * const events: TelnetEvent[] = [];
   * const telnet = new TelnetCodec({ send: () => {}, onEvent: (e) => void events.push(e) });
   * assertEquals([...telnet.decode(new Uint8Array([0x61, 255]))], [0x61]);
   * assertEquals([...telnet.decode(new Uint8Array([TELNET_COMMAND.GA, 0x62]))], [0x62]);
   * assertEquals(events, [{ type: "command", command: TELNET_COMMAND.GA, offset: 0 }]);
   * ```
   */
  decode(chunk: Uint8Array): Uint8Array {
    const out = new Uint8Array(chunk.length);
    let o = 0;
    let stripNul = this.#translate && this.#remote[TELNET_OPTION.BINARY]!.state !== Q_YES;
    for (let i = 0; i < chunk.length; i++) {
      const b = chunk[i]!;
      switch (this.#state) {
        case S_DATA: {
          if (b === IAC) {
            this.#state = S_IAC;
            break;
          }
          // Copy the run of data bytes up to the next IAC at once.
          let end = chunk.indexOf(IAC, i);
          if (end < 0) end = chunk.length;
          if (stripNul || this.#crPending) {
            for (let k = i; k < end; k++) {
              const d = chunk[k]!;
              if (d === NUL && this.#crPending) {
                this.#crPending = false;
                continue;
              }
              this.#crPending = stripNul && d === CR;
              out[o++] = d;
            }
          } else {
            out.set(chunk.subarray(i, end), o);
            o += end - i;
          }
          i = end - 1;
          break;
        }
        case S_IAC:
          this.#state = S_DATA;
          if (b === IAC) {
            this.#crPending = false;
            out[o++] = IAC;
          } else if (b >= WILL) {
            this.#verb = b;
            this.#state = S_VERB;
          } else if (b === SB) {
            this.#state = S_SB_OPTION;
          } else {
            this.#emit({ type: "command", command: b, offset: o });
          }
          break;
        case S_VERB:
          this.#state = S_DATA;
          this.#receiveVerb(this.#verb, b);
          // BINARY may have changed the input translation.
          stripNul = this.#translate && this.#remote[TELNET_OPTION.BINARY]!.state !== Q_YES;
          break;
        case S_SB_OPTION:
          this.#sbOption = b;
          this.#sbLength = 0;
          this.#sbOverflow = false;
          this.#state = S_SB_DATA;
          break;
        case S_SB_DATA:
          if (b === IAC) this.#state = S_SB_IAC;
          else this.#sbPush(b);
          break;
        case S_SB_IAC:
          if (b === IAC) {
            this.#state = S_SB_DATA;
            this.#sbPush(IAC);
          } else if (b === SE) {
            this.#state = S_DATA;
            this.#endSubnegotiation();
          } else {
            // IAC and a command inside a subnegotiation: the peer forgot
            // IAC SE. Drop the subnegotiation and treat the command normally.
            this.#emit({
              type: "error",
              error: new ProtocolError(
                "BAD_SUBNEGOTIATION",
                `Cannot read subnegotiation of option ${this.#sbOption}: IAC ${b} before IAC SE`,
              ),
            });
            this.#state = S_IAC;
            i--;
          }
          break;
      }
    }
    return out.subarray(0, o);
  }

  #sbPush(b: number): void {
    if (this.#sbOverflow) return;
    if (this.#sbLength === this.#maxSub) {
      this.#sbOverflow = true;
      this.#emit({
        type: "error",
        error: new ProtocolError(
          "SUBNEGOTIATION_TOO_LONG",
          `Cannot read subnegotiation of option ${this.#sbOption}: it exceeds ${this.#maxSub} bytes`,
        ),
      });
      return;
    }
    if (this.#sbLength === this.#sb.length) {
      const grown = new Uint8Array(Math.min(this.#sb.length * 2, this.#maxSub));
      grown.set(this.#sb);
      this.#sb = grown;
    }
    this.#sb[this.#sbLength++] = b;
  }

  #endSubnegotiation(): void {
    if (this.#sbOverflow) {
      this.#sbOverflow = false;
      return;
    }
    const option = this.#sbOption;
    const data = this.#sb.slice(0, this.#sbLength);
    let handled = false;
    if (option === TELNET_OPTION.TERMINAL_TYPE && this.#local[option]!.state === Q_YES) {
      if (data.length === 1 && data[0] === TTYPE_SEND && this.#terminalTypes.length > 0) {
        this.#answerTerminalType();
        handled = true;
      }
    } else if (option === TELNET_OPTION.NEW_ENVIRON && this.#local[option]!.state === Q_YES) {
      if (data[0] === ENVIRON_SEND) {
        const requests = parseEnvironSend(data.subarray(1));
        if (requests === null) {
          this.#emit({
            type: "error",
            error: new ProtocolError(
              "BAD_SUBNEGOTIATION",
              "Cannot answer NEW-ENVIRON SEND: a list entry starts with neither VAR nor USERVAR",
            ),
          });
        } else {
          this.#write(subnegotiation(option, buildEnvironIs(requests, this.#environment)));
          handled = true;
        }
      }
    }
    this.#emit({ type: "subnegotiation", option, data, handled });
  }

  #answerTerminalType(): void {
    const types = this.#terminalTypes;
    const index = Math.min(this.#terminalTypeIndex, types.length - 1);
    const type = encoder.encode(types[index]!);
    const data = new Uint8Array(type.length + 1);
    data[0] = TTYPE_IS;
    data.set(type, 1);
    this.#write(subnegotiation(TELNET_OPTION.TERMINAL_TYPE, data));
    // RFC 1091: after the last type has gone twice, start over.
    this.#terminalTypeIndex++;
    if (this.#terminalTypeIndex > types.length) this.#terminalTypeIndex = 0;
  }

  #receiveVerb(verb: number, option: number): void {
    const local = verb === DO || verb === DONT;
    const side: TelnetSide = local ? "local" : "remote";
    const slots = local ? this.#local : this.#remote;
    const slot = slots[option]!;
    const positive = verb === WILL || verb === DO;
    const agree = (local ? this.#acceptLocal : this.#acceptRemote).has(option);
    const outcome = positive ? receivePositive(slot, agree) : receiveNegative(slot);
    if (outcome.error !== null) {
      const sent = local ? "WONT" : "DONT";
      const got = local ? "DO" : "WILL";
      this.#emit({
        type: "error",
        error: new ProtocolError(
          "BAD_NEGOTIATION",
          `Cannot negotiate option ${option}: ${sent} answered by ${got}`,
        ),
      });
    }
    this.#apply(option, side, outcome);
  }

  /** Stores the outcome, sends its verb, and reports and reacts to a change. */
  #apply(option: number, side: TelnetSide, outcome: QOutcome): void {
    const slot = (side === "local" ? this.#local : this.#remote)[option]!;
    const wasYes = slot.state === Q_YES;
    slot.state = outcome.state;
    slot.opposite = outcome.opposite;
    if (outcome.reply !== null) {
      const verb = side === "local" ? (outcome.reply ? WILL : WONT) : (outcome.reply ? DO : DONT);
      this.#write(new Uint8Array([IAC, verb, option]));
    }
    const isYes = slot.state === Q_YES;
    if (wasYes === isYes) return;
    if (isYes && side === "local") {
      if (option === TELNET_OPTION.TERMINAL_TYPE) this.#terminalTypeIndex = 0;
      if (option === TELNET_OPTION.NAWS && this.#windowSize !== undefined) this.#sendWindowSize();
    }
    if (!isYes && side === "remote" && option === TELNET_OPTION.BINARY) this.#crPending = false;
    this.#emit({ type: "option", option, side, enabled: isYes });
  }

  #sendWindowSize(): void {
    const { columns, rows } = this.#windowSize!;
    const data = new Uint8Array([columns >> 8, columns & 0xff, rows >> 8, rows & 0xff]);
    this.#write(subnegotiation(TELNET_OPTION.NAWS, data));
  }

  #emit(event: TelnetEvent): void {
    this.#onEvent?.(event);
  }

  /** Queues bytes for `send`, in order; never rejects (a failure is kept). */
  #write(bytes: Uint8Array): Promise<void> {
    if (this.#failure !== null) return Promise.resolve();
    if (this.#tail === null) {
      let result: void | Promise<void>;
      try {
        result = this.#send(bytes);
      } catch (error) {
        this.#failure = { error };
        return Promise.resolve();
      }
      if (!isPromiseLike(result)) return Promise.resolve();
      return this.#track(Promise.resolve(result));
    }
    return this.#track(this.#tail.then(() => {
      if (this.#failure === null) return this.#send(bytes);
    }));
  }

  #track(promise: Promise<void>): Promise<void> {
    const settled: Promise<void> = promise.then(
      () => {},
      (error) => {
        if (this.#failure === null) this.#failure = { error };
      },
    ).then(() => {
      if (this.#tail === settled) this.#tail = null;
    });
    this.#tail = settled;
    return settled;
  }

  async #written(promise: Promise<void>): Promise<void> {
    await promise;
    if (this.#failure !== null) throw this.#failure.error;
  }

  /**
   * Encodes application data for the wire: every 255 byte is doubled
   * (RFC 854), and while we do not transmit in BINARY and
   * `translateLineEnds` is on, a bare CR becomes CR NUL and a bare LF becomes
   * CR LF. Each call stands alone: pass a CR LF pair in one call.
   *
   * @param data The bytes, or text to send as UTF-8.
   * @returns The bytes to write.
   *
   * @example Sending a line with an IAC byte in it
   * ```ts
   * import { TelnetCodec } from "@inetkit/inetkit/net";
   * import { assertEquals } from "@std/assert";
   *
   * const telnet = new TelnetCodec({ send: () => {} });
   * assertEquals([...telnet.encode("ls\n")], [0x6c, 0x73, 13, 10]);
   * assertEquals([...telnet.encode(new Uint8Array([255]))], [255, 255]);
   * ```
   */
  encode(data: Uint8Array | string): Uint8Array {
    const bytes = typeof data === "string" ? encoder.encode(data) : data;
    const out = new Uint8Array(bytes.length * 2);
    const translate = this.#translate && this.#local[TELNET_OPTION.BINARY]!.state !== Q_YES;
    let o = 0;
    for (let i = 0; i < bytes.length; i++) {
      const b = bytes[i]!;
      if (b === IAC) {
        out[o++] = IAC;
        out[o++] = IAC;
      } else if (translate && b === CR) {
        out[o++] = CR;
        if (bytes[i + 1] === LF) {
          out[o++] = LF;
          i++;
        } else {
          out[o++] = NUL;
        }
      } else if (translate && b === LF) {
        out[o++] = CR;
        out[o++] = LF;
      } else {
        out[o++] = b;
      }
    }
    return out.subarray(0, o);
  }

  /**
   * Encodes data with {@linkcode TelnetCodec.encode} and sends it, in order
   * with the codec's own replies.
   *
   * @param data The bytes, or text to send as UTF-8.
   * @returns A promise that settles once `send` has taken the bytes.
   * @throws The error of a failed `send` (this one or an earlier one).
   *
   * @example
   * ```ts
   * import { TelnetCodec } from "@inetkit/inetkit/net";
   * import { assertEquals } from "@std/assert";
   *
   * const sent: number[] = [];
   * const telnet = new TelnetCodec({ send: (bytes) => void sent.push(...bytes) });
   * await telnet.write("y\r\n");
   * assertEquals(sent, [0x79, 13, 10]);
   * ```
   */
  write(data: Uint8Array | string): Promise<void> {
    return this.#written(this.#write(this.encode(data)));
  }

  /**
   * Sends a command: `IAC command` (RFC 854), for example AYT, IP, BRK, AO,
   * EC, EL, GA or NOP. A DM goes as a plain `IAC DM`: the TCP urgent
   * pointer of a full Synch is not available here.
   *
   * @param command A command byte from {@linkcode TELNET_COMMAND} below SB.
   * @returns A promise that settles once `send` has taken the bytes.
   * @throws {RangeError} If `command` is not a byte below 250 (SB, the
   *   negotiation verbs and IAC have their own methods).
   * @throws The error of a failed `send`.
   *
   * @example Asking whether the server is still there
   * ```ts
   * import { TELNET_COMMAND, TelnetCodec } from "@inetkit/inetkit/net";
   * import { assertEquals } from "@std/assert";
   *
   * const sent: number[] = [];
   * const telnet = new TelnetCodec({ send: (bytes) => void sent.push(...bytes) });
   * await telnet.sendCommand(TELNET_COMMAND.AYT);
   * assertEquals(sent, [255, 246]);
   * ```
   */
  sendCommand(command: number): Promise<void> {
    if (!Number.isInteger(command) || command < 0 || command >= SB) {
      throw new RangeError(`Cannot send Telnet command ${command}: not a command byte below 250`);
    }
    return this.#written(this.#write(new Uint8Array([IAC, command])));
  }

  /**
   * Sends `IAC SB option data IAC SE` (RFC 855) with every 255 in `data`
   * doubled, for options the codec does not handle itself.
   *
   * @param option The option number.
   * @param data The parameters, unescaped.
   * @returns A promise that settles once `send` has taken the bytes.
   * @throws {RangeError} If `option` is not a byte.
   * @throws The error of a failed `send`.
   *
   * @example Answering TERMINAL-SPEED SEND (RFC 1079)
   * ```ts
   * import { TELNET_OPTION, TelnetCodec } from "@inetkit/inetkit/net";
   * import { assertEquals } from "@std/assert";
   *
   * const sent: number[] = [];
   * const telnet = new TelnetCodec({ send: (bytes) => void sent.push(...bytes) });
   * await telnet.sendSubnegotiation(
   *   TELNET_OPTION.TERMINAL_SPEED,
   *   new Uint8Array([0, ...new TextEncoder().encode("38400,38400")]),
   * );
   * assertEquals(sent.slice(0, 4), [255, 250, 32, 0]);
   * assertEquals(sent.slice(-2), [255, 240]);
   * ```
   */
  sendSubnegotiation(option: number, data: Uint8Array): Promise<void> {
    checkOption(option, "send subnegotiation");
    return this.#written(this.#write(subnegotiation(option, data)));
  }

  /**
   * Starts enabling or disabling an option (RFC 1143 §7 "our side wants
   * to..."): `"local"` sends WILL / WONT, `"remote"` sends DO / DONT. A
   * request that matches the current state sends nothing; one made while the
   * option is being negotiated is queued (the OPPOSITE bit) and sent when the
   * peer answers. The `local` / `remote` policy only governs the peer's
   * requests, not this call.
   *
   * @param option The option number.
   * @param side Whose side of the option: ours or the peer's.
   * @param enable Whether the option should be on.
   * @returns `true` when a verb was sent, `false` when the request needed
   *   none (already so, already negotiating, or queued).
   * @throws {RangeError} If `option` is not a byte.
   * @throws {TypeError} If `side` is not `"local"` or `"remote"`.
   *
   * @example Asking the server to echo, then to stop
   * ```ts
   * import { TELNET_OPTION, TelnetCodec } from "@inetkit/inetkit/net";
   * import { assertEquals } from "@std/assert";
   *
   * const sent: number[][] = [];
   * const telnet = new TelnetCodec({ send: (bytes) => void sent.push([...bytes]) });
   * assertEquals(telnet.request(TELNET_OPTION.ECHO, "remote", true), true);
   * assertEquals(telnet.optionState(TELNET_OPTION.ECHO, "remote").state, "wantyes");
   * telnet.decode(new Uint8Array([255, 251, 1])); // IAC WILL ECHO
   * assertEquals(telnet.isEnabled(TELNET_OPTION.ECHO, "remote"), true);
   * telnet.request(TELNET_OPTION.ECHO, "remote", false);
   * assertEquals(sent, [[255, 253, 1], [255, 254, 1]]);
   * ```
   */
  request(option: number, side: TelnetSide, enable: boolean): boolean {
    checkOption(option, "request option");
    checkSide(side, "request option");
    const slot = (side === "local" ? this.#local : this.#remote)[option]!;
    const outcome = ask(slot, enable);
    this.#apply(option, side, outcome);
    return outcome.reply !== null;
  }

  /**
   * Sets the window size and, when NAWS is enabled on our side, sends it
   * (RFC 1073: width then height, 16-bit big-endian, 255 bytes doubled).
   * Before that it is kept and sent once the peer asks with DO NAWS; setting
   * a size also adds NAWS to the `local` policy.
   *
   * @param columns The width, 0 to 65535.
   * @param rows The height, 0 to 65535.
   * @returns `true` when the size was sent now.
   * @throws {RangeError} If a value is not an integer from 0 to 65535.
   *
   * @example Resizing after NAWS was enabled
   * ```ts
   * import { TELNET_OPTION, TelnetCodec } from "@inetkit/inetkit/net";
   * import { assertEquals } from "@std/assert";
   *
   * const sent: number[][] = [];
   * const telnet = new TelnetCodec({
   *   send: (bytes) => void sent.push([...bytes]),
   *   windowSize: { columns: 80, rows: 24 },
   * });
   * telnet.decode(new Uint8Array([255, 253, TELNET_OPTION.NAWS])); // IAC DO NAWS
   * assertEquals(telnet.setWindowSize(255, 40), true);
   * assertEquals(sent, [
   *   [255, 251, 31],
   *   [255, 250, 31, 0, 80, 0, 24, 255, 240],
   *   [255, 250, 31, 0, 255, 255, 0, 40, 255, 240],
   * ]);
   * ```
   */
  setWindowSize(columns: number, rows: number): boolean {
    checkWindowSize(columns, rows);
    this.#windowSize = { columns, rows };
    this.#acceptLocal.add(TELNET_OPTION.NAWS);
    if (this.#local[TELNET_OPTION.NAWS]!.state !== Q_YES) return false;
    this.#sendWindowSize();
    return true;
  }

  /**
   * Whether an option is enabled (RFC 1143 state YES) on one side.
   *
   * @param option The option number.
   * @param side Ours (`"local"`) or the peer's (`"remote"`).
   * @returns `true` in state YES only.
   * @throws {RangeError} If `option` is not a byte.
   * @throws {TypeError} If `side` is not `"local"` or `"remote"`.
   *
   * @example
   * ```ts
   * import { TELNET_OPTION, TelnetCodec } from "@inetkit/inetkit/net";
   * import { assertEquals } from "@std/assert";
   *
   * const telnet = new TelnetCodec({ send: () => {}, remote: [TELNET_OPTION.SUPPRESS_GO_AHEAD] });
   * telnet.decode(new Uint8Array([255, 251, 3])); // IAC WILL SUPPRESS-GO-AHEAD
   * assertEquals(telnet.isEnabled(TELNET_OPTION.SUPPRESS_GO_AHEAD, "remote"), true);
   * assertEquals(telnet.isEnabled(TELNET_OPTION.SUPPRESS_GO_AHEAD, "local"), false);
   * ```
   */
  isEnabled(option: number, side: TelnetSide): boolean {
    checkOption(option, "query option");
    checkSide(side, "query option");
    return (side === "local" ? this.#local : this.#remote)[option]!.state === Q_YES;
  }

  /**
   * The RFC 1143 state of one side of an option, for diagnostics and tests.
   *
   * @param option The option number.
   * @param side Ours (`"local"`) or the peer's (`"remote"`).
   * @returns The state and the queue bit.
   * @throws {RangeError} If `option` is not a byte.
   * @throws {TypeError} If `side` is not `"local"` or `"remote"`.
   *
   * @example A request in flight
   * ```ts
   * import { TELNET_OPTION, TelnetCodec } from "@inetkit/inetkit/net";
   * import { assertEquals } from "@std/assert";
   *
   * const telnet = new TelnetCodec({ send: () => {} });
   * telnet.request(TELNET_OPTION.BINARY, "local", true);
   * telnet.request(TELNET_OPTION.BINARY, "local", false);
   * assertEquals(telnet.optionState(TELNET_OPTION.BINARY, "local"), {
   *   state: "wantyes",
   *   queue: "opposite",
   * });
   * ```
   */
  optionState(option: number, side: TelnetSide): TelnetOptionState {
    checkOption(option, "query option");
    checkSide(side, "query option");
    const slot = (side === "local" ? this.#local : this.#remote)[option]!;
    return { state: STATE_NAMES[slot.state], queue: slot.opposite ? "opposite" : "empty" };
  }

  /**
   * Waits until every byte queued so far has been taken by `send`.
   *
   * @returns A promise that settles when the queue is empty.
   * @throws The error of a failed `send`; the codec drops its output after one.
   *
   * @example Waiting for replies sent through an asynchronous writer
   * ```ts
   * import { TelnetCodec } from "@inetkit/inetkit/net";
   * import { assertEquals } from "@std/assert";
   *
   * const sent: number[] = [];
   * const telnet = new TelnetCodec({
   *   send: async (bytes) => {
   *     await Promise.resolve();
   *     sent.push(...bytes);
   *   },
   * });
   * telnet.decode(new Uint8Array([255, 253, 1, 255, 253, 3])); // IAC DO ECHO, IAC DO SGA
   * await telnet.flush();
   * assertEquals(sent, [255, 252, 1, 255, 252, 3]);
   * ```
   */
  async flush(): Promise<void> {
    while (this.#tail !== null) await this.#tail;
    if (this.#failure !== null) throw this.#failure.error;
  }
}
