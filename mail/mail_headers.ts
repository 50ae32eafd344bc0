/**
 * The header of a message or body part, with case-insensitive access and
 * typed, decoded views of the common fields.
 *
 * @module
 */
import type { HeaderField } from "../net/mime_header.ts";
import { ProtocolError } from "../net/protocol_error.ts";
import { type AddressListEntry, type MailAddress, parseAddressList } from "./address.ts";
import { parseMailDate } from "./date.ts";
import { decodeEncodedWords } from "./encoded_word.ts";
import {
  type ContentType,
  type MimeParameterValue,
  parseContentType,
  parseMimeParameters,
} from "./mime_parameters.ts";

/** Fields RFC 5322 §3.6 allows at most once; their typed getters refuse duplicates. */
const SINGLE = new Set([
  "date",
  "from",
  "sender",
  "reply-to",
  "to",
  "cc",
  "bcc",
  "message-id",
  "in-reply-to",
  "references",
  "subject",
]);

/**
 * The fields of a header block in order, as read off the wire, with
 * case-insensitive lookup and decoded accessors. Raw values (`get`) are
 * unfolded but not decoded; the typed getters decode RFC 2047 words, parse
 * addresses strictly and refuse a repeated single-instance field (two
 * `From` fields are a classic way to show one sender and sign another).
 *
 * @example Reading fields
 * ```ts
 * import { MailHeaders } from "@inetkit/inetkit/mail";
 * import { assertEquals } from "@std/assert";
 *
 * const headers = new MailHeaders([
 *   ["Subject", "=?UTF-8?Q?Gr=C3=BC=C3=9Fe?="],
 *   ["Received", "from a"],
 *   ["received", "from b"],
 *   ["To", "Ann <ann@example.test>, bob@example.test"],
 * ]);
 * assertEquals(headers.get("SUBJECT"), "=?UTF-8?Q?Gr=C3=BC=C3=9Fe?=");
 * assertEquals(headers.subject, "Grüße");
 * assertEquals(headers.getAll("Received"), ["from a", "from b"]);
 * assertEquals(headers.to.map((a) => a.address), ["ann@example.test", "bob@example.test"]);
 * assertEquals(headers.contentType.mediaType, "text/plain");
 * ```
 */
export class MailHeaders implements Iterable<[string, string]> {
  #fields: HeaderField[];
  #contentType: ContentType | undefined;

  /**
   * Creates a header from fields in order.
   *
   * @param fields `{ name, value }` fields (as `readHeaderBlock` returns) or
   *   `[name, value]` pairs.
   */
  constructor(fields: Iterable<HeaderField | [string, string]> = []) {
    this.#fields = [];
    for (const field of fields) {
      this.#fields.push(
        Array.isArray(field) ? { name: field[0], value: field[1] } : { ...field },
      );
    }
  }

  /** The fields in order. */
  get fields(): readonly HeaderField[] {
    return this.#fields;
  }

  /** The number of fields. */
  get size(): number {
    return this.#fields.length;
  }

  /**
   * Returns the raw value of the first field with this name.
   *
   * @param name The field name, any case.
   * @returns The unfolded value, or `null` when absent.
   */
  get(name: string): string | null {
    const key = name.toLowerCase();
    for (const field of this.#fields) if (field.name.toLowerCase() === key) return field.value;
    return null;
  }

  /**
   * Returns the raw values of every field with this name, in order.
   *
   * @param name The field name, any case.
   * @returns The values, possibly none.
   */
  getAll(name: string): string[] {
    const key = name.toLowerCase();
    return this.#fields.filter((f) => f.name.toLowerCase() === key).map((f) => f.value);
  }

  /**
   * Tells whether a field is present.
   *
   * @param name The field name, any case.
   * @returns Whether at least one field has this name.
   */
  has(name: string): boolean {
    return this.get(name) !== null;
  }

  /**
   * Returns the value of an unstructured field with RFC 2047 encoded words
   * decoded.
   *
   * @param name The field name, any case.
   * @returns The decoded text, or `null` when absent.
   */
  getText(name: string): string | null {
    const value = this.get(name);
    return value === null ? null : decodeEncodedWords(value);
  }

  /**
   * Parses an address field (groups kept).
   *
   * @param name The field name, any case.
   * @returns The entries; `[]` when the field is absent.
   * @throws {ProtocolError} `"BAD_ADDRESS"` when malformed, or
   *   `"DUPLICATE_FIELD"` when the field occurs more than once.
   */
  getAddresses(name: string): AddressListEntry[] {
    const value = this.#single(name);
    return value === null ? [] : parseAddressList(value);
  }

  #single(name: string): string | null {
    const key = name.toLowerCase();
    if (!SINGLE.has(key)) return this.get(name);
    const all = this.getAll(name);
    if (all.length > 1) {
      throw new ProtocolError(
        "DUPLICATE_FIELD",
        `Cannot read ${name}: the field occurs ${all.length} times`,
      );
    }
    return all[0] ?? null;
  }

  #mailboxes(name: string): MailAddress[] {
    const out: MailAddress[] = [];
    for (const entry of this.getAddresses(name)) {
      if ("group" in entry) out.push(...entry.members);
      else out.push(entry);
    }
    return out;
  }

  /** `From`, groups flattened; throws like {@linkcode MailHeaders.getAddresses}. */
  get from(): MailAddress[] {
    return this.#mailboxes("From");
  }

  /** `Sender`, or `null`; throws like {@linkcode MailHeaders.getAddresses}. */
  get sender(): MailAddress | null {
    return this.#mailboxes("Sender")[0] ?? null;
  }

  /** `To`, groups flattened; throws like {@linkcode MailHeaders.getAddresses}. */
  get to(): MailAddress[] {
    return this.#mailboxes("To");
  }

  /** `Cc`, groups flattened; throws like {@linkcode MailHeaders.getAddresses}. */
  get cc(): MailAddress[] {
    return this.#mailboxes("Cc");
  }

  /** `Bcc` (rarely present in received mail); throws like {@linkcode MailHeaders.getAddresses}. */
  get bcc(): MailAddress[] {
    return this.#mailboxes("Bcc");
  }

  /** `Reply-To`, groups flattened; throws like {@linkcode MailHeaders.getAddresses}. */
  get replyTo(): MailAddress[] {
    return this.#mailboxes("Reply-To");
  }

  /**
   * `Subject`, decoded, or `null`.
   *
   * @throws {ProtocolError} `"DUPLICATE_FIELD"` when there are several.
   */
  get subject(): string | null {
    const value = this.#single("Subject");
    return value === null ? null : decodeEncodedWords(value);
  }

  /**
   * `Date`, or `null` when absent or unparseable.
   *
   * @throws {ProtocolError} `"DUPLICATE_FIELD"` when there are several.
   */
  get date(): Date | null {
    const value = this.#single("Date");
    if (value === null) return null;
    try {
      return parseMailDate(value);
    } catch {
      return null;
    }
  }

  /**
   * `Message-ID` as written (with its angle brackets), or `null`.
   *
   * @throws {ProtocolError} `"DUPLICATE_FIELD"` when there are several.
   */
  get messageId(): string | null {
    return this.#single("Message-ID");
  }

  /** `Content-Type`, parsed; `text/plain; charset=us-ascii` when absent or malformed. */
  get contentType(): ContentType {
    return this.#contentType ??= parseContentType(this.get("Content-Type"));
  }

  /** `Content-Disposition`, parsed, or `null`. */
  get contentDisposition(): MimeParameterValue | null {
    const value = this.get("Content-Disposition");
    return value === null ? null : parseMimeParameters(value);
  }

  /** `Content-Transfer-Encoding`, lower-cased; `"7bit"` when absent. */
  get transferEncoding(): string {
    return (this.get("Content-Transfer-Encoding") ?? "7bit").trim().toLowerCase() || "7bit";
  }

  /** The file name: the disposition's `filename`, else the type's `name`, decoded; or `null`. */
  get filename(): string | null {
    return this.contentDisposition?.params.filename ?? this.contentType.params.name ?? null;
  }

  /** Iterates `[name, value]` pairs in order. */
  *[Symbol.iterator](): Iterator<[string, string]> {
    for (const field of this.#fields) yield [field.name, field.value];
  }
}
