/**
 * Private nginx and lighttpd instances for the url/ interop tests: each test
 * writes its own config to a temp dir, starts the server on a free
 * 127.0.0.1 port, and stops it (by the child's own handle) when done. The
 * shared peers of ../shared/peers are left alone.
 *
 * @module
 */
import { PEERS_REQUIRED } from "../_helpers/peers.ts";

/** Whether an executable runs at all. */
export async function hasBinary(path: string, args: string[] = ["-v"]): Promise<boolean> {
  try {
    await new Deno.Command(path, { args, stdout: "null", stderr: "null" }).output();
    return true;
  } catch {
    return false;
  }
}

/**
 * Registers a test that needs `binary`: skipped with a message when it is
 * missing, failed when INETKIT_PEERS=1.
 */
export function binaryTest(name: string, binary: string, fn: () => Promise<void>): void {
  Deno.test(name, async () => {
    if (!(await hasBinary(binary))) {
      if (PEERS_REQUIRED) throw new Error(`${binary} is missing but INETKIT_PEERS=1`);
      console.warn(`skipped: ${binary} is not installed`);
      return;
    }
    await fn();
  });
}

/** A free TCP port on 127.0.0.1 (closed again; the server binds it next). */
export function freePort(): number {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (listener.addr as Deno.NetAddr).port;
  listener.close();
  return port;
}

async function waitForPort(port: number, child: Deno.ChildProcess, log: () => Promise<string>) {
  const deadline = Date.now() + 5000;
  let exited = false;
  child.status.then(() => (exited = true));
  while (Date.now() < deadline) {
    if (exited) throw new Error(`Server exited before listening: ${await log()}`);
    try {
      const conn = await Deno.connect({ hostname: "127.0.0.1", port });
      conn.close();
      return;
    } catch {
      await new Promise((r) => setTimeout(r, 25));
    }
  }
  throw new Error(`Server did not listen on ${port}: ${await log()}`);
}

/** A running server instance in its own directory. */
export interface Instance extends AsyncDisposable {
  /** Its port on 127.0.0.1. */
  port: number;
  /** Its directory (document root in `www/`). */
  dir: string;
  /** The access log so far (lighttpd buffers it: call stop() first). */
  accessLog(): Promise<string[]>;
  /** Stops the server (its files stay until disposal). */
  stop(): Promise<void>;
}

async function start(
  command: string,
  args: string[],
  dir: string,
  port: number,
  logFile: string,
  errorFile: string,
): Promise<Instance> {
  const child = new Deno.Command(command, { args, stdout: "null", stderr: "piped" }).spawn();
  const stderr = new Response(child.stderr).text();
  const readError = async () =>
    (await Deno.readTextFile(errorFile).catch(() => "")) +
    (await Promise.race([stderr, Promise.resolve("")]));
  try {
    await waitForPort(port, child, readError);
  } catch (error) {
    try {
      child.kill("SIGTERM");
    } catch {
      // already gone
    }
    await child.status;
    await stderr;
    await Deno.remove(dir, { recursive: true });
    throw error;
  }
  let stopped: Promise<void> | null = null;
  const stop = () =>
    stopped ??= (async () => {
      try {
        child.kill("SIGTERM");
      } catch {
        // already gone
      }
      await child.status;
      await stderr;
    })();
  return {
    port,
    dir,
    async accessLog() {
      const text = await Deno.readTextFile(logFile).catch(() => "");
      return text.split("\n").filter((l) => l !== "");
    },
    stop,
    async [Symbol.asyncDispose]() {
      await stop();
      await Deno.remove(dir, { recursive: true });
    },
  };
}

/** Makes a world-readable temp dir (nginx workers run as nobody). */
async function worldDir(prefix: string): Promise<string> {
  const dir = await Deno.makeTempDir({ prefix });
  await Deno.chmod(dir, 0o755);
  await Deno.mkdir(`${dir}/www`, { recursive: true });
  await Deno.mkdir(`${dir}/tmp`);
  return dir;
}

/** Writes files under `dir/www`, world-readable. */
async function writeSite(dir: string, files: Record<string, string | Uint8Array>): Promise<void> {
  for (const [path, content] of Object.entries(files)) {
    const full = `${dir}/www/${path}`;
    await Deno.mkdir(full.slice(0, full.lastIndexOf("/")), { recursive: true });
    if (typeof content === "string") await Deno.writeTextFile(full, content);
    else await Deno.writeFile(full, content);
  }
  const cmd = await new Deno.Command("chmod", { args: ["-R", "a+rX", dir] }).output();
  if (!cmd.success) throw new Error("chmod failed");
}

/**
 * Starts nginx with `server` directives (placed inside `server { }` after
 * listen and root; `$DIR` stands for the instance's directory); `files` go
 * under the document root. The access log
 * lines are `$connection $status $request "$http_authorization"`.
 */
export async function startNginx(
  serverBlock: string,
  files: Record<string, string | Uint8Array>,
  extraFiles: Record<string, string> = {},
): Promise<Instance> {
  const dir = await worldDir("inetkit-nginx-");
  await writeSite(dir, files);
  for (const [name, content] of Object.entries(extraFiles)) {
    await Deno.writeTextFile(`${dir}/${name}`, content);
    await Deno.chmod(`${dir}/${name}`, 0o644);
  }
  const port = freePort();
  const conf = `worker_processes 1;
daemon off;
pid ${dir}/nginx.pid;
error_log ${dir}/error.log notice;
events { worker_connections 256; }
http {
  log_format ik '$connection $status $request "$http_authorization"';
  access_log ${dir}/access.log ik;
  client_body_temp_path ${dir}/tmp;
  proxy_temp_path ${dir}/tmp;
  fastcgi_temp_path ${dir}/tmp;
  uwsgi_temp_path ${dir}/tmp;
  scgi_temp_path ${dir}/tmp;
  keepalive_requests 100000;
  server {
    listen 127.0.0.1:${port};
    root ${dir}/www;
${serverBlock.replaceAll("$DIR", dir)}
  }
}
`;
  await Deno.writeTextFile(`${dir}/nginx.conf`, conf);
  return await start(
    "nginx",
    ["-c", `${dir}/nginx.conf`, "-p", dir],
    dir,
    port,
    `${dir}/access.log`,
    `${dir}/error.log`,
  );
}

/** Starts lighttpd with extra config lines; `files` go under the document root. */
export async function startLighttpd(
  config: string,
  files: Record<string, string | Uint8Array>,
  extraFiles: Record<string, string> = {},
): Promise<Instance> {
  const dir = await worldDir("inetkit-lighttpd-");
  await writeSite(dir, files);
  for (const [name, content] of Object.entries(extraFiles)) {
    await Deno.writeTextFile(`${dir}/${name}`, content);
  }
  const port = freePort();
  const conf = `server.modules = ( "mod_auth", "mod_authn_file", "mod_accesslog" )
server.bind = "127.0.0.1"
server.port = ${port}
server.document-root = "${dir}/www"
server.errorlog = "${dir}/error.log"
accesslog.filename = "${dir}/access.log"
accesslog.format = "%s %r \\"%{Authorization}i\\""
index-file.names = ( "index.html" )
${config.replaceAll("$DIR", dir)}
`;
  await Deno.writeTextFile(`${dir}/lighttpd.conf`, conf);
  return await start(
    "lighttpd",
    ["-D", "-f", `${dir}/lighttpd.conf`],
    dir,
    port,
    `${dir}/access.log`,
    `${dir}/error.log`,
  );
}
