/**
 * The help text of `mail serve`, apart from the servers so that other `mail`
 * actions do not load them to print their help.
 *
 * @module
 */

/** The help of `mail serve`. */
export const MAIL_SERVE_HELP = `Usage: inetkit mail serve --dir DIR --user USER:PASS [options]

Runs a local mail lab: an SMTP server that accepts mail for every recipient
and stores it in USER's INBOX (a Maildir under DIR, written with fsync before
each 250), and POP3 and IMAP servers to read it. Prints one line per
delivery and login to standard error; runs until Ctrl-C.

  --dir DIR          the Maildir root (created if missing; USER's Maildir is DIR/USER)
  --user USER:PASS   who may log in (repeatable; mail goes to the first one)
  --host ADDRESS     the address to listen on (default 127.0.0.1)
  --smtp-port N      the SMTP port (default 2025; 0 picks a free one)
  --pop3-port N      the POP3 port (default 2110)
  --imap-port N      the IMAP port (default 2143)
  --tls-cert FILE    offer STARTTLS/STLS with this PEM certificate chain;
  --tls-key FILE     ... and key; passwords are then taken only over TLS
  -h, --help         show this help
`;
