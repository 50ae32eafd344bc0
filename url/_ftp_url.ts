/**
 * `ftp:` and `ftps:` URLs as RFC 1738 §3.2 reads them:
 * `ftp://user:password@host:port/cwd1/cwd2/name;type=a|i|d`. Each path
 * segment but the last is one `CWD` (decoded, so `%2F` gives an absolute
 * path); the last names the file, or is empty for a directory listing.
 * Shared by the URL handler and the CLI.
 *
 * @module
 */
import { URLError } from "./url_error.ts";

/** The default port of `ftp:`. */
export const FTP_URL_PORT = 21;
/** The default port of `ftps:` (implicit TLS). */
export const FTPS_URL_PORT = 990;

/** What an FTP URL asks for. */
export interface FtpUrlTarget {
  /** The host, without brackets. */
  hostname: string;
  /** The port. */
  port: number;
  /** `ftps:`: implicit TLS. */
  implicitTls: boolean;
  /** The user from the URL, decoded, or `undefined`. */
  user: string | undefined;
  /** The password from the URL, decoded, or `undefined`. */
  password: string | undefined;
  /** The directories to enter, one `CWD` each, decoded. */
  dirs: string[];
  /** The file, decoded; `""` for the directory itself. */
  file: string;
  /** The `;type=` code, or `null`: `a` ASCII, `i` image, `d` a name list. */
  type: "a" | "i" | "d" | null;
}

const TYPE_REGEXP = /;type=([aid])$/i;
const UNSAFE_REGEXP = /[\r\n\0]/;

function decode(text: string, what: string): string {
  let decoded: string;
  try {
    decoded = decodeURIComponent(text);
  } catch (cause) {
    throw new URLError(`malformed ftp URL: bad percent-encoding in the ${what}`, { cause });
  }
  if (UNSAFE_REGEXP.test(decoded)) {
    throw new URLError(`malformed ftp URL: the ${what} contains CR, LF or NUL`);
  }
  return decoded;
}

/**
 * Reads an `ftp:` or `ftps:` URL.
 *
 * @throws {URLError} For another scheme, a missing host, bad
 *   percent-encoding, or CR, LF or NUL anywhere once decoded.
 */
export function parseFtpUrl(url: URL): FtpUrlTarget {
  if (url.protocol !== "ftp:" && url.protocol !== "ftps:") {
    throw new URLError(`not an ftp URL: ${url.protocol}`);
  }
  const implicitTls = url.protocol === "ftps:";
  let hostname = url.hostname;
  if (hostname.startsWith("[")) hostname = hostname.slice(1, -1);
  if (hostname === "") throw new URLError("malformed ftp URL: no host");
  const port = url.port !== "" ? Number(url.port) : implicitTls ? FTPS_URL_PORT : FTP_URL_PORT;
  let path = url.pathname;
  let type: FtpUrlTarget["type"] = null;
  const typed = TYPE_REGEXP.exec(path);
  if (typed !== null) {
    type = typed[1]!.toLowerCase() as "a" | "i" | "d";
    path = path.slice(0, typed.index);
  }
  const segments = (path.startsWith("/") ? path.slice(1) : path).split("/");
  const file = decode(segments.pop() ?? "", "path");
  const dirs = segments.map((s) => decode(s, "path"));
  return {
    hostname,
    port,
    implicitTls,
    user: url.username === "" ? undefined : decode(url.username, "user name"),
    password: url.password === "" ? undefined : decode(url.password, "password"),
    dirs,
    file,
    type,
  };
}
