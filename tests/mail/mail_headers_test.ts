import { MailHeaders } from "../../mail/mail_headers.ts";
import { ProtocolError } from "../../net/protocol_error.ts";
import { assertEquals, assertThrows } from "../_helpers/assert.ts";

Deno.test("MailHeaders looks fields up case-insensitively and keeps their order", () => {
  const headers = new MailHeaders([
    { name: "Received", value: "from a" },
    ["X-Tag", "one"],
    ["received", "from b"],
    ["RECEIVED", "from c"],
  ]);
  assertEquals(headers.get("received"), "from a");
  assertEquals(headers.getAll("Received"), ["from a", "from b", "from c"]);
  assertEquals(headers.get("missing"), null);
  assertEquals(headers.getAll("missing"), []);
  assertEquals(headers.has("x-tag"), true);
  assertEquals(headers.size, 4);
  assertEquals([...headers].map(([name]) => name), ["Received", "X-Tag", "received", "RECEIVED"]);
  assertEquals(headers.fields[1], { name: "X-Tag", value: "one" });
});

Deno.test("MailHeaders typed getters decode subjects, addresses, dates and MIME fields", () => {
  const headers = new MailHeaders([
    ["Subject", "=?UTF-8?Q?Gr=C3=BC=C3=9Fe?= aus =?ISO-8859-1?Q?K=F6ln?="],
    ["From", "=?UTF-8?Q?Zo=C3=AB?= <zoe@example.test>"],
    ["To", "list: a@example.test, B <b@example.test>;, c@example.test"],
    ["Reply-To", "r@example.test"],
    ["Sender", "s@example.test"],
    ["Date", "Tue, 1 Jul 2003 10:52:37 +0200"],
    ["Message-ID", "<id@example.test>"],
    ["Content-Type", 'text/plain; charset="utf-8"; name="fallback.txt"'],
    ["Content-Disposition", "attachment; filename*=UTF-8''%E2%82%AC.txt"],
    ["Content-Transfer-Encoding", " Base64 "],
    ["X-Encoded", "=?UTF-8?B?w7xiZXI=?="],
  ]);
  assertEquals(headers.subject, "Grüße aus Köln");
  assertEquals(headers.from, [{ name: "Zoë", address: "zoe@example.test" }]);
  assertEquals(headers.to.map((a) => a.address), [
    "a@example.test",
    "b@example.test",
    "c@example.test",
  ]);
  assertEquals(headers.getAddresses("To")[0], {
    group: "list",
    members: [{ name: "", address: "a@example.test" }, { name: "B", address: "b@example.test" }],
  });
  assertEquals(headers.replyTo, [{ name: "", address: "r@example.test" }]);
  assertEquals(headers.sender, { name: "", address: "s@example.test" });
  assertEquals(headers.cc, []);
  assertEquals(headers.bcc, []);
  assertEquals(headers.date?.toISOString(), "2003-07-01T08:52:37.000Z");
  assertEquals(headers.messageId, "<id@example.test>");
  assertEquals(headers.contentType.params.charset, "utf-8");
  assertEquals(headers.contentDisposition?.value, "attachment");
  assertEquals(headers.filename, "€.txt");
  assertEquals(headers.transferEncoding, "base64");
  assertEquals(headers.getText("X-Encoded"), "über");
  assertEquals(headers.getText("X-Missing"), null);
  const bare = new MailHeaders([["Content-Type", "image/png; name=logo.png"]]);
  assertEquals([bare.filename, bare.transferEncoding, bare.contentDisposition], [
    "logo.png",
    "7bit",
    null,
  ]);
  assertEquals(new MailHeaders().subject, null);
  assertEquals(new MailHeaders([["Date", "garbage"]]).date, null);
});

Deno.test("MailHeaders refuses duplicated single-instance fields and malformed addresses", () => {
  for (const name of ["From", "To", "Cc", "Subject", "Date", "Message-ID", "Reply-To", "Sender"]) {
    const headers = new MailHeaders([[name, "a@example.test"], [
      name.toUpperCase(),
      "b@example.test",
    ]]);
    const read = () => {
      switch (name) {
        case "From":
          return headers.from;
        case "To":
          return headers.to;
        case "Cc":
          return headers.cc;
        case "Subject":
          return headers.subject;
        case "Date":
          return headers.date;
        case "Message-ID":
          return headers.messageId;
        case "Reply-To":
          return headers.replyTo;
        default:
          return headers.sender;
      }
    };
    assertEquals(assertThrows(read, ProtocolError).code, "DUPLICATE_FIELD", name);
  }
  const bad = new MailHeaders([["To", "good@x.test)<evil@a.test>"]]);
  assertEquals(assertThrows(() => bad.to, ProtocolError).code, "BAD_ADDRESS");
  // Fields that may repeat are read from the first one.
  assertEquals(
    new MailHeaders([["Resent-To", "a@x.test"], ["Resent-To", "b@x.test"]]).getAddresses(
      "Resent-To",
    ),
    [
      { name: "", address: "a@x.test" },
    ],
  );
});
