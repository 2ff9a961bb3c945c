/**
 * Device pairing across a real link, end to end: the compiled `openclaw` binds `lan` in network
 * namespace A; a device (its own process, its own Ed25519 identity) connects from namespace B
 * over a veth pair. It is asked to get paired (`PAIRING_REQUIRED` with a request id), the
 * operator on the gateway host sees it in `openclaw devices list --json` and approves it with
 * `openclaw devices approve <id>`; the device then gets its token, reads `status`, reconnects
 * with the token alone, is asked to get a scope upgrade approved when it wants admin, and
 * `openclaw devices revoke` closes its socket and makes its token worthless. The same from the
 * other side: our CLI as a remote operator in B gets paired and keeps its device token. And the
 * official CLI (OPENCLAW_REF_CLI) does list/approve/revoke against our gateway.
 *
 * Needs root and iproute2 (skipped with the reason otherwise); the official CLI part also needs
 * OPENCLAW_REF_CLI.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { cleanEnv, freePort } from "../../scripts/lib/proc.ts";
import { compiledBinary } from "../helpers/binary.ts";
import { createLab, netnsSupport, type Lab, type NsProcess, type RunResult } from "../helpers/netns.ts";

const ROOT = resolve(import.meta.dir, "../..");
const BUN = process.execPath;
const DEVICE = join(ROOT, "test", "fixture", "devices", "remote-device.ts");
const TOKEN = "netns-devices-token-0123456789abcdef";
const REF = process.env.OPENCLAW_REF_CLI;

const support = netnsSupport();
const skipNote = support.ok ? "" : ` [skipped: ${support.reason}]`;

const dirs: string[] = [];
function tmp(prefix: string): string {
  const d = mkdtempSync(join(tmpdir(), prefix));
  dirs.push(d);
  return d;
}

/** A device process in a namespace, driven over stdin/stdout (test/fixture/devices/remote-device.ts). */
class RemoteDevice {
  private n = 0;
  constructor(readonly proc: NsProcess) {}
  async send(cmd: Record<string, unknown>, timeoutMs = 20_000): Promise<any> {
    const id = `c${++this.n}`;
    const stdin = this.proc.proc.stdin as import("bun").FileSink;
    stdin.write(`${JSON.stringify({ id, ...cmd })}\n`);
    await stdin.flush();
    const line = await this.proc.out.waitFor(new RegExp(`^\\{"id":"${id}"`), timeoutMs);
    const msg = JSON.parse(line);
    if (msg.error) throw new Error(`device: ${msg.error}\n${this.proc.output()}`);
    return msg;
  }
}

describe.skipIf(!support.ok)(`device pairing between two network namespaces${skipNote}`, () => {
  let lab: Lab;
  let binary = "";
  let port = 0;
  let state = "";
  let home = "";
  let gatewayUrl = "";

  /** `openclaw <args>` on the gateway host (namespace A), with the gateway's own state and config. */
  const onHost = (args: string[]): Promise<RunResult> =>
    lab.a.run([binary, ...args], { env: cleanEnv({ OPENCLAW_STATE_DIR: state, HOME: home, NO_COLOR: "1" }), timeoutMs: 30_000 });

  const newDevice = async (): Promise<RemoteDevice> => {
    const proc = lab.track(lab.b.spawn([BUN, DEVICE], { cwd: ROOT, stdin: "pipe", env: cleanEnv({ NO_COLOR: "1" }) }));
    return new RemoteDevice(proc);
  };

  beforeAll(async () => {
    binary = await compiledBinary();
    lab = createLab({ tag: "dv", subnet: "10.78.0" });
    port = await freePort();
    state = tmp("openclaw-netns-devices-state-");
    home = tmp("openclaw-netns-devices-home-");
    writeFileSync(join(state, "openclaw.json"), JSON.stringify({ gateway: { mode: "local", port, bind: "lan", auth: { mode: "token", token: TOKEN } } }), { mode: 0o600 });
    const gw = lab.track(lab.a.spawn([binary, "gateway", "--port", String(port), "--bind", "lan"], { env: cleanEnv({ OPENCLAW_STATE_DIR: state, HOME: home }) }));
    try {
      await gw.out.waitFor(/listening on ws:\/\//, 30_000);
    } catch (err) {
      throw new Error(`${(err as Error).message}\n--- gateway output ---\n${gw.output()}`);
    }
    gatewayUrl = `ws://${lab.addrA}:${port}`;
  }, 240_000);

  afterAll(async () => {
    await lab?.destroy();
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  });

  test("pair from B, approve on A with our CLI, token, token-only reconnect, scope upgrade, revoke", async () => {
    const device = await newDevice();
    const { deviceId } = await device.send({ op: "whoami" });
    const shared = { url: gatewayUrl, auth: { token: TOKEN }, scopes: ["operator.read"] };

    const first = await device.send({ op: "connect", ...shared });
    const requestId = first.response.error?.details?.requestId as string;
    expect(first.response.error).toMatchObject({ code: "NOT_PAIRED", details: { code: "PAIRING_REQUIRED", reason: "not-paired", deviceId } });
    expect(first.close).toEqual({ code: 1008, reason: `pairing required: device is not approved yet (requestId: ${requestId})` });

    const listed = await onHost(["devices", "list", "--json"]);
    expect(listed.exitCode).toBe(0);
    expect(JSON.parse(listed.stdout).pending).toEqual([expect.objectContaining({ requestId, deviceId, remoteIp: lab.addrB, displayName: "netns-device" })]);

    const approved = await onHost(["devices", "approve", requestId]);
    expect(approved).toMatchObject({ exitCode: 0, stdout: `Approved ${deviceId} (${requestId})\n` });

    const paired = await device.send({ op: "connect", ...shared });
    const token = paired.response.payload?.auth?.deviceToken as string;
    expect(paired.response.payload.auth).toMatchObject({ method: "token", role: "operator", scopes: ["operator.read"] });
    expect(token).toEqual(expect.any(String));

    const alone = await device.send({ op: "connect", url: gatewayUrl, auth: { deviceToken: token }, scopes: ["operator.read"], keep: true });
    expect(alone.response.payload.auth.method).toBe("device-token");
    const status = await device.send({ op: "call", method: "status" });
    expect(status.frame.ok).toBe(true);
    expect(status.frame.payload.runtimeVersion).toEqual(expect.any(String));

    const admin = await device.send({ op: "connect", ...shared, scopes: ["operator.read", "operator.admin"] });
    expect(admin.response.error?.details).toMatchObject({ code: "PAIRING_REQUIRED", reason: "scope-upgrade", approvedScopes: ["operator.read"] });

    const revoked = await onHost(["devices", "revoke", "--device", deviceId, "--role", "operator"]);
    expect(revoked.exitCode).toBe(0);
    expect(JSON.parse(revoked.stdout)).toEqual({ deviceId, role: "operator", revokedAtMs: expect.any(Number) });
    expect((await device.send({ op: "closed" })).close).toEqual({ code: 4001, reason: "device removed" });
    const refused = await device.send({ op: "connect", url: gatewayUrl, auth: { deviceToken: token }, scopes: ["operator.read"] });
    expect(refused.response.error).toMatchObject({
      message: "unauthorized: device token mismatch (rotate/reissue device token)",
      details: { code: "AUTH_DEVICE_TOKEN_MISMATCH", canRetryWithDeviceToken: false, recommendedNextStep: "update_auth_credentials" },
    });
  }, 120_000);

  test("our CLI in B as a remote operator: paired once, then its device token alone", async () => {
    const remoteHome = tmp("openclaw-netns-devices-remote-");
    const remoteState = join(remoteHome, ".openclaw");
    mkdirSync(remoteState, { recursive: true });
    const inB = (args: string[]) => lab.b.run([binary, ...args], { env: cleanEnv({ HOME: remoteHome, OPENCLAW_STATE_DIR: remoteState, NO_COLOR: "1" }), timeoutMs: 30_000 });
    const call = ["gateway", "call", "status", "--url", gatewayUrl, "--token", TOKEN, "--json"];

    const asked = await inB(call);
    expect(asked.exitCode).toBe(1);
    const error = JSON.parse(asked.stdout).error;
    const requestId = error.details.requestId as string;
    expect(error.details).toMatchObject({ code: "PAIRING_REQUIRED", reason: "not-paired" });

    expect((await onHost(["devices", "approve", requestId])).exitCode).toBe(0);
    const ok = await inB(call);
    expect(ok.exitCode).toBe(0);
    expect(JSON.parse(ok.stdout).runtimeVersion).toEqual(expect.any(String));

    // Without the shared token (a remote config with just the URL): its device token alone.
    writeFileSync(join(remoteState, "openclaw.json"), JSON.stringify({ gateway: { mode: "remote", remote: { url: gatewayUrl } } }));
    const alone = await inB(["gateway", "call", "status", "--json"]);
    expect(alone.exitCode).toBe(0);
    const list = JSON.parse((await onHost(["devices", "list", "--json"])).stdout);
    expect(list.paired.some((d: any) => d.clientId === "cli" && d.remoteIp === lab.addrB && d.tokens.some((t: any) => t.lastUsedAtMs))).toBe(true);
  }, 120_000);

  test.skipIf(!REF)(`the official CLI on A does list, approve and revoke${REF ? "" : " [skipped: OPENCLAW_REF_CLI is not set]"}`, async () => {
    const device = await newDevice();
    const { deviceId } = await device.send({ op: "whoami" });
    const shared = { url: gatewayUrl, auth: { token: TOKEN }, scopes: ["operator.read"] };
    const first = await device.send({ op: "connect", ...shared });
    const requestId = first.response.error?.details?.requestId as string;
    expect(requestId).toEqual(expect.any(String));

    const refHome = tmp("openclaw-netns-devices-ref-");
    const refState = join(refHome, ".openclaw");
    mkdirSync(refState, { recursive: true });
    writeFileSync(join(refState, "openclaw.json"), "{}\n");
    const official = (args: string[]) =>
      lab.a.run([REF!, ...args, "--url", `ws://127.0.0.1:${port}`, "--token", TOKEN], {
        env: cleanEnv({ HOME: refHome, OPENCLAW_STATE_DIR: refState, OPENCLAW_CONFIG_PATH: join(refState, "openclaw.json"), NO_COLOR: "1" }),
        timeoutMs: 60_000,
      });

    const listed = await official(["devices", "list", "--json"]);
    expect(listed.exitCode).toBe(0);
    expect(JSON.parse(listed.stdout).pending).toEqual(expect.arrayContaining([expect.objectContaining({ requestId, deviceId, remoteIp: lab.addrB })]));
    const approved = await official(["devices", "approve", requestId]);
    expect(approved.exitCode).toBe(0);
    expect(approved.stdout).toContain(`Approved ${deviceId} (${requestId})`);

    const live = await device.send({ op: "connect", ...shared, keep: true });
    const token = live.response.payload?.auth?.deviceToken as string;
    expect(token).toEqual(expect.any(String));
    const revoked = await official(["devices", "revoke", "--device", deviceId, "--role", "operator"]);
    expect(revoked.exitCode).toBe(0);
    expect(JSON.parse(revoked.stdout)).toEqual({ deviceId, role: "operator", revokedAtMs: expect.any(Number) });
    expect((await device.send({ op: "closed" })).close).toEqual({ code: 4001, reason: "device removed" });
    const refused = await device.send({ op: "connect", url: gatewayUrl, auth: { deviceToken: token }, scopes: ["operator.read"] });
    expect(refused.response.error?.details?.code).toBe("AUTH_DEVICE_TOKEN_MISMATCH");
  }, 180_000);
});
