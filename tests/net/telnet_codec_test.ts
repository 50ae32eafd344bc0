import { ProtocolError } from "../../net/protocol_error.ts";
import {
  TELNET_COMMAND as C,
  TELNET_OPTION as O,
  TelnetCodec,
  type TelnetCodecOptions,
  type TelnetEvent,
  type TelnetOptionState,
  type TelnetSide,
} from "../../net/telnet_codec.ts";
import {
  assert,
  assertEquals,
  assertInstanceOf,
  assertLessOrEqual,
  assertRejects,
  assertThrows,
} from "../_helpers/assert.ts";
import { bytewise, splits } from "../_helpers/scripted_peer.ts";
import { prng, randomChunks } from "../_helpers/sources.ts";

const IAC = 255;
const encoder = new TextEncoder();
const decoder = new TextDecoder();
const bytes = (...parts: (number | string | number[])[]): Uint8Array =>
  new Uint8Array(
    parts.flatMap((p) =>
      typeof p === "number" ? [p] : typeof p === "string" ? [...encoder.encode(p)] : p
    ),
  );
const fromHex = (hex: string): Uint8Array =>
  new Uint8Array(hex.match(/../g)!.map((h) => parseInt(h, 16)));
const concat = (parts: Uint8Array[]): Uint8Array => {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
};

/** A codec whose writes and events are recorded. */
function recorder(options: Omit<TelnetCodecOptions, "send"> = {}): {
  codec: TelnetCodec;
  sent: number[][];
  events: TelnetEvent[];
} {
  const sent: number[][] = [];
  const events: TelnetEvent[] = [];
  const codec = new TelnetCodec({
    ...options,
    send: (b) => void sent.push([...b]),
    onEvent: (e) => void events.push(e),
  });
  return { codec, sent, events };
}

// --- RFC 1143 negotiation table ---------------------------------------------------------------

type QName = "NO" | "YES" | "WANTNO" | "WANTNO/OPPOSITE" | "WANTYES" | "WANTYES/OPPOSITE";
const Q_NAMES: QName[] = ["NO", "YES", "WANTNO", "WANTNO/OPPOSITE", "WANTYES", "WANTYES/OPPOSITE"];

function stateOf(name: QName): TelnetOptionState {
  const [state, queue] = name.split("/");
  return {
    state: state!.toLowerCase() as TelnetOptionState["state"],
    queue: queue === "OPPOSITE" ? "opposite" : "empty",
  };
}

/** Drives one side of an option into a Q state through the public API only. */
function enter(codec: TelnetCodec, option: number, side: TelnetSide, name: QName): void {
  const positive = side === "local" ? C.DO : C.WILL;
  const toYes = (): void => {
    codec.request(option, side, true);
    codec.decode(bytes(IAC, positive, option));
  };
  switch (name) {
    case "NO":
      break;
    case "YES":
      toYes();
      break;
    case "WANTNO":
      toYes();
      codec.request(option, side, false);
      break;
    case "WANTNO/OPPOSITE":
      toYes();
      codec.request(option, side, false);
      codec.request(option, side, true);
      break;
    case "WANTYES":
      codec.request(option, side, true);
      break;
    case "WANTYES/OPPOSITE":
      codec.request(option, side, true);
      codec.request(option, side, false);
      break;
  }
  assertEquals(codec.optionState(option, side), stateOf(name), `setup ${side} ${name}`);
}

/**
 * RFC 1143 §7, written out from the RFC: for a received verb in each state,
 * the reply ("+" positive verb, "-" negative, "" none) and the new state. The
 * first reply column is for an option we accept, the second for one we
 * refuse; the policy matters only in state NO.
 */
const RECEIVE_TABLE: Array<
  [QName, "positive" | "negative", string, QName, string, QName, boolean]
> = [
  // state, received, reply (accepted), new state (accepted), reply (refused), new (refused), RFC error
  ["NO", "positive", "+", "YES", "-", "NO", false],
  ["NO", "negative", "", "NO", "", "NO", false],
  ["YES", "positive", "", "YES", "", "YES", false],
  ["YES", "negative", "-", "NO", "-", "NO", false],
  ["WANTNO", "positive", "", "NO", "", "NO", true],
  ["WANTNO", "negative", "", "NO", "", "NO", false],
  ["WANTNO/OPPOSITE", "positive", "", "YES", "", "YES", true],
  ["WANTNO/OPPOSITE", "negative", "+", "WANTYES", "+", "WANTYES", false],
  ["WANTYES", "positive", "", "YES", "", "YES", false],
  ["WANTYES", "negative", "", "NO", "", "NO", false],
  ["WANTYES/OPPOSITE", "positive", "-", "WANTNO", "-", "WANTNO", false],
  ["WANTYES/OPPOSITE", "negative", "", "NO", "", "NO", false],
];

for (const side of ["local", "remote"] as const) {
  const [pos, neg] = side === "local" ? [C.DO, C.DONT] : [C.WILL, C.WONT];
  const [replyPos, replyNeg] = side === "local" ? [C.WILL, C.WONT] : [C.DO, C.DONT];
  const verbName = (v: number): string =>
    ({ [C.WILL]: "WILL", [C.WONT]: "WONT", [C.DO]: "DO", [C.DONT]: "DONT" })[v]!;
  for (const accepted of [true, false]) {
    const option = accepted ? O.ECHO : O.LINEMODE;
    Deno.test(
      `TelnetCodec.decode() follows the RFC 1143 table for ${verbName(pos)}/${verbName(neg)} on a ${
        accepted ? "accepted" : "refused"
      } ${side} option in every state`,
      () => {
        // The table covers every state with both verbs, once.
        assertEquals(
          RECEIVE_TABLE.map(([state, verb]) => `${state} ${verb}`),
          Q_NAMES.flatMap((state) => [`${state} positive`, `${state} negative`]),
        );
        for (const row of RECEIVE_TABLE) {
          const [from, received, replyA, toA, replyR, toR, rfcError] = row;
          const reply = accepted ? replyA : replyR;
          const to = accepted ? toA : toR;
          const { codec, sent, events } = recorder(
            side === "local" ? { local: accepted ? [option] : [] } : {
              remote: accepted ? [option] : [],
            },
          );
          enter(codec, option, side, from);
          sent.length = 0;
          events.length = 0;
          const verb = received === "positive" ? pos : neg;
          const data = codec.decode(bytes(IAC, verb, option));
          const label = `${from} + ${verbName(verb)}`;
          assertEquals(data.length, 0, label);
          assertEquals(
            sent,
            reply === "" ? [] : [[IAC, reply === "+" ? replyPos : replyNeg, option]],
            `${label}: reply`,
          );
          assertEquals(codec.optionState(option, side), stateOf(to), `${label}: new state`);
          const errors = events.filter((e) => e.type === "error");
          assertEquals(errors.length, rfcError ? 1 : 0, `${label}: RFC 1143 error`);
          if (rfcError) {
            const error = (errors[0] as { error: ProtocolError }).error;
            assertEquals(error.code, "BAD_NEGOTIATION");
          }
          const wasYes = from === "YES";
          const isYes = to === "YES";
          assertEquals(
            events.filter((e) => e.type === "option"),
            wasYes === isYes ? [] : [{ type: "option", option, side, enabled: isYes }],
            `${label}: option event`,
          );
          // The other side of the same option never moves.
          assertEquals(codec.optionState(option, side === "local" ? "remote" : "local"), {
            state: "no",
            queue: "empty",
          });
        }
      },
    );
  }

  Deno.test(`TelnetCodec.request() follows the RFC 1143 table on the ${side} side`, () => {
    // state, enable?, verb sent ("+", "-", ""), new state, return value
    const table: Array<[QName, boolean, string, QName]> = [
      ["NO", true, "+", "WANTYES"],
      ["NO", false, "", "NO"],
      ["YES", true, "", "YES"],
      ["YES", false, "-", "WANTNO"],
      ["WANTNO", true, "", "WANTNO/OPPOSITE"],
      ["WANTNO", false, "", "WANTNO"],
      ["WANTNO/OPPOSITE", true, "", "WANTNO/OPPOSITE"],
      ["WANTNO/OPPOSITE", false, "", "WANTNO"],
      ["WANTYES", true, "", "WANTYES"],
      ["WANTYES", false, "", "WANTYES/OPPOSITE"],
      ["WANTYES/OPPOSITE", true, "", "WANTYES"],
      ["WANTYES/OPPOSITE", false, "", "WANTYES/OPPOSITE"],
    ];
    for (const [from, enable, verb, to] of table) {
      const { codec, sent } = recorder();
      enter(codec, O.BINARY, side, from);
      sent.length = 0;
      const result = codec.request(O.BINARY, side, enable);
      const label = `${from} request ${enable}`;
      assertEquals(result, verb !== "", label);
      assertEquals(sent, verb === "" ? [] : [[IAC, verb === "+" ? replyPos : replyNeg, O.BINARY]]);
      assertEquals(codec.optionState(O.BINARY, side), stateOf(to), label);
    }
  });
}

Deno.test("TelnetCodec.decode() refuses every option outside the policy with WONT and DONT", () => {
  const { codec, sent } = recorder({ local: [O.TERMINAL_TYPE], remote: [O.ECHO] });
  for (let option = 0; option < 256; option++) {
    sent.length = 0;
    codec.decode(bytes(IAC, C.DO, option, IAC, C.WILL, option));
    assertEquals(sent, [
      [IAC, option === O.TERMINAL_TYPE ? C.WILL : C.WONT, option],
      [IAC, option === O.ECHO ? C.DO : C.DONT, option],
    ]);
  }
});

Deno.test("TelnetCodec.decode() answers a repeated request only once", () => {
  const { codec, sent } = recorder({ remote: [O.SUPPRESS_GO_AHEAD] });
  codec.decode(bytes(IAC, C.WILL, 3, IAC, C.WILL, 3, IAC, C.WILL, 3));
  assertEquals(sent, [[IAC, C.DO, 3]]);
  codec.decode(bytes(IAC, C.WONT, 3, IAC, C.WONT, 3));
  assertEquals(sent, [[IAC, C.DO, 3], [IAC, C.DONT, 3]]);
  // Refusals are not repeated either: a refused WILL in NO gets DONT each
  // time (RFC 1143 allows it) but a WONT in NO gets nothing.
  codec.decode(bytes(IAC, C.WONT, 3));
  assertEquals(sent.length, 2);
});

Deno.test("TelnetCodec negotiation between two codecs converges and goes quiet", () => {
  const random = prng(1143);
  const options = [0, 1, 3, 5, 24, 31, 34, 39];
  for (let round = 0; round < 200; round++) {
    const pick = (): number[] => options.filter(() => random() < 0.5);
    const queues: Uint8Array[][] = [[], []];
    const codecs = [0, 1].map((i) =>
      new TelnetCodec({
        send: (b) => void queues[1 - i]!.push(b.slice()),
        local: pick(),
        remote: pick(),
      })
    );
    let messages = 0;
    const pump = (): void => {
      for (let guard = 0; guard < 10000; guard++) {
        const i = queues[0]!.length > 0 ? 0 : queues[1]!.length > 0 ? 1 : -1;
        if (i < 0) return;
        const chunk = queues[i]!.shift()!;
        messages++;
        codecs[i]!.decode(chunk);
      }
      throw new Error("negotiation did not go quiet");
    };
    let requests = 0;
    for (let step = 0; step < 12; step++) {
      const who = codecs[random() < 0.5 ? 0 : 1]!;
      const option = options[Math.floor(random() * options.length)]!;
      const side: TelnetSide = random() < 0.5 ? "local" : "remote";
      who.request(option, side, random() < 0.6);
      requests++;
      // Sometimes let requests cross on the wire before anything is read.
      if (random() < 0.5) pump();
    }
    pump();
    // Each request costs at most a few messages: no amplification, no loop.
    assertLessOrEqual(messages, requests * 4, `round ${round}`);
    for (const option of options) {
      for (const [a, b] of [[0, 1], [1, 0]] as const) {
        const local = codecs[a]!.optionState(option, "local");
        const remote = codecs[b]!.optionState(option, "remote");
        assert(local.state === "yes" || local.state === "no", `round ${round}: settled`);
        assertEquals(local.queue, "empty");
        assertEquals(local.state, remote.state, `round ${round} option ${option}`);
      }
    }
    // Quiet: nothing left to send, and a fresh pump sends nothing.
    assertEquals(queues, [[], []]);
  }
});

// --- a real telnetd login stream ------------------------------------------------------------

const LOGIN = JSON.parse(
  await Deno.readTextFile(new URL("./fixtures/telnetd_login.json", import.meta.url)),
) as { serverReads: string[]; clientWrites: string[] };
const LOGIN_STREAM = concat(LOGIN.serverReads.map(fromHex));
const LOGIN_REPLIES = LOGIN.clientWrites.map((h) => [...fromHex(h)]);
const LOGIN_OPTIONS: Omit<TelnetCodecOptions, "send"> = {
  local: [O.SUPPRESS_GO_AHEAD],
  remote: [O.ECHO, O.SUPPRESS_GO_AHEAD],
  terminalType: ["XTERM-256COLOR", "XTERM"],
  windowSize: { columns: 80, rows: 24 },
  environment: { LANG: "C" },
};

function runLogin(chunks: Uint8Array[]): { data: string; sent: number[][]; events: string } {
  const { codec, sent, events } = recorder(LOGIN_OPTIONS);
  const data = concat(chunks.map((c) => codec.decode(c).slice()));
  // Offsets of command events depend on chunking; this stream has none.
  return { data: decoder.decode(data), sent, events: JSON.stringify(events.map(stripOffset)) };
}

function stripOffset(event: TelnetEvent): unknown {
  if (event.type === "subnegotiation") return { ...event, data: [...event.data] };
  if (event.type === "error") return { type: "error", code: event.error.code };
  return event;
}

Deno.test("TelnetCodec.decode() answers a real telnetd opening as recorded", () => {
  const result = runLogin(LOGIN.serverReads.map(fromHex));
  assertEquals(result.data, "vm login: ");
  assertEquals(result.sent, LOGIN_REPLIES);
  const events = JSON.parse(result.events) as TelnetEvent[];
  // WILL TERMINAL-TYPE, WILL NEW-ENVIRON, then the two SENDs answered, SGA, NAWS, ECHO.
  assertEquals(
    events.filter((e) => e.type === "option").map((e) => e.type === "option" && e.option),
    [24, 39, 3, 31, 1],
  );
  // telnetd asked for BINARY, LINEMODE, TIMING-MARK, ECHO (ours), OLD-ENVIRON,
  // TSPEED, XDISPLOC, STATUS, LFLOW, AUTHENTICATION, ENCRYPT: all refused.
  const refused = LOGIN_REPLIES.filter((r) => r[1] === C.WONT || r[1] === C.DONT).map((r) => r[2]);
  assertEquals(refused.sort((a, b) => a! - b!), [0, 1, 5, 6, 32, 33, 34, 35, 36, 37, 38]);
  // The answers carry the first terminal type, LANG as a USERVAR and 80x24.
  assert(LOGIN_REPLIES.some((r) => decoder.decode(new Uint8Array(r)).includes("XTERM-256COLOR")));
  assertEquals(LOGIN_REPLIES.find((r) => r[2] === O.NEW_ENVIRON && r[1] === C.SB), [
    ...bytes(IAC, C.SB, 39, 0, 3, "LANG", 1, "C", IAC, C.SE),
  ]);
  assertEquals(LOGIN_REPLIES.find((r) => r[2] === O.NAWS && r[1] === C.SB), [
    ...bytes(IAC, C.SB, 31, 0, 80, 0, 24, IAC, C.SE),
  ]);
});

Deno.test("TelnetCodec.decode() gives the same result for every split of the telnetd stream", () => {
  const expected = runLogin([LOGIN_STREAM]);
  assertEquals(expected.data, "vm login: ");
  assertEquals(expected.sent, LOGIN_REPLIES);
  let cases = 0;
  for (const chunks of [...splits(LOGIN_STREAM), bytewise(LOGIN_STREAM)]) {
    const got = runLogin(chunks);
    assertEquals(got.data, expected.data);
    assertEquals(got.sent, expected.sent);
    assertEquals(got.events, expected.events);
    cases++;
  }
  assert(cases > 2000);
});

// --- subnegotiation --------------------------------------------------------------------------

Deno.test("TelnetCodec.decode() drops a subnegotiation over maxSubnegotiationSize", () => {
  const { codec, events } = recorder({ maxSubnegotiationSize: 16 });
  const ok = codec.decode(bytes(IAC, C.SB, 99, new Array(16).fill(7), IAC, C.SE, "a"));
  assertEquals(decoder.decode(ok), "a");
  assertEquals(events, [{
    type: "subnegotiation",
    option: 99,
    data: new Uint8Array(16).fill(7),
    handled: false,
  }]);
  events.length = 0;
  const out = codec.decode(bytes(IAC, C.SB, 99, new Array(17).fill(7), IAC, C.SE, "b"));
  assertEquals(decoder.decode(out), "b");
  assertEquals(events.length, 1);
  const event = events[0]!;
  assert(event.type === "error");
  assertInstanceOf(event.error, ProtocolError);
  assertEquals(event.error.code, "SUBNEGOTIATION_TOO_LONG");
  assertEquals(event.error.message, "Cannot read subnegotiation of option 99: it exceeds 16 bytes");
});

Deno.test("TelnetCodec.decode() never buffers an endless subnegotiation and recovers after IAC SE", () => {
  const { codec, events } = recorder();
  const mib = new Uint8Array(1 << 20).fill(0x41);
  for (let i = 0; i < 8; i++) {
    const out = codec.decode(i === 0 ? concat([bytes(IAC, C.SB, 24), mib]) : mib);
    assertEquals(out.length, 0);
  }
  // One report, however much follows.
  assertEquals(events.map((e) => e.type === "error" && e.error.code), ["SUBNEGOTIATION_TOO_LONG"]);
  assertEquals(decoder.decode(codec.decode(bytes(IAC, C.SE, "back"))), "back");
  assertEquals(events.length, 1);
});

Deno.test("TelnetCodec.decode() unescapes IAC IAC inside a subnegotiation", () => {
  const { codec, events } = recorder();
  codec.decode(bytes(IAC, C.SB, 31, 0, IAC, IAC, IAC, IAC, 0, IAC, C.SE));
  assertEquals(events, [{
    type: "subnegotiation",
    option: 31,
    data: bytes(0, 255, 255, 0),
    handled: false,
  }]);
});

Deno.test("TelnetCodec.decode() ends a subnegotiation missing IAC SE at the next command", () => {
  const { codec, sent, events } = recorder({ remote: [O.ECHO], terminalType: "VT100" });
  codec.decode(bytes(IAC, C.DO, 24));
  sent.length = 0;
  events.length = 0;
  // IAC SB TTYPE SEND, then IAC WILL ECHO without IAC SE in between.
  const out = codec.decode(bytes(IAC, C.SB, 24, 1, IAC, C.WILL, 1, "x"));
  assertEquals(decoder.decode(out), "x");
  assertEquals(sent, [[IAC, C.DO, 1]]);
  assertEquals(events[0]!.type === "error" && events[0]!.error.code, "BAD_SUBNEGOTIATION");
  assertEquals(events.filter((e) => e.type === "subnegotiation"), []);
});

Deno.test("TelnetCodec answers TERMINAL-TYPE SEND by cycling the list (RFC 1091)", () => {
  const { codec, sent } = recorder({ terminalType: ["XTERM-256COLOR", "XTERM", "VT100"] });
  codec.decode(bytes(IAC, C.DO, 24));
  assertEquals(sent, [[IAC, C.WILL, 24]]);
  sent.length = 0;
  const send = bytes(IAC, C.SB, 24, 1, IAC, C.SE);
  for (let i = 0; i < 7; i++) codec.decode(send);
  const types = sent.map((r) => {
    assertEquals(r.slice(0, 4), [IAC, C.SB, 24, 0]);
    assertEquals(r.slice(-2), [IAC, C.SE]);
    return decoder.decode(new Uint8Array(r.slice(4, -2)));
  });
  assertEquals(types, [
    "XTERM-256COLOR",
    "XTERM",
    "VT100",
    "VT100",
    "XTERM-256COLOR",
    "XTERM",
    "VT100",
  ]);
  // Turning the option off and on again restarts the list.
  sent.length = 0;
  codec.decode(bytes(IAC, C.DONT, 24, IAC, C.DO, 24, IAC, C.SB, 24, 1, IAC, C.SE));
  assertEquals(decoder.decode(new Uint8Array(sent.at(-1)!.slice(4, -2))), "XTERM-256COLOR");
});

Deno.test("TelnetCodec ignores TERMINAL-TYPE SEND while the option is off", () => {
  const { codec, sent, events } = recorder({ terminalType: "VT100" });
  codec.decode(bytes(IAC, C.SB, 24, 1, IAC, C.SE));
  assertEquals(sent, []);
  assertEquals(events, [{ type: "subnegotiation", option: 24, data: bytes(1), handled: false }]);
});

Deno.test("TelnetCodec answers NEW-ENVIRON SEND with the configured variables (RFC 1572)", () => {
  const env = { USER: "mulder", DISPLAY: "x:0", LANG: "C", ODD: "a\x00b\x01c\x02d\x03e\xff" };
  const { codec, sent } = recorder({ environment: env });
  codec.decode(bytes(IAC, C.DO, 39));
  sent.length = 0;
  // SEND with an empty list: every variable, VARs and USERVARs.
  codec.decode(bytes(IAC, C.SB, 39, 1, IAC, C.SE));
  const oddValue = [...encoder.encode("a\x00b\x01c\x02d\x03e\xff")].flatMap((b) =>
    b <= 3 ? [2, b] : b === 255 ? [255, 255] : [b]
  );
  assertEquals(sent, [[
    ...bytes(IAC, C.SB, 39, 0),
    ...bytes(0, "USER", 1, "mulder", 0, "DISPLAY", 1, "x:0"),
    ...bytes(3, "LANG", 1, "C", 3, "ODD", 1, oddValue),
    ...bytes(IAC, C.SE),
  ]]);
  // SEND VAR USER, USERVAR NOPE, VAR (all VARs): the unknown name goes without VALUE.
  sent.length = 0;
  codec.decode(bytes(IAC, C.SB, 39, 1, 0, "USER", 3, "NOPE", 0, IAC, C.SE));
  assertEquals(sent, [[
    ...bytes(IAC, C.SB, 39, 0, 0, "USER", 1, "mulder", 3, "NOPE", 0, "DISPLAY", 1, "x:0"),
    ...bytes(IAC, C.SE),
  ]]);
  // An escaped name in the request, and a USERVAR asked for as a VAR is undefined.
  sent.length = 0;
  codec.decode(bytes(IAC, C.SB, 39, 1, 3, "O", 2, 2, "X", 0, "LANG", IAC, C.SE));
  assertEquals(sent, [[...bytes(IAC, C.SB, 39, 0, 3, "O", 2, 2, "X", 0, "LANG", IAC, C.SE)]]);
});

Deno.test("TelnetCodec reports a NEW-ENVIRON SEND it cannot parse and sends nothing", () => {
  const { codec, sent, events } = recorder({ environment: { USER: "u" } });
  codec.decode(bytes(IAC, C.DO, 39));
  sent.length = 0;
  codec.decode(bytes(IAC, C.SB, 39, 1, 9, "x", IAC, C.SE));
  assertEquals(sent, []);
  assertEquals(
    events.some((e) => e.type === "error" && e.error.code === "BAD_SUBNEGOTIATION"),
    true,
  );
});

Deno.test("TelnetCodec sends NAWS with 255 bytes doubled (RFC 1073)", () => {
  const { codec, sent } = recorder({ windowSize: { columns: 255, rows: 0xffff } });
  assertEquals(codec.setWindowSize(255, 0xffff), false);
  codec.decode(bytes(IAC, C.DO, 31));
  assertEquals(sent, [
    [IAC, C.WILL, 31],
    [IAC, C.SB, 31, 0, 255, 255, 255, 255, 255, 255, IAC, C.SE],
  ]);
  sent.length = 0;
  assertEquals(codec.setWindowSize(0x1ff, 0xff00), true);
  assertEquals(sent, [[IAC, C.SB, 31, 1, 255, 255, 255, 255, 0, IAC, C.SE]]);
  // Once NAWS is off, resizing sends nothing.
  codec.decode(bytes(IAC, C.DONT, 31));
  sent.length = 0;
  assertEquals(codec.setWindowSize(80, 24), false);
  assertEquals(sent, []);
});

Deno.test("TelnetCodec.request() to enable NAWS sends the size once the peer agrees", () => {
  const { codec, sent } = recorder({ windowSize: { columns: 132, rows: 43 } });
  codec.request(O.NAWS, "local", true);
  assertEquals(sent, [[IAC, C.WILL, 31]]);
  codec.decode(bytes(IAC, C.DO, 31));
  assertEquals(sent, [[IAC, C.WILL, 31], [IAC, C.SB, 31, 0, 132, 0, 43, IAC, C.SE]]);
});

// --- commands, data and IAC escaping ----------------------------------------------------------

Deno.test("TelnetCodec.decode() reports commands with their data offset", () => {
  const { codec, events } = recorder();
  const commands = [C.GA, C.NOP, C.DM, C.BRK, C.IP, C.AO, C.AYT, C.EC, C.EL, C.EOR, C.SE];
  const input = bytes(...commands.flatMap((c, i) => [String.fromCharCode(0x61 + i), IAC, c]));
  const out = codec.decode(input);
  assertEquals(decoder.decode(out), "abcdefghijk");
  assertEquals(
    events,
    commands.map((command, i) => ({ type: "command" as const, command, offset: i + 1 })),
  );
});

Deno.test("TelnetCodec.decode() tolerates IAC followed by an undefined byte", () => {
  const { codec, sent, events } = recorder();
  const out = codec.decode(bytes("a", IAC, 0x41, "b", IAC, 0, "c"));
  assertEquals(decoder.decode(out), "abc");
  assertEquals(sent, []);
  assertEquals(events, [
    { type: "command", command: 0x41, offset: 1 },
    { type: "command", command: 0, offset: 2 },
  ]);
});

Deno.test("TelnetCodec doubles IAC on output and undoubles it on input", () => {
  const { codec } = recorder({ translateLineEnds: false });
  assertEquals([...codec.encode(bytes(255, 1, 255, 255))], [255, 255, 1, 255, 255, 255, 255]);
  assertEquals([...codec.decode(bytes(255, 255, 1, 255, 255, 255, 255))], [255, 1, 255, 255]);
  // IAC IAC split between reads.
  assertEquals([...codec.decode(bytes(7, 255))], [7]);
  assertEquals([...codec.decode(bytes(255, 8))], [255, 8]);
  // A random round trip through two codecs, in random chunks.
  const random = prng(854);
  const data = Uint8Array.from({ length: 4096 }, () => (random() < 0.1 ? 255 : random() * 256));
  const sender = new TelnetCodec({ send: () => {}, translateLineEnds: false });
  const receiver = new TelnetCodec({ send: () => {}, translateLineEnds: false });
  const wire = sender.encode(data);
  const back = concat(randomChunks(wire, random, 9).map((c) => receiver.decode(c).slice()));
  assertEquals(back, data);
});

Deno.test("TelnetCodec.encode() turns bare CR into CR NUL and LF into CR LF in NVT mode", () => {
  const { codec } = recorder();
  assertEquals([...codec.encode("a\rb\nc\r\nd\r")], [
    ...bytes("a", 13, 0, "b", 13, 10, "c", 13, 10, "d", 13, 0),
  ]);
  const raw = new TelnetCodec({ send: () => {}, translateLineEnds: false });
  assertEquals([...raw.encode("a\rb\n")], [...bytes("a", 13, "b", 10)]);
});

Deno.test("TelnetCodec.decode() turns CR NUL into CR, also across reads", () => {
  const { codec } = recorder();
  assertEquals([...codec.decode(bytes("a", 13, 0, "b", 13, 10))], [...bytes("a", 13, "b", 13, 10)]);
  assertEquals([...codec.decode(bytes("c", 13))], [...bytes("c", 13)]);
  assertEquals([...codec.decode(bytes(0, "d", 0))], [...bytes("d", 0)]);
});

Deno.test("TelnetCodec passes CR NUL and bare line ends through once BINARY is on", () => {
  const { codec, sent } = recorder({ local: [O.BINARY], remote: [O.BINARY] });
  // WILL BINARY and CR NUL in the same chunk: the translation stops at once.
  const out = codec.decode(bytes(13, 0, IAC, C.WILL, 0, 13, 0, IAC, C.DO, 0));
  assertEquals([...out], [13, 13, 0]);
  assertEquals(sent, [[IAC, C.DO, 0], [IAC, C.WILL, 0]]);
  assertEquals([...codec.encode("a\rb\n")], [...bytes("a", 13, "b", 10)]);
  // BINARY off again: translation resumes.
  codec.decode(bytes(IAC, C.WONT, 0, IAC, C.DONT, 0));
  assertEquals([...codec.decode(bytes(13, 0))], [13]);
  assertEquals([...codec.encode("\n")], [13, 10]);
});

Deno.test("TelnetCodec.decode() gives the same result for every split of mixed input", () => {
  const input = bytes(
    "x",
    IAC,
    C.WILL,
    1,
    IAC,
    IAC,
    13,
    0,
    IAC,
    C.SB,
    24,
    1,
    IAC,
    C.SE,
    IAC,
    C.GA,
    IAC,
    C.SB,
    31,
    IAC,
    IAC,
    IAC,
    C.SE,
    IAC,
    C.DO,
    31,
    "yz",
    IAC,
    C.DONT,
    24,
  );
  const run = (chunks: Uint8Array[]): string => {
    const sent: number[][] = [];
    const events: unknown[] = [];
    let base = 0;
    const codec = new TelnetCodec({
      send: (b) => void sent.push([...b]),
      // Offsets are per call; record them as positions in the whole output.
      onEvent: (e) =>
        void events.push(e.type === "command" ? { ...e, offset: base + e.offset } : stripOffset(e)),
      remote: [O.ECHO],
      terminalType: "VT220",
      windowSize: { columns: 80, rows: 25 },
    });
    codec.decode(bytes(IAC, C.DO, 24));
    const data: number[] = [];
    for (const chunk of chunks) {
      const out = codec.decode(chunk);
      data.push(...out);
      base += out.length;
    }
    return JSON.stringify({ data, sent, events });
  };
  const expected = run([input]);
  for (const chunks of [...splits(input), bytewise(input)]) assertEquals(run(chunks), expected);
});

Deno.test("TelnetCodec.decode() agrees with itself on random input in random chunks", () => {
  const random = prng(855);
  const alphabet = [255, 255, 255, 250, 240, 251, 252, 253, 254, 13, 0, 10, 24, 31, 39, 1, 0x61];
  for (let round = 0; round < 200; round++) {
    const input = Uint8Array.from(
      { length: 200 },
      () => alphabet[Math.floor(random() * alphabet.length)]!,
    );
    const run = (chunks: Uint8Array[]): string => {
      const { codec, sent, events } = recorder({
        local: [O.BINARY, O.SUPPRESS_GO_AHEAD],
        remote: [O.ECHO],
        terminalType: ["A", "B"],
        windowSize: { columns: 255, rows: 10 },
        environment: { USER: "u", X: "\xff" },
        maxSubnegotiationSize: 16,
      });
      const data = chunks.map((c) => [...codec.decode(c)]).flat();
      return JSON.stringify({
        data,
        sent,
        events: events.map((e) => e.type === "command" ? e.command : stripOffset(e)),
      });
    };
    const expected = run([input]);
    assertEquals(run(randomChunks(input, random, 7)), expected, `round ${round}`);
    assertEquals(run(bytewise(input)), expected, `round ${round} bytewise`);
  }
});

// --- writer --------------------------------------------------------------------------------

Deno.test("TelnetCodec keeps replies and written data in order with an asynchronous send", async () => {
  const wire: number[] = [];
  let delay = 3;
  const codec = new TelnetCodec({
    send: async (b) => {
      // Later calls would finish first if they were not chained.
      const wait = delay--;
      for (let i = 0; i < wait; i++) await Promise.resolve();
      wire.push(...b);
    },
    remote: [O.ECHO],
  });
  codec.decode(bytes(IAC, C.WILL, 1));
  const written = codec.write("ok\n");
  codec.decode(bytes(IAC, C.DO, 3));
  await written;
  await codec.flush();
  assertEquals(wire, [...bytes(IAC, C.DO, 1, "ok", 13, 10, IAC, C.WONT, 3)]);
});

Deno.test("TelnetCodec reports a failed send from flush() and later writes", async () => {
  let calls = 0;
  const codec = new TelnetCodec({
    send: () => {
      calls++;
      return Promise.reject(new Error("connection reset"));
    },
  });
  // decode() itself never throws for the writer's sake.
  codec.decode(bytes(IAC, C.DO, 1));
  await assertRejects(() => codec.flush(), Error, "connection reset");
  await assertRejects(() => codec.write("x"), Error, "connection reset");
  await assertRejects(() => codec.sendCommand(C.NOP), Error, "connection reset");
  codec.decode(bytes(IAC, C.DO, 3));
  assertEquals(calls, 1);
});

Deno.test("TelnetCodec reports a send that throws synchronously", async () => {
  const codec = new TelnetCodec({
    send: () => {
      throw new Error("closed");
    },
  });
  await assertRejects(() => codec.write("x"), Error, "closed");
  await assertRejects(() => codec.flush(), Error, "closed");
});

Deno.test("TelnetCodec.sendCommand() and sendSubnegotiation() escape and validate", async () => {
  const { codec, sent } = recorder();
  await codec.sendCommand(C.IP);
  await codec.sendSubnegotiation(O.TERMINAL_SPEED, bytes(0, 255, "9600"));
  assertEquals(sent, [[IAC, C.IP], [...bytes(IAC, C.SB, 32, 0, 255, 255, "9600", IAC, C.SE)]]);
  for (const bad of [C.SB, C.WILL, C.DONT, IAC, 256, -1, 1.5]) {
    assertThrows(() => codec.sendCommand(bad), RangeError, "Cannot send Telnet command");
  }
  assertThrows(() => codec.sendSubnegotiation(256, bytes()), RangeError, "option 256");
});

Deno.test("TelnetCodec rejects bad options with TypeError and RangeError", () => {
  const send = (): void => {};
  assertThrows(
    () => new TelnetCodec({} as TelnetCodecOptions),
    TypeError,
    "send is not a function",
  );
  assertThrows(
    () => new TelnetCodec({ send, local: [256] }),
    RangeError,
    "option 256 is not a byte",
  );
  assertThrows(() => new TelnetCodec({ send, remote: [-1] }), RangeError, "option -1");
  for (const terminalType of ["", "has space", "x".repeat(41), "caf\u00e9", "A\r\n"]) {
    assertThrows(() => new TelnetCodec({ send, terminalType }), TypeError, "terminal type");
  }
  assertThrows(
    () => new TelnetCodec({ send, windowSize: { columns: 65536, rows: 1 } }),
    RangeError,
    "columns 65536",
  );
  assertThrows(
    () => new TelnetCodec({ send, maxSubnegotiationSize: 0 }),
    RangeError,
    "maxSubnegotiationSize 0",
  );
  assertThrows(() => new TelnetCodec({ send, environment: { "": "x" } }), TypeError, "empty");
  const codec = new TelnetCodec({ send });
  assertThrows(() => codec.setWindowSize(-1, 0), RangeError, "columns -1");
  assertThrows(() => codec.setWindowSize(1, 1.5), RangeError, "rows 1.5");
  assertThrows(() => codec.request(300, "local", true), RangeError);
  assertThrows(() => codec.isEnabled(1, "both" as TelnetSide), TypeError, '"both"');
});

Deno.test("TelnetCodec adds the options it has values for to the local policy", () => {
  const { codec, sent } = recorder({
    terminalType: "VT100",
    windowSize: { columns: 1, rows: 1 },
    environment: {},
  });
  codec.decode(bytes(IAC, C.DO, 24, IAC, C.DO, 31, IAC, C.DO, 39, IAC, C.DO, 1));
  assertEquals(sent.map((r) => r.slice(0, 3)), [
    [IAC, C.WILL, 24],
    [IAC, C.WILL, 31],
    [IAC, C.SB, 31],
    [IAC, C.WILL, 39],
    [IAC, C.WONT, 1],
  ]);
});
