/**
 * `deno task bench`: runs every benchmark script in this folder (each a
 * standalone `deno run -A` program printing its own table of ratios), one
 * after another so they do not compete for the two cores.
 *
 * Run one: deno task bench time_server
 *
 * @module
 */
const dir = new URL(".", import.meta.url).pathname;
const only = new Set(Deno.args.filter((a) => !a.startsWith("-")));
const names: string[] = [];
for await (const entry of Deno.readDir(dir)) {
  const name = entry.name.replace(/\.ts$/, "");
  if (!entry.isFile || !entry.name.endsWith(".ts") || name === "main" || name.startsWith("_")) {
    continue;
  }
  if (only.size === 0 || only.has(name)) names.push(name);
}
names.sort();
let failed = 0;
for (const name of names) {
  console.log(`\n=== ${name} ===`);
  const { code } = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", "--unstable-net", `${dir}${name}.ts`],
    stdout: "inherit",
    stderr: "inherit",
  }).output();
  if (code !== 0) {
    failed++;
    console.log(`${name} exited with ${code}`);
  }
}
Deno.exit(failed === 0 ? 0 : 1);
