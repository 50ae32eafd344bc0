/**
 * Bounded menu-line reading for Gopher: over-long lines are skipped without
 * being buffered, a last line without LF at the end of the stream counts,
 * and the bytes of the whole menu are capped.
 *
 * @module
 */
import type { BufferedReader } from "./buffered_reader.ts";
import { ProtocolError } from "./protocol_error.ts";

const CR = 13;
const LF = 10;

/** One line: its bytes without the line end, or `null` when it was too long and skipped. */
export interface MenuLine {
  line: Uint8Array | null;
  /** The bytes the line took on the wire, line end included. */
  size: number;
}

export function menuTooLarge(max: number): ProtocolError {
  return new ProtocolError("MENU_TOO_LARGE", `Cannot read gopher menu: it exceeds ${max} bytes`);
}

/**
 * Reads the next line. `budget` is how many more bytes the menu may take;
 * going past it throws `"MENU_TOO_LARGE"` (reported with `max`). Returns
 * `null` at the end of the stream.
 */
export async function readMenuLine(
  reader: BufferedReader,
  maxLength: number,
  budget: number,
  max: number,
): Promise<MenuLine | null> {
  let skipping = false;
  let size = 0;
  for (;;) {
    const view = reader.peekBuffered();
    const lf = view.indexOf(LF);
    if (lf >= 0) {
      const total = size + lf + 1;
      if (total > budget) throw menuTooLarge(max);
      const end = lf > 0 && view[lf - 1] === CR ? lf - 1 : lf;
      const line = skipping || end > maxLength ? null : view.slice(0, end);
      reader.consume(lf + 1);
      return { line, size: total };
    }
    if (size + view.length > budget) throw menuTooLarge(max);
    // One byte more than maxLength may be the CR of CR LF.
    if (skipping || view.length > maxLength + 1) {
      skipping = true;
      size += view.length;
      reader.consume(view.length);
    }
    if (!(await reader.fill(maxLength + 2))) {
      const rest = reader.peekBuffered();
      if (rest.length === 0) return skipping ? { line: null, size } : null;
      const total = size + rest.length;
      if (total > budget) throw menuTooLarge(max);
      const end = rest[rest.length - 1] === CR ? rest.length - 1 : rest.length;
      const line = skipping || end > maxLength ? null : rest.slice(0, end);
      reader.consume(rest.length);
      return { line, size: total };
    }
  }
}
