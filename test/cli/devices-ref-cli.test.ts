/**
 * The official `openclaw` CLI 2026.9.6 managing devices on THIS gateway: `devices list --json`
 * shows a remote device's pending request, `devices approve <requestId>` approves it (the CLI
 * lists, then approves with the request's scopes), the device then gets its token, and
 * `devices revoke --device <id> --role operator` revokes it: the device's live socket closes 4001
 * and its token is refused afterwards.
 * Needs the official CLI: OPENCLAW_REF_CLI=/path/to/openclaw (skipped otherwise).
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { connectDevice, generateDeviceKeys } from "../helpers/device-client.ts";
import { startTestGateway, TEST_TOKEN, type TestGateway } from "../helpers/gateway.ts";
import { officialCli } from "../helpers/ref-cli.ts";
import { startRelay, type Relay } from "../helpers/relay.ts";
import { useTempDirs } from "../helpers/state-dir.ts";

const REF = process.env.OPENCLAW_REF_CLI;
const tempDir = useTempDirs("openclaw-devices-ref-");
const LINUX = { id: "openclaw-linux", mode: "ui", platform: "linux", deviceFamily: "Linux", displayName: "remote-box" };

describe.skipIf(!REF)(`the official CLI manages devices on our gateway${REF ? "" : " (skipped: set OPENCLAW_REF_CLI to the official openclaw CLI)"}`, () => {
  let gw: TestGateway;
  let relay: Relay;
  beforeAll(async () => {
    gw = await startTestGateway({ config: { gateway: { mode: "local", auth: { mode: "token", token: TEST_TOKEN }, trustedProxies: ["127.0.0.1"] } } });
    relay = startRelay(() => gw.port);
  });
  afterAll(async () => {
    relay?.stop();
    await gw?.stop();
  });

  test("devices list --json, devices approve <id>, devices revoke", async () => {
    const home = tempDir();
    const conn = ["--url", gw.url, "--token", TEST_TOKEN];
    const keys = await generateDeviceKeys();
    const first = await connectDevice({ url: relay.url, keys, client: LINUX, scopes: ["operator.read"], auth: { token: TEST_TOKEN } });
    const requestId = first.response.error?.details?.requestId as string;
    expect(requestId).toEqual(expect.any(String));

    const listed = await officialCli(REF!, ["devices", "list", "--json", ...conn], home);
    expect(listed.code).toBe(0);
    const list = JSON.parse(listed.stdout);
    expect(list.pending).toEqual([expect.objectContaining({ requestId, deviceId: keys.deviceId, remoteIp: "192.0.2.77" })]);

    const approved = await officialCli(REF!, ["devices", "approve", requestId, ...conn], home);
    expect(approved.code).toBe(0);
    expect(approved.stdout).toContain(`Approved ${keys.deviceId} (${requestId})`);
    expect(gw.handle.devices.store.getPaired(keys.deviceId)?.approvedVia).toBe("owner");

    const live = await connectDevice({ url: relay.url, keys, client: LINUX, scopes: ["operator.read"], auth: { token: TEST_TOKEN }, keepOpen: true });
    const token = live.response.payload.auth.deviceToken as string;
    expect(token).toEqual(expect.any(String));

    const revoked = await officialCli(REF!, ["devices", "revoke", "--device", keys.deviceId, "--role", "operator", ...conn], home);
    expect(revoked.code).toBe(0);
    expect(JSON.parse(revoked.stdout)).toEqual({ deviceId: keys.deviceId, role: "operator", revokedAtMs: expect.any(Number) });
    expect(await live.closed).toEqual({ code: 4001, reason: "device removed" });
    const refused = await connectDevice({ url: relay.url, keys, client: LINUX, scopes: ["operator.read"], auth: { deviceToken: token } });
    expect(refused.response.error?.details?.code).toBe("AUTH_DEVICE_TOKEN_MISMATCH");
  }, 120_000);
});
