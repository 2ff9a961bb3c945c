/**
 * `openclaw devices …` from source (a child process) against a real gateway: every subcommand,
 * human and `--json`, with the original's wording where people and scripts match on it; and
 * the CLI's own device identity: from another address it gets paired once, receives its device
 * token, and reconnects with that token alone.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdirSync, writeFileSync } from "node:fs";
import { networkInterfaces } from "node:os";
import { join } from "node:path";
import { Database } from "bun:sqlite";
import { connectDevice, generateDeviceKeys, type DeviceKeys } from "../helpers/device-client.ts";
import { SOURCE_COMMAND } from "../helpers/children.ts";
import { startTestGateway, TEST_TOKEN, type TestGateway } from "../helpers/gateway.ts";
import { startRelay, type Relay } from "../helpers/relay.ts";
import { useTempDirs } from "../helpers/state-dir.ts";

const tempDir = useTempDirs("openclaw-devices-cli-");
const LINUX = { id: "openclaw-linux", mode: "ui", platform: "linux", deviceFamily: "Linux", displayName: "remote-box" };

function lanAddress(): string | undefined {
  for (const list of Object.values(networkInterfaces())) for (const a of list ?? []) if (a.family === "IPv4" && !a.internal) return a.address;
  return undefined;
}

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

async function cli(args: string[], env: Record<string, string> = {}): Promise<Run> {
  const home = env.HOME ?? tempDir();
  const proc = Bun.spawn([...SOURCE_COMMAND, ...args], {
    env: { PATH: process.env.PATH ?? "", HOME: home, OPENCLAW_STATE_DIR: join(home, ".openclaw"), NO_COLOR: "1", ...env },
    stdout: "pipe",
    stderr: "pipe",
  });
  const timer = setTimeout(() => proc.kill("SIGKILL"), 30_000);
  const [stdout, stderr, code] = await Promise.all([new Response(proc.stdout).text(), new Response(proc.stderr).text(), proc.exited]);
  clearTimeout(timer);
  return { code, stdout, stderr };
}

describe("openclaw devices (source CLI) against a real gateway", () => {
  let gw: TestGateway;
  let relay: Relay;
  let conn: string[];
  const pendingFor = async (keys: DeviceKeys, name = "remote-box") => {
    const o = await connectDevice({ url: relay.url, keys, client: { ...LINUX, displayName: name }, scopes: ["operator.read"], auth: { token: TEST_TOKEN } });
    return o.response.error?.details?.requestId as string;
  };

  beforeAll(async () => {
    gw = await startTestGateway({ config: { gateway: { mode: "local", auth: { mode: "token", token: TEST_TOKEN }, trustedProxies: ["127.0.0.1"] } } });
    relay = startRelay(() => gw.port);
    conn = ["--url", gw.url, "--token", TEST_TOKEN];
  });
  afterAll(async () => {
    relay?.stop();
    await gw?.stop();
  });

  test("list: empty, then a pending request (human and --json)", async () => {
    const empty = await cli(["devices", "list", ...conn]);
    expect(empty).toMatchObject({ code: 0, stdout: "No device pairing entries.\n" });
    const keys = await generateDeviceKeys();
    const requestId = await pendingFor(keys);
    const json = await cli(["devices", "list", "--json", ...conn]);
    expect(json.code).toBe(0);
    const list = JSON.parse(json.stdout);
    expect(list.pending).toEqual([expect.objectContaining({ requestId, deviceId: keys.deviceId, remoteIp: "192.0.2.77", displayName: "remote-box" })]);
    const human = await cli(["devices", "list", ...conn]);
    expect(human.stdout).toContain("Pending (1)");
    expect(human.stdout).toContain(requestId);
    expect(human.stdout).toContain("remote-box · 192.0.2.77");
    expect(human.stdout).toContain("new pairing");
    await cli(["devices", "reject", requestId, ...conn]);
  });

  test("approve: --latest previews (exit 1), an id approves, approving again is refused", async () => {
    const keys = await generateDeviceKeys();
    const requestId = await pendingFor(keys);
    const preview = await cli(["devices", "approve", "--latest", ...conn]);
    expect(preview.code).toBe(1);
    expect(preview.stdout).toContain(`Selected pending device request ${requestId}`);
    expect(preview.stdout).toContain("Note:   First-time device pairing request.");
    expect(preview.stderr).toContain(`Approve this exact request with: openclaw devices approve ${requestId} --url ${gw.url}`);
    expect(preview.stderr).toContain("Reuse the same --token option when rerunning.");
    const previewJson = await cli(["devices", "approve", "--json", ...conn]);
    expect(previewJson.code).toBe(1);
    expect(JSON.parse(previewJson.stdout)).toMatchObject({ selected: { requestId }, approvalState: { kind: "new-pairing" }, requiresAuthFlags: { token: true, password: false } });

    const approved = await cli(["devices", "approve", requestId, ...conn]);
    expect(approved).toMatchObject({ code: 0, stdout: `Approved ${keys.deviceId} (${requestId})\n` });
    const again = await cli(["devices", "approve", requestId, ...conn]);
    expect(again.code).toBe(1);
    expect(again.stderr).toBe(`No pending device request matches ${requestId}. Run openclaw devices list and retry with the current request ID.\n`);
    const paired = await connectDevice({ url: relay.url, keys, client: LINUX, scopes: ["operator.read"], auth: { token: TEST_TOKEN } });
    expect(paired.response.payload.auth.deviceToken).toEqual(expect.any(String));
  });

  test("approve --json returns the result without any token value", async () => {
    const keys = await generateDeviceKeys();
    const requestId = await pendingFor(keys);
    const r = await cli(["devices", "approve", requestId, "--json", ...conn]);
    expect(r.code).toBe(0);
    const out = JSON.parse(r.stdout);
    expect(out).toMatchObject({ requestId, device: { deviceId: keys.deviceId, approvedVia: "owner", tokens: [{ role: "operator", scopes: ["operator.read"] }] } });
    expect(r.stdout).not.toContain('"token"');
  });

  test("rename, rotate, revoke (closes the live socket), remove, reject, clear", async () => {
    const keys = await generateDeviceKeys();
    const requestId = await pendingFor(keys, "to-manage");
    expect((await cli(["devices", "approve", requestId, ...conn])).code).toBe(0);
    const renamed = await cli(["devices", "rename", "--device", keys.deviceId, "--name", "Kitchen", ...conn]);
    expect(renamed).toMatchObject({ code: 0, stdout: `Renamed ${keys.deviceId} → Kitchen\n` });
    const rotated = await cli(["devices", "rotate", "--device", keys.deviceId, "--role", "operator", ...conn]);
    expect(rotated.code).toBe(0);
    expect(JSON.parse(rotated.stdout)).toMatchObject({ deviceId: keys.deviceId, role: "operator", scopes: ["operator.read"], tokenDelivery: "withheld-cross-device" });
    expect(JSON.parse(rotated.stdout).token).toBeUndefined();

    const live = await connectDevice({ url: relay.url, keys, client: LINUX, scopes: ["operator.read"], auth: { token: TEST_TOKEN }, keepOpen: true });
    const token = live.response.payload.auth.deviceToken as string;
    const revoked = await cli(["devices", "revoke", "--device", keys.deviceId, "--role", "operator", ...conn]);
    expect(revoked.code).toBe(0);
    expect(JSON.parse(revoked.stdout)).toEqual({ deviceId: keys.deviceId, role: "operator", revokedAtMs: expect.any(Number) });
    expect(await live.closed).toEqual({ code: 4001, reason: "device removed" });
    const refused = await connectDevice({ url: relay.url, keys, client: LINUX, scopes: ["operator.read"], auth: { deviceToken: token } });
    expect(refused.response.error?.details?.code).toBe("AUTH_DEVICE_TOKEN_MISMATCH");

    const missing = await cli(["devices", "revoke", "--device", keys.deviceId, ...conn]);
    expect(missing).toMatchObject({ code: 1, stderr: "--device and --role are required. Run openclaw devices list to choose a paired device.\n" });
    expect(await cli(["devices", "remove", keys.deviceId, ...conn])).toMatchObject({ code: 0, stdout: `Removed ${keys.deviceId}\n` });
    const unknown = await cli(["devices", "remove", keys.deviceId, ...conn]);
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toContain("unknown deviceId");

    const other = await generateDeviceKeys();
    const rid = await pendingFor(other, "reject-me");
    expect(await cli(["devices", "reject", rid, ...conn])).toMatchObject({ code: 0, stdout: `Rejected ${other.deviceId}\n` });

    expect(await cli(["devices", "clear", ...conn])).toMatchObject({ code: 1, stderr: "Refusing to clear pairing table without --yes\n" });
    const third = await generateDeviceKeys();
    const pendingId = await pendingFor(third, "pending-at-clear");
    const cleared = await cli(["devices", "clear", "--yes", "--pending", "--json", ...conn]);
    expect(cleared.code).toBe(0);
    const result = JSON.parse(cleared.stdout);
    expect(result.rejectedPending).toEqual([pendingId]);
    expect(result.removedDevices.length).toBeGreaterThan(0);
    expect(JSON.parse((await cli(["devices", "list", "--json", ...conn])).stdout)).toEqual({ pending: [], paired: [] });
  });

  test("a wrong token is the gateway's refusal, printed as other commands print it", async () => {
    const r = await cli(["devices", "list", "--url", gw.url, "--token", "not-the-token"]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain("unauthorized: gateway token mismatch");
  });
});

const LAN = lanAddress();

describe.skipIf(!LAN)(`our CLI as a remote operator keeps its own device identity${LAN ? "" : " (skipped: this host has no non-loopback IPv4 address)"}`, () => {
  let gw: TestGateway;
  beforeAll(async () => {
    gw = await startTestGateway({ config: { gateway: { mode: "local", bind: "lan", auth: { mode: "token", token: TEST_TOKEN } } } });
  });
  afterAll(() => gw?.stop());

  test("paired once, then its device token alone reads status; a revoked token is dropped", async () => {
    const home = tempDir();
    const remoteUrl = `ws://${LAN}:${gw.port}`;
    const asked = await cli(["gateway", "call", "status", "--url", remoteUrl, "--token", TEST_TOKEN, "--json"], { HOME: home });
    expect(asked.code).toBe(1);
    const err = JSON.parse(asked.stdout).error;
    const requestId = err.details.requestId as string;
    expect(err).toMatchObject({ code: "NOT_PAIRED", details: { code: "PAIRING_REQUIRED", reason: "not-paired", requestId: expect.any(String) } });
    const human = await cli(["gateway", "call", "status", "--url", remoteUrl, "--token", TEST_TOKEN], { HOME: home });
    expect(human.stderr).toContain(`openclaw devices approve ${requestId}`);

    // On the gateway host: approve (local CLI, shared token, loopback: no device of its own).
    const local = ["--url", gw.url, "--token", TEST_TOKEN];
    expect((await cli(["devices", "approve", requestId, ...local])).code).toBe(0);

    const paired = await cli(["gateway", "call", "status", "--url", remoteUrl, "--token", TEST_TOKEN, "--json"], { HOME: home });
    expect(paired.code).toBe(0);
    expect(JSON.parse(paired.stdout).runtimeVersion).toEqual(expect.any(String));

    // The token it received is kept in its own state database, per gateway.
    const db = new Database(join(home, ".openclaw", "openclaw.sqlite"), { readonly: true });
    const kept = db.query("SELECT gateway, role, token FROM device_auth_tokens").all() as { gateway: string; role: string; token: string }[];
    db.close();
    expect(kept).toEqual([{ gateway: remoteUrl, role: "operator", token: expect.any(String) }]);

    // A remote config without the shared token: the device token alone.
    const state = join(home, ".openclaw");
    mkdirSync(state, { recursive: true });
    writeFileSync(join(state, "openclaw.json"), JSON.stringify({ gateway: { mode: "remote", remote: { url: remoteUrl } } }));
    const alone = await cli(["gateway", "call", "status", "--json"], { HOME: home });
    expect(alone.code).toBe(0);
    const hello = gw.handle.devices.store.list().paired.find((d) => d.clientId === "cli");
    expect(hello?.tokens.operator?.lastUsedAtMs).toEqual(expect.any(Number));

    // Revoked on the gateway host: refused, and the stale copy is dropped.
    const deviceId = hello!.deviceId;
    expect((await cli(["devices", "revoke", "--device", deviceId, "--role", "operator", ...local])).code).toBe(0);
    const refused = await cli(["gateway", "call", "status", "--json"], { HOME: home });
    expect(refused.code).toBe(1);
    expect(JSON.parse(refused.stdout).error.details.code).toBe("AUTH_DEVICE_TOKEN_MISMATCH");
    const after = new Database(join(home, ".openclaw", "openclaw.sqlite"), { readonly: true });
    expect(after.query("SELECT COUNT(*) AS n FROM device_auth_tokens").get()).toEqual({ n: 0 });
    after.close();
  }, 60_000);
});
