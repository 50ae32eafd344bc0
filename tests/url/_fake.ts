// A fake origin for opener tests that need no socket: a UrlHandler that
// records every request (with the headers it would send) and answers from a
// route function.
import type { UrlHandler } from "../../url/url_opener.ts";
import type { UrlRequest } from "../../url/url_request.ts";
import { UrlResponse } from "../../url/url_response.ts";

export interface Seen {
  method: string;
  url: string;
  headers: Record<string, string>;
  body: string | null;
  proxy: string | null;
}

export interface Reply {
  status?: number;
  statusText?: string;
  headers?: Record<string, string | undefined> | [string, string][];
  body?: string | Uint8Array | ReadableStream<Uint8Array> | null;
}

export class FakeOrigin implements UrlHandler {
  readonly protocols = ["http:", "https:"];
  readonly seen: Seen[] = [];
  #route: (request: UrlRequest, seen: Seen) => Reply | Promise<Reply>;

  constructor(route: (request: UrlRequest, seen: Seen) => Reply | Promise<Reply>) {
    this.#route = route;
  }

  async open(request: UrlRequest): Promise<UrlResponse> {
    const headers: Record<string, string> = {};
    for (const [k, v] of request.allHeaders()) headers[k] = v;
    let body: string | null = null;
    const data = request.data;
    if (data instanceof Uint8Array) body = new TextDecoder().decode(data);
    else if (data instanceof Blob) body = await data.text();
    else if (data instanceof ReadableStream) body = await new Response(data).text();
    const seen: Seen = {
      method: request.method,
      url: request.url,
      headers,
      body,
      proxy: request.proxy?.href ?? null,
    };
    this.seen.push(seen);
    const reply = await this.#route(request, seen);
    const replyHeaders = new Headers();
    if (Array.isArray(reply.headers)) {
      for (const [k, v] of reply.headers) replyHeaders.append(k, v);
    } else {
      for (const [k, v] of Object.entries(reply.headers ?? {})) {
        if (v !== undefined) replyHeaders.set(k, v);
      }
    }
    return new UrlResponse(reply.body ?? null, {
      status: reply.status ?? 200,
      statusText: reply.statusText ?? "",
      headers: replyHeaders,
      url: request.url,
      redirected: request.redirectHistory.length > 0,
    });
  }
}
