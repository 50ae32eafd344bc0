import { ProtocolError } from "../../net/protocol_error.ts";
import type { ImapResponse, ImapToken } from "../../mail/imap_response_reader.ts";
import {
  decodeImapBodyStructure,
  decodeImapEnvelope,
  type ImapBodyStructure,
  type ImapEvent,
  type ImapFetchData,
  imapResponseCodeValue,
  type ImapSinglePart,
  toImapEvent,
} from "../../mail/imap_types.ts";
import { assert, assertEquals, assertThrows } from "../_helpers/assert.ts";
import { fixture, readAll, responseReader } from "./_imap_helpers.ts";

const decoder = new TextDecoder();

async function events(wire: string | Uint8Array, utf8 = false): Promise<(ImapEvent | null)[]> {
  return (await readAll(responseReader(wire))).map((r) => toImapEvent(r, { utf8 }));
}

async function fetchData(wire: string): Promise<ImapFetchData> {
  const [event] = await events(wire);
  assert(event?.kind === "fetch", `not a fetch: ${event?.kind}`);
  return event.data;
}

async function structureOf(list: string): Promise<ImapBodyStructure> {
  const data = await fetchData(`* 1 FETCH (BODYSTRUCTURE ${list})\r\n`);
  assert(data.bodyStructure !== undefined);
  return data.bodyStructure;
}

async function firstResponse(wire: string): Promise<ImapResponse> {
  const [response] = await readAll(responseReader(wire));
  assert(response !== undefined);
  return response;
}

Deno.test("toImapEvent() decodes Dovecot's FETCH: envelope, body structure, dates and body", async () => {
  const [first, second, done] = await events(fixture("fetch_all"));
  assert(first?.kind === "fetch" && second?.kind === "fetch");
  const data = first.data;
  assertEquals(data.seq, 1);
  assertEquals(data.uid, 1);
  assertEquals(data.flags, ["\\Seen"]);
  assertEquals(data.internalDate?.toISOString(), "2026-12-03T11:32:21.000Z");
  assertEquals(data.rfc822Size, 343);
  assertEquals(data.envelope, {
    date: new Date("2023-11-14T22:13:21Z"),
    dateText: "Tue, 14 Nov 2023 22:13:21 +0000",
    subject: "Test message one",
    from: [{ name: "Walter Skinner", address: "skinner@example.test" }],
    sender: [{ name: "Walter Skinner", address: "skinner@example.test" }],
    replyTo: [{ name: "Walter Skinner", address: "skinner@example.test" }],
    to: [{ name: "Fox Mulder", address: "mulder@example.test" }],
    cc: [],
    bcc: [],
    inReplyTo: null,
    messageId: "<peers-msg-1@example.test>",
  });
  assertEquals(data.bodyStructure, {
    kind: "single",
    type: "text",
    subtype: "plain",
    section: "1",
    parameters: new Map([["charset", "us-ascii"]]),
    id: null,
    description: null,
    encoding: "7bit",
    size: 52,
    lines: 2,
    md5: null,
    envelope: null,
    body: null,
    disposition: null,
    language: null,
    location: null,
    extensions: [],
  });
  const body = data.body.get("");
  assertEquals(body?.delivery, "inline");
  assertEquals(body?.size, 343);
  assert(decoder.decode(body?.data ?? undefined).includes("The truth is out there.\r\n"));
  assertEquals(second.data.flags, []);
  assertEquals(second.data.envelope?.subject, "Test message two");
  assertEquals(done, null);
});

Deno.test("toImapEvent() decodes Dovecot's LIST, STATUS, SEARCH, ESEARCH, ENABLED and MODSEQ", async () => {
  const list = await events(fixture("list"));
  assertEquals(
    list.map((e) => e?.kind === "list" ? [e.item.name, e.item.delimiter, e.item.flags] : e),
    [
      ["Archive", "/", ["\\HasNoChildren"]],
      ["Drafts", "/", ["\\HasNoChildren", "\\Drafts"]],
      ["Sent", "/", ["\\HasNoChildren", "\\Sent"]],
      ["Trash", "/", ["\\HasNoChildren", "\\Trash"]],
      ["INBOX", "/", ["\\HasNoChildren"]],
      null,
    ],
  );
  const [status] = await events(fixture("status"));
  assertEquals(status, {
    kind: "status",
    status: {
      mailbox: "INBOX",
      rawMailbox: "INBOX",
      messages: 2,
      recent: 0,
      uidNext: 19,
      uidValidity: 1796297559,
      unseen: 1,
      other: new Map(),
    },
  });
  assertEquals((await events(fixture("search")))[0], {
    kind: "search",
    result: { numbers: [1, 2], modseq: null },
  });
  assertEquals((await events(fixture("uid_search_unseen")))[0], {
    kind: "search",
    result: { numbers: [2], modseq: null },
  });
  assertEquals((await events(fixture("esearch")))[0], {
    kind: "esearch",
    result: { tag: "b4", uid: true, min: 1, max: 2, all: [[1, 2]], count: 2, other: new Map() },
  });
  const [highest, enabled] = await events(fixture("enable_condstore"));
  assert(highest?.kind === "ok");
  assertEquals(imapResponseCodeValue(highest.response.code, "HIGHESTMODSEQ"), 45n);
  assertEquals(enabled, { kind: "enabled", capabilities: ["CONDSTORE"] });
  const modseq = await events(fixture("fetch_modseq"));
  assertEquals(modseq.map((e) => e?.kind === "fetch" ? [e.data.uid, e.data.modseq] : null), [
    [1, 45n],
    [2, 45n],
    null,
  ]);
  const [capability] = await events(fixture("login"));
  assert(capability?.kind === "capability");
  assert(
    capability.capabilities.includes("IMAP4REV1") && capability.capabilities.includes("UIDPLUS"),
  );
  const [bye] = await events(fixture("logout"));
  assertEquals(bye?.kind, "bye");
});

Deno.test("decodeImapBodyStructure() decodes the multipart example of RFC 3501", async () => {
  const s = await structureOf(
    '(("TEXT" "PLAIN" ("CHARSET" "US-ASCII") NIL NIL "7BIT" 1152 23)("TEXT" "PLAIN" ' +
      '("CHARSET" "US-ASCII" "NAME" "cc.diff") "<960723163407.20117h@cac.washington.edu>" ' +
      '"Compiler diff" "BASE64" 4554 73) "MIXED")',
  );
  assert(s.kind === "multipart");
  assertEquals([s.subtype, s.section, s.parameters.size, s.disposition], ["mixed", "", 0, null]);
  const [a, b] = s.parts as ImapSinglePart[];
  assertEquals([a!.section, a!.type, a!.subtype, a!.encoding, a!.size, a!.lines], [
    "1",
    "text",
    "plain",
    "7bit",
    1152,
    23,
  ]);
  assertEquals(b!.parameters, new Map([["charset", "US-ASCII"], ["name", "cc.diff"]]));
  assertEquals(b!.id, "<960723163407.20117h@cac.washington.edu>");
  assertEquals(b!.description, "Compiler diff");
  assertEquals(b!.encoding, "base64");
});

Deno.test("decodeImapBodyStructure() decodes nested multipart/mixed with message/rfc822 and extension data", async () => {
  const inner =
    '(("text" "plain" ("charset" "utf-8") NIL NIL "quoted-printable" 120 4 NIL NIL NIL NIL)' +
    '("text" "html" ("charset" "utf-8") NIL NIL "base64" 480 7 NIL NIL NIL NIL) "alternative" ' +
    '("boundary" "inner") NIL NIL NIL)';
  const envelope =
    '("Mon, 7 Feb 1994 21:52:25 -0800" "Fwd: hi" (("Ann" NIL "ann" "example.test")) ' +
    'NIL NIL NIL NIL NIL NIL "<inner@example.test>")';
  const list = `(("text" "plain" ("charset" "us-ascii" "format" "flowed") NIL NIL "7bit" 30 2 ` +
    `"Q2hlY2s=" ("inline" NIL) "en" NIL)` +
    `("message" "rfc822" ("name" "fwd.eml") "<cid@x>" "forwarded" "7bit" 900 ${envelope} ${inner} 40 ` +
    `NIL ("attachment" ("filename" "fwd.eml")) ("en" "de") "http://example.test/fwd" "x-ext" (1 2))` +
    `("application" "pdf" ("name" "a.pdf") NIL NIL "base64" 4000 NIL ("attachment" ("filename" "a.pdf" ` +
    `"size" "3000")) NIL NIL) "mixed" ("boundary" "outer") NIL ("en") "loc")`;
  const s = await structureOf(list);
  assert(s.kind === "multipart");
  assertEquals(s.subtype, "mixed");
  assertEquals(s.parameters, new Map([["boundary", "outer"]]));
  assertEquals(s.language, ["en"]);
  assertEquals(s.location, "loc");
  assertEquals(s.parts.map((p) => `${p.section} ${p.type}/${p.subtype}`), [
    "1 text/plain",
    "2 message/rfc822",
    "3 application/pdf",
  ]);
  const text = s.parts[0] as ImapSinglePart;
  assertEquals(text.md5, "Q2hlY2s=");
  assertEquals(text.disposition, { type: "inline", parameters: new Map() });
  assertEquals(text.language, ["en"]);
  assertEquals(text.location, null);
  const message = s.parts[1] as ImapSinglePart;
  assertEquals(message.lines, 40);
  assertEquals(message.envelope?.subject, "Fwd: hi");
  assertEquals(message.envelope?.from, [{ name: "Ann", address: "ann@example.test" }]);
  assertEquals(message.disposition, {
    type: "attachment",
    parameters: new Map([["filename", "fwd.eml"]]),
  });
  assertEquals(message.language, ["en", "de"]);
  assertEquals(message.location, "http://example.test/fwd");
  assertEquals(message.extensions, [
    { type: "string", value: "x-ext" },
    {
      type: "list",
      items: [{ type: "number", value: 1, text: "1" }, { type: "number", value: 2, text: "2" }],
    },
  ]);
  const body = message.body;
  assert(body?.kind === "multipart");
  assertEquals([body.section, body.subtype], ["2", "alternative"]);
  assertEquals(body.parts.map((p) => p.section), ["2.1", "2.2"]);
  assertEquals((body.parts[1] as ImapSinglePart).encoding, "base64");
  const pdf = s.parts[2] as ImapSinglePart;
  assertEquals(pdf.lines, null);
  assertEquals(pdf.disposition?.parameters.get("size"), "3000");
});

Deno.test("decodeImapBodyStructure() numbers a single-part message/rfc822 body N.1", async () => {
  const s = await structureOf(
    '(("text" "plain" NIL NIL NIL "7bit" 1 1)("message" "rfc822" NIL NIL NIL "7bit" 50 ' +
      '(NIL NIL NIL NIL NIL NIL NIL NIL NIL NIL) ("text" "plain" NIL NIL NIL "7bit" 5 1) 3) "mixed")',
  );
  assert(s.kind === "multipart");
  const message = s.parts[1] as ImapSinglePart;
  assertEquals(message.body?.section, "2.1");
  assertEquals(message.envelope?.subject, null);
  // BODY (no extension data) decodes the same way.
  const data = await fetchData('* 1 FETCH (BODY ("text" "plain" NIL NIL NIL "8bit" 7 1))\r\n');
  assertEquals(data.bodyStructure?.section, "1");
});

Deno.test("decodeImapBodyStructure() refuses malformed structures", async () => {
  for (
    const list of [
      '("text" "plain" NIL NIL NIL "7bit")',
      '("text" "plain" ("charset") NIL NIL "7bit" 1 1)',
      '("text" "plain" NIL NIL NIL "7bit" "x" 1)',
      '("text" "plain" NIL NIL NIL "7bit" 1)',
      '(("text" "plain" NIL NIL NIL "7bit" 1 1) NIL)',
      '("text" "plain" NIL NIL NIL "7bit" 1 1 NIL ("inline"))',
      "NIL",
    ]
  ) {
    const response = await firstResponse(`* 1 FETCH (BODYSTRUCTURE ${list})\r\n`);
    const error = assertThrows(() => toImapEvent(response), ProtocolError, undefined, list);
    assertEquals(error.code, "BAD_REPLY");
  }
});

Deno.test("decodeImapEnvelope() decodes NIL fields, groups, encoded words and quoted local parts", async () => {
  const wire = '* 5 FETCH (ENVELOPE (NIL "=?ISO-8859-1?Q?Caf=E9?= {not a literal}" ' +
    '(("=?UTF-8?B?SsO2cmc=?=" NIL "j\\"o rg" "example.test")) NIL NIL ' +
    '((NIL NIL "undisclosed-recipients" NIL)(NIL NIL NIL NIL)) ' +
    '((NIL NIL "team" NIL)("Bo" NIL "bo" "example.test")(NIL "@relay" "cy" "example.test")(NIL NIL NIL NIL)' +
    '("Di" NIL "di" "example.test")) ' +
    'NIL "<parent@example.test>" NIL))\r\n';
  const data = await fetchData(wire);
  assertEquals(data.envelope, {
    date: null,
    dateText: null,
    subject: "Café {not a literal}",
    from: [{ name: "Jörg", address: '"j\\"o rg"@example.test' }],
    sender: [],
    replyTo: [],
    to: [{ group: "undisclosed-recipients", members: [] }],
    cc: [
      {
        group: "team",
        members: [{ name: "Bo", address: "bo@example.test" }, {
          name: "",
          address: "cy@example.test",
        }],
      },
      { name: "Di", address: "di@example.test" },
    ],
    bcc: [],
    inReplyTo: "<parent@example.test>",
    messageId: null,
  });
});

Deno.test("decodeImapEnvelope() keeps an unparseable date as text and refuses bad shapes", () => {
  const s = (value: string) => ({ type: "string" as const, value });
  const nil = { type: "nil" as const };
  const envelope = decodeImapEnvelope({
    type: "list",
    items: [s("yesterday at noon"), nil, nil, nil, nil, nil, nil, nil, nil, nil],
  });
  assertEquals([envelope.date, envelope.dateText], [null, "yesterday at noon"]);
  for (
    const items of [
      [nil],
      [nil, nil, { type: "list" as const, items: [nil] }, nil, nil, nil, nil, nil, nil, nil],
      [
        nil,
        nil,
        { type: "list" as const, items: [{ type: "list" as const, items: [nil] }] },
        nil,
        nil,
        nil,
        nil,
        nil,
        nil,
        nil,
      ],
      [{ type: "atom" as const, value: "x" }, nil, nil, nil, nil, nil, nil, nil, nil, nil],
    ]
  ) {
    const error = assertThrows(() => decodeImapEnvelope({ type: "list", items }), ProtocolError);
    assertEquals(error.code, "BAD_REPLY");
  }
});

Deno.test("toImapEvent() decodes FETCH sections, RFC822 items, BINARY and unknown items", async () => {
  const data = await fetchData(
    '* 4 FETCH (RFC822.HEADER {4}\r\nH: v RFC822.TEXT NIL RFC822 "" BINARY[1] ~{3}\r\na\0b ' +
      'BINARY.SIZE[1] 3 BODY[2]<10> "xyz" X-GM-MSGID 1278455344230334865 PREVIEW "hi" ' +
      "BODY.PEEK[1] NIL)\r\n",
  );
  assertEquals(data.rfc822Header?.data, new TextEncoder().encode("H: v"));
  assertEquals(data.rfc822Text, {
    section: "TEXT",
    origin: null,
    data: null,
    size: 0,
    delivery: "nil",
    error: undefined,
  });
  assertEquals(data.rfc822?.size, 0);
  assertEquals(data.binary.get("1")?.data, new Uint8Array([0x61, 0, 0x62]));
  assertEquals(data.binarySize.get("1"), 3);
  assertEquals(data.body.get("2")?.origin, 10);
  assertEquals(data.body.get("2")?.data, new TextEncoder().encode("xyz"));
  assertEquals(data.other.get("X-GM-MSGID"), {
    type: "number",
    value: 1278455344230334865n,
    text: "1278455344230334865",
  });
  assertEquals(data.other.get("PREVIEW"), { type: "string", value: "hi" });
  assertEquals(data.other.get("BODY.PEEK[1]"), { type: "nil" });
});

Deno.test("toImapEvent() parses INTERNALDATE with a space-padded day and refuses bad dates", async () => {
  const data = await fetchData('* 1 FETCH (INTERNALDATE " 7-Jul-1996 02:44:25 -0700")\r\n');
  assertEquals(data.internalDate?.toISOString(), "1996-07-07T09:44:25.000Z");
  for (
    const date of [
      "31-Feb-2020 00:00:00 +0000",
      "17-Jul-1996 02:44:25",
      "17-Foo-1996 02:44:25 +0000",
    ]
  ) {
    const response = await firstResponse(`* 1 FETCH (INTERNALDATE "${date}")\r\n`);
    const error = assertThrows(() => toImapEvent(response), ProtocolError, undefined, date);
    assertEquals(error.code, "BAD_REPLY");
  }
});

Deno.test("toImapEvent() decodes LIST names from modified UTF-7 unless UTF-8 is in use", async () => {
  const wire =
    '* LIST (\\HasChildren) "." "~peter.&U,BTFw-"\r\n* LIST (\\Noselect) NIL "Entw&APw-rfe"\r\n' +
    '* LIST () "/" "R&D"\r\n* LSUB () "/" inbox\r\n' +
    '* LIST () "/" "Sent" ("CHILDINFO" ("SUBSCRIBED") "OLDNAME" ("Gesendet"))\r\n' +
    '* LIST () "/" {9}\r\nEntw\xc3\xbcrfe\r\n';
  const bytes = new Uint8Array([...wire].map((c) => c.charCodeAt(0)));
  const utf7 = await events(bytes);
  assertEquals(utf7.map((e) => e?.kind === "list" || e?.kind === "lsub" ? e.item.name : null), [
    "~peter.台北",
    "Entwürfe",
    "R&D",
    "INBOX",
    "Sent",
    "Entwürfe",
  ]);
  // "R&D" is not valid modified UTF-7: the wire name is kept, and kept as rawName.
  const [first, second, third, fourth, fifth] = utf7;
  assertEquals(first?.kind === "list" && first.item.rawName, "~peter.&U,BTFw-");
  assertEquals(second?.kind === "list" && second.item.delimiter, null);
  assertEquals(third?.kind === "list" && third.item.rawName, "R&D");
  assertEquals(fourth?.kind, "lsub");
  assert(fifth?.kind === "list");
  assertEquals([...fifth.item.extended.keys()], ["CHILDINFO", "OLDNAME"]);
  const utf8 = await events(bytes, true);
  assertEquals(utf8.map((e) => e?.kind === "list" || e?.kind === "lsub" ? e.item.name : null), [
    "~peter.&U,BTFw-",
    "Entw&APw-rfe",
    "R&D",
    "INBOX",
    "Sent",
    "Entwürfe",
  ]);
});

Deno.test("toImapEvent() decodes STATUS with CONDSTORE and SIZE, SEARCH with MODSEQ and VANISHED", async () => {
  const wire = '* STATUS "Entw&APw-rfe" (MESSAGES 231 UIDNEXT 44292 HIGHESTMODSEQ 7011231777 ' +
    "SIZE 1234567 DELETED 2 APPENDLIMIT 10)\r\n* SEARCH 2 5 6 7 11 12 18 19 20 23 (MODSEQ 917162500)\r\n" +
    "* SEARCH\r\n* VANISHED (EARLIER) 41,43:116,118\r\n* VANISHED 405\r\n";
  const [status, search, empty, earlier, vanished] = await events(wire);
  assertEquals(status, {
    kind: "status",
    status: {
      mailbox: "Entwürfe",
      rawMailbox: "Entw&APw-rfe",
      messages: 231,
      uidNext: 44292,
      highestModseq: 7011231777n,
      size: 1234567,
      deleted: 2,
      other: new Map<string, ImapToken>([["APPENDLIMIT", {
        type: "number",
        value: 10,
        text: "10",
      }]]),
    },
  });
  assertEquals(search, {
    kind: "search",
    result: { numbers: [2, 5, 6, 7, 11, 12, 18, 19, 20, 23], modseq: 917162500n },
  });
  assertEquals(empty, { kind: "search", result: { numbers: [], modseq: null } });
  assertEquals(earlier, {
    kind: "vanished",
    earlier: true,
    uids: [[41, 41], [43, 116], [118, 118]],
  });
  assertEquals(vanished, { kind: "vanished", earlier: false, uids: [[405, 405]] });
});

Deno.test("toImapEvent() gives untagged status kinds, null for tagged, other for the unknown", async () => {
  const wire = "* OK [ALERT] System shutdown in 10 minutes\r\n* NO disk almost full\r\n" +
    '* BAD what\r\n* PREAUTH hi\r\n* BYE bye\r\na1 OK done\r\n+ go\r\n* NAMESPACE (("" "/")) NIL NIL\r\n' +
    "* 3 XFOO\r\n";
  const kinds = (await events(wire)).map((e) => e?.kind ?? null);
  assertEquals(kinds, ["ok", "no", "bad", "preauth", "bye", null, null, "other", "other"]);
  const [alert] = await events("* OK [ALERT] System shutdown in 10 minutes\r\n");
  assertEquals(alert?.kind === "ok" && alert.response.code?.name, "ALERT");
});

Deno.test("toImapEvent() refuses malformed known responses", async () => {
  for (
    const wire of [
      "* 3 EXISTS 4\r\n",
      "* EXISTS\r\n",
      "* SEARCH abc\r\n",
      "* SEARCH 0\r\n",
      "* SEARCH 1 (FOO 2)\r\n",
      "* FLAGS \\Seen\r\n",
      '* LIST () "/"\r\n',
      '* LIST () "/" x (ODD)\r\n',
      "* STATUS INBOX (MESSAGES)\r\n",
      "* STATUS INBOX (MESSAGES x)\r\n",
      "* ESEARCH (TAG) MIN 1\r\n",
      "* ESEARCH MIN\r\n",
      "* ESEARCH ALL 0:3\r\n",
      "* VANISHED (LATER) 1\r\n",
      "* 1 FETCH (UID 0)\r\n",
      "* 1 FETCH (UID)\r\n",
      "* 1 FETCH (FLAGS \\Seen)\r\n",
      "* 1 FETCH (MODSEQ 5)\r\n",
      '* 1 FETCH (RFC822.SIZE "x")\r\n',
      "* 1 FETCH (BODY[] (x))\r\n",
      "* CAPABILITY (x)\r\n",
    ]
  ) {
    let response: ImapResponse;
    try {
      response = await firstResponse(wire);
    } catch (error) {
      assert(error instanceof ProtocolError, wire);
      continue;
    }
    const error = assertThrows(() => toImapEvent(response), ProtocolError, undefined, wire);
    assertEquals(error.code, "BAD_REPLY", wire);
  }
});

Deno.test("imapResponseCodeValue() returns the value only for the named code", () => {
  assertEquals(imapResponseCodeValue({ name: "UIDNEXT", value: 4 }, "UIDNEXT"), 4);
  assertEquals(imapResponseCodeValue({ name: "UIDNEXT", value: 4 }, "UIDVALIDITY"), undefined);
  assertEquals(imapResponseCodeValue(null, "UIDNEXT"), undefined);
  assertEquals(imapResponseCodeValue({ name: "ALERT", value: null }, "CAPABILITY"), undefined);
});

Deno.test("decodeImapBodyStructure() accepts a token tree built by hand", () => {
  const s = (value: string) => ({ type: "string" as const, value });
  const n = (value: number) => ({ type: "number" as const, value, text: String(value) });
  const structure = decodeImapBodyStructure({
    type: "list",
    items: [
      s("IMAGE"),
      s("PNG"),
      { type: "nil" },
      { type: "nil" },
      { type: "nil" },
      s("BASE64"),
      n(9),
    ],
  });
  assertEquals(
    structure.kind === "single" &&
      [structure.type, structure.subtype, structure.encoding, structure.lines],
    ["image", "png", "base64", null],
  );
});
