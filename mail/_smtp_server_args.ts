/**
 * Private parsing of what an SMTP client sends a server: the paths and
 * parameters of `MAIL FROM` and `RCPT TO` (RFC 5321 §4.1.2, §4.1.1.11),
 * their ESMTP parameters (SIZE, BODY, SMTPUTF8, RET, ENVID, AUTH, NOTIFY,
 * ORCPT), xtext (RFC 3461 §4), the `EHLO` argument and the `BDAT` line.
 * Every failure is a ready reply: code, enhanced code, text.
 *
 * @module
 */

/** A reply the session sends for a refused argument. */
export interface SmtpArgReply {
  code: number;
  enhanced: string;
  text: string;
}

/** A parsed `MAIL FROM`. */
export interface MailFromArgs {
  from: string;
  size?: number;
  body?: "7BIT" | "8BITMIME";
  smtputf8: boolean;
  dsnReturn?: "FULL" | "HDRS";
  envelopeId?: string;
}

/** A parsed `RCPT TO`. */
export interface RcptToArgs {
  to: string;
  notify?: ("NEVER" | "SUCCESS" | "FAILURE" | "DELAY")[];
  originalRecipient?: string;
}

/** RFC 5321 §4.5.3.1.3: a path is at most 256 octets, angle brackets included. */
const MAX_PATH = 256;
const ATEXT_REGEXP = /^[A-Za-z0-9!#$%&'*+\/=?^_`{|}~.-]+$/;
const ATEXT_UTF8_REGEXP = /^(?:[A-Za-z0-9!#$%&'*+\/=?^_`{|}~.-]|\P{ASCII})+$/u;
const DOMAIN_REGEXP =
  /^[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)*\.?$/;
const DOMAIN_UTF8_REGEXP = /^(?:[A-Za-z0-9-]|\P{ASCII})+(?:\.(?:[A-Za-z0-9-]|\P{ASCII})+)*\.?$/u;
const LITERAL_REGEXP = /^\[[\x21-\x5a\x5e-\x7e]+\]$/;
const KEYWORD_REGEXP = /^[A-Za-z0-9][A-Za-z0-9-]*$/;
// deno-lint-ignore no-control-regex
const VALUE_REGEXP = /^[^=\x00-\x20\x7f]+$/;
const NON_ASCII_REGEXP = /\P{ASCII}/u;
const encoder = new TextEncoder();
const fatalDecoder = new TextDecoder("utf-8", { fatal: true });

function reply(code: number, enhanced: string, text: string): SmtpArgReply {
  return { code, enhanced, text };
}

/** Whether a string has characters beyond ASCII. */
export function hasNonAscii(text: string): boolean {
  return NON_ASCII_REGEXP.test(text);
}

/**
 * Splits `<path> params` (what follows `FROM:` or `TO:`) into the path
 * without brackets and the parameter words. Spaces after the colon and a
 * path without brackets are tolerated, as Postfix does.
 */
function splitPath(rest: string): { path: string; bracketed: boolean; params: string[] } | null {
  const text = rest.replace(/^ +/, "");
  if (!text.startsWith("<")) {
    const [path = "", ...params] = text.split(/ +/).filter((w) => w !== "");
    return path === "" ? null : { path, bracketed: false, params };
  }
  let i = 1;
  let quoted = false;
  for (; i < text.length; i++) {
    const c = text[i];
    if (quoted) {
      if (c === "\\") i++;
      else if (c === '"') quoted = false;
    } else if (c === '"') quoted = true;
    else if (c === ">") break;
    else if (c === "<") return null;
  }
  if (i >= text.length) return null;
  const after = text.slice(i + 1);
  if (after !== "" && !after.startsWith(" ")) return null;
  return {
    path: text.slice(1, i),
    bracketed: true,
    params: after.split(/ +/).filter((w) => w !== ""),
  };
}

/**
 * Checks a mailbox `local@domain` (or the bare `postmaster` for RCPT) and
 * strips an obsolete source route (`@a,@b:user@c`). Returns the address or
 * null when malformed.
 */
function checkMailbox(path: string, utf8: boolean, allowBarePostmaster: boolean): string | null {
  let address = path;
  if (address.startsWith("@")) {
    const colon = address.indexOf(":");
    if (colon < 0) return null;
    address = address.slice(colon + 1);
  }
  if (allowBarePostmaster && address.toLowerCase() === "postmaster") return address;
  let local: string;
  let domain: string;
  if (address.startsWith('"')) {
    let i = 1;
    for (; i < address.length; i++) {
      const c = address[i];
      if (c === "\\") i++;
      else if (c === '"') break;
    }
    if (i >= address.length || address[i + 1] !== "@") return null;
    local = address.slice(0, i + 1);
    // deno-lint-ignore no-control-regex
    if (/[\x00-\x1f\x7f]/.test(local)) return null;
    domain = address.slice(i + 2);
  } else {
    const at = address.lastIndexOf("@");
    if (at <= 0) return null;
    local = address.slice(0, at);
    domain = address.slice(at + 1);
    if (!(utf8 ? ATEXT_UTF8_REGEXP : ATEXT_REGEXP).test(local)) return null;
  }
  if (domain === "") return null;
  if (!LITERAL_REGEXP.test(domain) && !(utf8 ? DOMAIN_UTF8_REGEXP : DOMAIN_REGEXP).test(domain)) {
    return null;
  }
  return address;
}

/** Parses `name=value` words, refusing unknown forms and repeats. */
function parseParams(words: string[]): Map<string, string | true> | SmtpArgReply {
  const params = new Map<string, string | true>();
  for (const word of words) {
    const eq = word.indexOf("=");
    const name = (eq < 0 ? word : word.slice(0, eq)).toUpperCase();
    const value = eq < 0 ? true : word.slice(eq + 1);
    if (!KEYWORD_REGEXP.test(name) || (value !== true && !VALUE_REGEXP.test(value))) {
      return reply(501, "5.5.4", `Syntax error in parameter ${printable(word)}`);
    }
    if (params.has(name)) return reply(501, "5.5.4", `Duplicate parameter ${name}`);
    params.set(name, value);
  }
  return params;
}

/**
 * Decodes xtext (RFC 3461 §4): `+HH` for octets, otherwise printable
 * ASCII without `+` and `=`; the decoded octets as UTF-8. Null when malformed.
 */
export function decodeXtext(value: string): string | null {
  const bytes: number[] = [];
  for (let i = 0; i < value.length; i++) {
    const c = value.charCodeAt(i);
    if (c === 43) {
      const hex = value.slice(i + 1, i + 3);
      if (!/^[0-9A-F]{2}$/.test(hex)) return null;
      bytes.push(parseInt(hex, 16));
      i += 2;
    } else if (c >= 33 && c <= 126 && c !== 61) {
      bytes.push(c);
    } else {
      return null;
    }
  }
  try {
    return fatalDecoder.decode(new Uint8Array(bytes));
  } catch {
    return null;
  }
}

/**
 * Parses what follows `MAIL` (`FROM:<path> params`).
 *
 * @param rest The text after the verb and one space.
 * @param maxSize The server's size limit, for `SIZE=`.
 */
export function parseMailFrom(rest: string, maxSize: number): MailFromArgs | SmtpArgReply {
  if (!/^from:/i.test(rest)) return reply(501, "5.5.4", "Syntax: MAIL FROM:<address>");
  const split = splitPath(rest.slice(5));
  if (split === null) return reply(501, "5.5.4", "Syntax: MAIL FROM:<address>");
  const params = parseParams(split.params);
  if (!(params instanceof Map)) return params;
  const smtputf8 = params.get("SMTPUTF8");
  if (smtputf8 !== undefined && smtputf8 !== true) {
    return reply(501, "5.5.4", "Syntax: SMTPUTF8 takes no value");
  }
  const utf8 = smtputf8 === true;
  const args: MailFromArgs = { from: "", smtputf8: utf8 };
  if (split.path !== "" || !split.bracketed) {
    if (encoder.encode(split.path).length + 2 > MAX_PATH) {
      return reply(501, "5.1.7", "Sender address too long");
    }
    if (!utf8 && hasNonAscii(split.path)) {
      return reply(553, "5.6.7", "Non-ASCII sender address needs SMTPUTF8");
    }
    const address = checkMailbox(split.path, utf8, false);
    if (address === null) return reply(501, "5.1.7", "Bad sender address syntax");
    args.from = address;
  }
  for (const [name, value] of params) {
    switch (name) {
      case "SMTPUTF8":
        break;
      case "SIZE": {
        if (value === true || !/^\d{1,20}$/.test(value)) {
          return reply(501, "5.5.4", "Syntax: SIZE=octets");
        }
        const size = Number(value);
        if (size > maxSize) {
          return reply(552, "5.3.4", "Message size exceeds fixed maximum message size");
        }
        args.size = size;
        break;
      }
      case "BODY": {
        const body = value === true ? "" : value.toUpperCase();
        if (body !== "7BIT" && body !== "8BITMIME") {
          return reply(555, "5.5.4", `Unsupported BODY type ${printable(String(value))}`);
        }
        args.body = body;
        break;
      }
      case "RET": {
        const ret = value === true ? "" : value.toUpperCase();
        if (ret !== "FULL" && ret !== "HDRS") return reply(501, "5.5.4", "Syntax: RET=FULL|HDRS");
        args.dsnReturn = ret;
        break;
      }
      case "ENVID": {
        const id = value === true || value.length > 100 ? null : decodeXtext(value);
        if (id === null) return reply(501, "5.5.4", "Syntax: ENVID=xtext");
        args.envelopeId = id;
        break;
      }
      case "AUTH": {
        // RFC 4954 §5: the submitter's identity; accepted and not trusted.
        if (value === true || decodeXtext(value) === null) {
          return reply(501, "5.5.4", "Syntax: AUTH=xtext");
        }
        break;
      }
      default:
        return reply(555, "5.5.4", `Unsupported parameter ${name}`);
    }
  }
  return args;
}

/**
 * Parses what follows `RCPT` (`TO:<path> params`).
 *
 * @param rest The text after the verb and one space.
 * @param utf8 Whether the transaction's `MAIL FROM` had `SMTPUTF8`.
 */
export function parseRcptTo(rest: string, utf8: boolean): RcptToArgs | SmtpArgReply {
  if (!/^to:/i.test(rest)) return reply(501, "5.5.4", "Syntax: RCPT TO:<address>");
  const split = splitPath(rest.slice(3));
  if (split === null || split.path === "") {
    return reply(501, "5.5.4", "Syntax: RCPT TO:<address>");
  }
  if (encoder.encode(split.path).length + 2 > MAX_PATH) {
    return reply(501, "5.1.3", "Recipient address too long");
  }
  if (!utf8 && hasNonAscii(split.path)) {
    return reply(553, "5.6.7", "Non-ASCII recipient address needs SMTPUTF8");
  }
  const address = checkMailbox(split.path, utf8, true);
  if (address === null) return reply(501, "5.1.3", "Bad recipient address syntax");
  const params = parseParams(split.params);
  if (!(params instanceof Map)) return params;
  const args: RcptToArgs = { to: address };
  for (const [name, value] of params) {
    switch (name) {
      case "NOTIFY": {
        const list = value === true ? [""] : value.toUpperCase().split(",");
        const allowed = new Set(["NEVER", "SUCCESS", "FAILURE", "DELAY"]);
        if (
          list.some((v) => !allowed.has(v)) || new Set(list).size !== list.length ||
          (list.includes("NEVER") && list.length > 1)
        ) {
          return reply(501, "5.5.4", "Syntax: NOTIFY=NEVER|SUCCESS,FAILURE,DELAY");
        }
        args.notify = list as RcptToArgs["notify"];
        break;
      }
      case "ORCPT": {
        const semi = value === true ? -1 : value.indexOf(";");
        const decoded = value === true || semi <= 0 || value.length > 500
          ? null
          : decodeXtext(value.slice(semi + 1));
        if (value === true || decoded === null || !/^[A-Za-z0-9-]+$/.test(value.slice(0, semi))) {
          return reply(501, "5.5.4", "Syntax: ORCPT=addr-type;xtext");
        }
        args.originalRecipient = `${value.slice(0, semi)};${decoded}`;
        break;
      }
      default:
        return reply(555, "5.5.4", `Unsupported parameter ${name}`);
    }
  }
  return args;
}

/**
 * Checks the argument of `EHLO`/`HELO`/`LHLO`: one word of printable
 * ASCII (a domain or an address literal, loosely, as real clients send
 * machine names of every shape). Null when unusable.
 */
export function parseHelo(rest: string): string | null {
  const word = rest.trim();
  if (word === "" || !/^[\x21-\x7e]+$/.test(word)) return null;
  return word;
}

/** A parsed `BDAT` line (RFC 3030 §2). */
export interface BdatArgs {
  size: number;
  last: boolean;
}

/** Parses what follows `BDAT`; null when the chunk size cannot be known. */
export function parseBdat(rest: string): BdatArgs | null {
  const match = /^(\d{1,15})(?: +(LAST))? *$/i.exec(rest);
  if (match === null) return null;
  return { size: Number(match[1]), last: match[2] !== undefined };
}

/**
 * Makes text safe for one log line or a reply: control characters and
 * DEL as `\xHH`, at most `max` characters.
 */
export function printable(text: string, max = 200): string {
  // deno-lint-ignore no-control-regex
  const safe = text.replace(/[\x00-\x1f\x7f]/g, (c) => {
    return `\\x${c.charCodeAt(0).toString(16).padStart(2, "0")}`;
  });
  return safe.length > max ? `${safe.slice(0, max)}...` : safe;
}
