/**
 * The help text of `mail list|read|watch`, apart from the code so that
 * `mail send` does not load the IMAP and POP3 clients to print its help.
 *
 * @module
 */

/** The help for the reading actions, for `cli/mail.ts` to show after its own. */
export const MAIL_READ_HELP = `Usage: inetkit mail list URL [options]
       inetkit mail read URL [options]
       inetkit mail watch URL [options]

Reads mail over IMAP or POP3. URLs in curl's style:

  imap://USER@HOST[:PORT]/MAILBOX          a mailbox (default INBOX)
  imap://USER@HOST[:PORT]/MAILBOX?UNSEEN   with SEARCH criteria (list)
  imap://USER@HOST[:PORT]/INBOX;UID=N      one message (RFC 5092; also
                                           ;UIDVALIDITY=V, ;SECTION=TEXT)
  imaps://...                              IMAP over TLS (port 993)
  pop3://USER@HOST[:PORT]/                 the maildrop
  pop3://USER@HOST[:PORT]/N                message number N
  pop3s://...                              POP3 over TLS (port 995)

  list    print one line per message: number or UID, date, from, subject
  read    print the raw message (a UID or message number in the URL)
  watch   print a line for each new message as it arrives (IMAP IDLE, or
          polling), until Ctrl-C

  --password-env VAR   read the password from the environment variable VAR
  --starttls           require STARTTLS/STLS: fail rather than log in in clear
                       (without it STARTTLS/STLS is still used when offered)
  --no-tls             stay in clear even when the server offers STARTTLS/STLS
  --cacert FILE        trust the CA certificates in this PEM file
  --insecure-auth      allow sending the password in clear to a host that is
                       not loopback (refused otherwise)
  --timeout MS         milliseconds for each command (default 60000)
  --interval S         watch: seconds between polls without IDLE (default 30)
  --count N            watch: stop after N new messages
  -v, --verbose        print the protocol dialogue to standard error
                       (passwords hidden)

TLS: STARTTLS/STLS is used whenever the server offers it, and the server's
certificate must verify (--cacert FILE for a private CA): a failed
verification is an error, never a fallback to clear text.

Exit codes: 0 done, 1 failure, 2 usage, 7 cannot connect, 8 bad server
reply, 23 cannot write the output (quiet when the reader closed the pipe),
28 timeout, 35 TLS handshake failed, 60 certificate not trusted,
64 TLS required but not available, 67 login denied (or refused in clear),
77 the --cacert file cannot be read, 78 no such mailbox or message.
`;
