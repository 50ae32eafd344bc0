import { resolveFtpPath } from "../../net/_ftp_path.ts";
import { assertEquals, assertThrows } from "../_helpers/assert.ts";

Deno.test("resolveFtpPath() resolves arguments against the working directory", () => {
  const cases: [string, string, string][] = [
    ["/", "", "/"],
    ["/", ".", "/"],
    ["/", "/", "/"],
    ["/", "pub", "/pub"],
    ["/", "pub/", "/pub"],
    ["/", "pub//hello.txt", "/pub/hello.txt"],
    ["/", "//pub///x//", "/pub/x"],
    ["/pub", "", "/pub"],
    ["/pub", "hello.txt", "/pub/hello.txt"],
    ["/pub", "./hello.txt", "/pub/hello.txt"],
    ["/pub", "..", "/"],
    ["/pub", "../upload", "/upload"],
    ["/pub", "/upload", "/upload"],
    ["/pub", "a/../b", "/pub/b"],
    ["/pub/a/b", "../../c", "/pub/c"],
    ["/pub", "a/./b/.", "/pub/a/b"],
    ["/pub/", "x", "/pub/x"],
    ["//pub//", "x", "/pub/x"],
    ["/pub", "...", "/pub/..."],
    ["/pub", "..x", "/pub/..x"],
    ["/pub", "with space", "/pub/with space"],
    ["/pub", " lead", "/pub/ lead"],
    ["/pub", "caf\u00e9", "/pub/caf\u00e9"],
    ["/pub", "a:b", "/pub/a:b"],
    ["/pub", "%2e%2e", "/pub/%2e%2e"],
    ["/pub", "~", "/pub/~"],
    ["/", "a/b/../../c", "/c"],
  ];
  for (const [cwd, argument, expected] of cases) {
    assertEquals(resolveFtpPath(cwd, argument), expected, `${cwd} + ${argument}`);
  }
});

Deno.test("resolveFtpPath() refuses paths that escape the root, not clamping them", () => {
  const cases: [string, string][] = [
    ["/", ".."],
    ["/", "../"],
    ["/", "../etc/passwd"],
    ["/", "/.."],
    ["/", "/../etc"],
    ["/pub", "../.."],
    ["/pub", "../../etc/passwd"],
    ["/pub", "/pub/../../x"],
    ["/pub/a", "../../../x"],
    ["/", "a/../../x"],
    ["/", "./../x"],
    ["/..", "x"],
  ];
  for (const [cwd, argument] of cases) {
    assertEquals(resolveFtpPath(cwd, argument), null, `${cwd} + ${argument}`);
  }
});

Deno.test("resolveFtpPath() refuses NUL, CR, LF and backslashes", () => {
  const cases: [string, string][] = [
    ["/", "x\0.txt"],
    ["/", "x\r"],
    ["/", "x\ny"],
    ["/", "a\r\nDELE b"],
    ["/", "..\\x"],
    ["/", "\\etc\\passwd"],
    ["/", "a\\b"],
    ["/pub\0", "x"],
    ["/pub\\", "x"],
  ];
  for (const [cwd, argument] of cases) {
    assertEquals(resolveFtpPath(cwd, argument), null, JSON.stringify([cwd, argument]));
  }
});

Deno.test("resolveFtpPath() requires an absolute working directory", () => {
  assertThrows(() => resolveFtpPath("pub", "x"), TypeError, "is not absolute");
  assertThrows(() => resolveFtpPath("", "x"), TypeError, "is not absolute");
});
