import { describe, expect, test } from "bun:test";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import {
  assertNotNewerConfig,
  compareCalVer,
  GuardedAction,
  NewerConfigError,
  parseCalVer,
  readTouchedVersion,
} from "../../src/config/version-guard.ts";
import { VERSION } from "../../src/version.ts";
import { useTempDirs } from "./helpers.ts";

const tempDir = useTempDirs("openclaw-guard-test-");

describe("calendar versions", () => {
  test("parse YYYY.M.D, betas and corrections", () => {
    expect(parseCalVer("2026.9.6")).toEqual({ year: 2026, month: 9, day: 6 });
    expect(parseCalVer("2026.10.1-beta.3")).toEqual({ year: 2026, month: 10, day: 1, beta: 3 });
    expect(parseCalVer("2026.9.6-1")).toEqual({ year: 2026, month: 9, day: 6 });
    expect(parseCalVer("0.1.0")).toBeUndefined();
    expect(parseCalVer("latest")).toBeUndefined();
    expect(parseCalVer(undefined)).toBeUndefined();
  });

  test("compare numerically, betas before releases, corrections equal", () => {
    expect(compareCalVer("2026.10.1", "2026.9.30")).toBeGreaterThan(0);
    expect(compareCalVer("2026.9.10", "2026.9.9")).toBeGreaterThan(0);
    expect(compareCalVer("2027.1.1", "2026.12.31")).toBeGreaterThan(0);
    expect(compareCalVer("2026.9.6-beta.2", "2026.9.6")).toBeLessThan(0);
    expect(compareCalVer("2026.9.6-beta.2", "2026.9.6-beta.10")).toBeLessThan(0);
    expect(compareCalVer("2026.9.6-2", "2026.9.6")).toBe(0);
    expect(compareCalVer("2026.9.6", "2026.9.6")).toBe(0);
    expect(compareCalVer("x", "2026.9.6")).toBeUndefined();
  });
});

describe("assertNotNewerConfig", () => {
  const newer = "2099.1.1";

  test("refuses with the exact three lines and the given exit code", () => {
    let err: unknown;
    try {
      assertNotNewerConfig({ touchedVersion: newer, action: GuardedAction.forcePortCleanup, env: {} });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(NewerConfigError);
    const e = err as NewerConfigError;
    expect(e.exitCode).toBe(1);
    expect(e.lines).toEqual([
      `Refusing to force-kill gateway port listeners because this OpenClaw binary (${VERSION}) is older than the config last written by OpenClaw ${newer}.`,
      "Run the newer openclaw binary on PATH, or reinstall the intended gateway service from the newer install.",
      "Set OPENCLAW_ALLOW_OLDER_BINARY_DESTRUCTIVE_ACTIONS=1 only for an intentional downgrade or recovery action.",
    ]);
    expect(() => assertNotNewerConfig({ touchedVersion: newer, action: GuardedAction.serviceStartup, exitCode: 78, env: {} })).toThrow(
      "Refusing to start the gateway service because",
    );
  });

  test("same, older, missing or unparseable versions pass", () => {
    for (const v of [VERSION, "2026.1.1", "2026.9.6-3", undefined, "garbage"]) {
      expect(() => assertNotNewerConfig({ touchedVersion: v, action: "x", env: {} })).not.toThrow();
    }
  });

  test("the override lets one command through, except in service mode", () => {
    for (const value of ["1", "true", "YES"]) {
      expect(() => assertNotNewerConfig({ touchedVersion: newer, action: "x", env: { OPENCLAW_ALLOW_OLDER_BINARY_DESTRUCTIVE_ACTIONS: value } })).not.toThrow();
    }
    expect(() => assertNotNewerConfig({ touchedVersion: newer, action: "x", env: { OPENCLAW_ALLOW_OLDER_BINARY_DESTRUCTIVE_ACTIONS: "0" } })).toThrow(NewerConfigError);
    expect(() =>
      assertNotNewerConfig({
        touchedVersion: newer,
        action: "x",
        env: { OPENCLAW_ALLOW_OLDER_BINARY_DESTRUCTIVE_ACTIONS: "1", OPENCLAW_SERVICE_MARKER: "openclaw" },
      }),
    ).toThrow(NewerConfigError);
  });

  test("readTouchedVersion reads JSON5 without validating; missing/broken files give undefined", async () => {
    const dir = tempDir();
    const p = join(dir, "openclaw.json");
    expect(await readTouchedVersion(p)).toBeUndefined();
    writeFileSync(p, `{ // newer config with keys we do not know\n meta: { lastTouchedVersion: '${newer}' }, futureKey: { x: 1 }, }`);
    expect(await readTouchedVersion(p)).toBe(newer);
    writeFileSync(p, "{ not json");
    expect(await readTouchedVersion(p)).toBeUndefined();
  });
});
