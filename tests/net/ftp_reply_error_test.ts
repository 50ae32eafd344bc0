import { FtpReplyError, isFtpTransientError } from "../../net/ftp_reply_error.ts";
import { BufferedReader } from "../../net/buffered_reader.ts";
import { ProtocolError } from "../../net/protocol_error.ts";
import { readReply } from "../../net/reply.ts";
import { ReplyError } from "../../net/reply_error.ts";
import { assert, assertEquals, assertInstanceOf, assertRejects } from "../_helpers/assert.ts";
import { streamOf } from "../_helpers/scripted_peer.ts";

Deno.test("FtpReplyError names the command and the reply", () => {
  const error = new FtpReplyError(550, ["No such file"], { command: "RETR pub/x" });
  assertInstanceOf(error, ReplyError);
  assertInstanceOf(error, Error);
  assertEquals(error.name, "FtpReplyError");
  assertEquals(error.code, 550);
  assertEquals(error.lines, ["No such file"]);
  assertEquals(error.command, "RETR pub/x");
  assertEquals(error.message, "Cannot RETR pub/x: server replied 550 No such file");
  assertEquals([error.permanent, error.transient], [true, false]);
});

Deno.test("FtpReplyError redacts the arguments of PASS, ACCT and ADAT", () => {
  const cases: [string, string][] = [
    ["PASS trustno1", "PASS ****"],
    ["pass trustno1", "pass ****"],
    ["PASS pass word with spaces", "PASS ****"],
    ["PASS", "PASS ****"],
    ["ACCT secret", "ACCT ****"],
    ["ADAT YWJjZA==", "ADAT ****"],
    ["USER mulder", "USER mulder"],
    ["PASSIVE x", "PASSIVE x"],
  ];
  for (const [command, shown] of cases) {
    const error = new FtpReplyError(530, ["Login incorrect."], { command });
    assertEquals(error.command, shown, command);
    assertEquals(error.message, `Cannot ${shown}: server replied 530 Login incorrect.`);
    assert(!error.message.includes("trustno1"));
    assert(!error.message.includes("secret"));
  }
});

Deno.test("FtpReplyError writes multi-line replies on one line, and a message without a command", () => {
  const lines = ["Disk quota exceeded", " details follow ", "", "End"];
  const error = new FtpReplyError(452, lines);
  assertEquals(
    error.message,
    "Cannot complete FTP command: server replied 452 Disk quota exceeded details follow End",
  );
  assertEquals(error.lines, lines);
  assertEquals(error.command, undefined);
  assertEquals([error.permanent, error.transient], [false, true]);
  assertEquals(
    new FtpReplyError(421, []).message,
    "Cannot complete FTP command: server replied 421",
  );
  const cause = new Error("root");
  const custom = new FtpReplyError(500, ["x"], { message: "Custom text", cause });
  assertEquals([custom.message, custom.cause], ["Custom text", cause]);
});

Deno.test("FtpReplyError comes out of readReply() through its error option", async () => {
  const reader = new BufferedReader(streamOf(["550 Could not get file modification time.\r\n"]));
  const error = await assertRejects(
    () =>
      readReply(reader, {
        expect: 213,
        error: (code, lines) => new FtpReplyError(code, lines, { command: "MDTM nope" }),
      }),
    FtpReplyError,
  );
  assertEquals(
    error.message,
    "Cannot MDTM nope: server replied 550 Could not get file modification time.",
  );
});

Deno.test("isFtpTransientError() is true for 4xx replies only", () => {
  for (const code of [400, 421, 425, 426, 450, 451, 452, 499]) {
    assert(isFtpTransientError(new FtpReplyError(code, ["x"])), String(code));
  }
  assert(isFtpTransientError(new ReplyError(450, ["busy"])));
  for (const code of [200, 331, 500, 530, 550, 553]) {
    assert(!isFtpTransientError(new FtpReplyError(code, ["x"])), String(code));
  }
  for (
    const value of [new Error("reset"), new ProtocolError("BAD_REPLY", "x"), null, undefined, 450, {
      code: 450,
    }]
  ) {
    assert(!isFtpTransientError(value));
  }
});
