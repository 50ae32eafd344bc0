/**
 * Head limits from the public options.
 *
 * @module
 */
import type { HeadLimits } from "./_head_parser.ts";

/** The request-head limit options (the public option types have these fields). */
export interface RequestLimitOptions {
  maxRequestLineSize?: number;
  maxHeaderSize?: number;
  maxHeaderCount?: number;
}

/** The response-head limit options (the public option types have these fields). */
export interface ResponseLimitOptions {
  maxLineLength?: number;
  maxHeaderSize?: number;
  maxHeaderCount?: number;
}

/** The limits a server applies, from its options. */
export function requestLimits(options: RequestLimitOptions): HeadLimits {
  const maxHeaderBytes = positive(options.maxHeaderSize ?? 16384, "maxHeaderSize");
  return {
    maxStartLine: positive(options.maxRequestLineSize ?? 8192, "maxRequestLineSize"),
    maxHeaderBytes,
    maxFields: positive(options.maxHeaderCount ?? 100, "maxHeaderCount"),
    maxFieldLine: maxHeaderBytes,
    bareLf: false,
    unfold: false,
  };
}

function positive(n: number, name: string): number {
  if (!Number.isSafeInteger(n) || n < 1) {
    throw new RangeError(`Cannot use ${name} ${n}: not a positive integer`);
  }
  return n;
}

/** The limits a client applies, from its options. */
export function responseLimits(options: ResponseLimitOptions): HeadLimits {
  const line = options.maxLineLength ?? 65536;
  const size = options.maxHeaderSize ?? 262144;
  const count = options.maxHeaderCount ?? 1000;
  for (
    const [n, name] of [[line, "maxLineLength"], [size, "maxHeaderSize"], [
      count,
      "maxHeaderCount",
    ]] as const
  ) {
    if (!Number.isSafeInteger(n) || n < 1) {
      throw new RangeError(`Cannot use ${name} ${n}: not a positive integer`);
    }
  }
  return {
    maxStartLine: line,
    maxHeaderBytes: size,
    maxFields: count,
    maxFieldLine: line,
    bareLf: true,
    unfold: true,
  };
}
