/** `serve --workers N`: N processes on one port through SO_REUSEPORT. */
import { assert, assertEquals } from "../_helpers/assert.ts";

Deno.test({
  name: "serve --workers 2 listens twice on one port, answers, and stops both on SIGTERM",
  ignore: Deno.build.os !== "linux",
  async fn() {
    const dir = await Deno.makeTempDir();
    await Deno.writeTextFile(`${dir}/hello.txt`, "hello\n");
    const main = new URL("../../cli/main.ts", import.meta.url).pathname;
    const child = new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", main, "serve", dir, "--port", "0", "--workers", "2", "--quiet"],
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    try {
      const reader = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
      let text = "";
      while (!/workers on port (\d+)/.test(text)) {
        const { value, done } = await reader.read();
        if (done) break;
        text += value;
      }
      const port = Number(/workers on port (\d+)/.exec(text)![1]);
      // Both processes listen: wait for the second to bind.
      let listeners = 0;
      for (let i = 0; i < 50 && listeners < 2; i++) {
        const tcp = await Deno.readTextFile("/proc/net/tcp");
        const hex = port.toString(16).toUpperCase().padStart(4, "0");
        listeners = tcp.split("\n").filter((l) => l.includes(`:${hex} `) && / 0A /.test(l)).length;
        await new Promise((r) => setTimeout(r, 100));
      }
      assertEquals(listeners, 2);
      for (let i = 0; i < 20; i++) {
        const response = await fetch(`http://127.0.0.1:${port}/hello.txt`);
        assertEquals(await response.text(), "hello\n");
      }
      reader.releaseLock();
      child.kill("SIGTERM");
      const status = await child.status;
      assert(status.success || status.signal === "SIGTERM", JSON.stringify(status));
    } finally {
      try {
        child.kill("SIGKILL");
      } catch {
        // gone
      }
      await child.stdout.cancel().catch(() => {});
      await child.stderr.cancel().catch(() => {});
      await Deno.remove(dir, { recursive: true });
    }
  },
});
