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
import { observed, scenarioDiffs } from "../fixture/transcripts/devices/compare.ts";
import { runDeviceScenario } from "../fixture/transcripts/devices/scenario.ts";
import { useTempDirs } from "../helpers/state-dir.ts";
import { startDeviceHarness, type DeviceHarness } from "./device-harness.ts";

const TOKEN = "harness-token-0123456789";

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
    expect(scenarioDiffs(ours)).toEqual([]);
  });
});
