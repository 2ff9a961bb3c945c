/**
 * The captured device scenario of the reference gateway (test/fixture/transcripts/devices/
 * observed.jsonl: every proof failure, device-less connects, silent local pairing, remote pairing,
 * approval, scope/role/metadata upgrades, revoke and the live socket's 4001, the device methods'
 * errors, self-scoped device sessions, the pairing events) replayed against the REAL gateway
 * (the whole connect pipeline, the registry with its scope checks, the pairing store in the state
 * database) and compared case by case, as the library harness test does.
 *
 * "Remote" clients reach the gateway over this host's non-loopback address when it has one (the
 * gateway binds `lan`, as the reference did); otherwise through a relay on loopback that the
 * gateway trusts as a proxy and that names a LAN client in `X-Forwarded-For`.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { networkInterfaces } from "node:os";
import { observed, scenarioDiffs } from "../fixture/transcripts/devices/compare.ts";
import { runDeviceScenario } from "../fixture/transcripts/devices/scenario.ts";
import { startTestGateway, TEST_TOKEN, type TestGateway } from "../helpers/gateway.ts";
import { startRelay, type Relay } from "../helpers/relay.ts";

function lanAddress(): string | undefined {
  for (const list of Object.values(networkInterfaces())) {
    for (const a of list ?? []) if (a.family === "IPv4" && !a.internal) return a.address;
  }
  return undefined;
}

describe("device scenario against the real gateway", () => {
  const lan = lanAddress();
  let gw: TestGateway;
  let relay: Relay | undefined;
  const ours: Record<string, unknown>[] = [];

  beforeAll(async () => {
    gw = await startTestGateway({
      config: {
        gateway: {
          mode: "local",
          bind: lan ? "lan" : "loopback",
          auth: { mode: "token", token: TEST_TOKEN },
          ...(lan ? {} : { trustedProxies: ["127.0.0.1"] }),
        },
      },
    });
    if (!lan) relay = startRelay(() => gw.port);
    await runDeviceScenario({
      local: gw.url,
      remote: lan ? `ws://${lan}:${gw.port}` : relay!.url,
      token: TEST_TOKEN,
      emit: (line) => ours.push(JSON.parse(JSON.stringify(line).split(TEST_TOKEN).join("<TOKEN>"))),
    });
  }, 60_000);

  afterAll(async () => {
    relay?.stop();
    await gw?.stop();
  });

  test("same cases in the same order", () => {
    expect(ours.map((l) => `${l.case}/${l.kind}`)).toEqual(observed.map((l) => `${l.case}/${l.kind}`));
  });

  test("every case answers like the reference", () => {
    expect(scenarioDiffs(ours)).toEqual([]);
  });

  test("the gateway logged the proof failures and the pairing decisions an operator greps for", () => {
    const lines = gw.logs.map((r) => r.message);
    for (const needle of [
      "device auth rejected: device signature invalid (device-signature)",
      "device auth rejected: device nonce mismatch (device-nonce-mismatch)",
      "device auth rejected: device nonce required (device-nonce-missing)",
      "device auth rejected: device signature expired (device-signature-stale)",
      "device auth rejected: device identity mismatch (device-id-mismatch)",
      "device pairing auto-approved device=",
      "device pairing approved device=",
      "device token revoked device=",
      "security audit: device access upgrade requested reason=scope-upgrade",
    ]) {
      expect(lines.some((l) => l.includes(needle))).toBe(true);
    }
  });
});
