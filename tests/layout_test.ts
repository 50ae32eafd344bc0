/**
 * Rules about the tree itself: the runtime's Node layer is used in one file
 * only (server-side STARTTLS), and the library imports nothing from outside
 * the repository (`@std/assert` is for tests and doc examples); the tree
 * is formatted and lint-clean.
 */
import { assertEquals } from "./_helpers/assert.ts";

const root = new URL("..", import.meta.url);
const LIBRARY_DIRS = ["net", "http", "mail", "url", "cli"];
const IMPORT_REGEXP =
  /(?:^|\n)\s*(?:import|export)\b[^;]*?\bfrom\s*["']([^"']+)["']|\bimport\(\s*["']([^"']+)["']\s*\)/g;

async function librarySources(): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  out.set("mod.ts", await Deno.readTextFile(new URL("mod.ts", root)));
  const walk = async (dir: string) => {
    for await (const entry of Deno.readDir(new URL(dir, root))) {
      const path = `${dir}/${entry.name}`;
      if (entry.isDirectory) await walk(path);
      else if (entry.name.endsWith(".ts")) {
        out.set(path, await Deno.readTextFile(new URL(path, root)));
      }
    }
  };
  for (const dir of LIBRARY_DIRS) await walk(dir);
  return out;
}

/** The specifiers a module imports, code only (doc examples in comments are skipped). */
function importsOf(source: string): string[] {
  const code = source.replace(/\/\*[\s\S]*?\*\//g, "").replace(/^\s*\/\/.*$/gm, "");
  return [...code.matchAll(IMPORT_REGEXP)].map((m) => m[1] ?? m[2]!);
}

Deno.test("only net/start_tls_server.ts imports node:*", async () => {
  const users: string[] = [];
  for (const [path, source] of await librarySources()) {
    if (importsOf(source).some((s) => s.startsWith("node:"))) users.push(path);
  }
  assertEquals(users, ["net/start_tls_server.ts"]);
});

Deno.test("the library imports only files of its own (and deno.json)", async () => {
  const outside: string[] = [];
  for (const [path, source] of await librarySources()) {
    for (const specifier of importsOf(source)) {
      if (specifier.startsWith("node:") && path === "net/start_tls_server.ts") continue;
      if (!specifier.startsWith("./") && !specifier.startsWith("../")) {
        outside.push(`${path}: ${specifier}`);
      }
    }
  }
  assertEquals(outside, []);
});

Deno.test("the tree is formatted (deno fmt --check) and lint-clean (deno lint)", async () => {
  // CI runs only the test task: this keeps the two checks in it.
  for (const args of [["fmt", "--check"], ["lint"]]) {
    const out = await new Deno.Command(Deno.execPath(), {
      args,
      cwd: root,
      env: { NO_COLOR: "1" },
      stdout: "piped",
      stderr: "piped",
    }).output();
    const text = new TextDecoder().decode(out.stdout) + new TextDecoder().decode(out.stderr);
    assertEquals(out.code, 0, `deno ${args.join(" ")}:\n${text.slice(0, 4000)}`);
  }
});
