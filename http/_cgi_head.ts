/**
 * The CGI response head (RFC 3875 §6.3) and the server's own error answers.
 *
 * @module
 */
import type { HeaderField } from "../net/mime_header.ts";

/** A parsed CGI response head. */
export interface CgiHead {
  status: number;
  statusText: string | undefined;
  /** Whether the script sent `Status:`. */
  hasStatus: boolean;
  /** The `Location:` value, if any. */
  location: string | null;
  headers: Headers;
}

const HOP_BY_HOP = new Set([
  "connection",
  "keep-alive",
  "transfer-encoding",
  "te",
  "trailer",
  "upgrade",
  "proxy-connection",
  "proxy-authenticate",
]);
const STATUS_REGEXP = /^([1-9]\d\d)(?:[ \t]+(.*))?$/;

const REASONS: Record<number, string> = {
  400: "Bad Request",
  403: "Forbidden",
  404: "Not Found",
  405: "Method Not Allowed",
  413: "Content Too Large",
  500: "Internal Server Error",
  502: "Bad Gateway",
  503: "Service Unavailable",
  504: "Gateway Timeout",
};

/** A short plain-text error response that says nothing about the script. */
export function cgiErrorResponse(status: number): Response {
  const text = REASONS[status] ?? "Error";
  return new Response(`${status} ${text}\n`, {
    status,
    statusText: text,
    headers: { "content-type": "text/plain; charset=utf-8", "x-content-type-options": "nosniff" },
  });
}

/**
 * Reads the script's header fields: `Status:` (200 to 599), the others
 * passed on except hop-by-hop ones. Null for a malformed head (a bad
 * `Status:` or `Content-Length:`, a value `Headers` refuses): 502.
 */
export function parseCgiHead(fields: HeaderField[]): CgiHead | null {
  let status = 200;
  let statusText: string | undefined;
  let hasStatus = false;
  let location: string | null = null;
  const headers = new Headers();
  for (const { name, value } of fields) {
    const lower = name.toLowerCase();
    if (lower === "status") {
      const m = STATUS_REGEXP.exec(value);
      if (m === null) return null;
      status = Number(m[1]);
      statusText = m[2];
      hasStatus = true;
      continue;
    }
    if (HOP_BY_HOP.has(lower)) continue;
    if (lower === "location") location = value;
    if (lower === "content-length" && !/^\d+$/.test(value)) return null;
    try {
      headers.append(name, value);
    } catch {
      return null;
    }
  }
  if (status < 200 || status > 599) return null;
  return { status, statusText, hasStatus, location, headers };
}
