import { afterEach, describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { CliError, portFlag } from "../../src/cli/command.ts";
import { configuredRemoteTarget, CredentialsRequiredError, resolveTarget, TargetError } from "../../src/operator/target.ts";

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

function state(config?: unknown): Record<string, string> {
  const dir = mkdtempSync(join(tmpdir(), "openclaw-target-"));
  dirs.push(dir);
  if (config !== undefined) writeFileSync(join(dir, "openclaw.json"), JSON.stringify(config));
  return { OPENCLAW_STATE_DIR: dir, HOME: dir };
}

describe("gateway target and credentials", () => {
  test("local config: loopback URL, port and token from the file", async () => {
    const env = state({ gateway: { mode: "local", port: 23456, auth: { mode: "token", token: "file-token" } } });
    const { target } = await resolveTarget({}, { env });
    expect(target).toMatchObject({ url: "ws://127.0.0.1:23456", urlSource: "local loopback", token: "file-token", local: true, portSource: "env/config" });
  });

  test("flags beat env, env beats the local config", async () => {
    const env = { ...state({ gateway: { mode: "local", auth: { token: "file-token", password: "file-pw" } } }), OPENCLAW_GATEWAY_TOKEN: "env-token" };
    expect((await resolveTarget({}, { env })).target.token).toBe("env-token");
    expect((await resolveTarget({ token: "flag-token" }, { env })).target.token).toBe("flag-token");
    expect((await resolveTarget({ port: 24567 }, { env })).target).toMatchObject({ url: "ws://127.0.0.1:24567", portSource: "cli" });
  });

  test("--url never reuses config or env credentials and requires explicit ones", async () => {
    const env = { ...state({ gateway: { auth: { token: "file-token" } } }), OPENCLAW_GATEWAY_TOKEN: "env-token" };
    await expect(resolveTarget({ url: "ws://127.0.0.1:1" }, { env })).rejects.toBeInstanceOf(CredentialsRequiredError);
    const err = await resolveTarget({ url: "ws://127.0.0.1:1" }, { env }).catch((e) => e);
    expect(err.message).toStartWith("gateway url override requires explicit credentials");
    const ok = await resolveTarget({ url: "ws://127.0.0.1:1", token: "t" }, { env });
    expect(ok.target).toMatchObject({ url: "ws://127.0.0.1:1", urlSource: "cli --url", token: "t", local: false });
  });

  test("OPENCLAW_GATEWAY_URL uses env credentials only", async () => {
    const base = state({ gateway: { auth: { token: "file-token" } } });
    await expect(resolveTarget({}, { env: { ...base, OPENCLAW_GATEWAY_URL: "ws://10.0.0.5:1234" } })).rejects.toBeInstanceOf(CredentialsRequiredError);
    const { target } = await resolveTarget({}, { env: { ...base, OPENCLAW_GATEWAY_URL: "ws://10.0.0.5:1234", OPENCLAW_GATEWAY_PASSWORD: "pw" } });
    expect(target).toMatchObject({ urlSource: "env OPENCLAW_GATEWAY_URL", password: "pw", token: undefined });
  });

  test("remote mode uses gateway.remote.* (env still wins)", async () => {
    const env = state({ gateway: { mode: "remote", remote: { url: "wss://gw.example:443", token: "remote-token" }, auth: { token: "local-token" } } });
    expect((await resolveTarget({}, { env })).target).toMatchObject({ url: "wss://gw.example:443", urlSource: "config gateway.remote.url", token: "remote-token", local: false });
    expect((await resolveTarget({}, { env: { ...env, OPENCLAW_GATEWAY_TOKEN: "env-token" } })).target.token).toBe("env-token");
  });

  test("a configured but inactive remote is still describable for probes", async () => {
    const env = state({ gateway: { mode: "local", remote: { url: "ws://10.1.1.1:18789", token: "r" } } });
    const resolved = await resolveTarget({}, { env });
    expect(configuredRemoteTarget(resolved, {})).toMatchObject({ url: "ws://10.1.1.1:18789", token: "r" });
  });

  test("missing and invalid configs fall back to defaults and report why", async () => {
    const missing = await resolveTarget({}, { env: state() });
    expect(missing.configExists).toBe(false);
    expect(missing.target.url).toBe("ws://127.0.0.1:18789");
    const invalid = await resolveTarget({}, { env: state({ gateway: { port: "nope" } }) });
    expect(invalid.configError?.issues[0].path).toBe("gateway.port");
    expect(invalid.target.port).toBe(18789);
  });

  test("bad flags are usage errors", async () => {
    expect(() => portFlag("x")).toThrow(CliError);
    await expect(resolveTarget({ url: "ws://a:1", port: 2, token: "t" }, { env: state() })).rejects.toBeInstanceOf(TargetError);
  });
});

describe("TLS pins, as the original resolves them", () => {
  const FP = "0753017dc3ce9e65fd9fbdb819afa5d11f5525658433c56d59221eef4040b052";
  const COLONS = `sha256:${FP.match(/../g)!.join(":").toUpperCase()}`;

  test("local gateway with gateway.tls: wss://, pinned to the certificate in its files (never generated by a client)", async () => {
    const { generateSelfSigned, resolveTlsPaths } = await import("../../src/auth/tls.ts");
    const env = state({ gateway: { mode: "local", port: 23457, auth: { token: "t" }, tls: { enabled: true } } });
    const missing = (await resolveTarget({}, { env })).target;
    expect(missing).toMatchObject({ url: "wss://127.0.0.1:23457", tls: true });
    expect(missing.tlsFingerprint).toBeUndefined();
    expect(missing.tlsError).toContain("gateway tls: failed to load cert");
    const { certPath } = resolveTlsPaths({ enabled: true }, env.OPENCLAW_STATE_DIR);
    expect(await Bun.file(certPath).exists()).toBe(false);
    const pair = await generateSelfSigned();
    await Bun.write(certPath, pair.certPem);
    const { target } = await resolveTarget({}, { env });
    expect(target).toMatchObject({ url: "wss://127.0.0.1:23457", tls: true, tlsFingerprint: pair.fingerprintSha256, tlsCertPath: certPath });
    // Without TLS: ws:// and no pin.
    const plain = (await resolveTarget({}, { env: state({ gateway: { mode: "local", port: 23458 } }) })).target;
    expect(plain).toMatchObject({ url: "ws://127.0.0.1:23458", tls: false });
    expect(plain.tlsFingerprint).toBeUndefined();
  });

  test("remote mode: gateway.remote.tlsFingerprint pins the remote URL and OPENCLAW_GATEWAY_URL; --url is never pinned", async () => {
    const env = state({ gateway: { mode: "remote", remote: { url: "wss://gw.example:443", token: "r", tlsFingerprint: COLONS } } });
    expect((await resolveTarget({}, { env })).target.tlsFingerprint).toBe(FP);
    expect((await resolveTarget({}, { env: { ...env, OPENCLAW_GATEWAY_URL: "wss://10.0.0.9:1", OPENCLAW_GATEWAY_TOKEN: "e" } })).target.tlsFingerprint).toBe(FP);
    expect((await resolveTarget({ url: "wss://10.0.0.9:1", token: "x" }, { env })).target.tlsFingerprint).toBeUndefined();
    // A local-mode config's remote pin does not apply to the env URL.
    const local = state({ gateway: { mode: "local", remote: { url: "wss://gw.example:443", tlsFingerprint: FP } } });
    expect((await resolveTarget({}, { env: { ...local, OPENCLAW_GATEWAY_URL: "wss://10.0.0.9:1", OPENCLAW_GATEWAY_TOKEN: "e" } })).target.tlsFingerprint).toBeUndefined();
  });

  test("a remote pin that is not a SHA-256 fingerprint is refused", async () => {
    const env = state({ gateway: { mode: "remote", remote: { url: "wss://gw.example:443", token: "r", tlsFingerprint: "not-a-fingerprint" } } });
    const err = await resolveTarget({}, { env }).catch((e) => e);
    expect(err).toBeInstanceOf(TargetError);
    expect(err.message).toBe('Invalid gateway.remote.tlsFingerprint "not-a-fingerprint" (expected a SHA-256 fingerprint: 64 hex digits, colons allowed).');
  });
});
