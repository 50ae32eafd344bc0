/**
 * inetkit: Internet protocol clients and servers for Deno, on web-standard
 * streams. Sockets and servers, the RFC 868 time protocol, HTTP, URL opening,
 * FTP, Gopher, Telnet, SMTP, POP3, IMAP, NNTP and mail messages.
 *
 * @example Reading a line from any byte stream
 * ```ts
 * import { BufferedReader } from "@inetkit/inetkit";
 * import { assertEquals } from "@std/assert";
 *
 * const reader = new BufferedReader(
 *   ReadableStream.from([new TextEncoder().encode("hello\r\n")]),
 * );
 * assertEquals(await reader.readLine(), "hello");
 * ```
 *
 * @module
 */
export * from "./net/mod.ts";
export * from "./http/mod.ts";
export * from "./mail/mod.ts";
export * from "./url/mod.ts";
