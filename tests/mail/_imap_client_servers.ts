/**
 * Loopback fake servers for the POP3 and IMAP client tests: a line-based
 * session over real TCP (so `connect()`, STARTTLS and TLS work) whose
 * handler is a small script, recording every line the client sent.
 *
 * @module
 */
import { startTlsServer } from "../../net/start_tls_server.ts";
import { TcpServer } from "../../net/tcp_server.ts";
import { TextConn } from "../../net/text_conn.ts";
import { testCert } from "../_helpers/tls.ts";

const encoder = new TextEncoder();

/** One accepted connection, as the handler sees it. */
export interface FakeSession {
  /** Every line the client sent, in order (literal bytes are not lines). */
  received: string[];
  /** Reads one line (without CR LF), or `null` at EOF. */
  readLine(): Promise<string | null>;
  /** Reads exactly `n` bytes (a literal). */
  readBytes(n: number): Promise<Uint8Array>;
  /** Sends text as it is. */
  send(text: string): Promise<void>;
  /** Upgrades to TLS with the test certificate (after saying yes). */
  startTls(): Promise<void>;
  /** Whether the session is TLS. */
  readonly tls: boolean;
  /** Bytes the client sent that nobody read yet. */
  readonly buffered: number;
}

/** A running fake server. */
export interface FakeServer extends AsyncDisposable {
  /** The port on 127.0.0.1. */
  port: number;
  /** The sessions accepted so far. */
  sessions: FakeSession[];
  /** Settles when every handler so far has finished; rejects with a handler's error. */
  finished(): Promise<void>;
}

/** Starts a fake server that runs `handler` for each connection. */
export async function fakeServer(
  handler: (session: FakeSession) => Promise<void>,
): Promise<FakeServer> {
  const { cert, key } = await testCert();
  const sessions: FakeSession[] = [];
  const runs: Promise<void>[] = [];
  const server = new TcpServer({ hostname: "127.0.0.1", port: 0 }, (conn) => {
    const text = new TextConn(conn);
    const received: string[] = [];
    const session: FakeSession = {
      received,
      async readLine() {
        const line = await text.reader.readLine({ maxLength: 1 << 20 });
        if (line !== null) received.push(line);
        return line;
      },
      readBytes: (n) => text.reader.readExactly(n),
      send: (value) => text.writer.write(encoder.encode(value)),
      async startTls() {
        const tls = await startTlsServer(text.detach(), { cert, key });
        text.adoptTls(tls);
      },
      get tls() {
        return text.tls;
      },
      get buffered() {
        return text.reader.buffered;
      },
    };
    sessions.push(session);
    const run = (async () => {
      try {
        await handler(session);
      } finally {
        text.close();
      }
    })();
    runs.push(run);
    return run.catch(() => {});
  });
  return {
    port: server.addr.port,
    sessions,
    async finished() {
      await Promise.all(runs);
    },
    async [Symbol.asyncDispose]() {
      await server.shutdown({ timeout: 1000 });
    },
  };
}

/** The test CA, for clients' `caCerts`. */
export async function testCa(): Promise<string[]> {
  return [(await testCert()).ca];
}

/** A message for the fake mailbox servers. */
export interface FakeMessage {
  /** The UID (IMAP). */
  uid: number;
  /** The raw message with CR LF line ends. */
  raw: string;
  /** The envelope's fields. */
  subject: string;
  from: [name: string | null, mailbox: string, host: string];
  date: string;
}

/** A message built from its header fields. */
export function fakeMessage(uid: number, subject: string, from: string, body: string): FakeMessage {
  const [mailbox, host] = from.split("@") as [string, string];
  const date = "Tue, 14 Nov 2023 22:13:21 +0000";
  const raw = [
    `From: ${from}`,
    `To: mulder@example.test`,
    `Subject: ${subject}`,
    `Date: ${date}`,
    `Message-ID: <fake-${uid}@example.test>`,
    "",
    body,
    "",
  ].join("\r\n");
  return { uid, raw, subject, from: [null, mailbox, host], date };
}

const quote = (s: string | null) => s === null ? "NIL" : `"${s.replace(/["\\]/g, "\\$&")}"`;

/**
 * A tiny read-only IMAP server over the given messages (mutable: push to
 * `messages` and call `announce()` during IDLE to deliver one): CAPABILITY,
 * LOGIN/AUTHENTICATE PLAIN (password trustno1), EXAMINE/SELECT INBOX,
 * SEARCH ALL, FETCH/UID FETCH of UID, INTERNALDATE, ENVELOPE, RFC822 and
 * BODY.PEEK[], IDLE, NOOP, LOGOUT.
 */
export function fakeImapSession(
  messages: FakeMessage[],
  options: { idle?: boolean; deliverDuringIdle?: FakeMessage[] } = {},
) {
  return async (s: FakeSession) => {
    const caps = `IMAP4rev1 AUTH=PLAIN${options.idle === false ? "" : " IDLE"}`;
    await s.send(`* OK [CAPABILITY ${caps}] fake IMAP ready\r\n`);
    const pending = [...(options.deliverDuringIdle ?? [])];
    const seqOf = (uid: number) => messages.findIndex((m) => m.uid === uid) + 1;
    const inSet = (set: string, value: number, max: number) =>
      set.split(",").some((part) => {
        const [a, b = a] = part.split(":").map((x) => (x === "*" ? max : Number(x)));
        return value >= Math.min(a!, b!) && value <= Math.max(a!, b!);
      });
    for (;;) {
      const line = await s.readLine();
      if (line === null) return;
      const [tag, ...words] = line.split(" ");
      let verb = words[0]?.toUpperCase() ?? "";
      let uid = false;
      if (verb === "UID") {
        uid = true;
        words.shift();
        verb = words[0]?.toUpperCase() ?? "";
      }
      if (verb === "CAPABILITY") await s.send(`* CAPABILITY ${caps}\r\n${tag} OK\r\n`);
      else if (verb === "LOGIN") {
        await s.send(
          words[2] === "trustno1"
            ? `${tag} OK Logged in\r\n`
            : `${tag} NO [AUTHENTICATIONFAILED] Authentication failed.\r\n`,
        );
      } else if (verb === "AUTHENTICATE") {
        let response = words[2];
        if (response === undefined) {
          await s.send("+ \r\n");
          response = (await s.readLine()) ?? "";
        }
        const ok = response === new TextEncoder().encode("\0mulder\0trustno1").toBase64();
        await s.send(
          ok
            ? `${tag} OK Logged in\r\n`
            : `${tag} NO [AUTHENTICATIONFAILED] Authentication failed.\r\n`,
        );
      } else if (verb === "EXAMINE" || verb === "SELECT") {
        if (words[1]?.toUpperCase() !== "INBOX") {
          await s.send(`${tag} NO [NONEXISTENT] Mailbox doesn't exist: ${words[1]}\r\n`);
          continue;
        }
        const next = Math.max(0, ...messages.map((m) => m.uid)) + 1;
        await s.send(
          `* ${messages.length} EXISTS\r\n* OK [UIDVALIDITY 42] ok\r\n* OK [UIDNEXT ${next}] ok\r\n` +
            `${tag} OK [READ-ONLY] done\r\n`,
        );
      } else if (verb === "SEARCH") {
        const numbers = messages.map((m, i) => (uid ? m.uid : i + 1));
        await s.send(`* SEARCH ${numbers.join(" ")}\r\n${tag} OK\r\n`);
      } else if (verb === "FETCH") {
        const set = words[1]!;
        const items = words.slice(2).join(" ").toUpperCase();
        let out = "";
        messages.forEach((m, i) => {
          const key = uid ? m.uid : i + 1;
          const max = uid ? Math.max(...messages.map((x) => x.uid)) : messages.length;
          if (!inSet(set, key, max)) return;
          const parts = [`UID ${m.uid}`];
          if (items.includes("INTERNALDATE")) {
            parts.push('INTERNALDATE "14-Nov-2023 22:13:21 +0000"');
          }
          if (items.includes("ENVELOPE")) {
            const [name, mbox, host] = m.from;
            const addr = `((${quote(name)} NIL ${quote(mbox)} ${quote(host)}))`;
            parts.push(
              `ENVELOPE (${quote(m.date)} ${
                quote(m.subject)
              } ${addr} ${addr} ${addr} NIL NIL NIL NIL NIL)`,
            );
          }
          const size = new TextEncoder().encode(m.raw).length;
          if (items.includes("BODY.PEEK[]")) parts.push(`BODY[] {${size}}\r\n${m.raw}`);
          else if (items.includes("RFC822")) parts.push(`RFC822 {${size}}\r\n${m.raw}`);
          out += `* ${seqOf(m.uid)} FETCH (${parts.join(" ")})\r\n`;
        });
        await s.send(`${out}${tag} OK Fetch completed\r\n`);
      } else if (verb === "IDLE") {
        await s.send("+ idling\r\n");
        const next = pending.shift();
        if (next !== undefined) {
          await new Promise((r) => setTimeout(r, 30));
          messages.push(next);
          await s.send(`* ${messages.length} EXISTS\r\n`);
        }
        const done = await s.readLine();
        if (done === null) return;
        await s.send(`${tag} OK Idle completed\r\n`);
      } else if (verb === "NOOP") {
        const next = pending.shift();
        if (next !== undefined) {
          messages.push(next);
          await s.send(`* ${messages.length} EXISTS\r\n`);
        }
        await s.send(`${tag} OK\r\n`);
      } else if (verb === "LOGOUT") {
        await s.send(`* BYE Logging out\r\n${tag} OK\r\n`);
        return;
      } else await s.send(`${tag} BAD unknown command\r\n`);
    }
  };
}

/**
 * A tiny POP3 server over the given messages: CAPA, USER/PASS (trustno1),
 * STAT, LIST, UIDL, TOP, RETR, QUIT.
 */
export function fakePop3Session(messages: FakeMessage[]) {
  return async (s: FakeSession) => {
    await s.send("+OK fake POP3 ready\r\n");
    const stuffed = (text: string) =>
      text.split("\r\n").map((l) => (l.startsWith(".") ? `.${l}` : l)).join("\r\n");
    const get = (n: string | undefined) => messages[Number(n) - 1];
    for (;;) {
      const line = await s.readLine();
      if (line === null) return;
      const [verb = "", a, b] = line.split(" ");
      switch (verb.toUpperCase()) {
        case "CAPA":
          await s.send("+OK\r\nUSER\r\nUIDL\r\nTOP\r\n.\r\n");
          break;
        case "USER":
          await s.send("+OK\r\n");
          break;
        case "PASS":
          await s.send(
            a === "trustno1" ? "+OK Logged in.\r\n" : "-ERR [AUTH] Authentication failed.\r\n",
          );
          break;
        case "STAT":
          await s.send(
            `+OK ${messages.length} ${messages.reduce((n, m) => n + m.raw.length, 0)}\r\n`,
          );
          break;
        case "LIST":
          if (a !== undefined) {
            const m = get(a);
            await s.send(
              m ? `+OK ${a} ${m.raw.length}\r\n` : "-ERR There's no message " + a + ".\r\n",
            );
          } else {
            await s.send(
              `+OK\r\n${messages.map((m, i) => `${i + 1} ${m.raw.length}\r\n`).join("")}.\r\n`,
            );
          }
          break;
        case "UIDL":
          await s.send(
            `+OK\r\n${messages.map((m, i) => `${i + 1} uid-${m.uid}\r\n`).join("")}.\r\n`,
          );
          break;
        case "TOP": {
          const m = get(a);
          if (!m || b !== "0") await s.send("-ERR no such message\r\n");
          else {await s.send(
              `+OK\r\n${stuffed(m.raw.slice(0, m.raw.indexOf("\r\n\r\n") + 4))}.\r\n`,
            );}
          break;
        }
        case "RETR": {
          const m = get(a);
          await s.send(
            m ? `+OK\r\n${stuffed(m.raw)}.\r\n` : "-ERR There's no message " + a + ".\r\n",
          );
          break;
        }
        case "QUIT":
          await s.send("+OK Logging out.\r\n");
          return;
        default:
          await s.send("-ERR unknown command\r\n");
      }
    }
  };
}
