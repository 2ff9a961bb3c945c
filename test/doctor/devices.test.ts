/**
 * `openclaw doctor`'s device pairing findings (`core/doctor/device-pairing`): a pending request
 * waiting too long and a paired device stuck without a token, read from the gateway's store in
 * the state dir without writing it; and the token drift checklist for the CLI's own identity
 * against a real gateway: a kept device token the gateway no longer knows is reported, an
 * unreachable gateway is a skipped check.
 */
import { describe, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { PairingStore } from "../../src/auth/pairing-store.ts";
import { checkDevicePairing } from "../../src/doctor/devices.ts";
import { runDoctor, type DoctorDeps } from "../../src/doctor/index.ts";
import { resolvePaths } from "../../src/config/paths.ts";
import { connectAsDevice } from "../../src/operator/device-auth.ts";
import { startTestGateway, TEST_TOKEN } from "../helpers/gateway.ts";
import { systemdHost, useTempDirs } from "../service/fakes.ts";

const tmp = useTempDirs("openclaw-doctor-devices-");
const KEY = "a".repeat(64);

describe("pairing store findings", () => {
  test("an old pending request and a paired device without an active token; nothing written", async () => {
    const stateDir = tmp();
    const t0 = Date.now();
    const store = PairingStore.open(stateDir, { now: () => t0 });
    const pending = store.requestPairing({ deviceId: KEY, publicKey: "pk-a", displayName: "laptop", role: "operator", scopes: ["operator.read"], clientId: "cli", clientMode: "cli" });
    const other = store.requestPairing({ deviceId: "b".repeat(64), publicKey: "pk-b", displayName: "phone", role: "operator", scopes: ["operator.read"] });
    store.approve(other.request.requestId, { callerScopes: ["operator.admin"] });
    store.revokeToken({ deviceId: "b".repeat(64), role: "operator", callerScopes: ["operator.admin"] });
    store.close();
    const before = readFileSync(join(stateDir, "openclaw.sqlite"));

    const young = await checkDevicePairing({ stateDir, now: t0 + 10_000 });
    expect(young.findings.map((f) => f.requirement)).toEqual(["missing-active-role-token"]);

    const r = await checkDevicePairing({ stateDir, now: t0 + 120_000 });
    expect(r.findings.map((f) => f.requirement)).toEqual(["first-time", "missing-active-role-token"]);
    const first = r.findings[0];
    expect(first.message).toBe(
      `Pending device pairing request ${pending.request.requestId} for laptop (${KEY}) (waiting 120s). Review with openclaw devices list, then approve with openclaw devices approve ${pending.request.requestId}.`,
    );
    expect(r.findings[1].fixHint).toBe(`Rotate a fresh token with openclaw devices rotate --device ${"b".repeat(64)} --role operator.`);
    expect(readFileSync(join(stateDir, "openclaw.sqlite")).equals(before)).toBe(true);
  });

  test("runDoctor reports them under core/doctor/device-pairing; a state dir without a store has none", async () => {
    const { host } = systemdHost(tmp(), { program: [process.execPath] });
    const paths = resolvePaths({ env: host.env });
    const t0 = Date.now();
    const store = PairingStore.open(paths.stateDir, { now: () => t0 });
    store.requestPairing({ deviceId: KEY, publicKey: "pk-a", role: "operator", scopes: [] });
    store.close();
    const deps: DoctorDeps = { host, paths, env: host.env, listenersOnPort: async () => [], now: () => new Date(t0 + 300_000 - 1) };
    const report = await runDoctor(deps);
    expect(report.checksRun).toContain("core/doctor/device-pairing");
    const f = report.findings.filter((x) => x.checkId === "core/doctor/device-pairing");
    expect(f).toHaveLength(1);
    expect(f[0]).toMatchObject({ severity: "warning", fixable: false, path: "devices.pending" });

    const empty = systemdHost(tmp(), { program: [process.execPath] });
    const emptyPaths = resolvePaths({ env: empty.host.env });
    const clean = await runDoctor({ host: empty.host, paths: emptyPaths, env: empty.host.env, listenersOnPort: async () => [], now: () => new Date() });
    expect(clean.findings.filter((x) => x.checkId === "core/doctor/device-pairing")).toEqual([]);
  });
});

describe("the token drift checklist for this CLI's own identity", () => {
  test("a kept token is fine, then unknown once revoked; an unreachable gateway is skipped", async () => {
    const gw = await startTestGateway();
    const cliState = tmp();
    try {
      // This CLI connects as its device (here: over loopback, approved silently) and keeps its token.
      const client = await connectAsDevice(cliState, gw.url, { url: gw.url, token: TEST_TOKEN, scopes: ["operator.read"], client: { id: "cli", mode: "cli" } });
      const deviceId = gw.handle.devices.store.list().paired[0].deviceId;
      await client.close();

      expect((await checkDevicePairing({ stateDir: cliState, now: Date.now() })).findings).toEqual([]);

      gw.handle.devices.store.revokeToken({ deviceId, role: "operator", callerScopes: ["operator.admin"] });
      const drift = await checkDevicePairing({ stateDir: cliState, now: Date.now() });
      expect(drift.findings.map((f) => f.requirement)).toEqual(["local-token-unknown"]);
      expect(drift.findings[0].message).toBe(
        `This CLI's operator device token for ${gw.url} is no longer known to that gateway (rotated, revoked, or the device was removed); connecting with it fails with device token mismatch.`,
      );
      expect(drift.findings[0].fixHint).toContain(`openclaw devices rotate --device ${deviceId} --role operator`);
    } finally {
      await gw.stop();
    }
    const gone = await checkDevicePairing({ stateDir: cliState, now: Date.now(), probeTimeoutMs: 2_000 });
    expect(gone.findings).toEqual([]);
    expect(gone.skipped).toEqual([{ checkId: "core/doctor/device-pairing", reason: expect.stringContaining("not reachable to check this CLI's operator device token") }]);
  });
});
