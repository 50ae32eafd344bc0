// What the Basic and Digest handlers share: which status, headers and URL a
// challenge concerns (server or proxy), and the retry with credentials.
import { discardBody } from "./_body.ts";
import type { UrlOpener } from "./url_opener.ts";
import type { UrlRequest } from "./url_request.ts";
import type { UrlResponse } from "./url_response.ts";

/** The server (401) or proxy (407) side of HTTP authentication. */
export interface AuthMode {
  status: 401 | 407;
  /** The challenge header, lower-case. */
  challenge: string;
  /** The credentials header. */
  authorization: string;
  /** The URL the credentials are looked up for, or null (no proxy in use). */
  target(request: UrlRequest): URL | null;
}

export const SERVER_AUTH: AuthMode = {
  status: 401,
  challenge: "www-authenticate",
  authorization: "Authorization",
  target: (request) => new URL(request.url),
};

export const PROXY_AUTH: AuthMode = {
  status: 407,
  challenge: "proxy-authenticate",
  authorization: "Proxy-Authorization",
  target: (request) => request.proxy,
};

/**
 * The most bytes of a challenge header that are parsed (the HTTP engine
 * already caps whole heads; this bounds the work per challenge).
 */
export const MAX_CHALLENGE_LENGTH = 16384;

/** Marks 407 answers to a CONNECT: the tunnel's authority (`host:port`). */
export const CONNECT_FAILURES: WeakMap<UrlResponse, string> = new WeakMap();

/**
 * Sends the request again with an authorization header, unless the body
 * cannot be sent again.
 */
export async function retryWithAuthorization(
  request: UrlRequest,
  response: UrlResponse,
  opener: UrlOpener,
  mode: AuthMode,
  value: string,
  counter?: [string, number],
): Promise<UrlResponse | null> {
  if (!request.replayable) return null;
  await discardBody(response);
  const next = request.derive();
  for (const [k, v] of request.unredirectedHeaders) {
    if (k !== "cookie") next.unredirectedHeaders.set(k, v);
  }
  next.unredirectedHeaders.set(mode.authorization, value);
  if (request.proxy !== null) next.setProxy(request.proxy);
  if (counter !== undefined) next.counters.set(counter[0], counter[1]);
  return await opener.open(next);
}

/** The value of the challenge header, capped. */
export function challengeHeader(response: UrlResponse, mode: AuthMode): string {
  const value = response.headers.get(mode.challenge) ?? "";
  return value.length > MAX_CHALLENGE_LENGTH ? value.slice(0, MAX_CHALLENGE_LENGTH) : value;
}
