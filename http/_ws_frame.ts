/**
 * The WebSocket frame codec of RFC 6455 §5 (no extensions): an incremental
 * receiver that takes bytes in any pieces and emits whole messages and
 * control frames, and the encoders for the frames a server sends. Pure
 * bytes, no `Deno.*` (layer L1).
 *
 * The receiver enforces the rules a peer can break, each a
 * {@linkcode ProtocolError} whose code {@linkcode wsCloseCodeFor} maps to the
 * close code to answer with: masking (§5.1, §5.3), RSV bits without an
 * extension (§5.2), unknown opcodes (§5.2), control frames of more than 125
 * bytes or fragmented (§5.5), the most significant bit of a 64-bit length
 * (§5.2), continuation rules (§5.4), close payloads and codes (§5.5.1,
 * §7.4), UTF-8 in text messages and close reasons, also when a code point
 * is split across frames or reads (§8.1), and the message size cap. Payload
 * memory is allocated only as payload bytes arrive, never from an announced
 * length.
 *
 * @module
 */
import { ProtocolError, type ProtocolErrorCode } from "../net/protocol_error.ts";
import { concatBytes } from "../net/_bytes.ts";

/** Opcodes (RFC 6455 §5.2). */
export const OP_CONTINUATION = 0x0;
/** A text frame. */
export const OP_TEXT = 0x1;
/** A binary frame. */
export const OP_BINARY = 0x2;
/** A close frame. */
export const OP_CLOSE = 0x8;
/** A ping frame. */
export const OP_PING = 0x9;
/** A pong frame. */
export const OP_PONG = 0xa;

/** What the receiver emits. A close without a status code has code 1005. */
export type WsEvent =
  | { type: "text"; data: string }
  | { type: "binary"; data: Uint8Array }
  | { type: "ping"; data: Uint8Array }
  | { type: "pong"; data: Uint8Array }
  | { type: "close"; code: number; reason: string };

/** Options for {@linkcode WsReceiver}. */
export interface WsReceiverOptions {
  /** The most bytes in one message (all its frames); more is `WS_MESSAGE_TOO_LARGE`. */
  maxMessageSize: number;
  /**
   * `"server"` receives from a client: every frame must be masked.
   * `"client"` receives from a server: no frame may be masked.
   */
  role: "server" | "client";
}

/** The close code that answers a receiver error (RFC 6455 §7.4.1). */
export function wsCloseCodeFor(error: ProtocolError): number {
  switch (error.code) {
    case "WS_INVALID_UTF8":
      return 1007;
    case "WS_MESSAGE_TOO_LARGE":
      return 1009;
    default:
      return 1002;
  }
}

/**
 * Whether a close code may appear in a close frame (RFC 6455 §7.4 and the
 * IANA registry): 1000-1003, 1007-1014, 3000-4999. 1004 is reserved; 1005,
 * 1006 and 1015 are for reporting only, never on the wire.
 */
export function isWireCloseCode(code: number): boolean {
  return (code >= 1000 && code <= 1003) || (code >= 1007 && code <= 1014) ||
    (code >= 3000 && code <= 4999);
}

const HEAD = 0;
const PAYLOAD = 1;

function frameError(code: ProtocolErrorCode, message: string): ProtocolError {
  return new ProtocolError(code, `Cannot read WebSocket frame: ${message}`);
}

/**
 * The incremental receiver. `push` takes the next bytes (any split, also
 * empty) and calls `emit` for every complete message or control frame in
 * order. After a close frame it ignores the rest; after an error it throws
 * that error again on every push.
 */
export class WsReceiver {
  #max: number;
  #server: boolean;
  #state = HEAD;
  #head = new Uint8Array(14);
  #headLength = 0;
  #headNeed = 2;
  #headChecked = false;
  #fin = false;
  #opcode = 0;
  #masked = false;
  #key = new Uint8Array(4);
  #keyAt = 0;
  #remaining = 0;
  /** The opcode of the message in progress, 0 for none. */
  #message = 0;
  #messageSize = 0;
  #pieces: Uint8Array[] = [];
  #texts: string[] = [];
  #utf8 = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });
  #control = new Uint8Array(125);
  #controlLength = 0;
  #closed = false;
  #error: ProtocolError | null = null;

  constructor(options: WsReceiverOptions) {
    this.#max = options.maxMessageSize;
    this.#server = options.role === "server";
  }

  /** Whether a close frame was received (the rest is ignored). */
  get closed(): boolean {
    return this.#closed;
  }

  /** Takes the next bytes; see the class documentation. */
  push(chunk: Uint8Array, emit: (event: WsEvent) => void): void {
    if (this.#error !== null) throw this.#error;
    try {
      this.#push(chunk, emit);
    } catch (error) {
      if (error instanceof ProtocolError) this.#error = error;
      throw error;
    }
  }

  #push(chunk: Uint8Array, emit: (event: WsEvent) => void): void {
    const n = chunk.length;
    let i = 0;
    while (i < n && !this.#closed) {
      if (this.#state === HEAD) {
        const head = this.#head;
        while (this.#headLength < this.#headNeed && i < n) head[this.#headLength++] = chunk[i++]!;
        if (this.#headLength < this.#headNeed) return;
        if (!this.#headChecked) {
          this.#checkStart();
          this.#headChecked = true;
          if (this.#headLength < this.#headNeed) continue;
        }
        this.#startFrame(emit);
        continue;
      }
      const take = Math.min(this.#remaining, n - i);
      this.#payload(chunk.subarray(i, i + take));
      i += take;
      this.#remaining -= take;
      if (this.#remaining === 0) this.#endFrame(emit);
    }
  }

  /** Checks the first two header bytes and sets how long the header is. */
  #checkStart(): void {
    const b0 = this.#head[0]!;
    const b1 = this.#head[1]!;
    const rsv = b0 & 0x70;
    if (rsv !== 0) {
      throw frameError(
        "WS_RESERVED_BITS",
        `reserved bits 0x${rsv.toString(16)} are set but no extension was negotiated`,
      );
    }
    const opcode = b0 & 0x0f;
    if ((opcode > OP_BINARY && opcode < OP_CLOSE) || opcode > OP_PONG) {
      throw frameError("WS_BAD_OPCODE", `opcode 0x${opcode.toString(16)} is not defined`);
    }
    const fin = (b0 & 0x80) !== 0;
    const masked = (b1 & 0x80) !== 0;
    if (this.#server && !masked) {
      throw frameError("WS_UNMASKED_FRAME", "a frame from the client is not masked");
    }
    if (!this.#server && masked) {
      throw frameError("WS_MASKED_FRAME", "a frame from the server is masked");
    }
    const length7 = b1 & 0x7f;
    if (opcode >= OP_CLOSE) {
      if (!fin) {
        throw frameError(
          "WS_FRAGMENTED_CONTROL_FRAME",
          `control frame with opcode 0x${opcode.toString(16)} is fragmented`,
        );
      }
      if (length7 > 125) {
        throw frameError(
          "WS_CONTROL_FRAME_TOO_LONG",
          `control frame with opcode 0x${opcode.toString(16)} is longer than 125 bytes`,
        );
      }
    } else if (opcode === OP_CONTINUATION) {
      if (this.#message === 0) {
        throw frameError("WS_UNEXPECTED_CONTINUATION", "continuation frame without a message");
      }
    } else if (this.#message !== 0) {
      throw frameError(
        "WS_EXPECTED_CONTINUATION",
        `${opcode === OP_TEXT ? "text" : "binary"} frame inside a fragmented message`,
      );
    }
    this.#fin = fin;
    this.#opcode = opcode;
    this.#masked = masked;
    this.#headNeed = 2 + (length7 === 126 ? 2 : length7 === 127 ? 8 : 0) + (masked ? 4 : 0);
  }

  #startFrame(emit: (event: WsEvent) => void): void {
    const head = this.#head;
    const length7 = head[1]! & 0x7f;
    let length = length7;
    let at = 2;
    if (length7 === 126) {
      length = (head[2]! << 8) | head[3]!;
      at = 4;
    } else if (length7 === 127) {
      const high = ((head[2]! << 24) | (head[3]! << 16) | (head[4]! << 8) | head[5]!) >>> 0;
      const low = ((head[6]! << 24) | (head[7]! << 16) | (head[8]! << 8) | head[9]!) >>> 0;
      if (high >= 0x80000000) {
        throw frameError("WS_BAD_LENGTH", "the most significant bit of the 64-bit length is set");
      }
      length = high * 0x100000000 + low;
      at = 10;
    }
    if (this.#masked) {
      this.#key.set(head.subarray(at, at + 4));
      this.#keyAt = 0;
    }
    const opcode = this.#opcode;
    if (opcode >= OP_CLOSE) {
      this.#controlLength = 0;
    } else {
      if (opcode !== OP_CONTINUATION) {
        this.#message = opcode;
        this.#messageSize = 0;
      }
      if (this.#messageSize + length > this.#max) {
        throw new ProtocolError(
          "WS_MESSAGE_TOO_LARGE",
          `Cannot read WebSocket message: ${
            this.#messageSize + length
          } bytes exceed maxMessageSize ${this.#max}`,
        );
      }
    }
    this.#remaining = length;
    this.#state = PAYLOAD;
    if (length === 0) this.#endFrame(emit);
  }

  /** Unmasks and keeps a piece of the current frame's payload. */
  #payload(data: Uint8Array): void {
    const n = data.length;
    let out: Uint8Array;
    if (this.#opcode >= OP_CLOSE) {
      out = this.#control.subarray(this.#controlLength, this.#controlLength + n);
      this.#controlLength += n;
    } else {
      out = new Uint8Array(n);
    }
    out.set(data);
    if (this.#masked) this.#keyAt = xorWsMask(out, this.#key, this.#keyAt);
    if (this.#opcode >= OP_CLOSE) return;
    this.#messageSize += n;
    if (this.#message === OP_TEXT) {
      let text: string;
      try {
        text = this.#utf8.decode(out, { stream: true });
      } catch (error) {
        throw invalidUtf8("text message", error);
      }
      if (text !== "") this.#texts.push(text);
    } else {
      this.#pieces.push(out);
    }
  }

  #endFrame(emit: (event: WsEvent) => void): void {
    this.#state = HEAD;
    this.#headLength = 0;
    this.#headNeed = 2;
    this.#headChecked = false;
    const opcode = this.#opcode;
    if (opcode >= OP_CLOSE) {
      const data = this.#control.slice(0, this.#controlLength);
      if (opcode === OP_PING) emit({ type: "ping", data });
      else if (opcode === OP_PONG) emit({ type: "pong", data });
      else {
        const { code, reason } = parseClosePayload(data);
        this.#closed = true;
        emit({ type: "close", code, reason });
      }
      return;
    }
    if (!this.#fin) return;
    const message = this.#message;
    this.#message = 0;
    this.#messageSize = 0;
    if (message === OP_TEXT) {
      let last: string;
      try {
        last = this.#utf8.decode();
      } catch (error) {
        throw invalidUtf8("text message", error);
      }
      const texts = this.#texts;
      this.#texts = [];
      if (last !== "") texts.push(last);
      emit({ type: "text", data: texts.length === 1 ? texts[0]! : texts.join("") });
    } else {
      const pieces = this.#pieces;
      this.#pieces = [];
      emit({ type: "binary", data: concatBytes(pieces) });
    }
  }
}

function invalidUtf8(what: string, cause: unknown): ProtocolError {
  return new ProtocolError("WS_INVALID_UTF8", `Cannot read WebSocket ${what}: invalid UTF-8`, {
    cause,
  });
}

const strictUtf8 = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });

/** The code and reason of a close frame's payload (RFC 6455 §5.5.1). */
export function parseClosePayload(data: Uint8Array): { code: number; reason: string } {
  if (data.length === 0) return { code: 1005, reason: "" };
  if (data.length === 1) {
    throw new ProtocolError(
      "WS_BAD_CLOSE_PAYLOAD",
      "Cannot read WebSocket close frame: a 1-byte payload cannot hold a status code",
    );
  }
  const code = (data[0]! << 8) | data[1]!;
  if (!isWireCloseCode(code)) {
    throw new ProtocolError(
      "WS_BAD_CLOSE_CODE",
      `Cannot read WebSocket close frame: status code ${code} is not allowed`,
    );
  }
  let reason: string;
  try {
    reason = strictUtf8.decode(data.subarray(2));
  } catch (error) {
    throw invalidUtf8("close reason", error);
  }
  return { code, reason };
}

/** The length of the header {@linkcode encodeWsHeader} writes. */
export function wsHeaderLength(payloadLength: number, masked = false): number {
  return (payloadLength < 126 ? 2 : payloadLength < 65536 ? 4 : 10) + (masked ? 4 : 0);
}

/**
 * Writes a frame header into `out` at `at` (RFC 6455 §5.2) with the
 * shortest length form, and the masking key if given; returns its length.
 */
export function encodeWsHeader(
  out: Uint8Array,
  at: number,
  opcode: number,
  payloadLength: number,
  fin = true,
  mask: Uint8Array | null = null,
): number {
  out[at] = (fin ? 0x80 : 0) | opcode;
  const maskBit = mask === null ? 0 : 0x80;
  let n: number;
  if (payloadLength < 126) {
    out[at + 1] = maskBit | payloadLength;
    n = 2;
  } else if (payloadLength < 65536) {
    out[at + 1] = maskBit | 126;
    out[at + 2] = payloadLength >>> 8;
    out[at + 3] = payloadLength & 0xff;
    n = 4;
  } else {
    out[at + 1] = maskBit | 127;
    const high = Math.floor(payloadLength / 0x100000000);
    const low = payloadLength >>> 0;
    for (let k = 0; k < 4; k++) {
      out[at + 2 + k] = (high >>> (24 - 8 * k)) & 0xff;
      out[at + 6 + k] = (low >>> (24 - 8 * k)) & 0xff;
    }
    n = 10;
  }
  if (mask !== null) {
    out.set(mask.subarray(0, 4), at + n);
    n += 4;
  }
  return n;
}

/**
 * A whole frame: header and payload in one array, the payload masked with
 * `mask` when given (a client's frames must be, a server's never are).
 */
export function encodeWsFrame(
  opcode: number,
  payload: Uint8Array,
  fin = true,
  mask: Uint8Array | null = null,
): Uint8Array {
  const headLength = wsHeaderLength(payload.length, mask !== null);
  const out = new Uint8Array(headLength + payload.length);
  encodeWsHeader(out, 0, opcode, payload.length, fin, mask);
  out.set(payload, headLength);
  if (mask !== null) xorWsMask(out.subarray(headLength), mask, 0);
  return out;
}

/** Below this many bytes, the byte loop beats setting up a word view. */
const WORD_MASK_MIN = 32;

/**
 * XORs `bytes` in place with the 4-byte masking key (RFC 6455 §5.3),
 * starting at key byte `keyAt`; returns the key position after the last
 * byte. The aligned middle goes a 32-bit word at a time.
 */
export function xorWsMask(bytes: Uint8Array, key: Uint8Array, keyAt: number): number {
  const n = bytes.length;
  let k = keyAt & 3;
  let i = 0;
  if (n >= WORD_MASK_MIN) {
    for (; ((bytes.byteOffset + i) & 3) !== 0; i++) {
      bytes[i]! ^= key[k]!;
      k = (k + 1) & 3;
    }
    const words = (n - i) >>> 2;
    // The key rotated to start at k, read as one word in the platform's byte order.
    const rotated = new Uint8Array([
      key[k]!,
      key[(k + 1) & 3]!,
      key[(k + 2) & 3]!,
      key[(k + 3) & 3]!,
    ]);
    const word = new Uint32Array(rotated.buffer)[0]!;
    const view = new Uint32Array(bytes.buffer, bytes.byteOffset + i, words);
    for (let w = 0; w < words; w++) view[w]! ^= word;
    i += words * 4;
  }
  for (; i < n; i++) {
    bytes[i]! ^= key[k]!;
    k = (k + 1) & 3;
  }
  return k;
}

const encoder = new TextEncoder();

/** The payload of a close frame: empty for code 1005 (none), else the code and the reason. */
export function encodeClosePayload(code: number, reason = ""): Uint8Array {
  if (code === 1005) return new Uint8Array(0);
  const text = encoder.encode(reason);
  const out = new Uint8Array(2 + text.length);
  out[0] = code >>> 8;
  out[1] = code & 0xff;
  out.set(text, 2);
  return out;
}
