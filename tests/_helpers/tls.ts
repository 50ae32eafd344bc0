/**
 * A certificate for loopback TLS tests (CN=localhost, SAN localhost and
 * 127.0.0.1, signed by a throwaway test CA), made once per process with the openssl command.
 *
 * @module
 */

/**
 * A name in the test certificate besides `localhost` and 127.0.0.1: TLS
 * clients that dial 127.0.0.1 with this server name check the name against
 * the certificate, not the address.
 */
export const VERIFIED_NAME = "inetkit.test";

export interface TestCert {
  /** The server certificate (PEM), for `cert` options. */
  cert: string;
  /** Its private key (PEM). */
  key: string;
  /** The CA that signed it (PEM), for clients' `caCerts`. */
  ca: string;
}

let cached: Promise<TestCert> | null = null;

/** Returns the test certificate, creating it on first use. */
export function testCert(): Promise<TestCert> {
  cached ??= (async () => {
    const dir = await Deno.makeTempDir({ prefix: "inetkit-tls-" });
    try {
      await Deno.writeTextFile(
        `${dir}/openssl.cnf`,
        [
          "[req]",
          "distinguished_name = dn",
          "[dn]",
          "[leaf]",
          "basicConstraints = critical, CA:FALSE",
          "keyUsage = critical, digitalSignature, keyEncipherment",
          "extendedKeyUsage = serverAuth",
          "subjectAltName = DNS:localhost, DNS:inetkit.test, IP:127.0.0.1",
          "",
        ].join("\n"),
      );
      const run = async (args: string[]) => {
        const { success, stderr } = await new Deno.Command("openssl", {
          args,
          cwd: dir,
          stdout: "null",
          stderr: "piped",
        }).output();
        if (!success) throw new Error(`openssl failed: ${new TextDecoder().decode(stderr)}`);
      };
      const ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"];
      // A CA, then a leaf it signs: rustls refuses a CA certificate as the
      // server's own (CaUsedAsEndEntity).
      await run([
        "req",
        "-x509",
        ...ec,
        "-days",
        "2",
        "-subj",
        "/CN=inetkit test CA",
        "-keyout",
        "ca-key.pem",
        "-out",
        "ca.pem",
      ]);
      await run(["req", ...ec, "-subj", "/CN=localhost", "-keyout", "key.pem", "-out", "leaf.csr"]);
      await run([
        "x509",
        "-req",
        "-in",
        "leaf.csr",
        "-CA",
        "ca.pem",
        "-CAkey",
        "ca-key.pem",
        "-CAcreateserial",
        "-days",
        "2",
        "-extfile",
        "openssl.cnf",
        "-extensions",
        "leaf",
        "-out",
        "cert.pem",
      ]);
      return {
        cert: await Deno.readTextFile(`${dir}/cert.pem`),
        key: await Deno.readTextFile(`${dir}/key.pem`),
        ca: await Deno.readTextFile(`${dir}/ca.pem`),
      };
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  })();
  return cached;
}
