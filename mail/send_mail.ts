import {
  buildMessage,
  type BuildMessageOptions,
  messageEnvelope,
  type MessageInit,
} from "./message_builder.ts";
import {
  SmtpClient,
  type SmtpConnectOptions,
  type SmtpDsnNotify,
  type SmtpMessage,
  type SmtpSendResult,
} from "./smtp_client.ts";

/** What {@linkcode sendMail} sends: a finished message, or the parts to build one from. */
export type SendMailMessage = SmtpMessage | MessageInit;

/** Options for {@linkcode sendMail}. */
export interface SendMailOptions extends SmtpConnectOptions {
  /**
   * An open client to send through; it stays open. Without it a connection
   * is made with the other options and closed (with QUIT) afterwards.
   */
  client?: SmtpClient;
  /**
   * The envelope sender (`MAIL FROM`); `""` for a bounce.
   *
   * @default {the `sender`, else the first `from` of a MessageInit; required otherwise}
   */
  from?: string;
  /**
   * The envelope recipients (`RCPT TO`).
   *
   * @default {`to`, `cc` and `bcc` of a MessageInit; required otherwise}
   */
  to?: readonly string[];
  /** How a MessageInit is built. */
  build?: BuildMessageOptions;
  /**
   * Send `SMTPUTF8`.
   *
   * @default {when an address, or a built header, is not ASCII}
   */
  smtputf8?: boolean;
  /** The `BODY=` type; see {@linkcode SmtpClient.mail}. */
  body?: "7BIT" | "8BITMIME" | "BINARYMIME";
  /** DSN `RET=`. */
  dsnReturn?: "FULL" | "HDRS";
  /** DSN `ENVID=`. */
  envelopeId?: string;
  /** DSN `NOTIFY=` for every recipient. */
  notify?: readonly SmtpDsnNotify[];
  /**
   * Pipeline commands when the server allows.
   *
   * @default {true}
   */
  pipelining?: boolean;
  /**
   * Use BDAT when the server has CHUNKING.
   *
   * @default {true}
   */
  chunking?: boolean;
}

/**
 * Sends one message, the modern `smtplib.sendmail`: connects (plain,
 * STARTTLS or TLS, with AUTH when given credentials) or uses an open client,
 * builds the message when given a {@linkcode MessageInit} (the envelope then
 * comes from its addresses, Bcc included, and Bcc is never written), and
 * delivers it.
 *
 * TLS and credentials follow the rule of every inetkit client (see
 * {@linkcode SmtpClient.connect}): `STARTTLS` is used when the server offers
 * it, with the certificate verified (`caCerts` for a private CA), and a
 * failed verification is an error, never a fallback to clear text;
 * `requireTls: true` makes a missing `STARTTLS` an error; only `tls: false`
 * stays in clear; a password never goes readable to a host that is not
 * loopback unless `allowInsecureAuth: true`.
 *
 * @param message A finished message (bytes, text or a stream, with
 *   `options.from` and `options.to`) or the parts of one.
 * @param options The server, TLS, credentials, the envelope and the send
 *   options.
 * @returns Who accepted and who refused (refused recipients do not throw
 *   while another one accepts), and the server's final reply.
 * @throws {SmtpReplyError} When the server refuses the sender, every
 *   recipient, or the message.
 * @throws {TypeError} For a raw message without envelope, or a message the
 *   builder rejects (CR/LF in a header value, a bad address).
 * @throws {MissingExtensionError} (see {@linkcode SmtpClient.connect})
 *   `"STARTTLS"` with `requireTls`, `"SASL"` when the login would expose
 *   the password.
 * @throws {ProtocolError} For malformed replies and early TLS bytes.
 * @throws {Deno.errors.InvalidData} When the server's certificate does not verify.
 *
 * @example Sending a built message through STARTTLS with a login
 * ```ts ignore
 * import { sendMail } from "@inetkit/inetkit/mail";
 * import { assertEquals } from "@std/assert";
 *
 * const result = await sendMail({
 *   from: "Dana Scully <scully@example.test>",
 *   to: "mulder@example.test",
 *   bcc: "skinner@example.test",
 *   subject: "Case file",
 *   text: "The truth is out there.\n",
 * }, {
 *   hostname: "mail.example.test",
 *   port: 587,
 *   requireTls: true,
 *   credentials: { username: "scully", password: Deno.env.get("SMTP_PASSWORD")! },
 * });
 * assertEquals(result.refused.size, 0);
 * ```
 *
 * @example Sending raw bytes through an open client
 * ```ts
 * import { sendMail, SmtpClient } from "@inetkit/inetkit/mail";
 * import { assertEquals } from "@std/assert";
 *
 * const script = "220 mx\r\n250 mx\r\n250 ok\r\n250 ok\r\n354 go\r\n250 queued\r\n";
 * const client = new SmtpClient({
 *   readable: ReadableStream.from([new TextEncoder().encode(script)]),
 *   writable: new WritableStream(),
 *   close() {},
 * });
 * const result = await sendMail("Subject: hi\r\n\r\nhello\r\n", {
 *   client,
 *   from: "a@example.test",
 *   to: ["b@example.test"],
 * });
 * assertEquals(result.reply.lines, ["queued"]);
 * client.close();
 * ```
 */
export async function sendMail(
  message: SendMailMessage,
  options?: SendMailOptions,
): Promise<SmtpSendResult> {
  options ??= {};
  let from = options.from;
  let to = options.to;
  let smtputf8 = options.smtputf8;
  let content: Uint8Array | string | ReadableStream<Uint8Array>;
  if (
    typeof message === "string" || message instanceof Uint8Array ||
    message instanceof ReadableStream
  ) {
    if (from === undefined || to === undefined) {
      throw new TypeError(
        "Cannot send mail: a finished message needs options.from and options.to",
      );
    }
    content = message;
  } else if (typeof message === "object" && message !== null) {
    const envelope = messageEnvelope(message, options.build);
    from ??= envelope.from;
    to ??= envelope.recipients;
    smtputf8 ??= envelope.smtpUtf8 || undefined;
    // Validated before connecting: buildMessage checks every header first.
    content = buildMessage(message, options.build);
  } else {
    throw new TypeError(
      "Cannot send mail: the message is not bytes, text, a stream or a MessageInit",
    );
  }
  const sendOptions = {
    smtputf8,
    body: options.body,
    dsnReturn: options.dsnReturn,
    envelopeId: options.envelopeId,
    notify: options.notify,
    pipelining: options.pipelining,
    chunking: options.chunking,
    signal: options.signal,
  };
  if (options.client !== undefined) {
    return await options.client.send({ from, to }, content, sendOptions);
  }
  let client: SmtpClient;
  try {
    client = await SmtpClient.connect(options);
  } catch (error) {
    if (content instanceof ReadableStream) await content.cancel(error).catch(() => {});
    throw error;
  }
  try {
    const result = await client.send({ from, to }, content, sendOptions);
    await client.quit({ timeout: 5000 }).catch(() => {});
    return result;
  } finally {
    client.close();
  }
}
