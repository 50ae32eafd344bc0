/**
 * The IMAP wire layer against the real Dovecot of the peers test bed
 * (127.0.0.1:1143, mulder/trustno1): commands encoded with the
 * `formatImap*` functions, responses read live with ImapResponseReader,
 * literals both ways (synchronizing and LITERAL+), a body streamed through
 * the body-literal hook. Read-only: EXAMINE, FETCH BODY.PEEK, STATUS, LIST.
 * Skipped when Dovecot is not running (see tests/_helpers/peers.ts).
 *
 * @module
 */
import { BufferedReader } from "../../net/buffered_reader.ts";
import { type ImapResponse, ImapResponseReader } from "../../mail/imap_response_reader.ts";
import {
  type ImapEvent,
  imapResponseCodeValue,
  type ImapStatusResponse,
  toImapEvent,
} from "../../mail/imap_types.ts";
import {
  formatImapAstring,
  formatImapMailbox,
  formatImapSequenceSet,
  type ImapCommandPart,
  joinImapParts,
} from "../../mail/imap_string.ts";
import { peerTest } from "../_helpers/peers.ts";
import { assert, assertEquals } from "../_helpers/assert.ts";

const IMAP_PORT = 1143;
const encoder = new TextEncoder();
const decoder = new TextDecoder();

class Session {
  readonly reader: ImapResponseReader;
  #n = 0;
  constructor(readonly conn: Deno.TcpConn) {
    this.reader = new ImapResponseReader(new BufferedReader(conn));
  }

  async #write(text: string | Uint8Array): Promise<void> {
    const bytes = typeof text === "string" ? encoder.encode(text) : text;
    let at = 0;
    while (at < bytes.length) at += await this.conn.write(bytes.subarray(at));
  }

  /** Sends a command (waiting for `+` before synchronizing literals); returns events and the tagged status. */
  async run(
    parts: readonly ImapCommandPart[],
    read = (signal?: AbortSignal) => this.reader.read({ signal }),
  ): Promise<{ events: ImapEvent[]; done: ImapStatusResponse; continuations: number }> {
    const tag = `t${++this.#n}`;
    const all = joinImapParts([`${tag} `, parts, "\r\n"]);
    const events: ImapEvent[] = [];
    let continuations = 0;
    for (const part of all) {
      if (part.type === "text") {
        await this.#write(part.text);
        continue;
      }
      if (part.synchronizing) {
        const response = await read(AbortSignal.timeout(5000));
        assert(response?.type === "continuation", `expected +, got ${response?.type}`);
        continuations++;
      }
      await this.#write(part.data);
    }
    for (;;) {
      const response: ImapResponse | null = await read(AbortSignal.timeout(5000));
      assert(response !== null, "connection closed");
      if (response.type === "status" && response.tag === tag) {
        return { events, done: response, continuations };
      }
      const event = toImapEvent(response);
      if (event !== null) events.push(event);
    }
  }
}

peerTest(
  "ImapResponseReader and the formatImap* encoders work against Dovecot",
  IMAP_PORT,
  async () => {
    const conn = await Deno.connect({ hostname: "127.0.0.1", port: IMAP_PORT });
    try {
      const s = new Session(conn);
      const greeting = toImapEvent((await s.reader.read({ signal: AbortSignal.timeout(5000) }))!);
      assert(greeting?.kind === "ok");
      const capabilities = imapResponseCodeValue(greeting.response.code, "CAPABILITY") ?? [];
      assert(capabilities.includes("LITERAL+"), capabilities.join(" "));

      // LOGIN with both arguments as synchronizing literals: Dovecot answers "+" to each.
      const login = await s.run(
        joinImapParts([
          "LOGIN ",
          formatImapAstring("mulder", { atom: false, maxQuotedLength: 0 }),
          " ",
          formatImapAstring("trustno1", { atom: false, maxQuotedLength: 0 }),
        ]),
      );
      assertEquals([login.done.status, login.continuations], ["OK", 2]);

      // A mailbox name as a non-synchronizing literal (LITERAL+), and modified UTF-7.
      const status = await s.run(
        joinImapParts([
          "STATUS ",
          formatImapAstring("Archive", {
            atom: false,
            maxQuotedLength: 0,
            nonSynchronizing: "LITERAL+",
          }),
          " (MESSAGES UIDNEXT UIDVALIDITY)",
        ]),
      );
      assertEquals(status.continuations, 0);
      const archive = status.events.find((e) => e.kind === "status");
      assert(archive?.kind === "status");
      assertEquals([archive.status.mailbox, archive.status.messages], ["Archive", 1]);
      const missing = await s.run(
        joinImapParts(["STATUS ", formatImapMailbox("台北"), " (MESSAGES)"]),
      );
      assertEquals(missing.done.status, "NO");

      const list = await s.run(joinImapParts(['LIST "" "*"']));
      const names = list.events.flatMap((e) => (e.kind === "list" ? [e.item.name] : [])).sort();
      assertEquals(names, ["Archive", "Drafts", "INBOX", "Sent", "Trash"]);

      const examine = await s.run(joinImapParts(["EXAMINE ", formatImapMailbox("INBOX")]));
      assertEquals(examine.done.code?.name, "READ-ONLY");
      const exists = examine.events.find((e) => e.kind === "exists");
      assert(exists?.kind === "exists" && exists.count >= 2);

      // UID 1 with everything; its body streamed through the hook.
      const streamed: Uint8Array[] = [];
      const fetch = await s.run(
        joinImapParts([
          "UID FETCH ",
          formatImapSequenceSet([1]),
          " (UID FLAGS INTERNALDATE RFC822.SIZE ENVELOPE BODYSTRUCTURE BODY.PEEK[])",
        ]),
        (signal) =>
          s.reader.read({
            signal,
            onBodyLiteral: () => new WritableStream({ write: (c) => void streamed.push(c) }),
          }),
      );
      const data = fetch.events.find((e) => e.kind === "fetch");
      assert(data?.kind === "fetch");
      assertEquals(data.data.uid, 1);
      assertEquals(data.data.rfc822Size, 343);
      assertEquals(data.data.envelope?.subject, "Test message one");
      assertEquals(data.data.envelope?.from, [{
        name: "Walter Skinner",
        address: "skinner@example.test",
      }]);
      assertEquals(
        data.data.bodyStructure?.kind === "single" && data.data.bodyStructure.subtype,
        "plain",
      );
      assertEquals(data.data.body.get("")?.delivery, "streamed");
      const body = decoder.decode(new Uint8Array(streamed.flatMap((c) => [...c])));
      assertEquals(body.length, 343);
      assert(body.includes("The truth is out there.\r\n"));

      const search = await s.run(joinImapParts(["UID SEARCH RETURN (MIN COUNT) ALL"]));
      const esearch = search.events.find((e) => e.kind === "esearch");
      assert(esearch?.kind === "esearch" && esearch.result.uid && esearch.result.min === 1);

      const logout = await s.run(joinImapParts(["LOGOUT"]));
      assertEquals(logout.events.map((e) => e.kind), ["bye"]);
      assertEquals(await s.reader.read(), null);
    } finally {
      conn.close();
    }
  },
);
