/**
 * Sockets, servers and line protocols: the buffered reader, the line writer,
 * the three-digit reply reader, the header reader, dot-stuffing, text
 * connections, TCP and UDP servers, and the RFC 868 time protocol.
 *
 * @example Reading a reply from a scripted server
 * ```ts
 * import { BufferedReader, readReply } from "@inetkit/inetkit/net";
 * import { assertEquals } from "@std/assert";
 *
 * const reader = new BufferedReader(
 *   ReadableStream.from([new TextEncoder().encode("220 ready\r\n")]),
 * );
 * assertEquals((await readReply(reader, { expect: 220 })).lines, ["ready"]);
 * ```
 *
 * @module
 */
export * from "./protocol_error.ts";
export * from "./missing_extension_error.ts";
export * from "./reply_error.ts";
export * from "./buffered_reader.ts";
export * from "./line_writer.ts";
export * from "./reply.ts";
export * from "./reply_writer.ts";
export * from "./mime_header.ts";
export * from "./dot_stuffing.ts";
export * from "./chunk_source.ts";
export * from "./bounded_reader.ts";
export * from "./md5.ts";
export * from "./duplex_conn.ts";
export * from "./deadline_clock.ts";
export * from "./connect_tcp.ts";
export * from "./text_conn.ts";
export * from "./start_tls_server.ts";
export * from "./connection_deadline.ts";
export * from "./tcp_server.ts";
export * from "./udp_server.ts";
export * from "./ip_cidr.ts";
export * from "./time_protocol.ts";
export * from "./ftp_list.ts";
export * from "./ftp_reply_error.ts";
export * from "./ftp_client.ts";
export * from "./ftp_server.ts";
export * from "./memory_ftp_file_system.ts";
export * from "./telnet_codec.ts";
export * from "./gopher_menu.ts";
export * from "./gopher_url.ts";
export * from "./telnet_client.ts";
export * from "./gopher_client.ts";
export * from "./gopher_server.ts";
export * from "./open_url.ts";
