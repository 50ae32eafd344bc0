/**
 * Differential test against CPython's `email` package: messages written by
 * Python are read by inetkit, and messages written by inetkit are read by
 * Python, field by field (subject, addresses, date, message id, and every
 * leaf part's type, file name, charset and decoded bytes). Needs
 * `/usr/bin/python3` and no network peer.
 *
 * @module
 */
import { buildMessage, type MessageInit, parseMessage } from "../../mail/mod.ts";
import type { MimePart } from "../../mail/mod.ts";
import { assertEquals } from "../_helpers/assert.ts";

const PYTHON = "/usr/bin/python3";
const hasPython = (() => {
  try {
    return Deno.statSync(PYTHON).isFile;
  } catch {
    return false;
  }
})();
if (!hasPython) {
  console.log(`python_email_test: ${PYTHON} not found, skipping the differential tests`);
}

/** What both sides report about a message. */
interface Description {
  subject: string | null;
  from: [string, string][];
  to: [string, string][];
  cc: [string, string][];
  date: number | null;
  messageId: string | null;
  leaves: {
    text: string | null;
    type: string;
    filename: string | null;
    charset: string | null;
    content: string;
  }[];
}

const PY_COMMON = `
import sys, json, base64, datetime, email, email.policy
from email.message import EmailMessage
from email.headerregistry import Address, Group
from email.utils import format_datetime

def describe(raw):
    m = email.message_from_bytes(raw, policy=email.policy.default)
    def addrs(name):
        h = m[name]
        if h is None:
            return []
        return [[a.display_name, a.addr_spec] for a in h.addresses]
    d = m['date']
    leaves = []
    for p in m.walk():
        if p.is_multipart():
            continue
        payload = p.get_payload(decode=True) or b''
        charset = p.get_param('charset')
        leaves.append({
            'text': p.get_content() if p.get_content_maintype() == 'text' else None,
            'type': p.get_content_type(),
            'filename': p.get_filename(),
            'charset': str(charset).lower() if charset is not None else None,
            'content': base64.b64encode(payload).decode(),
        })
    mid = m['message-id']
    return {
        'subject': str(m['subject']) if m['subject'] is not None else None,
        'from': addrs('from'), 'to': addrs('to'), 'cc': addrs('cc'),
        'date': d.datetime.timestamp() if d is not None and d.datetime is not None else None,
        'messageId': str(mid).strip() if mid is not None else None,
        'leaves': leaves,
    }
`;

const PY_CORPUS = PY_COMMON + `
from email.mime.multipart import MIMEMultipart
from email.mime.text import MIMEText
from email.header import Header

def base(subject):
    m = EmailMessage()
    m['From'] = 'Ann <ann@example.test>'
    m['To'] = 'bob@example.test'
    m['Subject'] = subject
    m['Date'] = 'Tue, 01 Jul 2003 10:52:37 +0200'
    m['Message-ID'] = '<py-%d@example.test>' % len(subject)
    return m

corpus = []
m = base('Plain')
m.set_content('Hello\\nWorld\\n')
corpus.append(m)

m = EmailMessage()
m['From'] = Address('Zoë Ünïcödé', 'zoe', 'example.test')
m['To'] = [Group('Team', [Address('Jörg Müller', 'joerg', 'example.test'), Address('', 'b', 'example.test')]),
           Address('Doe, Jane', 'jane', 'example.test'), Address('john doe', '"john doe"', 'example.test')]
m['Cc'] = 'x@example.test, "Quoted \\\\"Name\\\\"" <q@example.test>'
m['Subject'] = 'Grüße aus Köln – ' + '日本語 ' * 12 + 'end'
m['Date'] = format_datetime(datetime.datetime(2024, 5, 1, 12, 0, 7,
    tzinfo=datetime.timezone(datetime.timedelta(hours=5, minutes=30))))
m['Message-ID'] = '<unicode@example.test>'
m.set_content('Grüße\\n')
corpus.append(m)

m = base('Alternative with attachments')
m.set_content('plain part\\n')
m.add_alternative('<p>html part</p>\\n', subtype='html')
m.add_attachment(bytes(range(256)) * 10, maintype='application', subtype='octet-stream',
                 filename='données €.bin')
m.add_attachment('notes\\nline two\\n', filename='notes.txt')
m.add_attachment(b'%PDF-1.4 data', maintype='application', subtype='pdf',
                 filename='A very long file name that goes on and on ' * 3 + 'Ünïcödé.pdf')
corpus.append(m)

m = base('Quoted-printable long lines')
m.set_content('x' * 300 + '\\n' + 'é' * 100 + '\\n= trailing space \\n', cte='quoted-printable')
corpus.append(m)

m = base('Latin-1')
m.set_content('Grüße aus Köln\\n', charset='iso-8859-1')
corpus.append(m)

m = base('8bit')
m.set_content('Grüße 8bit\\n', cte='8bit')
corpus.append(m)

m = base('Base64 text')
m.set_content('Grüße base64\\n' * 20, cte='base64')
corpus.append(m)

inner = EmailMessage()
inner['Subject'] = 'inner message'
inner['From'] = 'inner@example.test'
inner.set_content('inside\\n')
inner.add_attachment(b'inner-bytes', maintype='application', subtype='octet-stream', filename='in.bin')
m = base('Forwarded')
m.set_content('see the forwarded message\\n')
m.add_attachment(inner)
corpus.append(m)

m = base('Related')
m.set_content('text version\\n')
m.add_alternative('<p><img src="cid:img1@example.test"></p>\\n', subtype='html')
m.get_payload()[1].add_related(b'\\x89PNG\\r\\n\\x1a\\n' + bytes(100), 'image', 'png', cid='<img1@example.test>')
corpus.append(m)

m = base('Long To')
del m['To']
m['To'] = ', '.join('Person %d <p%d@example.test>' % (i, i) for i in range(60))
m.set_content('many recipients\\n')
corpus.append(m)

mm = MIMEMultipart('mixed')
mm['Subject'] = Header('日本語の件名です', 'iso-2022-jp')
mm['From'] = 'legacy@example.test'
mm['Date'] = 'Mon, 2 Jan 06 15:04:05 EST'
mm.preamble = 'This is a preamble.'
mm.epilogue = 'The epilogue.'
mm.attach(MIMEText('本文です', 'plain', 'iso-2022-jp'))
mm.attach(MIMEText('koi8 текст', 'plain', 'koi8-r'))
mm.attach(MIMEText('<b>latin</b> é', 'html', 'iso-8859-1'))
corpus.append(mm)

out = []
for msg in corpus:
    policy = email.policy.SMTP if isinstance(msg, EmailMessage) else email.policy.compat32.clone(linesep='\\r\\n')
    raw = msg.as_bytes(policy=policy)
    out.append({'raw': base64.b64encode(raw).decode(), 'expected': describe(raw)})
print(json.dumps(out))
`;

const PY_DESCRIBE = PY_COMMON + `
raws = json.loads(sys.stdin.read())
print(json.dumps([describe(base64.b64decode(r)) for r in raws]))
`;

async function python<T>(script: string, input = ""): Promise<T> {
  const child = new Deno.Command(PYTHON, {
    args: ["-c", script],
    stdin: "piped",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const writer = child.stdin.getWriter();
  await writer.write(new TextEncoder().encode(input));
  await writer.close();
  const { success, stdout, stderr } = await child.output();
  if (!success) throw new Error(`python failed: ${new TextDecoder().decode(stderr)}`);
  return JSON.parse(new TextDecoder().decode(stdout)) as T;
}

async function describe(raw: Uint8Array): Promise<Description> {
  const message = await parseMessage(raw);
  const pairs = (list: { name: string; address: string }[]): [string, string][] =>
    list.map((a) => [a.name, a.address]);
  const leaves: Description["leaves"] = [];
  const visit = (part: MimePart): void => {
    if (part.parts.length > 0 || part.isMultipart) {
      for (const child of part.parts) visit(child);
      return;
    }
    leaves.push({
      text: part.contentType.type === "text" ? part.text() : null,
      type: part.contentType.mediaType,
      filename: part.filename,
      charset: part.contentType.params.charset?.toLowerCase() ?? null,
      content: part.content.toBase64(),
    });
  };
  visit(message);
  const date = message.date;
  return {
    subject: message.subject,
    from: pairs(message.from),
    to: pairs(message.to),
    cc: pairs(message.cc),
    date: date === null ? null : date.getTime() / 1000,
    messageId: message.messageId,
    leaves,
  };
}

/** Python reports a charset for parts that name none as null; so do we. Text bodies compare as bytes. */
function compare(ours: Description, theirs: Description, label: string): void {
  assertEquals(ours.subject, theirs.subject, `${label}: subject`);
  assertEquals(ours.from, theirs.from, `${label}: from`);
  assertEquals(ours.to, theirs.to, `${label}: to`);
  assertEquals(ours.cc, theirs.cc, `${label}: cc`);
  assertEquals(ours.date, theirs.date, `${label}: date`);
  assertEquals(ours.messageId, theirs.messageId, `${label}: message id`);
  assertEquals(ours.leaves, theirs.leaves, `${label}: parts`);
}

Deno.test({
  name: "parseMessage() reads messages written by Python's email package as Python does",
  ignore: !hasPython,
  fn: async () => {
    const corpus = await python<{ raw: string; expected: Description }[]>(PY_CORPUS);
    assertEquals(corpus.length, 11);
    for (const [i, { raw, expected }] of corpus.entries()) {
      const ours = await describe(Uint8Array.fromBase64(raw));
      compare(ours, expected, `python message ${i} (${expected.subject})`);
    }
  },
});

const DATE = new Date("2024-05-01T12:00:07Z");

const OUR_CORPUS: MessageInit[] = [
  {
    from: "ann@example.test",
    to: "bob@example.test",
    subject: "Plain",
    date: DATE,
    text: "Hello\nWorld\n",
  },
  {
    from: { name: "Zoë Ünïcödé", address: "zoe@example.test" },
    to: [
      { group: "Team", members: [{ name: "Jörg Müller", address: "joerg@example.test" }] },
      { name: "Doe, Jane", address: "jane@example.test" },
      { name: 'Quote "me" \\ back', address: '"john doe"@example.test' },
    ],
    cc: "x@example.test, Y <y@example.test>",
    bcc: "hidden@example.test",
    subject: "Grüße aus Köln – " + "日本語 ".repeat(12) + "end",
    date: DATE,
    messageId: "<ours-1@example.test>",
    text: "Grüße\n",
  },
  {
    from: "ann@example.test",
    to: "bob@example.test",
    subject: "Alternative with attachments",
    date: DATE,
    text: "plain part\n",
    html: "<p>html part</p>\n",
    attachments: [
      { filename: "données €.bin", content: new Uint8Array(2560).map((_, i) => i & 255) },
      { filename: "notes.txt", content: "notes\nline two\n" },
      {
        filename: "A very long file name that goes on and on ".repeat(3) + "Ünïcödé.pdf",
        content: new TextEncoder().encode("%PDF-1.4 data"),
      },
    ],
  },
  {
    from: "ann@example.test",
    subject: "x".repeat(1200) + " long unbreakable word",
    date: DATE,
    text: "x".repeat(300) + "\n" + "é".repeat(100) + "\n= trailing space \n",
  },
  {
    from: "ann@example.test",
    subject: "Related, streamed",
    date: DATE,
    text: ReadableStream.from([
      new TextEncoder().encode("streamed "),
      new TextEncoder().encode("text\n"),
    ]),
    html: '<p><img src="cid:img1@example.test"></p>\n',
    attachments: [
      { filename: "img.png", content: new Uint8Array(100).fill(9), contentId: "img1@example.test" },
      {
        filename: "big.bin",
        content: ReadableStream.from([new Uint8Array(100000).fill(1), new Uint8Array(7)]),
      },
    ],
  },
  {
    from: "ann@example.test",
    to: Array.from(
      { length: 60 },
      (_, i) => ({ name: `Person ${i}`, address: `p${i}@example.test` }),
    ),
    subject: "=?utf-8?q?not_an_encoded_word?= and Ünïcödé",
    date: DATE,
    headers: { "X-Custom": "über" },
    html: "<p>only html</p>",
  },
];

Deno.test({
  name: "Python's email package reads messages written by buildMessage() as inetkit does",
  ignore: !hasPython,
  fn: async () => {
    const raws: Uint8Array[] = [];
    for (const init of OUR_CORPUS) {
      raws.push(new Uint8Array(await new Response(buildMessage(init)).arrayBuffer()));
    }
    const theirs = await python<Description[]>(
      PY_DESCRIBE,
      JSON.stringify(raws.map((r) => r.toBase64())),
    );
    for (const [i, raw] of raws.entries()) {
      const ours = await describe(raw);
      const label = `our message ${i}`;
      compare(ours, theirs[i]!, label);
      // And both read what was asked for.
      const init = OUR_CORPUS[i]!;
      assertEquals(theirs[i]!.subject, init.subject ?? null, `${label}: subject as sent`);
      assertEquals(theirs[i]!.date, DATE.getTime() / 1000, `${label}: date as sent`);
    }
    assertEquals(theirs[1]!.to, [
      ["Jörg Müller", "joerg@example.test"],
      ["Doe, Jane", "jane@example.test"],
      ['Quote "me" \\ back', '"john doe"@example.test'],
    ]);
    assertEquals(theirs[1]!.from, [["Zoë Ünïcödé", "zoe@example.test"]]);
    assertEquals(
      theirs[2]!.leaves.map((l) => l.filename),
      [
        null,
        null,
        "données €.bin",
        "notes.txt",
        "A very long file name that goes on and on ".repeat(3) + "Ünïcödé.pdf",
      ],
    );
    assertEquals(theirs[4]!.leaves.map((l) => [l.type, atob(l.content).length]), [
      ["text/plain", 15],
      ["text/html", 42],
      ["image/png", 100],
      ["application/octet-stream", 100007],
    ]);
  },
});
