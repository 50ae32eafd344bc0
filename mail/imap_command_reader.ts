/**
 * Reading IMAP client commands on the server side (RFC 3501 §2.2, RFC 9051,
 * RFC 7888 LITERAL+/LITERAL-, RFC 3516 literal8).
 *
 * @module
 */
import type { BufferedReader, LineEnding } from "../net/buffered_reader.ts";
import { ProtocolError } from "../net/protocol_error.ts";
import type { ImapToken } from "./_imap_wire_types.ts";
import { ImapTokenizer, type LiteralAnnouncement, RPAREN, SP } from "./_imap_tokenizer.ts";
import { abortableIo, drainLiteral, pipeLiteral } from "./_imap_literal.ts";

/** A command read completely. */
export interface ImapCommand {
  /** The kind of result. */
  type: "command";
  /** The client's tag. */
  tag: string;
  /**
   * The command name, upper-cased: `LOGIN`, `SELECT`; for `UID` the two
   * words, `UID FETCH`, with the subcommand taken out of `args`.
   */
  name: string;
  /** The argument tokens. `NIL` is an atom here (it is an astring in most commands). */
  args: ImapToken[];
}

/**
 * A command the server must refuse: answer `tag BAD text` or
 * `tag NO [TOOBIG] text` (or `* BAD` when `tag` is null). The rest of the
 * command has been consumed (a synchronizing literal was never continued,
 * so the client sent nothing more), and the next read starts at the next
 * command.
 */
export interface ImapCommandError {
  /** The kind of result. */
  type: "error";
  /** The tag, or null when it was missing or invalid. */
  tag: string | null;
  /** `"BAD"` for syntax and refused literal forms, `"NO"` for a literal that is too large. */
  status: "BAD" | "NO";
  /** A response code to send (`"TOOBIG"`), or null. */
  code: string | null;
  /** Text for the response. */
  text: string;
}

/** A literal a command announced, before any of its bytes are read. */
export interface ImapCommandLiteralInfo {
  /** The command's tag. */
  tag: string;
  /** The command name, upper-cased (`APPEND`, `UID`). */
  command: string;
  /** The announced size. */
  size: number;
  /** Whether it is a literal8 (`~{n}`). */
  binary: boolean;
  /** Whether the client waits for a `+` continuation before sending it. */
  synchronizing: boolean;
  /** Its position among the command's literals, from 0. */
  index: number;
}

/**
 * Where a command literal goes: kept in memory (`"inline"`), written to a
 * stream (an APPEND to storage), or refused (`"reject"`, answered
 * `NO [TOOBIG]`).
 */
export type ImapCommandLiteralTarget = WritableStream<Uint8Array> | "inline" | "reject";

/** Options for {@linkcode ImapCommandReader}. */
export interface ImapCommandReaderOptions {
  /**
   * Sends the `+` continuation request for a synchronizing literal (for
   * example `+ Ready for literal data`); the reader calls it just before it
   * reads the literal, and only when it accepts the literal.
   */
  onContinuation: (info: ImapCommandLiteralInfo) => void | Promise<void>;
  /**
   * Chooses where each literal goes. Without it, literals are kept in memory.
   */
  onLiteral?: (
    info: ImapCommandLiteralInfo,
  ) => ImapCommandLiteralTarget | Promise<ImapCommandLiteralTarget>;
  /**
   * The non-synchronizing literals the server advertises (RFC 7888):
   * `"LITERAL+"` accepts `{n+}` of any size, `"LITERAL-"` (part of IMAP4rev2)
   * up to 4096 bytes, `null` none. A refused `{n+}` is answered `BAD`, and
   * its bytes, which the client sends anyway, are read and dropped up to
   * `maxDiscardSize`.
   *
   * @default {"LITERAL-"}
   */
  nonSynchronizing?: "LITERAL+" | "LITERAL-" | null;
  /**
   * The most bytes in one line segment of a command.
   *
   * @default {65536}
   */
  maxLineLength?: number;
  /**
   * The largest literal kept in memory; a larger one is refused with
   * `NO [TOOBIG]` before it is read (streamed literals are not limited).
   *
   * @default {67108864}
   */
  maxLiteralSize?: number;
  /**
   * The most bytes of one command held in memory: line segments and
   * in-memory literals.
   *
   * @default {83886080}
   */
  maxCommandSize?: number;
  /**
   * The most bytes of refused non-synchronizing literals read and dropped
   * for one command. Beyond it the reader throws `"LITERAL_TOO_LARGE"` and
   * the server should send `* BYE` and close.
   *
   * @default {1048576}
   */
  maxDiscardSize?: number;
  /**
   * The most argument tokens, nested ones included.
   *
   * @default {10000}
   */
  maxArguments?: number;
  /**
   * The deepest list nesting.
   *
   * @default {32}
   */
  maxDepth?: number;
  /**
   * `"crlf"` requires CR LF; `"any"` also accepts a lone LF, as Dovecot does.
   *
   * @default {"any"}
   */
  lineEnding?: LineEnding;
}

/** A refusal decided while reading; `pending` is a literal announced but not read. */
class Refusal {
  constructor(
    readonly status: "BAD" | "NO",
    readonly code: string | null,
    readonly text: string,
    readonly pending: LiteralAnnouncement | null,
  ) {}
}

const TAG_BYTE = new Uint8Array(256);
for (let b = 0x21; b < 0x7f; b++) TAG_BYTE[b] = 1;
for (const c of '(){%*"\\+') TAG_BYTE[c.charCodeAt(0)] = 0;
const COMMAND_NAME_REGEXP = /^[A-Za-z][A-Za-z0-9._-]*$/;
const TRAILING_LITERAL_REGEXP = /~?\{(\d{1,20})(\+?)\}$/;

function positive(value: number | undefined, fallback: number, name: string): number {
  const v = value ?? fallback;
  if (!Number.isSafeInteger(v) || v < 1) {
    throw new RangeError(
      `Cannot create IMAP command reader: ${name} ${v} is not a positive integer`,
    );
  }
  return v;
}

/**
 * Reads IMAP commands (`tag SP name [SP args] CRLF`) for a server, with
 * literals: a synchronizing `{n}` is continued through `onContinuation` only
 * once it is accepted, `{n+}` is read directly when the advertised
 * LITERAL+/LITERAL- allows it, and `~{n}` (literal8) may carry NUL.
 *
 * Malformed commands and refused literals come back as an
 * {@linkcode ImapCommandError} for the server to answer, with the reader
 * ready for the next command. Only lost framing throws: the stream ending
 * mid-command, a line over `maxLineLength`, or refused literal bytes over
 * `maxDiscardSize`; the server should then close the connection.
 *
 * @example Reading a LOGIN with a synchronizing literal
 * ```ts
 * import { ImapCommandReader } from "@inetkit/inetkit/mail";
 * import { BufferedReader } from "@inetkit/inetkit/net";
 * import { assertEquals } from "@std/assert";
 *
 * const wire = "a1 LOGIN mulder {8}\r\ntrustno1\r\na2 NOOP\r\n";
 * const sent: string[] = [];
 * const commands = new ImapCommandReader(
 *   new BufferedReader(ReadableStream.from([new TextEncoder().encode(wire)])),
 *   { onContinuation: () => void sent.push("+ Ready") },
 * );
 * const login = await commands.read();
 * assertEquals(login?.type === "command" && login.name, "LOGIN");
 * assertEquals(login?.type === "command" && login.args[1], {
 *   type: "literal",
 *   value: new TextEncoder().encode("trustno1"),
 *   binary: false,
 * });
 * assertEquals(sent, ["+ Ready"]);
 * assertEquals(await commands.read(), { type: "command", tag: "a2", name: "NOOP", args: [] });
 * assertEquals(await commands.read(), null);
 * ```
 *
 * @example Refusing an oversized literal without reading it
 * ```ts
 * import { ImapCommandReader } from "@inetkit/inetkit/mail";
 * import { BufferedReader } from "@inetkit/inetkit/net";
 * import { assertEquals } from "@std/assert";
 *
 * const wire = "a1 APPEND INBOX {999999999}\r\na2 NOOP\r\n";
 * const commands = new ImapCommandReader(
 *   new BufferedReader(ReadableStream.from([new TextEncoder().encode(wire)])),
 *   { onContinuation: () => {}, maxLiteralSize: 1024 },
 * );
 * const refused = await commands.read();
 * assertEquals(refused?.type === "error" && [refused.tag, refused.status, refused.code], [
 *   "a1",
 *   "NO",
 *   "TOOBIG",
 * ]);
 * assertEquals((await commands.read())?.type, "command");
 * ```
 */
export class ImapCommandReader {
  readonly #reader: BufferedReader;
  readonly #t: ImapTokenizer;
  readonly #onContinuation: ImapCommandReaderOptions["onContinuation"];
  readonly #onLiteral: ImapCommandReaderOptions["onLiteral"];
  readonly #nonSync: "LITERAL+" | "LITERAL-" | null;
  readonly #maxLiteral: number;
  readonly #maxCommand: number;
  readonly #maxDiscard: number;
  #busy = false;
  #failure: unknown = null;

  /**
   * Creates a command reader over a connection's buffered reader.
   *
   * @param reader The buffered reader of the connection.
   * @param options The continuation callback, literal handling and limits.
   * @throws {TypeError} If `onContinuation` is not a function.
   * @throws {RangeError} If a limit is not a positive integer.
   */
  constructor(reader: BufferedReader, options: ImapCommandReaderOptions) {
    if (typeof options?.onContinuation !== "function") {
      throw new TypeError("Cannot create IMAP command reader: onContinuation is not a function");
    }
    this.#reader = reader;
    this.#onContinuation = options.onContinuation;
    this.#onLiteral = options.onLiteral;
    this.#nonSync = options.nonSynchronizing === undefined ? "LITERAL-" : options.nonSynchronizing;
    this.#maxLiteral = positive(options.maxLiteralSize, 67108864, "maxLiteralSize");
    this.#maxCommand = positive(options.maxCommandSize, 83886080, "maxCommandSize");
    this.#maxDiscard = positive(options.maxDiscardSize, 1048576, "maxDiscardSize");
    this.#t = new ImapTokenizer(reader, {
      mode: "command",
      maxLineLength: positive(options.maxLineLength, 65536, "maxLineLength"),
      maxTotal: this.#maxCommand,
      maxDepth: positive(options.maxDepth, 32, "maxDepth"),
      maxTokens: positive(options.maxArguments, 10000, "maxArguments"),
      lineEnding: options.lineEnding ?? "any",
    });
  }

  /**
   * Reads the next command.
   *
   * @param options An abort signal; an aborted read leaves the connection
   *   mid-command, so the reader refuses further reads.
   * @returns The command, an error to answer, or `null` when the stream
   *   ends between commands.
   * @throws {ProtocolError} `"UNEXPECTED_EOF"` when the stream ends inside a
   *   command, `"LINE_TOO_LONG"` or `"BARE_LF"` for a line, or
   *   `"LITERAL_TOO_LARGE"` when refused literal bytes exceed `maxDiscardSize`.
   * @throws {TypeError} If another read is running or an earlier read failed.
   */
  async read(
    options?: { signal?: AbortSignal },
  ): Promise<ImapCommand | ImapCommandError | null> {
    options ??= {};
    if (this.#busy) {
      throw new TypeError(
        "Cannot read IMAP command while another read is running: did you forget await?",
      );
    }
    if (this.#failure !== null) {
      throw new TypeError("Cannot read IMAP command: an earlier read failed", {
        cause: this.#failure,
      });
    }
    options.signal?.throwIfAborted();
    this.#busy = true;
    this.#t.io = abortableIo(options.signal);
    try {
      return await this.#read();
    } catch (error) {
      this.#failure = error;
      throw error;
    } finally {
      this.#busy = false;
    }
  }

  async #read(): Promise<ImapCommand | ImapCommandError | null> {
    const t = this.#t;
    let tag: string | null = null;
    try {
      if (!(await t.firstLine())) return null;
      tag = this.#tag();
      if (tag === null) throw new Refusal("BAD", null, "Invalid or missing tag", null);
      if (t.peek() !== SP) throw new Refusal("BAD", null, "Missing command name", null);
      t.skipSpaces();
      let name = t.atomText(false);
      if (!COMMAND_NAME_REGEXP.test(name)) {
        throw new Refusal("BAD", null, "Invalid command name", null);
      }
      name = name.toUpperCase();
      const args = await this.#args(tag, name);
      const sub = args[0];
      if (name === "UID" && sub?.type === "atom") {
        args.shift();
        name = `UID ${sub.value.toUpperCase()}`;
      }
      return { type: "command", tag, name, args };
    } catch (error) {
      const refusal = this.#recoverable(error);
      // A line refused as a whole (NUL, bare CR) still names its command.
      if (tag === null && t.pos === 0) tag = this.#tag();
      await this.#recover(refusal.pending);
      return { type: "error", tag, status: refusal.status, code: refusal.code, text: refusal.text };
    }
  }

  /** Turns a syntax error or a refusal into a {@linkcode Refusal}; rethrows the rest. */
  #recoverable(error: unknown): Refusal {
    if (error instanceof Refusal) return error;
    if (error instanceof ProtocolError) {
      switch (error.code) {
        case "BAD_COMMAND":
          return new Refusal(
            "BAD",
            null,
            error.message.replace(/^Cannot parse IMAP command: /, ""),
            null,
          );
        case "TOO_MANY_TOKENS":
          return new Refusal("BAD", null, "Too many arguments", null);
        case "TOO_DEEP":
          return new Refusal("BAD", null, "Lists nest too deeply", null);
        case "COMMAND_TOO_LARGE":
          return new Refusal("BAD", "TOOBIG", "Command too large", null);
      }
    }
    throw error;
  }

  /** The tag at the start of the line, or null when it is missing or invalid. */
  #tag(): string | null {
    const t = this.#t;
    const start = t.pos;
    while (t.pos < t.line.length && TAG_BYTE[t.line[t.pos]!] === 1) t.pos++;
    if (t.pos === start) return null;
    const b = t.peek();
    if (b !== SP && b !== -1) return null;
    return new TextDecoder().decode(t.line.subarray(start, t.pos));
  }

  async #args(tag: string, command: string): Promise<ImapToken[]> {
    const t = this.#t;
    let index = 0;
    const literal = async (a: LiteralAnnouncement): Promise<ImapToken> => {
      const info: ImapCommandLiteralInfo = {
        tag,
        command,
        size: a.size,
        binary: a.binary,
        synchronizing: !a.nonSync,
        index: index++,
      };
      if (a.nonSync) {
        if (this.#nonSync === null) {
          throw new Refusal("BAD", null, "Non-synchronizing literals are not supported", a);
        }
        if (this.#nonSync === "LITERAL-" && a.size > 4096) {
          throw new Refusal(
            "BAD",
            "TOOBIG",
            "Non-synchronizing literals are limited to 4096 bytes (LITERAL-)",
            a,
          );
        }
      }
      if (!Number.isSafeInteger(a.size)) {
        throw new Refusal("NO", "TOOBIG", "Literal too large", a);
      }
      const target = this.#onLiteral === undefined ? "inline" : await this.#onLiteral(info);
      if (target === "reject") throw new Refusal("NO", "TOOBIG", "Literal refused", a);
      if (target === "inline") {
        if (a.size > this.#maxLiteral || t.total + a.size > this.#maxCommand) {
          throw new Refusal("NO", "TOOBIG", "Literal too large", a);
        }
        if (!a.nonSync) await this.#onContinuation(info);
        return await t.inlineLiteral(a, this.#maxLiteral, "command");
      }
      if (!(target instanceof WritableStream)) {
        throw new TypeError(
          `Cannot read literal: onLiteral returned ${String(target)}, ` +
            `not a WritableStream, "inline" or "reject"`,
        );
      }
      if (!a.nonSync) await this.#onContinuation(info);
      const error = await pipeLiteral(this.#reader, a.size, target, t.io);
      await t.nextLine();
      return { type: "streamed", size: a.size, binary: a.binary, skipped: false, error };
    };
    const out: ImapToken[] = [];
    for (;;) {
      t.skipSpaces();
      if (t.atEnd()) return out;
      if (t.peek() === RPAREN) throw t.bad("unbalanced )");
      out.push(await t.value(0, false, literal));
    }
  }

  /**
   * Consumes the rest of a refused command: a synchronizing literal at the
   * end of the current segment ends it (the client waits for a `+` that
   * never comes); a non-synchronizing one is read and dropped, and the next
   * segment examined, up to `maxDiscardSize`.
   */
  async #recover(pending: LiteralAnnouncement | null): Promise<void> {
    const t = this.#t;
    let discarded = 0;
    let a = pending;
    for (;;) {
      if (a === null) {
        const rest = new TextDecoder("latin1").decode(
          t.line.subarray(Math.min(t.pos, t.line.length)),
        );
        const m = TRAILING_LITERAL_REGEXP.exec(rest);
        if (m === null) return;
        a = {
          size: m[1]!.length <= 15 ? Number(m[1]) : Number.POSITIVE_INFINITY,
          text: m[1]!,
          binary: m[0].startsWith("~"),
          nonSync: m[2] === "+",
        };
      }
      if (!a.nonSync) return;
      if (a.size > this.#maxDiscard - discarded) {
        throw new ProtocolError(
          "LITERAL_TOO_LARGE",
          `Cannot skip refused IMAP literal of ${a.text} bytes: more than ${this.#maxDiscard} ` +
            "bytes to discard",
        );
      }
      await drainLiteral(this.#reader, a.size, t.io);
      discarded += a.size;
      t.total = 0;
      t.tokens = 0;
      await t.nextLine().catch((error) => {
        // A segment that is itself malformed is still consumed; keep skipping.
        if (
          error instanceof ProtocolError &&
          (error.code === "BAD_COMMAND" || error.code === "COMMAND_TOO_LARGE")
        ) return;
        throw error;
      });
      t.pos = 0;
      a = null;
    }
  }
}
