import { bytesToHex, md5Digest } from "../net/md5.ts";
import {
  type AuthMode,
  challengeHeader,
  CONNECT_FAILURES,
  PROXY_AUTH,
  retryWithAuthorization,
  SERVER_AUTH,
} from "./_auth.ts";
import { type AuthChallenge, parseAuthChallenges, quoteString } from "./_auth_challenge.ts";
import { PasswordManager } from "./password_manager.ts";
import { quote } from "./quote.ts";
import type { UrlHandler, UrlOpener } from "./url_opener.ts";
import type { UrlRequest } from "./url_request.ts";
import type { UrlResponse } from "./url_response.ts";

/** Options for {@linkcode HttpDigestAuthHandler}. */
export interface HttpDigestAuthHandlerOptions {
  /**
   * Makes the client nonce (`cnonce`); tests pass a fixed one.
   *
   * @default {16 random bytes in hex}
   */
  cnonce?: () => string;
}

/** The digest algorithms this handler computes, best first. */
const ALGORITHMS = ["sha-256", "sha-256-sess", "md5", "md5-sess"] as const;
type Algorithm = (typeof ALGORITHMS)[number];
const MAX_TRIES = 3;
const MAX_NONCES = 256;
const encoder = new TextEncoder();
const SAFE_USER_REGEXP = /^[\x20-\x21\x23-\x5b\x5d-\x7e]*$/;

async function hash(algorithm: Algorithm, data: string): Promise<string> {
  if (algorithm.startsWith("md5")) return bytesToHex(md5Digest(data));
  const digest = await crypto.subtle.digest("SHA-256", encoder.encode(data));
  return bytesToHex(new Uint8Array(digest));
}

function randomCnonce(): string {
  return bytesToHex(crypto.getRandomValues(new Uint8Array(16)));
}

/**
 * What a Digest answer needs besides the challenge; exported for tests of
 * the computation through the handler.
 */
interface DigestInput {
  user: string;
  password: string;
  method: string;
  uri: string;
  cnonce: string;
  nc: number;
}

/** Computes the `Digest` credentials for a challenge (RFC 7616 §3.4). */
async function digestValue(challenge: AuthChallenge, input: DigestInput): Promise<string | null> {
  const params = challenge.params;
  const algorithmName = params.get("algorithm") ?? "MD5";
  const algorithm = algorithmName.toLowerCase() as Algorithm;
  if (!ALGORITHMS.includes(algorithm)) return null;
  const realm = params.get("realm") ?? "";
  const nonce = params.get("nonce");
  if (nonce === undefined) return null;
  const qops = params.get("qop")?.split(",").map((q) => q.trim().toLowerCase());
  if (qops !== undefined && !qops.includes("auth")) return null;
  const userhash = params.get("userhash")?.toLowerCase() === "true";
  const nc = input.nc.toString(16).padStart(8, "0");
  let ha1 = await hash(algorithm, `${input.user}:${realm}:${input.password}`);
  if (algorithm.endsWith("-sess")) ha1 = await hash(algorithm, `${ha1}:${nonce}:${input.cnonce}`);
  const ha2 = await hash(algorithm, `${input.method}:${input.uri}`);
  const response = qops === undefined
    ? await hash(algorithm, `${ha1}:${nonce}:${ha2}`)
    : await hash(algorithm, `${ha1}:${nonce}:${nc}:${input.cnonce}:auth:${ha2}`);
  const parts: string[] = [];
  if (userhash) {
    parts.push(`username=${quoteString(await hash(algorithm, `${input.user}:${realm}`))}`);
  } else if (SAFE_USER_REGEXP.test(input.user)) {
    parts.push(`username=${quoteString(input.user)}`);
  } else {
    // RFC 7616 §3.4.4: the extended notation for other user names.
    parts.push(`username*=UTF-8''${quote(input.user, { safe: "" })}`);
  }
  parts.push(`realm=${quoteString(realm)}`);
  parts.push(`uri=${quoteString(input.uri)}`);
  parts.push(`algorithm=${algorithmName}`);
  parts.push(`nonce=${quoteString(nonce)}`);
  if (qops !== undefined) {
    parts.push(`nc=${nc}`, `cnonce=${quoteString(input.cnonce)}`, "qop=auth");
  }
  parts.push(`response=${quoteString(response)}`);
  const opaque = params.get("opaque");
  if (opaque !== undefined) parts.push(`opaque=${quoteString(opaque)}`);
  if (userhash) parts.push("userhash=true");
  return `Digest ${parts.join(", ")}`;
}

/**
 * Answers `Digest` challenges (RFC 7616: MD5, MD5-sess, SHA-256 and
 * SHA-256-sess, `qop=auth` or the RFC 2069 form without qop, `userhash`,
 * `stale`) with credentials from a {@linkcode PasswordManager}, urllib2's
 * `HTTPDigestAuthHandler`. When a server offers several algorithms, the
 * strongest wins. It runs before the Basic handler (order 490), so a
 * server offering both gets Digest. A refused answer is not repeated unless
 * the server says the nonce was `stale`.
 *
 * @example
 * ```ts
 * import { HttpDigestAuthHandler, PasswordManager } from "@inetkit/inetkit/url";
 * import { assertEquals } from "@std/assert";
 *
 * const manager = new PasswordManager();
 * manager.add("lab", "http://example.test/", "mulder", "trustno1");
 * assertEquals(new HttpDigestAuthHandler(manager).order, 490);
 * ```
 */
export class HttpDigestAuthHandler implements UrlHandler {
  /** Before the Basic handler. */
  readonly order: number = 490;
  /** HTTP and HTTPS. */
  readonly protocols: readonly string[] = ["http:", "https:"];
  /** The credentials. */
  readonly passwordManager: PasswordManager;
  #mode: AuthMode;
  #cnonce: () => string;
  #nonceCounts = new Map<string, number>();

  /**
   * Creates the handler.
   *
   * @param passwordManager Where credentials come from; a new empty one by
   *   default.
   * @param options The client nonce source.
   */
  constructor(
    passwordManager: PasswordManager = new PasswordManager(),
    options?: HttpDigestAuthHandlerOptions,
  ) {
    options ??= {};
    this.passwordManager = passwordManager;
    this.#mode = this.proxy ? PROXY_AUTH : SERVER_AUTH;
    this.#cnonce = options.cnonce ?? randomCnonce;
  }

  /** Whether this handler answers proxies (407) instead of servers (401). */
  get proxy(): boolean {
    return false;
  }

  /**
   * Answers a 401 (407 for proxies) that offers Digest.
   *
   * @param request The refused request.
   * @param response The challenge.
   * @param opener The opener, which sends the retry.
   * @returns The answer to the retry, or `null` when this handler cannot help.
   */
  async error(
    request: UrlRequest,
    response: UrlResponse,
    opener: UrlOpener,
  ): Promise<UrlResponse | null> {
    const mode = this.#mode;
    if (response.status !== mode.status) return null;
    const target = mode.target(request);
    if (target === null) return null;
    const challenges = parseAuthChallenges(challengeHeader(response, mode))
      .filter((c) => c.scheme === "digest" && c.params.has("nonce"))
      .filter((c) =>
        ALGORITHMS.includes((c.params.get("algorithm") ?? "md5").toLowerCase() as Algorithm)
      )
      .filter((c) => {
        const qop = c.params.get("qop");
        return qop === undefined || qop.split(",").some((q) => q.trim().toLowerCase() === "auth");
      })
      .sort((a, b) => rank(a) - rank(b));
    const challenge = challenges[0];
    if (challenge === undefined) return null;
    const realm = challenge.params.get("realm") ?? "";
    const credentials = this.passwordManager.find(realm, target);
    if (credentials === null) return null;
    const key = `digest:${mode.status}:${request.url}`;
    const tries = request.counters.get(key) ?? 0;
    const stale = challenge.params.get("stale")?.toLowerCase() === "true";
    if (tries >= MAX_TRIES || (tries >= 1 && !stale)) return null;
    const nonce = challenge.params.get("nonce")!;
    const nc = (this.#nonceCounts.get(nonce) ?? 0) + 1;
    this.#nonceCounts.delete(nonce);
    this.#nonceCounts.set(nonce, nc);
    if (this.#nonceCounts.size > MAX_NONCES) {
      this.#nonceCounts.delete(this.#nonceCounts.keys().next().value!);
    }
    const tunnel = CONNECT_FAILURES.get(response);
    const value = await digestValue(challenge, {
      user: credentials.user,
      password: credentials.password,
      method: tunnel !== undefined ? "CONNECT" : request.method,
      uri: tunnel ??
        (request.proxy !== null && request.protocol === "http:" ? request.url : request.selector),
      cnonce: this.#cnonce(),
      nc,
    });
    if (value === null) return null;
    return await retryWithAuthorization(request, response, opener, mode, value, [key, tries + 1]);
  }
}

function rank(challenge: AuthChallenge): number {
  return ALGORITHMS.indexOf(
    (challenge.params.get("algorithm") ?? "md5").toLowerCase() as Algorithm,
  );
}

/**
 * {@linkcode HttpDigestAuthHandler} for proxies (urllib2's
 * `ProxyDigestAuthHandler`): answers 407 challenges, including those of a
 * CONNECT, with `Proxy-Authorization`, looking credentials up by the
 * proxy's URL.
 *
 * @example
 * ```ts
 * import { ProxyDigestAuthHandler } from "@inetkit/inetkit/url";
 * import { assert } from "@std/assert";
 *
 * assert(new ProxyDigestAuthHandler().proxy);
 * ```
 */
export class ProxyDigestAuthHandler extends HttpDigestAuthHandler {
  /** Always `true`. */
  override get proxy(): boolean {
    return true;
  }
}
