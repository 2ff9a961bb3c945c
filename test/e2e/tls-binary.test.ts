/**
 * `gateway.tls` end to end through the compiled binary: the gateway generates its pair and
 * serves wss:// only; its own CLI (`gateway call health`, `gateway status`, `status`,
 * `gateway probe`) finds it over wss:// pinned to the certificate in the state dir and reports
 * the fingerprint; the official CLI does the same (local mode, and remote mode with
 * `gateway.remote.tlsFingerprint`), and both refuse a wrong pin with the original's message.
 * TLS that cannot be served is a refusal to start (exit 78), never a plaintext listener.
 * The official CLI checks need OPENCLAW_REF_CLI (skipped otherwise).
 */
import { beforeAll, describe, expect, test } from "bun:test";
import { X509Certificate } from "node:crypto";
import { mkdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { runToExit, type GatewayChild } from "../../scripts/lib/gateway-child.ts";
import { freePort, tryConnect } from "../../scripts/lib/proc.ts";
import { compiledBinary } from "../helpers/binary.ts";
import { useChildGateways } from "../helpers/children.ts";

const TOKEN = "e2e-tls-token-0123456789abcdef";
const REF = process.env.OPENCLAW_REF_CLI;
const gateways = useChildGateways("openclaw-e2e-tls-");
let binary = "";

beforeAll(async () => {
  binary = await compiledBinary();
}, 120_000);

function stateWith(config: Record<string, unknown>): string {
  const dir = gateways.tempDir();
  writeFileSync(join(dir, "openclaw.json"), JSON.stringify({ gateway: { mode: "local", auth: { mode: "token", token: TOKEN }, ...config } }), { mode: 0o600 });
  return dir;
}

async function cli(command: string[], args: string[], stateDir: string, extraEnv: Record<string, string> = {}) {
  const r = await runToExit({
    command,
    args,
    cwd: stateDir,
    env: { HOME: stateDir, OPENCLAW_STATE_DIR: stateDir, OPENCLAW_CONFIG_PATH: join(stateDir, "openclaw.json"), NO_COLOR: "1", ...extraEnv },
    timeoutMs: 90_000,
  });
  // A run that did not end says what it printed (the assertion on its exit code names it).
  if (r.timedOut) console.error(`${[...command, ...args].join(" ")} did not exit within 90 s; stdout: ${r.stdout.slice(0, 2000)} stderr: ${r.stderr.slice(0, 2000)}`);
  return r;
}

describe("a TLS gateway (compiled binary)", () => {
  let stateDir = "";
  let child: GatewayChild;
  let fingerprint = "";

  beforeAll(async () => {
    const port = await freePort();
    stateDir = stateWith({ port, tls: { enabled: true } });
    child = await gateways.start({ command: [binary], port, stateDir, cwd: stateDir });
    const certPath = join(stateDir, "gateway", "tls", "gateway-cert.pem");
    fingerprint = new X509Certificate(readFileSync(certPath)).fingerprint256.replaceAll(":", "").toLowerCase();
  }, 60_000);

  test("generates a 0600 pair in the state dir, says wss:// and the fingerprint, serves nothing in plaintext", async () => {
    await child.stdout.waitFor(/connect: wss:\/\//, 5_000);
    const out = child.output();
    expect(out).toContain(`listening on wss://127.0.0.1:${child.port}`);
    expect(out).toContain(`tls: on, sha256 ${fingerprint}`);
    expect(out).toContain(`connect: wss://127.0.0.1:${child.port}`);
    for (const f of ["gateway-cert.pem", "gateway-key.pem"]) expect(statSync(join(stateDir, "gateway", "tls", f)).mode & 0o777).toBe(0o600);
    const plain = await fetch(`http://127.0.0.1:${child.port}/healthz`).then((r) => r.status, () => "refused");
    expect(plain).not.toBe(200);
    const https = await fetch(`https://127.0.0.1:${child.port}/healthz`, { tls: { ca: readFileSync(join(stateDir, "gateway", "tls", "gateway-cert.pem"), "utf8") } } as RequestInit);
    expect(https.status).toBe(200);
  });

  test("its own CLI: `gateway call health` over wss://, `gateway status` with the fingerprint, `status`, `gateway probe`", async () => {
    const call = await cli([binary], ["gateway", "call", "health", "--json"], stateDir);
    expect(call.exitCode).toBe(0);
    expect(JSON.parse(call.stdout).ok).toBe(true);

    const status = await cli([binary], ["gateway", "status", "--json"], stateDir);
    expect(status.exitCode).toBe(0);
    const report = JSON.parse(status.stdout);
    expect(report.gateway).toMatchObject({
      tlsEnabled: true,
      probeUrl: `wss://127.0.0.1:${child.port}`,
      controlUiLinks: { httpUrl: `https://127.0.0.1:${child.port}/`, wsUrl: `wss://127.0.0.1:${child.port}` },
      tls: { enabled: true, fingerprintSha256: fingerprint, certPath: join(stateDir, "gateway", "tls", "gateway-cert.pem") },
    });
    expect(report.rpc).toMatchObject({ ok: true, url: `wss://127.0.0.1:${child.port}` });
    const human = await cli([binary], ["gateway", "status"], stateDir);
    expect(human.stdout).toContain(`Probe target: wss://127.0.0.1:${child.port}`);
    expect(human.stdout).toContain(`Dashboard: https://127.0.0.1:${child.port}/`);
    expect(human.stdout).toContain(`TLS: on (sha256 ${fingerprint})`);

    const overview = JSON.parse((await cli([binary], ["status", "--json", "--deep"], stateDir)).stdout);
    expect(overview.gateway).toMatchObject({ url: `wss://127.0.0.1:${child.port}`, reachable: true });
    expect(overview.probes.http.map((p: { status: number }) => p.status)).toEqual([200, 200, 200]);

    const probe = JSON.parse((await cli([binary], ["gateway", "probe", "--json"], stateDir)).stdout);
    expect(probe.network.localLoopbackUrl).toBe(`wss://127.0.0.1:${child.port}`);
    expect(probe.targets.find((t: { id: string }) => t.id === "localLoopback").connect.ok).toBe(true);
  }, 90_000);

  test("its own CLI in remote mode: pinned by gateway.remote.tlsFingerprint; a wrong pin is refused", async () => {
    const remote = (tlsFingerprint: string) => {
      const dir = gateways.tempDir();
      writeFileSync(join(dir, "openclaw.json"), JSON.stringify({ gateway: { mode: "remote", remote: { url: `wss://127.0.0.1:${child.port}`, token: TOKEN, tlsFingerprint } } }));
      return dir;
    };
    const ok = await cli([binary], ["gateway", "call", "health", "--json"], remote(fingerprint.match(/../g)!.join(":").toUpperCase()));
    expect(ok.exitCode).toBe(0);
    const wrong = await cli([binary], ["gateway", "call", "health", "--json"], remote("ab".repeat(32)));
    expect(wrong.exitCode).toBe(1);
    expect(JSON.parse(wrong.stdout)).toEqual({ ok: false, error: { type: "cli_error", message: "gateway tls fingerprint mismatch" } });
  }, 60_000);

  test.skipIf(!REF)("the official CLI calls health over wss:// (local: pinned to the state dir's certificate; remote: gateway.remote.tlsFingerprint)", async () => {
    const local = await cli([REF!], ["gateway", "call", "health", "--json"], stateDir);
    expect(local.exitCode).toBe(0);
    expect(JSON.parse(local.stdout).ok).toBe(true);

    const home = gateways.tempDir();
    const state = join(home, ".openclaw");
    mkdirSync(state);
    const writeRemote = (pin: string) =>
      writeFileSync(join(state, "openclaw.json"), JSON.stringify({ gateway: { mode: "remote", remote: { url: `wss://127.0.0.1:${child.port}`, token: TOKEN, tlsFingerprint: pin } } }));
    writeRemote(fingerprint);
    const remote = await cli([REF!], ["gateway", "call", "health", "--json"], state, { HOME: home });
    expect(remote.exitCode).toBe(0);
    expect(JSON.parse(remote.stdout).ok).toBe(true);
    writeRemote("ab".repeat(32));
    const wrong = await cli([REF!], ["gateway", "call", "health", "--json"], state, { HOME: home });
    expect(JSON.parse(wrong.stdout)).toEqual({ ok: false, error: { type: "cli_error", message: "gateway tls fingerprint mismatch" } });
    expect(wrong.exitCode).toBe(1);
  }, 300_000);
});

describe("TLS that cannot be served (compiled binary)", () => {
  async function refused(tls: Record<string, unknown>, prepare?: (stateDir: string) => void): Promise<{ code: number | null; stderr: string; port: number }> {
    const port = await freePort();
    const stateDir = stateWith({ port, tls });
    prepare?.(stateDir);
    const r = await cli([binary], ["gateway", "--port", String(port)], stateDir);
    return { code: r.exitCode, stderr: r.stderr + r.stdout, port };
  }

  test("autoGenerate false and no files: exit 78 with the reason, nothing listening", async () => {
    const r = await refused({ enabled: true, autoGenerate: false });
    expect(r.code).toBe(78);
    expect(r.stderr).toContain("Gateway failed to start: gateway tls: cert/key missing");
    expect(r.stderr).toContain("the gateway does not fall back to plaintext");
    expect(await tryConnect(r.port, "127.0.0.1", 500)).toBe(false);
  }, 60_000);

  test("a partial pair (only the certificate) is never completed: exit 78", async () => {
    const r = await refused({ enabled: true }, (dir) => {
      mkdirSync(join(dir, "gateway", "tls"), { recursive: true });
      writeFileSync(join(dir, "gateway", "tls", "gateway-cert.pem"), "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n");
    });
    expect(r.code).toBe(78);
    expect(r.stderr).toContain("a partial pair is never completed");
  }, 60_000);
});
