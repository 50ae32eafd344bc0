/**
 * inetkit's mail part.
 *
 * @module
 */
export {};
export * from "./sasl.ts";
export * from "./smtp_reply_error.ts";
export * from "./smtp_client.ts";
export * from "./address.ts";
export * from "./date.ts";
export * from "./encoded_word.ts";
export * from "./mime_parameters.ts";
export * from "./transfer_encoding.ts";
export * from "./mail_headers.ts";
export * from "./message.ts";
export * from "./message_builder.ts";
export * from "./send_mail.ts";
export * from "./mail_store.ts";
export * from "./mail_store_error.ts";
export * from "./memory_mail_store.ts";
export * from "./maildir_store.ts";
export * from "./imap_utf7.ts";
export * from "./imap_response_reader.ts";
export * from "./imap_types.ts";
export * from "./imap_string.ts";
export * from "./imap_command_reader.ts";
export * from "./mail_server_auth.ts";
export * from "./pop3_error.ts";
export * from "./pop3_client.ts";
export * from "./imap_error.ts";
export * from "./imap_client.ts";
export * from "./imap_server.ts";
export * from "./smtp_server.ts";
export * from "./pop3_server.ts";
export * from "./mail_lab.ts";
export * from "./nntp_reply_error.ts";
export * from "./nntp_client.ts";
export * from "./news_spool.ts";
export * from "./nntp_server.ts";
