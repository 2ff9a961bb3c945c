/**
 * The captured device scenario of the reference gateway (test/fixture/transcripts/devices/
 * observed.jsonl), replayed against our device modules behind the harness gateway, case by case.
 *
 * Values that differ from run to run are replaced by placeholders numbered in order of first
 * appearance (request ids, device ids, keys, tokens, recovery scopes, addresses; timestamps are
 * just `<ts>`), so equality still checks the relations: a retry that must reuse a requestId, a
 * reconnect that must get the same token back, a superseded request that must be a new one.
 * The comparison is on the JSON text, so key order counts too.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { runDeviceScenario } from "../fixture/transcripts/devices/scenario.ts";
import { useTempDirs } from "../helpers/state-dir.ts";
import { startDeviceHarness, type DeviceHarness } from "./device-harness.ts";

const FIXTURE = join(import.meta.dir, "../fixture/transcripts/devices/observed.jsonl");
const TOKEN = "harness-token-0123456789";
const TS_KEYS = new Set(["ts", "createdAtMs", "approvedAtMs", "lastSeenAtMs", "lastUsedAtMs", "rotatedAtMs", "revokedAtMs", "issuedAtMs", "signedAt"]);
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const HEX64 = /^[0-9a-f]{64}$/;

function normalizer() {
  const maps = new Map<string, Map<string, string>>();
  const ph = (kind: string, value: string) => {
    let m = maps.get(kind);
    if (!m) maps.set(kind, (m = new Map()));
    if (!m.has(value)) m.set(value, `<${kind}#${m.size + 1}>`);
    return m.get(value)!;
  };
  const walk = (v: unknown, key?: string): unknown => {
    if (Array.isArray(v)) return v.map((x) => walk(x));
    if (v && typeof v === "object") {
      const out: Record<string, unknown> = {};
      for (const [k, x] of Object.entries(v)) {
        if (k === "id" && typeof x === "string" && !HEX64.test(x)) continue; // frame ids
        if (k === "seq") continue;
        out[k] = walk(x, k);
      }
      return out;
    }
    if (typeof v === "number" && key && TS_KEYS.has(key)) return "<ts>";
    if (typeof v !== "string") return v;
    if (key === "nonce" || key === "signature") return `<${key}>`;
    if (key === "remoteIp") return ph("ip", v);
    if (key === "publicKey") return ph("key", v);
    if (key === "deviceToken" || key === "token") return v === "<TOKEN>" ? v : ph("token", v);
    if (key === "recoveryScope") return ph("recovery", v);
    if (UUID.test(v)) return ph("uuid", v);
    if (HEX64.test(v)) return ph("device", v);
    // A close reason ends with the request id, cut at the close-reason limit: keep the cut length.
    const m = /^(.*\(requestId: )([0-9a-f-]+)(\)?)$/.exec(v);
    if (m) return `${m[1]}<id of ${m[2].length} chars>${m[3]}`;
    return v;
  };
  return (line: Record<string, unknown>) => {
    const copy = structuredClone(line);
    // Only `auth` of hello-ok is ours to match here (the rest is the gateway core's).
    const res = copy.response as { ok?: boolean; payload?: { type?: string; auth?: unknown } } | undefined;
    if (res?.ok && res.payload?.type === "hello-ok") res.payload = { type: "hello-ok", auth: res.payload.auth };
    if (copy.kind === "connect") delete copy.url;
    return JSON.stringify(walk(copy));
  };
}

const observed = readFileSync(FIXTURE, "utf8")
  .split("\n")
  .filter(Boolean)
  .map((l) => JSON.parse(l) as Record<string, unknown>);

describe("device scenario replayed against our modules", () => {
  const dirs = useTempDirs("openclaw-devices-");
  let harness: DeviceHarness;
  const ours: Record<string, unknown>[] = [];

  beforeAll(async () => {
    harness = await startDeviceHarness({ stateDir: dirs(), token: TOKEN });
    await runDeviceScenario({
      local: harness.localUrl,
      remote: harness.remoteUrl,
      token: TOKEN,
      emit: (line) => ours.push(JSON.parse(JSON.stringify(line).split(TOKEN).join("<TOKEN>"))),
    });
  }, 60_000);

  afterAll(async () => {
    await harness?.stop();
  });

  test("same cases in the same order", () => {
    expect(ours.map((l) => `${l.case}/${l.kind}`)).toEqual(observed.map((l) => `${l.case}/${l.kind}`));
  });

  test("every case answers like the reference", () => {
    const a = normalizer();
    const b = normalizer();
    const diffs: string[] = [];
    for (let i = 0; i < observed.length; i++) {
      const want = a(observed[i]);
      const got = b(ours[i] ?? {});
      if (want !== got) diffs.push(`${observed[i].case}\n  want ${want}\n  got  ${got}`);
    }
    expect(diffs).toEqual([]);
  });
});
