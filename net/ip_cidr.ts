/**
 * An address range in CIDR notation (`169.254.0.0/16`, `fe80::/10`, or a
 * single address), and what it matches. IPv4-mapped IPv6 addresses
 * (`::ffff:169.254.1.1`) match the IPv4 ranges, so that a mapped form
 * cannot slip past an IPv4 rule.
 *
 * @example Metadata addresses
 * ```ts
 * import { IpCidr } from "@inetkit/inetkit/net";
 * import { assert } from "@std/assert";
 *
 * const linkLocal = IpCidr.parse("169.254.0.0/16");
 * assert(linkLocal.contains("169.254.169.254"));
 * assert(linkLocal.contains("::ffff:169.254.169.254"));
 * assert(!linkLocal.contains("127.0.0.1"));
 * ```
 */
export class IpCidr {
  readonly #bytes: Uint8Array;
  readonly #bits: number;
  readonly #text: string;

  private constructor(bytes: Uint8Array, bits: number, text: string) {
    this.#bytes = bytes;
    this.#bits = bits;
    this.#text = text;
  }

  /**
   * Parses `address/bits` or a single address.
   *
   * @param text The range.
   * @returns The range.
   * @throws {TypeError} If it is not an IPv4 or IPv6 address with an optional prefix length.
   */
  static parse(text: string): IpCidr {
    const slash = text.indexOf("/");
    const address = slash < 0 ? text : text.slice(0, slash);
    const bytes = parseIp(address);
    if (bytes === null) throw new TypeError(`Cannot parse address range ${JSON.stringify(text)}`);
    const max = bytes.length * 8;
    let bits = max;
    if (slash >= 0) {
      const prefix = text.slice(slash + 1);
      if (!/^\d{1,3}$/.test(prefix) || Number(prefix) > max) {
        throw new TypeError(
          `Cannot parse address range ${JSON.stringify(text)}: bad prefix length`,
        );
      }
      bits = Number(prefix);
    }
    return new IpCidr(bytes, bits, text);
  }

  /**
   * Whether an address is in the range.
   *
   * @param address An IPv4 or IPv6 address (brackets allowed); anything else
   *   (a host name) is not contained.
   * @returns True when it is.
   */
  contains(address: string): boolean {
    let bytes = parseIp(address.replace(/^\[|\]$/g, ""));
    if (bytes === null) return false;
    if (bytes.length === 16 && this.#bytes.length === 4 && isMappedV4(bytes)) {
      bytes = bytes.subarray(12);
    }
    if (bytes.length !== this.#bytes.length) return false;
    let bits = this.#bits;
    for (let i = 0; bits > 0; i++, bits -= 8) {
      const mask = bits >= 8 ? 0xff : (0xff << (8 - bits)) & 0xff;
      if ((bytes[i]! & mask) !== (this.#bytes[i]! & mask)) return false;
    }
    return true;
  }

  /** The range as written. */
  toString(): string {
    return this.#text;
  }
}

/**
 * Whether a string is an IPv4 or IPv6 address literal (not a host name).
 *
 * @param text The host.
 * @returns True for an address.
 *
 * @example
 * ```ts
 * import { isIpAddress } from "@inetkit/inetkit/net";
 * import { assert } from "@std/assert";
 *
 * assert(isIpAddress("10.0.0.1") && isIpAddress("::1") && !isIpAddress("example.test"));
 * ```
 */
export function isIpAddress(text: string): boolean {
  return parseIp(text.replace(/^\[|\]$/g, "")) !== null;
}

function isMappedV4(bytes: Uint8Array): boolean {
  for (let i = 0; i < 10; i++) if (bytes[i] !== 0) return false;
  return bytes[10] === 0xff && bytes[11] === 0xff;
}

function parseV4(text: string): Uint8Array | null {
  const parts = text.split(".");
  if (parts.length !== 4) return null;
  const out = new Uint8Array(4);
  for (let i = 0; i < 4; i++) {
    const part = parts[i]!;
    if (!/^(0|[1-9]\d{0,2})$/.test(part) || Number(part) > 255) return null;
    out[i] = Number(part);
  }
  return out;
}

function parseIp(text: string): Uint8Array | null {
  if (!text.includes(":")) return parseV4(text);
  const zone = text.indexOf("%");
  if (zone >= 0) text = text.slice(0, zone);
  const halves = text.split("::");
  if (halves.length > 2) return null;
  const groups = (half: string): number[] | null => {
    if (half === "") return [];
    const out: number[] = [];
    const parts = half.split(":");
    for (let i = 0; i < parts.length; i++) {
      const part = parts[i]!;
      if (i === parts.length - 1 && part.includes(".")) {
        const v4 = parseV4(part);
        if (v4 === null) return null;
        out.push((v4[0]! << 8) | v4[1]!, (v4[2]! << 8) | v4[3]!);
      } else if (/^[0-9a-fA-F]{1,4}$/.test(part)) {
        out.push(parseInt(part, 16));
      } else {
        return null;
      }
    }
    return out;
  };
  const head = groups(halves[0]!);
  const tail = halves.length === 2 ? groups(halves[1]!) : [];
  if (head === null || tail === null) return null;
  const missing = 8 - head.length - tail.length;
  if (halves.length === 2 ? missing < 1 : missing !== 0) return null;
  const all = [...head, ...new Array(halves.length === 2 ? missing : 0).fill(0), ...tail];
  const out = new Uint8Array(16);
  all.forEach((g, i) => {
    out[i * 2] = g >> 8;
    out[i * 2 + 1] = g & 0xff;
  });
  return out;
}
