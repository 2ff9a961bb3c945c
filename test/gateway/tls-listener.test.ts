/**
 * `gateway.tls` in the listener: every bind serves TLS only (wss:// and https://), a client
 * pinned to the certificate connects and one pinned to another is refused before anything is
 * sent, TLS that cannot be served stops the start (and an in-process restart) instead of falling
 * back to plaintext, and non-loopback binds seed https:// Control UI origins.
 */
import { afterEach, describe, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { X509Certificate } from "node:crypto";
import { resolvePaths } from "../../src/config/paths.ts";
import { resolveGatewaySettings } from "../../src/config/runtime.ts";
import { loadConfig } from "../../src/config/snapshot.ts";
import { GatewayClient, GatewayConnectError, GatewayTlsPinError } from "../../src/protocol/client.ts";
import { normalizeTlsFingerprint } from "../../src/protocol/fingerprint.ts";
import { startTestGateway, TEST_TOKEN, type TestGateway } from "../helpers/gateway.ts";
import { useTempDirs, writeStateConfig } from "../helpers/state-dir.ts";

const tempDir = useTempDirs("openclaw-tls-listener-");

let gw: TestGateway | undefined;
afterEach(async () => {
  await gw?.stop();
  gw = undefined;
});

const tlsConfig = (tls: Record<string, unknown> = { enabled: true }, extra: Record<string, unknown> = {}) =>
  ({ gateway: { mode: "local", auth: { mode: "token", token: TEST_TOKEN }, tls, ...extra } }) as never;

async function connect(url: string, tlsFingerprint?: string): Promise<GatewayClient> {
  return GatewayClient.connect({ url, token: TEST_TOKEN, tlsFingerprint, connectTimeoutMs: 5_000 });
}

describe("the listener with gateway.tls", () => {
  test("serves wss:// and https:// with the generated pair; a pinned client connects, plaintext does not", async () => {
    gw = await startTestGateway({ config: tlsConfig() });
    const tls = gw.handle.tls!;
    expect(gw.handle.url).toBe(`wss://127.0.0.1:${gw.port}`);
    expect(tls.generated).toBe(true);
    const certPem = readFileSync(tls.certPath, "utf8");
    expect(tls.fingerprintSha256).toBe(normalizeTlsFingerprint(new X509Certificate(certPem).fingerprint256));

    const client = await connect(gw.handle.url, tls.fingerprintSha256);
    expect(((await client.request("health")) as { ok: boolean }).ok).toBe(true);
    await client.close();
    // The pin accepts the colon form the original also accepts.
    const colon = tls.fingerprintSha256.match(/../g)!.join(":").toUpperCase();
    await (await connect(gw.handle.url, `sha256:${colon}`)).close();

    const res = await fetch(`https://127.0.0.1:${gw.port}/healthz`, { tls: { ca: certPem } } as RequestInit);
    expect(res.status).toBe(200);
    // Nothing is served in plaintext.
    await expect(connect(`ws://127.0.0.1:${gw.port}`)).rejects.toBeInstanceOf(GatewayConnectError);
    expect(await fetch(`http://127.0.0.1:${gw.port}/healthz`).then((r) => r.status, () => "refused")).not.toBe(200);
  });

  test("without a pin the self-signed certificate is not trusted; another pin is refused before anything is sent", async () => {
    gw = await startTestGateway({ config: tlsConfig() });
    const untrusted = await connect(gw.handle.url).then(() => undefined, (e: Error) => e);
    expect(untrusted).toBeInstanceOf(GatewayConnectError);
    expect(untrusted!.message).toMatch(/self.signed|certificate/i);
    const wrong = await connect(gw.handle.url, "ab".repeat(32)).then(() => undefined, (e: Error) => e);
    expect(wrong).toBeInstanceOf(GatewayTlsPinError);
    expect(wrong!.message).toBe("gateway tls fingerprint mismatch");
    expect((wrong as GatewayTlsPinError).detail).toContain(`presented sha256 ${gw.handle.tls!.fingerprintSha256}`);
    // The refused clients never reached the handshake: no connect was logged as failed.
    expect(gw.logs.some((r) => r.message.startsWith("connect rejected"))).toBe(false);
  });

  test("TLS asked for and not servable: the gateway does not start (no plaintext listener)", async () => {
    const stateDir = tempDir();
    const err = await startTestGateway({ stateDir, config: tlsConfig({ enabled: true, autoGenerate: false }) }).then(
      (g) => {
        gw = g;
        return undefined;
      },
      (e: Error) => e,
    );
    expect(err?.name).toBe("TlsSetupError");
    expect(err?.message).toContain("gateway tls: cert/key missing");
    expect(err?.message).toContain("gateway.tls.autoGenerate is false");
  });

  test("an in-process restart onto TLS that cannot be served fails before the running listener is touched", async () => {
    gw = await startTestGateway({ config: tlsConfig() });
    const before = gw.handle.url;
    const fingerprint = gw.handle.tls!.fingerprintSha256;
    writeStateConfig(gw.stateDir, tlsConfig({ enabled: true, certPath: "missing-cert.pem", keyPath: "missing-key.pem", autoGenerate: false }));
    const env = { OPENCLAW_STATE_DIR: gw.stateDir };
    const next = await loadConfig({ paths: resolvePaths({ env }), env });
    const settings = { ...resolveGatewaySettings(next, { container: false }), port: gw.port };
    await expect(gw.handle.relisten(next, settings, { restartExpectedMs: 100, bindRetries: 0, bindRetryDelayMs: 10 })).rejects.toThrow("gateway tls: cert/key missing");
    // Still serving, with the same certificate.
    expect(gw.handle.url).toBe(before);
    const client = await connect(before, fingerprint);
    await client.close();
  });
});

describe("Control UI origins", () => {
  test("a non-loopback bind seeds https:// origins when the gateway serves TLS, http:// otherwise", async () => {
    for (const [tls, scheme] of [[true, "https"], [false, "http"]] as const) {
      const stateDir = tempDir();
      writeStateConfig(stateDir, { gateway: { mode: "local", bind: "lan", port: 18999, auth: { mode: "token", token: TEST_TOKEN }, tls: { enabled: tls } } });
      const env = { OPENCLAW_STATE_DIR: stateDir };
      const settings = resolveGatewaySettings(await loadConfig({ paths: resolvePaths({ env }), env }), { container: false });
      expect(settings.allowedOrigins).toEqual([`${scheme}://localhost:18999`, `${scheme}://127.0.0.1:18999`]);
    }
  });
});
