import { ProtocolError } from "../../net/protocol_error.ts";
import {
  type BodyFraming,
  requestBodyFraming,
  responseBodyFraming,
} from "../../http/body_framing.ts";
import { assertEquals, assertThrows } from "../_helpers/assert.ts";

function fields(...pairs: [string, string][]) {
  return pairs.map(([name, value]) => ({ name, value }));
}

// RFC 9112 §6: each vector a named case with the framing or the error code.
const REQUEST_VECTORS: [string, string, [string, string][], BodyFraming | string][] = [
  ["no framing fields", "HTTP/1.1", [], { kind: "none" }],
  ["Content-Length", "HTTP/1.1", [["Content-Length", "5"]], { kind: "length", length: 5 }],
  ["Content-Length with leading zeros", "HTTP/1.1", [["content-length", "007"]], {
    kind: "length",
    length: 7,
  }],
  ["identical Content-Length fields", "HTTP/1.1", [["Content-Length", "5"], [
    "Content-Length",
    "5",
  ]], { kind: "length", length: 5 }],
  ["an identical Content-Length list", "HTTP/1.1", [["Content-Length", "5, 5"]], {
    kind: "length",
    length: 5,
  }],
  ["chunked", "HTTP/1.1", [["Transfer-Encoding", "chunked"]], { kind: "chunked" }],
  ["CHUNKED in capitals", "HTTP/1.1", [["Transfer-Encoding", "CHUNKED"]], { kind: "chunked" }],
  ["chunked after empty list elements", "HTTP/1.1", [["Transfer-Encoding", " , chunked"]], {
    kind: "chunked",
  }],
  ["different Content-Length fields", "HTTP/1.1", [["Content-Length", "5"], [
    "Content-Length",
    "6",
  ]], "BAD_CONTENT_LENGTH"],
  [
    "a different Content-Length list",
    "HTTP/1.1",
    [["Content-Length", "5, 6"]],
    "BAD_CONTENT_LENGTH",
  ],
  ["Content-Length +5", "HTTP/1.1", [["Content-Length", "+5"]], "BAD_CONTENT_LENGTH"],
  ["Content-Length -1", "HTTP/1.1", [["Content-Length", "-1"]], "BAD_CONTENT_LENGTH"],
  ["Content-Length 0x5", "HTTP/1.1", [["Content-Length", "0x5"]], "BAD_CONTENT_LENGTH"],
  ["Content-Length 5 5", "HTTP/1.1", [["Content-Length", "5 5"]], "BAD_CONTENT_LENGTH"],
  ["Content-Length 1e3", "HTTP/1.1", [["Content-Length", "1e3"]], "BAD_CONTENT_LENGTH"],
  ["an empty Content-Length", "HTTP/1.1", [["Content-Length", ""]], "BAD_CONTENT_LENGTH"],
  [
    "a huge Content-Length",
    "HTTP/1.1",
    [["Content-Length", "99999999999999999999"]],
    "BAD_CONTENT_LENGTH",
  ],
  ["Content-Length and Transfer-Encoding", "HTTP/1.1", [["Content-Length", "5"], [
    "Transfer-Encoding",
    "chunked",
  ]], "AMBIGUOUS_FRAMING"],
  [
    "Transfer-Encoding on HTTP/1.0",
    "HTTP/1.0",
    [["Transfer-Encoding", "chunked"]],
    "BAD_TRANSFER_ENCODING",
  ],
  [
    "chunked not last",
    "HTTP/1.1",
    [["Transfer-Encoding", "chunked, gzip"]],
    "BAD_TRANSFER_ENCODING",
  ],
  [
    "chunked twice",
    "HTTP/1.1",
    [["Transfer-Encoding", "chunked, chunked"]],
    "BAD_TRANSFER_ENCODING",
  ],
  ["chunked twice in two fields", "HTTP/1.1", [["Transfer-Encoding", "chunked"], [
    "Transfer-Encoding",
    "chunked",
  ]], "BAD_TRANSFER_ENCODING"],
  [
    "chunked with a parameter",
    "HTTP/1.1",
    [["Transfer-Encoding", "chunked;q=1"]],
    "BAD_TRANSFER_ENCODING",
  ],
  [
    "a mangled chunked",
    "HTTP/1.1",
    [["Transfer-Encoding", "chunked\u000b"]],
    "BAD_TRANSFER_ENCODING",
  ],
  [
    "an unknown coding alone",
    "HTTP/1.1",
    [["Transfer-Encoding", "identity"]],
    "BAD_TRANSFER_ENCODING",
  ],
  ["an empty Transfer-Encoding", "HTTP/1.1", [["Transfer-Encoding", ""]], "BAD_TRANSFER_ENCODING"],
  ["x-chunked", "HTTP/1.1", [["Transfer-Encoding", "x-chunked"]], "BAD_TRANSFER_ENCODING"],
  ["gzip before chunked", "HTTP/1.1", [["Transfer-Encoding", "gzip, chunked"]], "NOT_IMPLEMENTED"],
];

for (const [name, version, pairs, want] of REQUEST_VECTORS) {
  Deno.test(`requestBodyFraming() with ${name} gives ${typeof want === "string" ? want : want.kind}`, () => {
    const head = { version, fields: fields(...pairs) };
    if (typeof want === "string") {
      const error = assertThrows(() => requestBodyFraming(head), ProtocolError);
      assertEquals(error.code, want);
    } else {
      assertEquals(requestBodyFraming(head), want);
    }
  });
}

const RESPONSE_VECTORS: [string, string, number, [string, string][], BodyFraming | string][] = [
  ["a HEAD response", "HEAD", 200, [["Content-Length", "100"]], { kind: "none" }],
  ["a 204", "GET", 204, [["Content-Length", "100"]], { kind: "none" }],
  ["a 304", "GET", 304, [["Transfer-Encoding", "chunked"]], { kind: "none" }],
  ["a 1xx", "GET", 103, [], { kind: "none" }],
  ["a 2xx to CONNECT", "CONNECT", 200, [], { kind: "none" }],
  ["a 407 to CONNECT", "CONNECT", 407, [["Content-Length", "3"]], { kind: "length", length: 3 }],
  ["Content-Length", "GET", 200, [["Content-Length", "3"]], { kind: "length", length: 3 }],
  ["chunked", "GET", 200, [["Transfer-Encoding", "chunked"]], { kind: "chunked" }],
  ["gzip then chunked", "GET", 200, [["Transfer-Encoding", "gzip, chunked"]], { kind: "chunked" }],
  ["chunked with Content-Length", "GET", 200, [["Transfer-Encoding", "chunked"], [
    "Content-Length",
    "3",
  ]], { kind: "chunked", close: true }],
  ["chunked not last", "GET", 200, [["Transfer-Encoding", "chunked, gzip"]], { kind: "close" }],
  ["no length", "GET", 200, [], { kind: "close" }],
  ["a bad Content-Length", "GET", 200, [["Content-Length", "3x"]], "BAD_CONTENT_LENGTH"],
  ["conflicting Content-Length", "GET", 200, [["Content-Length", "3"], [
    "Content-Length",
    "4",
  ]], "BAD_CONTENT_LENGTH"],
];

for (const [name, method, status, pairs, want] of RESPONSE_VECTORS) {
  Deno.test(`responseBodyFraming() with ${name} gives ${typeof want === "string" ? want : want.kind}`, () => {
    const head = { version: "HTTP/1.1", status, fields: fields(...pairs) };
    if (typeof want === "string") {
      const error = assertThrows(() => responseBodyFraming(method, head), ProtocolError);
      assertEquals(error.code, want);
    } else {
      assertEquals(responseBodyFraming(method, head), want);
    }
  });
}

Deno.test("responseBodyFraming() marks chunked on HTTP/1.0 as not reusable", () => {
  assertEquals(
    responseBodyFraming("GET", {
      version: "HTTP/1.0",
      status: 200,
      fields: fields(["Transfer-Encoding", "chunked"]),
    }),
    { kind: "chunked", close: true },
  );
});
