import { describe, expect, test } from "bun:test";
import { existsSync, readdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { ConfigError } from "../../src/config/load.ts";
import {
  fileTimestamp,
  lastGoodPathFor,
  listClobbered,
  loadConfigWithRecovery,
  MAX_CLOBBERED,
  promoteLastGood,
  recoveryEventText,
  recoveryLogLine,
} from "../../src/config/last-good.ts";
import { resolvePaths } from "../../src/config/paths.ts";
import { useTempDirs } from "./helpers.ts";

const tempDir = useTempDirs("openclaw-lkg-test-");
const GOOD = `{\n  // the last config that loaded\n  gateway: { mode: "local", port: 23456, auth: { token: "good-token-0123456789" } },\n}\n`;

function setup(configText: string | undefined, lastGood?: string) {
  const stateDir = tempDir();
  const env = { OPENCLAW_STATE_DIR: stateDir };
  const paths = resolvePaths({ env });
  if (configText !== undefined) writeFileSync(paths.configPath, configText, { mode: 0o600 });
  if (lastGood !== undefined) writeFileSync(lastGoodPathFor(paths.configPath), lastGood, { mode: 0o600 });
  return { stateDir, env, paths };
}

describe("promoteLastGood", () => {
  test("keeps the raw text 0600, skips unchanged copies and redacted placeholders", async () => {
    const { paths } = setup(GOOD);
    expect(await promoteLastGood(paths.configPath, GOOD)).toBe("promoted");
    const lkg = lastGoodPathFor(paths.configPath);
    expect(readFileSync(lkg, "utf8")).toBe(GOOD);
    expect(statSync(lkg).mode & 0o777).toBe(0o600);
    expect(await promoteLastGood(paths.configPath, GOOD)).toBe("unchanged");
    expect(await promoteLastGood(paths.configPath, '{ gateway: { auth: { token: "__OPENCLAW_REDACTED__" } } }')).toBe("skipped-redacted");
    expect(await promoteLastGood(paths.configPath, '{ gateway: { auth: { token: "***" } } }')).toBe("skipped-redacted");
    expect(readFileSync(lkg, "utf8")).toBe(GOOD);
    expect(await promoteLastGood(paths.configPath, null)).toBe("no-file");
  });
});

describe("loadConfigWithRecovery", () => {
  test("a valid config loads as is: no recovery, nothing written", async () => {
    const { paths, env, stateDir } = setup(GOOD, GOOD.replace("23456", "23457"));
    const r = await loadConfigWithRecovery({ paths, env });
    expect(r.recovery).toBeUndefined();
    expect(r.loaded.config.gateway?.port).toBe(23456);
    expect(readdirSync(stateDir).sort()).toEqual(["openclaw.json", "openclaw.json.last-good"]);
  });

  for (const [name, bad, issuePath] of [
    ["schema-invalid", '{ gateway: { mode: "local", port: "eighty" } }', "gateway.port"],
    ["unparseable", "{ gateway: { mode: ", "<file>"],
  ] as const) {
    test(`${name}: moved to .clobbered.<ts>, last-known-good restored, issue reported`, async () => {
      const { paths, env, stateDir } = setup(bad, GOOD);
      const now = new Date("2026-09-01T10:22:33.123Z");
      const r = await loadConfigWithRecovery({ paths, env, now });
      expect(r.loaded.config.gateway?.port).toBe(23456);
      expect(readFileSync(paths.configPath, "utf8")).toBe(GOOD);
      const clobbered = `${paths.configPath}.clobbered.2026-09-01T10-22-33-123Z`;
      expect(r.recovery?.clobberedPath).toBe(clobbered);
      expect(readFileSync(clobbered, "utf8")).toBe(bad);
      expect(r.recovery?.issues[0].path).toBe(issuePath);
      expect(statSync(paths.configPath).mode & 0o777).toBe(0o600);
      expect(readdirSync(stateDir).sort()).toEqual(["openclaw.json", "openclaw.json.clobbered.2026-09-01T10-22-33-123Z", "openclaw.json.last-good"]);
      expect(recoveryLogLine(r.recovery!)).toStartWith("Config auto-restored from last-known-good");
      expect(recoveryEventText(r.recovery!)).toStartWith("Config recovery warning");
    });
  }

  test("without a last-known-good copy the original error stands and nothing moves", async () => {
    const bad = '{ gateway: { mode: "local", port: "eighty" } }';
    const { paths, env, stateDir } = setup(bad);
    const err = await loadConfigWithRecovery({ paths, env }).catch((e) => e);
    expect(err).toBeInstanceOf(ConfigError);
    expect((err as ConfigError).message).toContain("× gateway.port:");
    expect(readFileSync(paths.configPath, "utf8")).toBe(bad);
    expect(readdirSync(stateDir)).toEqual(["openclaw.json"]);
  });

  test("an unusable last-known-good copy is not restored", async () => {
    const bad = '{ gateway: { port: -1 } }';
    const { paths, env } = setup(bad, "{ also broken");
    await expect(loadConfigWithRecovery({ paths, env })).rejects.toBeInstanceOf(ConfigError);
    expect(readFileSync(paths.configPath, "utf8")).toBe(bad);
  });

  test("a config last written by a newer OpenClaw is never rolled back", async () => {
    const newer = '{ meta: { lastTouchedVersion: "2099.1.1" }, gateway: { mode: "local", futureKnob: true } }';
    const { paths, env } = setup(newer, GOOD);
    await expect(loadConfigWithRecovery({ paths, env })).rejects.toBeInstanceOf(ConfigError);
    expect(readFileSync(paths.configPath, "utf8")).toBe(newer);
    expect(await listClobbered(paths.configPath)).toEqual([]);
  });

  test("a missing config is not an error and restores nothing", async () => {
    const { paths, env } = setup(undefined, GOOD);
    const r = await loadConfigWithRecovery({ paths, env });
    expect(r.loaded.exists).toBe(false);
    expect(existsSync(paths.configPath)).toBe(false);
  });

  test(`keeps only the newest ${MAX_CLOBBERED} clobbered files`, async () => {
    const { paths, env } = setup("{ broken", GOOD);
    for (let i = 0; i < MAX_CLOBBERED + 3; i++) {
      writeFileSync(`${paths.configPath}.clobbered.${fileTimestamp(new Date(Date.UTC(2020, 0, 1, 0, 0, i)))}`, "old");
    }
    await loadConfigWithRecovery({ paths, env, now: new Date("2026-01-01T00:00:00.000Z") });
    const left = await listClobbered(paths.configPath);
    expect(left.length).toBe(MAX_CLOBBERED);
    expect(left[0]).toEndWith("clobbered.2026-01-01T00-00-00-000Z");
  });
});
