/**
 * inetkit's http part.
 *
 * @module
 */
export {};
export * from "./cookie.ts";
export * from "./cookie_jar.ts";
export * from "./file_server.ts";
export * from "./cgi.ts";
export * from "./status_code.ts";
export * from "./chunked.ts";
export * from "./request_head.ts";
export * from "./response_head.ts";
export * from "./body_framing.ts";
export * from "./http_server.ts";
export * from "./serve.ts";
export * from "./http_connection.ts";
export * from "./http_client_response.ts";
export * from "./http_client.ts";
export * from "./proxy.ts";
export * from "./upgrade_web_socket.ts";
export * from "./server_web_socket.ts";
