/**
 * telnetlib-example-1.py from the classic network protocols chapter: log in
 * to a Unix host over Telnet, list a directory, log out, and print the
 * session.
 *
 * ```sh
 * deno run --allow-net=127.0.0.1 cli/examples/telnet_login.ts [HOST] [PORT] [USER] [PASSWORD]
 * ```
 *
 * Defaults: 127.0.0.1, port 2323, mulder / trustno1 (the test bed's telnetd).
 *
 * @module
 */
import { TelnetClient } from "../../net/telnet_client.ts";

const [host = "127.0.0.1", port = "2323", user = "mulder", password = "trustno1"] = Deno.args;

await using telnet = await TelnetClient.connect({ hostname: host, port: Number(port) });
await telnet.readUntil("login: ");
await telnet.write(user + "\n");
await telnet.readUntil("Password: ");
await telnet.write(password + "\n");
await telnet.write("ls\n");
await telnet.write("exit\n");
console.log(await telnet.readAll());
