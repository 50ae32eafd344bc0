/**
 * Where `inetkit get` puts a body, as curl does: standard output (refusing
 * binary data on a terminal unless `--output -`, and ending quietly with
 * exit code 23 when the reader went away, as in `get URL | head -c 10`) or
 * a file. Shared by the HTTP and the FTP parts of `get`.
 *
 * @module
 */
import type { CommandIo } from "./_command.ts";

/** curl's "failed writing received data" exit code. */
export const WRITE_EXIT = 23;

/** curl's warning, word for word but for the program's name. */
export const BINARY_WARNING =
  'Warning: Binary output can mess up your terminal. Use "--output -" ' +
  'to tell inetkit to output it to your terminal anyway, or consider "--output <FILE>" to save ' +
  "to a file.\n";

/**
 * The output could not be written (exit code 23). `text` is what to print
 * on standard error: empty when standard output was closed by its reader,
 * which is how a pipe such as `| head` says it has had enough.
 */
export class OutputError extends Error {
  /** What to print on standard error (with its newline), or `""`. */
  readonly text: string;
  /** Creates the error. */
  constructor(message: string, text: string, cause?: unknown) {
    super(message, { cause });
    this.name = "OutputError";
    this.text = text;
  }
}

/** A file given with `-o` could not be opened or written. */
export function fileWriteError(path: string, cause: unknown): OutputError {
  const message = `Cannot write ${path}: ${(cause as Error)?.message ?? cause}`;
  return new OutputError(message, `inetkit get: ${message}\n`, cause);
}

function stdoutError(cause: unknown): OutputError {
  if (isClosedPipe(cause)) return new OutputError("Standard output was closed", "", cause);
  const message = `Cannot write to standard output: ${(cause as Error)?.message ?? cause}`;
  return new OutputError(message, `inetkit get: ${message}\n`, cause);
}

function isClosedPipe(error: unknown): boolean {
  return error instanceof Deno.errors.BrokenPipe ||
    (error as { code?: string } | null)?.code === "EPIPE";
}

/**
 * Writes text or bytes to standard output.
 *
 * @throws {OutputError} When standard output fails or was closed.
 */
export async function writeStdout(io: CommandIo, data: string | Uint8Array): Promise<void> {
  try {
    if (typeof data === "string") io.out(data);
    else await io.write(data);
  } catch (error) {
    throw stdoutError(error);
  }
}

/** Media types that are text although not `text/*`. */
const TEXT_TYPES = new Set([
  "application/json",
  "application/xml",
  "application/javascript",
  "application/ecmascript",
  "application/x-www-form-urlencoded",
  "application/x-sh",
  "application/x-shellscript",
  "application/yaml",
  "application/x-yaml",
  "application/toml",
  "application/sql",
  "application/graphql",
  "application/x-ndjson",
  "application/mbox",
  "application/pgp-signature",
  "application/pgp-keys",
  "application/x-pem-file",
  "application/x-httpd-php",
  "application/x-perl",
  "application/x-python",
  "application/x-ruby",
  "application/x-tex",
  "application/x-latex",
  "application/rtf",
]);

/**
 * Whether a body is binary: a media type that is not text (images, audio,
 * video, fonts, and application types other than the textual ones; a
 * `charset` parameter always means text), or a NUL byte in its first chunk.
 * `application/octet-stream` and an absent type are judged by the bytes.
 *
 * @param contentType The `Content-Type`, or `null`.
 * @param first The first chunk of the body.
 * @returns Whether to refuse it on a terminal.
 *
 * @example
 * ```ts
 * import { looksBinary } from "./_get_output.ts";
 * import { assertEquals } from "@std/assert";
 *
 * const text = new TextEncoder().encode("hello");
 * assertEquals(looksBinary("image/png", text), true);
 * assertEquals(looksBinary("application/json", text), false);
 * assertEquals(looksBinary("application/octet-stream", text), false);
 * assertEquals(looksBinary(null, new Uint8Array([104, 0])), true);
 * ```
 */
export function looksBinary(contentType: string | null, first: Uint8Array): boolean {
  if (first.includes(0)) return true;
  if (contentType === null) return false;
  const [essence = "", ...params] = contentType.toLowerCase().split(";").map((p) => p.trim());
  if (params.some((p) => p.startsWith("charset="))) return false;
  if (essence === "" || essence === "application/octet-stream") return false;
  if (essence.startsWith("text/") || essence.startsWith("message/")) return false;
  if (/\+(json|xml)$/.test(essence) || TEXT_TYPES.has(essence)) return false;
  return /^(image|audio|video|font|application|model)\//.test(essence);
}

/**
 * Copies a body to standard output. On a terminal, a binary body (see
 * {@linkcode looksBinary}) is refused with curl's warning unless `force`
 * (`--output -`).
 *
 * @param body The body.
 * @param io Where to write.
 * @param options The media type and `force`.
 * @returns The bytes written.
 * @throws {OutputError} For a refused binary body, a failed write, or a
 *   closed standard output (the body is cancelled then).
 */
export async function bodyToStdout(
  body: ReadableStream<Uint8Array>,
  io: CommandIo,
  options: { contentType?: string | null; force?: boolean } = {},
): Promise<number> {
  const reader = body.getReader();
  let written = 0;
  let checked = !io.isTerminal || options.force === true;
  try {
    for (;;) {
      const { value, done } = await reader.read();
      if (done) return written;
      if (value.length === 0) continue;
      if (!checked) {
        checked = true;
        if (looksBinary(options.contentType ?? null, value)) {
          throw new OutputError("Binary output refused on a terminal", BINARY_WARNING);
        }
      }
      try {
        await io.write(value);
      } catch (error) {
        throw stdoutError(error);
      }
      written += value.length;
    }
  } catch (error) {
    await reader.cancel(error).catch(() => {});
    throw error;
  } finally {
    reader.releaseLock();
  }
}
