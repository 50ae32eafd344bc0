/**
 * ImapServer SEARCH: the RFC 3501 criteria over a prepared mailbox, text
 * matched case-insensitively in decoded headers and bodies.
 */
import { assertEquals } from "../_helpers/assert.ts";
import { loggedIn, startImapServer, type TestImapServer, utf8 } from "./_imap_server_helpers.ts";
import type { RawImap } from "./_imap_server_helpers.ts";

async function prepared(): Promise<TestImapServer> {
  const t = startImapServer();
  const deliver = (text: string, date: string, flags: string[]) =>
    t.store.deliver("mulder", "INBOX", utf8(text), { internalDate: new Date(date), flags });
  await deliver(
    "From: Ann Example <ann@example.test>\r\nTo: mulder@example.test\r\n" +
      "Subject: Meeting tomorrow\r\nDate: Tue, 14 Nov 2023 23:30:00 -0500\r\n\r\nLet's meet at noon.\r\n",
    "2023-11-15T04:30:00Z",
    ["\\Seen", "\\Flagged"],
  );
  await deliver(
    "From: Bob <bob@example.test>\r\nTo: Mulder <mulder@example.test>\r\nCc: scully@example.test\r\n" +
      "Subject: =?UTF-8?Q?Gr=C3=BC=C3=9Fe?=\r\nDate: Mon, 1 Jan 2024 10:00:00 +0000\r\n" +
      "Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: base64\r\n\r\n" +
      btoa(String.fromCharCode(...utf8("Secret plans: ÜBER alles\r\n"))) + "\r\n",
    "2024-01-01T10:00:00Z",
    ["\\Answered"],
  );
  await deliver(
    "From: Carol <carol@example.test>\r\nTo: mulder@example.test\r\nSubject: Lunch\r\n" +
      "X-Priority: 1\r\nDate: Fri, 1 Mar 2024 12:00:00 +0100\r\n" +
      'Content-Type: multipart/mixed; boundary="sep"\r\n\r\n--sep\r\n' +
      "Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n" +
      "A caf=C3=A9 au lait=\r\n, please\r\n--sep\r\nContent-Type: application/octet-stream\r\n\r\n" +
      "binaryword ".repeat(200) + "\r\n--sep--\r\n",
    "2024-03-01T11:00:00Z",
    ["$Work"],
  );
  await deliver(
    "From: dave@example.test\r\nSubject: {5} braces\r\n\r\nshort\r\n",
    "2024-03-02T00:00:00Z",
    ["\\Deleted", "\\Draft"],
  );
  return t;
}

async function search(client: RawImap, criteria: string, uid = false): Promise<string> {
  const response = await client.command("s", `${uid ? "UID " : ""}SEARCH ${criteria}`);
  const m = /^\* SEARCH(.*)\r\ns OK /.exec(response);
  if (m === null) return response;
  return m[1]!.trim();
}

Deno.test("ImapServer SEARCH matches sets, flags, sizes and keywords", async () => {
  await using t = await prepared();
  await using client = await loggedIn(t.port, "INBOX");
  await t.store.expunge("mulder", "INBOX", []);
  const cases: [string, string][] = [
    ["ALL", "1 2 3 4"],
    ["2:3", "2 3"],
    ["*", "4"],
    ["3:*", "3 4"],
    ["1,4", "1 4"],
    ["UID 2:*", "2 3 4"],
    ["UID 999:*", "4"],
    ["FLAGGED", "1"],
    ["UNFLAGGED", "2 3 4"],
    ["SEEN", "1"],
    ["UNSEEN", "2 3 4"],
    ["ANSWERED", "2"],
    ["UNANSWERED", "1 3 4"],
    ["DELETED", "4"],
    ["UNDELETED", "1 2 3"],
    ["DRAFT", "4"],
    ["UNDRAFT", "1 2 3"],
    ["KEYWORD $work", "3"],
    ["UNKEYWORD $Work", "1 2 4"],
    ["RECENT", "1 2 3 4"],
    ["NEW", "2 3 4"],
    ["OLD", ""],
    ["LARGER 1000", "3"],
    ["SMALLER 100", "4"],
    ["NOT DELETED FLAGGED", "1"],
    ["OR FLAGGED DRAFT", "1 4"],
    ["OR (SEEN FLAGGED) (DELETED DRAFT)", "1 4"],
    ["NOT (OR SEEN ANSWERED)", "3 4"],
    ["2:4 UNSEEN NOT 3", "2 4"],
  ];
  for (const [criteria, expected] of cases) {
    assertEquals(await search(client, criteria), expected, criteria);
  }
  assertEquals(await search(client, "UID 3:4", true), "3 4");
});

Deno.test("ImapServer SEARCH matches header fields, decoded and case-insensitively", async () => {
  await using t = await prepared();
  await using client = await loggedIn(t.port, "INBOX");
  const cases: [string, string][] = [
    ["FROM ann", "1"],
    ['FROM "BOB@example"', "2"],
    ["TO mulder", "1 2 3"],
    ["CC scully", "2"],
    ["BCC anyone", ""],
    ["SUBJECT meeting", "1"],
    ['SUBJECT "grüße"', "2"],
    ["SUBJECT GRÜSSE", ""],
    ["HEADER X-Priority 1", "3"],
    ['HEADER X-Priority ""', "3"],
    ['HEADER Message-ID ""', ""],
    ['SUBJECT "{5}"', "4"],
  ];
  for (const [criteria, expected] of cases) {
    await client.send(utf8(`s SEARCH CHARSET UTF-8 ${criteria}\r\n`));
    const response = await client.tagged("s");
    assertEquals(/^\* SEARCH(.*)\r\n/.exec(response)?.[1]?.trim(), expected, criteria);
  }
});

Deno.test("ImapServer SEARCH BODY and TEXT decode transfer encodings and charsets", async () => {
  await using t = await prepared();
  await using client = await loggedIn(t.port, "INBOX");
  const cases: [string, string][] = [
    ["BODY noon", "1"],
    ['BODY "secret PLANS"', "2"],
    ['BODY "café au lait, please"', "3"],
    ["BODY binaryword", ""],
    ["BODY Meeting", ""],
    ["TEXT Meeting", "1"],
    ["TEXT carol", "3"],
    ['TEXT "grüße"', "2"],
    ["TEXT short", "4"],
  ];
  for (const [criteria, expected] of cases) {
    await client.send(utf8(`s SEARCH CHARSET UTF-8 ${criteria}\r\n`));
    const response = await client.tagged("s");
    assertEquals(/^\* SEARCH(.*)\r\n/.exec(response)?.[1]?.trim(), expected, criteria);
  }
  // A search string as a literal.
  const needle = utf8("über");
  await client.send(`s SEARCH CHARSET UTF-8 BODY {${needle.length}}\r\n`);
  assertEquals(await client.line(), "+ Ready for literal data\r\n");
  await client.send(needle);
  await client.send("\r\n");
  assertEquals(await client.tagged("s"), "* SEARCH 2\r\ns OK SEARCH completed\r\n");
});

Deno.test("ImapServer SEARCH compares internal and sent dates by day", async () => {
  await using t = await prepared();
  await using client = await loggedIn(t.port, "INBOX");
  const cases: [string, string][] = [
    ["ON 15-Nov-2023", "1"],
    ["BEFORE 1-Jan-2024", "1"],
    ["SINCE 1-Jan-2024", "2 3 4"],
    ["SINCE 2-Mar-2024", "4"],
    ['SENTON "14-Nov-2023"', "1"],
    ["SENTBEFORE 1-Mar-2024", "1 2"],
    ["SENTSINCE 1-Mar-2024", "3"],
  ];
  for (const [criteria, expected] of cases) {
    assertEquals(await search(client, criteria), expected, criteria);
  }
});

Deno.test("ImapServer SEARCH refuses unknown keys, bad dates and other charsets", async () => {
  await using t = await prepared();
  await using client = await loggedIn(t.port, "INBOX");
  assertEquals(await client.command("a1", "SEARCH FROB"), "a1 BAD Unknown search key FROB\r\n");
  assertEquals(
    await client.command("a2", "SEARCH SINCE yesterday"),
    "a2 BAD Invalid search date\r\n",
  );
  assertEquals(
    await client.command("a3", "SEARCH CHARSET KOI8-R ALL"),
    "a3 NO [BADCHARSET (UTF-8 US-ASCII)] Only UTF-8 and US-ASCII are supported\r\n",
  );
  assertEquals(await client.command("a4", "SEARCH"), "a4 BAD Missing search criteria\r\n");
  assertEquals(await client.command("a5", "SEARCH OR SEEN"), "a5 BAD Missing search key\r\n");
  assertEquals(await client.command("a6", "SEARCH LARGER x"), "a6 BAD Invalid size\r\n");
  assertEquals(
    await client.command("a7", "SEARCH RETURN (ALL) ALL"),
    "a7 BAD SEARCH RETURN is not supported\r\n",
  );
  assertEquals(
    await client.command("a8", "SEARCH " + "NOT ".repeat(100) + "ALL"),
    "a8 BAD Search criteria nest too deeply\r\n",
  );
});
