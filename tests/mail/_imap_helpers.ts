/**
 * Helpers for the IMAP wire-layer tests: readers over fixed bytes, the
 * Dovecot fixtures, and reading every response of a transcript.
 *
 * @module
 */
import { BufferedReader, type ByteSource } from "../../net/buffered_reader.ts";
import {
  type ImapResponse,
  ImapResponseReader,
  type ImapResponseReaderOptions,
} from "../../mail/imap_response_reader.ts";
import { byteReaderOf } from "../_helpers/sources.ts";
import { bytewise, splits, streamOf } from "../_helpers/scripted_peer.ts";

const encoder = new TextEncoder();

/** The bytes of text or bytes. */
export function bytesOf(input: string | Uint8Array): Uint8Array {
  return typeof input === "string" ? encoder.encode(input) : input;
}

/** A fixture captured from Dovecot by `fixtures/imap/capture_dovecot.py`. */
export function fixture(name: string): Uint8Array {
  return Deno.readFileSync(new URL(`./fixtures/imap/${name}.bin`, import.meta.url));
}

/** The names of all captured fixtures. */
export const FIXTURES: readonly string[] = [
  "greeting",
  "capability",
  "login",
  "capability_auth",
  "list",
  "select",
  "fetch_all",
  "status",
  "search",
  "uid_search_unseen",
  "fetch_sections",
  "enable_condstore",
  "fetch_modseq",
  "esearch",
  "select_missing",
  "bad_command",
  "logout",
];

/** A response reader over the given chunks (a byte reader with partial reads). */
export function responseReader(
  input: string | Uint8Array | Uint8Array[],
  options?: ImapResponseReaderOptions,
  bufferSize?: number,
): ImapResponseReader {
  const chunks = Array.isArray(input) ? input : [bytesOf(input)];
  return new ImapResponseReader(new BufferedReader(byteReaderOf(chunks), { bufferSize }), options);
}

/** Reads responses until the end of the stream. */
export async function readAll(reader: ImapResponseReader): Promise<ImapResponse[]> {
  const out: ImapResponse[] = [];
  for (;;) {
    const response = await reader.read();
    if (response === null) return out;
    out.push(response);
  }
}

/**
 * The chunkings to feed a parser: all two-piece splits (three-piece ones
 * too for short inputs), one byte at a time, and both source kinds, with
 * the default buffer and a tiny one.
 */
export function* chunkings(
  bytes: Uint8Array,
): Generator<{ source: () => ByteSource; bufferSize: number | undefined; label: string }> {
  const pieces = [...splits(bytes, bytes.length > 40), bytewise(bytes)];
  for (const chunks of pieces) {
    for (const kind of ["reader", "stream"] as const) {
      for (const bufferSize of [undefined, 7]) {
        yield {
          source: () => (kind === "stream" ? streamOf(chunks) : byteReaderOf(chunks)),
          bufferSize,
          label: `${kind} buffer=${bufferSize ?? "default"} splits=${
            chunks.map((c) => c.length).join("+")
          }`,
        };
      }
    }
  }
}
