/**
 * The byte pumps of the FTP server's transfers: a file to the data
 * connection (`RETR`), the data connection to a file (`STOR`, `APPE`),
 * with the ASCII-type line-end conversion (RFC 959 §3.1.1.1), and the
 * listings (`LIST`, `NLST`, `MLSD`).
 *
 * @module
 */
import type { FtpTransferControl } from "./_ftp_server_context.ts";
import type { FtpDataChannel } from "./_ftp_server_data.ts";
import type { FtpFileReader, FtpFileWriter } from "./_ftp_server_types.ts";

const CR = 13;
const LF = 10;
const encoder = new TextEncoder();

/** An upload went over `maxUploadSize`. */
export class FtpUploadTooLargeError extends Error {
  /** The cap in bytes. */
  readonly limit: number;

  /** Creates the error for the cap `limit`. */
  constructor(limit: number) {
    super(`Cannot store upload: it exceeds ${limit} bytes`);
    this.name = "FtpUploadTooLargeError";
    this.limit = limit;
  }
}

/**
 * Converts Unix line ends to the network's: every LF not preceded by CR
 * becomes CR LF.
 *
 * @param chunk The bytes.
 * @param afterCr Whether the byte before the chunk was a CR.
 * @returns The converted bytes (the chunk itself when nothing changes) and
 *   whether it ended in a CR.
 */
export function lfToCrlf(chunk: Uint8Array, afterCr: boolean): [Uint8Array, boolean] {
  let bare = 0;
  let prev = afterCr ? CR : 0;
  for (let i = 0; i < chunk.length; i++) {
    const b = chunk[i]!;
    if (b === LF && prev !== CR) bare++;
    prev = b;
  }
  const endsInCr = chunk.length === 0 ? afterCr : chunk[chunk.length - 1] === CR;
  if (bare === 0) return [chunk, endsInCr];
  const out = new Uint8Array(chunk.length + bare);
  let j = 0;
  prev = afterCr ? CR : 0;
  for (let i = 0; i < chunk.length; i++) {
    const b = chunk[i]!;
    if (b === LF && prev !== CR) out[j++] = CR;
    out[j++] = b;
    prev = b;
  }
  return [out, endsInCr];
}

/**
 * Converts network line ends to Unix ones: CR LF becomes LF; a lone CR
 * stays. A CR at the end of a chunk is held until the next byte is known.
 *
 * @param chunk The bytes.
 * @param heldCr Whether a CR was held back from the previous chunk.
 * @returns The converted bytes and whether a CR is held back now.
 */
export function crlfToLf(chunk: Uint8Array, heldCr: boolean): [Uint8Array, boolean] {
  const out = new Uint8Array(chunk.length + 1);
  let j = 0;
  let held = heldCr;
  for (let i = 0; i < chunk.length; i++) {
    const b = chunk[i]!;
    if (held) {
      held = false;
      if (b !== LF) out[j++] = CR;
    }
    if (b === CR) held = true;
    else out[j++] = b;
  }
  return [out.subarray(0, j), held];
}

/**
 * Sends a file on the data connection in `bufferSize` chunks, converting
 * line ends in ASCII type.
 *
 * @param file The open file.
 * @param channel The data connection.
 * @param control The abort signal and the progress counter.
 * @param bufferSize The chunk size.
 * @param ascii Whether to send LF as CR LF.
 */
export async function sendFile(
  file: FtpFileReader,
  channel: FtpDataChannel,
  control: FtpTransferControl,
  bufferSize: number,
  ascii: boolean,
): Promise<void> {
  const buf = new Uint8Array(bufferSize);
  let afterCr = false;
  for (;;) {
    control.signal.throwIfAborted();
    const n = await file.read(buf);
    if (n === null) return;
    if (n === 0) continue;
    const chunk = n === buf.length ? buf : buf.subarray(0, n);
    if (ascii) {
      const [converted, cr] = lfToCrlf(chunk, afterCr);
      afterCr = cr;
      await channel.write(converted);
    } else {
      await channel.write(chunk);
    }
    control.progress(n);
  }
}

/**
 * Receives a file from the data connection until its end, converting line
 * ends in ASCII type.
 *
 * @param channel The data connection.
 * @param file The file being written.
 * @param control The abort signal and the progress counter.
 * @param bufferSize The read size.
 * @param ascii Whether to store CR LF as LF.
 * @param maxSize The most bytes to accept.
 * @throws {FtpUploadTooLargeError} When more than `maxSize` bytes arrive.
 */
export async function receiveFile(
  channel: FtpDataChannel,
  file: FtpFileWriter,
  control: FtpTransferControl,
  bufferSize: number,
  ascii: boolean,
  maxSize: number,
): Promise<void> {
  const buf = new Uint8Array(bufferSize);
  let total = 0;
  let heldCr = false;
  for (;;) {
    control.signal.throwIfAborted();
    const n = await channel.read(buf);
    if (n === null) break;
    if (n === 0) continue;
    total += n;
    if (total > maxSize) throw new FtpUploadTooLargeError(maxSize);
    const chunk = buf.subarray(0, n);
    if (ascii) {
      const [converted, held] = crlfToLf(chunk, heldCr);
      heldCr = held;
      if (converted.length > 0) await file.write(converted);
    } else {
      await file.write(chunk);
    }
    control.progress(n);
  }
  if (heldCr) await file.write(new Uint8Array([CR]));
}

/**
 * Sends listing lines with CR LF ends, gathered into writes of about 64 KiB.
 *
 * @param lines The lines, without line ends.
 * @param channel The data connection.
 * @param control The abort signal and the progress counter.
 */
export async function sendLines(
  lines: AsyncIterable<string>,
  channel: FtpDataChannel,
  control: FtpTransferControl,
): Promise<void> {
  let text = "";
  const flush = async () => {
    const bytes = encoder.encode(text);
    text = "";
    await channel.write(bytes);
    control.progress(bytes.length);
  };
  for await (const line of lines) {
    control.signal.throwIfAborted();
    text += `${line}\r\n`;
    if (text.length >= 65536) await flush();
  }
  if (text !== "") await flush();
}
