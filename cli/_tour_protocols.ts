/**
 * The tour's FTP, mail and news stops: inetkit's own servers (an FTP server
 * over an in-memory tree, the mail lab with SMTP, POP3 and IMAP on one
 * store, a news server over a spool) with inetkit's clients against them.
 * Each stop has the shape of `cli/tour.ts`'s `Stop`.
 *
 * @module
 */
import { FtpClient } from "../net/ftp_client.ts";
import { FtpServer } from "../net/ftp_server.ts";
import { MemoryFtpFileSystem } from "../net/memory_ftp_file_system.ts";
import { ImapClient } from "../mail/imap_client.ts";
import { MailLab } from "../mail/mail_lab.ts";
import { MemoryMailStore } from "../mail/memory_mail_store.ts";
import { NewsSpool } from "../mail/news_spool.ts";
import { NntpClient } from "../mail/nntp_client.ts";
import { NntpServer } from "../mail/nntp_server.ts";
import { Pop3Client } from "../mail/pop3_client.ts";
import { sendMail } from "../mail/send_mail.ts";
import type { CommandIo } from "./_command.ts";
import type { TourStop } from "./_tour_telnet_gopher.ts";

const USER = "mulder";
const PASSWORD = "trustno1";

async function text(stream: ReadableStream<Uint8Array>): Promise<string> {
  return await new Response(stream).text();
}

/** The FTP, mail and news stops, in order. */
export const PROTOCOL_TOUR_STOPS: TourStop[] = [
  {
    title: "FTP server and client (net/ftp_server.ts, net/ftp_client.ts)",
    async run(io: CommandIo) {
      const fileSystem = new MemoryFtpFileSystem({
        "/pub/hello.txt": "hello, world\n",
        "/pub/readme.txt": "The truth is out there.\n",
      });
      const server = new FtpServer({
        fileSystem,
        users: [{ user: USER, password: PASSWORD }],
        write: true,
        failureDelay: 0,
      });
      io.out(`  FtpServer listening on 127.0.0.1:${server.addr.port} (an in-memory tree)\n`);
      await using ftp = await FtpClient.connect({ port: server.addr.port, tls: false });
      await ftp.login(USER, PASSWORD);
      io.out(`  greeting ${JSON.stringify(ftp.greeting?.join(" "))}, logged in as ${USER}\n`);
      for (const entry of await ftp.list("/pub")) {
        io.out(`  LIST /pub: ${entry.type} ${entry.name} ${entry.size} bytes\n`);
      }
      io.out(
        `  RETR /pub/hello.txt: ${
          JSON.stringify(await text(await ftp.download("/pub/hello.txt")))
        }\n`,
      );
      await ftp.upload("/pub/upload.txt", "stored by FtpClient\n");
      io.out(`  STOR /pub/upload.txt, SIZE -> ${await ftp.size("/pub/upload.txt")}\n`);
      io.out(
        `  RETR it back: ${JSON.stringify(await text(await ftp.download("/pub/upload.txt")))}\n`,
      );
      await ftp.quit();
      return [server];
    },
  },
  {
    title: "Mail lab: SMTP, POP3 and IMAP on one store (mail/mail_lab.ts and the clients)",
    async run(io: CommandIo) {
      const lab = new MailLab({
        users: { users: { [USER]: PASSWORD } },
        store: new MemoryMailStore(),
        catchAll: USER,
        authFailureDelay: 0,
      });
      io.out(
        `  MailLab: SMTP ${lab.smtp.addr.port}, POP3 ${lab.pop3.addr.port}, ` +
          `IMAP ${lab.imap.addr.port} on 127.0.0.1\n`,
      );
      await using imap = await ImapClient.connect({
        port: lab.imap.addr.port,
        credentials: { username: USER, password: PASSWORD },
      });
      const inbox = await imap.select("INBOX");
      io.out(`  ImapClient: INBOX has ${inbox.exists} messages; IDLE waits for mail\n`);
      const idle = imap.idle();
      const result = await sendMail({
        from: "scully@example.test",
        to: "mulder@example.test",
        subject: "The truth",
        text: "is out there.",
      }, { port: lab.smtp.addr.port });
      io.out(`  sendMail over SMTP: accepted ${result.accepted.join(", ")}\n`);
      for await (const event of idle) {
        if (event.kind === "exists") {
          io.out(`  IDLE saw it arrive: * ${event.count} EXISTS\n`);
          break;
        }
      }
      await idle.stop();
      const [fetched] = await imap.fetch("*", ["UID", "ENVELOPE"]);
      io.out(`  FETCH ENVELOPE: subject ${JSON.stringify(fetched?.envelope?.subject)}\n`);
      await imap.logout();
      await using pop = await Pop3Client.connect({
        port: lab.pop3.addr.port,
        credentials: { username: USER, password: PASSWORD },
      });
      const { count, size } = await pop.stat();
      io.out(`  Pop3Client STAT: ${count} message, ${size} octets\n`);
      const message = await text(await pop.retr(1));
      const subject = /^Subject: (.*)$/m.exec(message)?.[1];
      io.out(`  RETR 1: ${message.length} octets, Subject: ${subject}\n`);
      await pop.quit();
      return [lab];
    },
  },
  {
    title: "News server and client (mail/nntp_server.ts, mail/nntp_client.ts)",
    async run(io: CommandIo) {
      const dir = await Deno.makeTempDir({ prefix: "inetkit-tour-news-" });
      const spool = await NewsSpool.open(dir, {
        groups: [{ name: "comp.lang.deno", description: "The tour's group" }],
        durable: false,
      });
      const server = new NntpServer({ spool, allowPosting: true, port: 0 });
      io.out(`  NntpServer listening on 127.0.0.1:${server.addr.port} (comp.lang.deno)\n`);
      await using news = await NntpClient.connect({ port: server.addr.port });
      for (const subject of ["First post", "Re: First post"]) {
        const posted = await news.post(
          "From: mulder@example.test\r\nNewsgroups: comp.lang.deno\r\n" +
            `Subject: ${subject}\r\n\r\nThe truth is out there.\r\n`,
        );
        io.out(`  POST ${JSON.stringify(subject)}: ${posted.messageId}\n`);
      }
      const group = await news.group("comp.lang.deno");
      io.out(`  GROUP: ${group.count} articles, ${group.low}-${group.high}\n`);
      for (const over of await (await news.over({ from: group.low, to: group.high })).toArray()) {
        io.out(`  OVER ${over.number}: ${over.subject} (${over.from})\n`);
      }
      const article = await news.article(group.low);
      io.out(
        `  ARTICLE ${group.low}: ${JSON.stringify((await article.text()).split("\r\n\r\n")[1])}\n`,
      );
      await news.quit();
      return [{
        async [Symbol.asyncDispose]() {
          await server.shutdown();
          await spool.close();
          await Deno.remove(dir, { recursive: true });
        },
      }];
    },
  },
];
