import { describe, expect, test } from "bun:test";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { composeEnv, configEnvVars, parseDotenv } from "../../src/config/load.ts";
import { loadCase, pathsFor, useTempDirs } from "./helpers.ts";

const tempDir = useTempDirs("openclaw-env-test-");

describe("parseDotenv", () => {
  test("plain, exported, quoted, commented and multi-line values", () => {
    const text = [
      "# comment",
      "A=1",
      "export B = two ",
      "C='single # not a comment'",
      'D="line\\nbreak \\"q\\""',
      "E=value # trailing comment",
      'F="multi',
      'line"',
      "G=",
      "not a line",
      "1BAD=x",
      'H="unterminated',
      "I=after",
    ].join("\r\n");
    expect(parseDotenv(text)).toEqual({
      A: "1",
      B: "two",
      C: "single # not a comment",
      D: 'line\nbreak "q"',
      E: "value",
      F: "multi\nline",
      G: "",
      I: "after",
    });
  });
});

describe("composeEnv", () => {
  test("process env > <stateDir>/.env > config env block; blocked keys never come from files", async () => {
    const stateDir = tempDir();
    writeFileSync(
      join(stateDir, ".env"),
      "FROM_DOTENV=dotenv\nSHARED=dotenv\nPATH=/evil\nOPENCLAW_ALLOW_OLDER_BINARY_DESTRUCTIVE_ACTIONS=1\nOPENCLAW_STATE_DIR=/elsewhere\n",
    );
    const doc = { env: { vars: { FROM_CONFIG: "config", SHARED: "config" }, DIRECT: "direct", shellEnv: { enabled: true }, NODE_OPTIONS: "--evil" } };
    const env = await composeEnv({ SHARED: "process", PATH: "/usr/bin" }, stateDir, doc);
    expect(env.FROM_DOTENV).toBe("dotenv");
    expect(env.FROM_CONFIG).toBe("config");
    expect(env.DIRECT).toBe("direct");
    expect(env.SHARED).toBe("process");
    expect(env.PATH).toBe("/usr/bin");
    expect(env.OPENCLAW_ALLOW_OLDER_BINARY_DESTRUCTIVE_ACTIONS).toBeUndefined();
    expect(env.OPENCLAW_STATE_DIR).toBeUndefined();
    expect(env.NODE_OPTIONS).toBeUndefined();
    expect(process.env.FROM_DOTENV).toBeUndefined();
  });

  test("configEnvVars takes only string values", () => {
    expect(configEnvVars({ env: { A: "x", B: 1, vars: { C: "y", D: true } } })).toEqual({ A: "x", C: "y" });
    expect(configEnvVars(undefined)).toEqual({});
  });

  test("an oversized .env is ignored with a warning", async () => {
    const stateDir = tempDir();
    writeFileSync(join(stateDir, ".env"), `BIG=${"x".repeat(1024 * 1024 + 10)}\n`);
    const warnings: string[] = [];
    const env = await composeEnv({}, stateDir, {}, warnings);
    expect(env.BIG).toBeUndefined();
    expect(warnings[0]).toContain("larger than 1 MiB; ignored");
  });
});

describe("loadConfig with <stateDir>/.env", () => {
  test("${VAR} and OPENCLAW_GATEWAY_* come from the state dir's .env; the process env still wins", async () => {
    const home = tempDir();
    const { paths } = pathsFor({ home });
    const { mkdirSync } = await import("node:fs");
    mkdirSync(paths.stateDir, { recursive: true });
    writeFileSync(join(paths.stateDir, ".env"), "PROVIDER_KEY=from-dotenv\nOPENCLAW_GATEWAY_TOKEN=dotenv-token\n");
    const json = { gateway: { mode: "local" }, models: { providers: { p: { apiKey: "${PROVIDER_KEY}" } } } };
    const loaded = await loadCase({ home, json });
    expect(loaded.config.models?.providers?.p.apiKey).toBe("from-dotenv");
    expect(loaded.config.gateway?.auth?.token).toBe("dotenv-token");
    expect(loaded.sources.token).toBe("env");
    const overridden = await loadCase({ home, json, env: { OPENCLAW_GATEWAY_TOKEN: "process-token" } });
    expect(overridden.config.gateway?.auth?.token).toBe("process-token");
    // The file keeps the reference; only the effective config is substituted.
    expect(loaded.raw).toContain("${PROVIDER_KEY}");
  });
});
