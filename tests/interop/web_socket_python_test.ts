/**
 * Interop: raw WebSocket frames from CPython (`socket` only, no WebSocket
 * library) against inetkit's `upgradeWebSocket`. Python does the handshake,
 * checks `Sec-WebSocket-Accept` with `hashlib`, writes frames byte by byte
 * as a test case says (unmasked, bad opcodes, RSV bits, split code points,
 * oversized, fragmented control frames, bad close payloads), then reads
 * everything the server sends until it closes the connection. Each test
 * asserts the frames the server sent, above all the close code. Needs
 * `/usr/bin/python3` and no network peer.
 *
 * @module
 */
import { serve } from "../../http/serve.ts";
import type { HttpServer } from "../../http/http_server.ts";
import { upgradeWebSocket } from "../../http/upgrade_web_socket.ts";
import { assert, assertEquals } from "../_helpers/assert.ts";

const PYTHON = "/usr/bin/python3";
const hasPython = (() => {
  try {
    return Deno.statSync(PYTHON).isFile;
  } catch {
    return false;
  }
})();
if (!hasPython) {
  console.log(`web_socket_python_test: ${PYTHON} not found, skipping the raw-frame tests`);
}

/** The client: `python3 -c SCRIPT port case`; prints one JSON line. */
const SCRIPT = String.raw`
import base64, hashlib, json, os, socket, struct, sys

port, case = int(sys.argv[1]), sys.argv[2]
GUID = b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11"

def frame(opcode, payload=b"", fin=True, masked=True, rsv=0, length=None):
    first = (0x80 if fin else 0) | rsv | opcode
    n = len(payload) if length is None else length
    mask_bit = 0x80 if masked else 0
    if n < 126 and length is None:
        head = struct.pack("!BB", first, mask_bit | n)
    elif n < 65536 and length is None:
        head = struct.pack("!BBH", first, mask_bit | 126, n)
    else:
        head = struct.pack("!BBQ", first, mask_bit | 127, n)
    if not masked:
        return head + payload
    key = os.urandom(4)
    return head + key + bytes(b ^ key[i % 4] for i, b in enumerate(payload))

def close_payload(code, reason=b""):
    return struct.pack("!H", code) + reason

s = socket.create_connection(("127.0.0.1", port), timeout=10)
key = base64.b64encode(os.urandom(16))
s.sendall(b"GET /py HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\n"
          b"Connection: Upgrade\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: " + key +
          b"\r\n\r\n")
buf = b""
while b"\r\n\r\n" not in buf:
    chunk = s.recv(4096)
    if not chunk:
        break
    buf += chunk
head, _, buf = buf.partition(b"\r\n\r\n")
lines = head.decode("latin-1").split("\r\n")
fields = {l.split(":", 1)[0].strip().lower(): l.split(":", 1)[1].strip() for l in lines[1:]}
expected = base64.b64encode(hashlib.sha1(key + GUID).digest()).decode()

def send_slowly(data):
    # One byte per write: the server must put the frames together.
    for i in range(len(data)):
        s.sendall(data[i:i + 1])

text = "a\u20acb\U0001F600c".encode()   # a € b 😀 c
CASES = {
    "echo": [frame(1, b"hello"), frame(0x8, close_payload(1000))],
    "unmasked": [frame(1, b"hello", masked=False)],
    "bad opcode 3": [frame(3, b"x")],
    "bad opcode 0xB": [frame(0xB, b"x")],
    "rsv1": [frame(1, b"x", rsv=0x40)],
    "rsv2": [frame(2, b"x", rsv=0x20)],
    "rsv3": [frame(1, b"x", rsv=0x10)],
    "split code points": [frame(1, text[:2], fin=False), frame(0, text[2:5], fin=False),
                          frame(0, text[5:7], fin=False), frame(0, text[7:]),
                          frame(0x8, close_payload(1000))],
    "invalid utf-8": [frame(1, b"ok \xff")],
    "invalid utf-8 split": [frame(1, b"\xe2\x82", fin=False), frame(0, b"(")],
    "truncated utf-8": [frame(1, b"\xf0\x9f\x98")],
    "oversized": [frame(2, b"z" * 1025)],
    "oversized header only": [frame(2, b"", length=1 << 40)],
    "oversized fragments": [frame(2, b"z" * 600, fin=False), frame(0, b"z" * 600)],
    "ping pong": [frame(0xA, b"unsolicited"), frame(0x9, b"abc"), frame(0x9, b""),
                  frame(0x8, close_payload(1000))],
    "ping inside fragments": [frame(1, b"frag", fin=False), frame(0x9, b"mid"),
                              frame(0, b"ment"), frame(0x8, close_payload(1000))],
    "control frame of 126 bytes": [frame(0x9, b"p" * 126)],
    "fragmented ping": [frame(0x9, b"p", fin=False)],
    "fragmented close": [frame(0x8, close_payload(1000), fin=False)],
    "close with 1-byte payload": [frame(0x8, b"\x03")],
    "close code 999": [frame(0x8, close_payload(999))],
    "close code 1005": [frame(0x8, close_payload(1005))],
    "close code 1006": [frame(0x8, close_payload(1006))],
    "close code 1015": [frame(0x8, close_payload(1015))],
    "close code 5000": [frame(0x8, close_payload(5000))],
    "close reason invalid utf-8": [frame(0x8, close_payload(1000, b"\xc3("))],
    "close 4321 with reason": [frame(0x8, close_payload(4321, b"py bye"))],
    "empty close": [frame(0x8, b"")],
    "64-bit length top bit": [frame(2, b"", length=1 << 63)],
    "continuation first": [frame(0, b"x")],
    "new message inside fragments": [frame(1, b"a", fin=False), frame(1, b"b")],
}
data = b"".join(CASES[case])
send_slowly(data) if len(data) < 4096 else s.sendall(data)

frames = []
masked_frames = 0
eof = False
def need(n):
    global buf, eof
    while len(buf) < n:
        chunk = s.recv(65536)
        if not chunk:
            eof = True
            return False
        buf += chunk
    return True
try:
    while need(2):
        b0, b1 = buf[0], buf[1]
        n = b1 & 0x7F
        at = 2
        if n == 126:
            if not need(4): break
            n = struct.unpack("!H", buf[2:4])[0]; at = 4
        elif n == 127:
            if not need(10): break
            n = struct.unpack("!Q", buf[2:10])[0]; at = 10
        if b1 & 0x80:
            masked_frames += 1
        if not need(at + n): break
        payload = buf[at:at + n]
        buf = buf[at + n:]
        frames.append({"fin": bool(b0 & 0x80), "opcode": b0 & 0x0F, "payload": payload.hex()})
except socket.timeout:
    pass
s.close()
print(json.dumps({"status": lines[0], "accept_ok": fields.get("sec-websocket-accept") == expected,
                  "frames": frames, "masked": masked_frames, "eof": eof}))
`;

interface PyFrame {
  fin: boolean;
  opcode: number;
  payload: string;
}

interface PyResult {
  status: string;
  accept_ok: boolean;
  frames: PyFrame[];
  masked: number;
  eof: boolean;
}

function hex(text: string): string {
  return Array.from(new TextEncoder().encode(text), (b) => b.toString(16).padStart(2, "0")).join(
    "",
  );
}

function closeFrame(code: number | null, reason = ""): PyFrame {
  const payload = code === null ? "" : code.toString(16).padStart(4, "0") + hex(reason);
  return { fin: true, opcode: 8, payload };
}

/** The echo server under test: 1 KiB messages at most. */
function start(): { server: HttpServer; closes: Promise<CloseEvent>[] } {
  const closes: Promise<CloseEvent>[] = [];
  const server = serve({ port: 0 }, (request) => {
    const { socket, response } = upgradeWebSocket(request, { maxMessageSize: 1024 });
    closes.push(new Promise((resolve) => socket.addEventListener("close", resolve)));
    socket.binaryType = "arraybuffer";
    socket.onmessage = (event) => socket.send(event.data);
    socket.onerror = () => {};
    return response;
  });
  return { server, closes };
}

async function runCase(name: string): Promise<{ result: PyResult; close: CloseEvent }> {
  const { server, closes } = start();
  await using _ = server;
  const out = await new Deno.Command(PYTHON, {
    args: ["-c", SCRIPT, String(server.addr.port), name],
    stdout: "piped",
    stderr: "piped",
  }).output();
  const stderr = new TextDecoder().decode(out.stderr);
  assertEquals(out.code, 0, stderr);
  const result = JSON.parse(new TextDecoder().decode(out.stdout)) as PyResult;
  assertEquals(result.status, "HTTP/1.1 101 Switching Protocols");
  assert(result.accept_ok, "Sec-WebSocket-Accept matches Python's hashlib");
  assertEquals(result.masked, 0, "server frames are never masked");
  assert(result.eof, "the server closed the connection");
  assertEquals(closes.length, 1);
  return { result, close: await closes[0]! };
}

/** A case the server must fail with `code`: exactly one frame, the close. */
function failCase(name: string, code: number, reason: string): void {
  Deno.test({
    name: `ServerWebSocket closes with ${code} when Python sends ${name}`,
    ignore: !hasPython,
    fn: async () => {
      const { result, close } = await runCase(name);
      assertEquals(result.frames, [closeFrame(code, reason)]);
      assertEquals([close.code, close.wasClean], [1006, false]);
    },
  });
}

failCase("unmasked", 1002, "WS_UNMASKED_FRAME");
failCase("bad opcode 3", 1002, "WS_BAD_OPCODE");
failCase("bad opcode 0xB", 1002, "WS_BAD_OPCODE");
failCase("rsv1", 1002, "WS_RESERVED_BITS");
failCase("rsv2", 1002, "WS_RESERVED_BITS");
failCase("rsv3", 1002, "WS_RESERVED_BITS");
failCase("invalid utf-8", 1007, "WS_INVALID_UTF8");
failCase("invalid utf-8 split", 1007, "WS_INVALID_UTF8");
failCase("truncated utf-8", 1007, "WS_INVALID_UTF8");
failCase("oversized", 1009, "WS_MESSAGE_TOO_LARGE");
failCase("oversized header only", 1009, "WS_MESSAGE_TOO_LARGE");
failCase("oversized fragments", 1009, "WS_MESSAGE_TOO_LARGE");
failCase("control frame of 126 bytes", 1002, "WS_CONTROL_FRAME_TOO_LONG");
failCase("fragmented ping", 1002, "WS_FRAGMENTED_CONTROL_FRAME");
failCase("fragmented close", 1002, "WS_FRAGMENTED_CONTROL_FRAME");
failCase("close with 1-byte payload", 1002, "WS_BAD_CLOSE_PAYLOAD");
failCase("close code 999", 1002, "WS_BAD_CLOSE_CODE");
failCase("close code 1005", 1002, "WS_BAD_CLOSE_CODE");
failCase("close code 1006", 1002, "WS_BAD_CLOSE_CODE");
failCase("close code 1015", 1002, "WS_BAD_CLOSE_CODE");
failCase("close code 5000", 1002, "WS_BAD_CLOSE_CODE");
failCase("close reason invalid utf-8", 1007, "WS_INVALID_UTF8");
failCase("64-bit length top bit", 1002, "WS_BAD_LENGTH");
failCase("continuation first", 1002, "WS_UNEXPECTED_CONTINUATION");
failCase("new message inside fragments", 1002, "WS_EXPECTED_CONTINUATION");

Deno.test({
  name: "ServerWebSocket echoes Python's text and the close handshake",
  ignore: !hasPython,
  fn: async () => {
    const { result, close } = await runCase("echo");
    assertEquals(result.frames, [
      { fin: true, opcode: 1, payload: hex("hello") },
      closeFrame(1000),
    ]);
    assertEquals([close.code, close.wasClean], [1000, true]);
  },
});

Deno.test({
  name: "ServerWebSocket joins Python's text fragments split inside code points",
  ignore: !hasPython,
  fn: async () => {
    const { result, close } = await runCase("split code points");
    assertEquals(result.frames, [
      { fin: true, opcode: 1, payload: hex("a€b😀c") },
      closeFrame(1000),
    ]);
    assertEquals(close.wasClean, true);
  },
});

Deno.test({
  name: "ServerWebSocket answers Python's pings with the same payload and ignores its pong",
  ignore: !hasPython,
  fn: async () => {
    const { result } = await runCase("ping pong");
    assertEquals(result.frames, [
      { fin: true, opcode: 0xa, payload: hex("abc") },
      { fin: true, opcode: 0xa, payload: "" },
      closeFrame(1000),
    ]);
  },
});

Deno.test({
  name: "ServerWebSocket answers a ping between Python's fragments, then the message",
  ignore: !hasPython,
  fn: async () => {
    const { result } = await runCase("ping inside fragments");
    assertEquals(result.frames, [
      { fin: true, opcode: 0xa, payload: hex("mid") },
      { fin: true, opcode: 1, payload: hex("fragment") },
      closeFrame(1000),
    ]);
  },
});

Deno.test({
  name: "ServerWebSocket echoes Python's close code and reports its reason",
  ignore: !hasPython,
  fn: async () => {
    const { result, close } = await runCase("close 4321 with reason");
    assertEquals(result.frames, [closeFrame(4321)]);
    assertEquals([close.code, close.reason, close.wasClean], [4321, "py bye", true]);
  },
});

Deno.test({
  name: "ServerWebSocket answers Python's empty close with an empty close (code 1005)",
  ignore: !hasPython,
  fn: async () => {
    const { result, close } = await runCase("empty close");
    assertEquals(result.frames, [closeFrame(null)]);
    assertEquals([close.code, close.wasClean], [1005, true]);
  },
});
