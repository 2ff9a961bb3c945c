import { describe, expect, test } from "bun:test";
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { ConfigError, formatConfigIssues, readConfigFile, substituteEnv } from "../../src/config/load.ts";
import { loadConfig, mergeLayers } from "../../src/config/snapshot.ts";
import { loadCase, pathsFor, useTempDirs, writeText } from "./helpers.ts";

const tempDir = useTempDirs("openclaw-load-test-");

async function loadError(c: Parameters<typeof loadCase>[0]): Promise<ConfigError> {
  try {
    await loadCase(c);
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return err as ConfigError;
  }
  throw new Error("expected loadConfig to throw a ConfigError");
}

describe("missing and empty files", () => {
  test("missing file → exists:false and defaults", async () => {
    const home = tempDir();
    const loaded = await loadCase({ home });
    expect(loaded.exists).toBe(false);
    expect(loaded.raw).toBeNull();
    expect(loaded.hash).toBeNull();
    expect(loaded.file).toEqual({});
    expect(loaded.config).toEqual({ gateway: { port: 18789, bind: "loopback" } });
    expect(loaded.sources).toEqual({
      port: "default",
      bind: "default",
      token: undefined,
      password: undefined,
      authMode: undefined,
    });
    expect(loaded.warnings).toEqual([]);
    expect(loaded.paths.configPath).toBe(join(home, ".openclaw", "openclaw.json"));
    // loading never creates the file or the state dir
    expect(existsSync(join(home, ".openclaw"))).toBe(false);
  });

  test("missing file uses the profile default port", async () => {
    expect((await loadCase({ home: tempDir(), profile: "dev" })).config.gateway?.port).toBe(19001);
    expect((await loadCase({ home: tempDir(), profile: "rescue" })).config.gateway?.port).toBe(23532);
    expect((await loadCase({ home: tempDir(), env: { OPENCLAW_PROFILE: "main" } })).config.gateway?.port).toBe(23592);
  });

  test("empty and whitespace-only files are an empty config", async () => {
    for (const text of ["", "  \n\t\n"]) {
      const loaded = await loadCase({ home: tempDir(), text });
      expect(loaded.exists).toBe(true);
      expect(loaded.raw).toBe(text);
      expect(loaded.hash).toBe(createHash("sha256").update(text).digest("hex"));
      expect(loaded.file).toEqual({});
      expect(loaded.config).toEqual({ gateway: { port: 18789, bind: "loopback" } });
      expect(loaded.sources.port).toBe("default");
    }
  });

  test("`{}` loads as defaults with exists:true", async () => {
    const loaded = await loadCase({ home: tempDir(), text: "{}" });
    expect(loaded.exists).toBe(true);
    expect(loaded.file).toEqual({});
    expect(loaded.config.gateway).toEqual({ port: 18789, bind: "loopback" });
  });
});

describe("JSON5", () => {
  test("comments, trailing commas, unquoted keys and single quotes", async () => {
    const text = `// OpenClaw config
{
  /* gateway block */
  gateway: {
    mode: 'local',
    port: 28789, // inline comment
    bind: "lan",
    auth: { token: 'tok-123', },
    trustedProxies: ['10.0.0.1', "10.0.0.2",],
  },
  channels: { telegram: { enabled: true, }, },
}
`;
    const loaded = await loadCase({ home: tempDir(), text });
    expect(loaded.raw).toBe(text);
    expect(loaded.hash).toBe(createHash("sha256").update(text).digest("hex"));
    expect(loaded.file).toEqual({
      gateway: { mode: "local", port: 28789, bind: "lan", auth: { token: "tok-123" }, trustedProxies: ["10.0.0.1", "10.0.0.2"] },
      channels: { telegram: { enabled: true } },
    });
    expect(loaded.config.gateway?.port).toBe(28789);
    expect(loaded.config.gateway?.bind).toBe("lan");
    expect(loaded.config.gateway?.auth?.token).toBe("tok-123");
    expect(loaded.config.channels).toEqual({ telegram: { enabled: true } });
  });

  test("an OPENCLAW_CONFIG_PATH file with any extension is read as JSON5", async () => {
    const home = tempDir();
    const cfg = writeText(join(home, "etc", "gw.conf"), "{ gateway: { port: 30001 } }");
    const loaded = await loadCase({ home, env: { OPENCLAW_CONFIG_PATH: cfg } });
    expect(loaded.paths.configPath).toBe(cfg);
    expect(loaded.exists).toBe(true);
    expect(loaded.config.gateway?.port).toBe(30001);
  });
});

describe("precedence: CLI > env > file > defaults", () => {
  const file = { gateway: { port: 30000, bind: "lan", auth: { token: "file-token", mode: "token" } } };

  test("port: --port beats everything", async () => {
    const loaded = await loadCase({
      home: tempDir(),
      json: file,
      cli: { port: 31000 },
      env: { OPENCLAW_GATEWAY_PORT: "32000" },
    });
    expect(loaded.config.gateway?.port).toBe(31000);
    expect(loaded.sources.port).toBe("cli");
  });

  test("port: OPENCLAW_GATEWAY_PORT beats gateway.port", async () => {
    const loaded = await loadCase({ home: tempDir(), json: file, env: { OPENCLAW_GATEWAY_PORT: "32000" } });
    expect(loaded.config.gateway?.port).toBe(32000);
    expect(loaded.sources.port).toBe("env");
  });

  test("port: host:N and [v6]:N env forms", async () => {
    const a = await loadCase({ home: tempDir(), json: file, env: { OPENCLAW_GATEWAY_PORT: "0.0.0.0:32001" } });
    expect(a.config.gateway?.port).toBe(32001);
    const b = await loadCase({ home: tempDir(), json: file, env: { OPENCLAW_GATEWAY_PORT: "[::1]:32002" } });
    expect(b.config.gateway?.port).toBe(32002);
    expect(b.sources.port).toBe("env");
  });

  test("port: invalid OPENCLAW_GATEWAY_PORT is ignored", async () => {
    for (const junk of ["nope", "0", "70000", ""]) {
      const loaded = await loadCase({ home: tempDir(), json: file, env: { OPENCLAW_GATEWAY_PORT: junk } });
      expect(loaded.config.gateway?.port).toBe(30000);
      expect(loaded.sources.port).toBe("config");
    }
  });

  test("port: gateway.port beats the default, profile default last", async () => {
    const fromFile = await loadCase({ home: tempDir(), json: file, profile: "work" });
    expect(fromFile.config.gateway?.port).toBe(30000);
    expect(fromFile.sources.port).toBe("config");
    const fromDefault = await loadCase({ home: tempDir(), json: { gateway: { mode: "local" } }, profile: "work" });
    expect(fromDefault.config.gateway?.port).toBe(41984);
    expect(fromDefault.sources.port).toBe("default");
  });

  test("bind: --bind > gateway.bind > loopback; there is no env layer", async () => {
    const cli = await loadCase({ home: tempDir(), json: file, cli: { bind: "auto" }, env: { OPENCLAW_GATEWAY_BIND: "custom" } });
    expect(cli.config.gateway?.bind).toBe("auto");
    expect(cli.sources.bind).toBe("cli");
    const fromFile = await loadCase({ home: tempDir(), json: file, env: { OPENCLAW_GATEWAY_BIND: "custom" } });
    expect(fromFile.config.gateway?.bind).toBe("lan");
    expect(fromFile.sources.bind).toBe("config");
    const fromDefault = await loadCase({ home: tempDir(), json: {}, env: { OPENCLAW_GATEWAY_BIND: "lan" } });
    expect(fromDefault.config.gateway?.bind).toBe("loopback");
    expect(fromDefault.sources.bind).toBe("default");
  });

  test("token: --token > OPENCLAW_GATEWAY_TOKEN > gateway.auth.token", async () => {
    const cli = await loadCase({ home: tempDir(), json: file, cli: { token: "cli-token" }, env: { OPENCLAW_GATEWAY_TOKEN: "env-token" } });
    expect(cli.config.gateway?.auth?.token).toBe("cli-token");
    expect(cli.sources.token).toBe("cli");
    const env = await loadCase({ home: tempDir(), json: file, env: { OPENCLAW_GATEWAY_TOKEN: "env-token" } });
    expect(env.config.gateway?.auth?.token).toBe("env-token");
    expect(env.sources.token).toBe("env");
    const fromFile = await loadCase({ home: tempDir(), json: file });
    expect(fromFile.config.gateway?.auth?.token).toBe("file-token");
    expect(fromFile.sources.token).toBe("config");
    const none = await loadCase({ home: tempDir(), json: {} });
    expect(none.config.gateway?.auth?.token).toBeUndefined();
    expect(none.sources.token).toBeUndefined();
  });

  test("password: --password > OPENCLAW_GATEWAY_PASSWORD > gateway.auth.password", async () => {
    const pw = { gateway: { auth: { mode: "password", password: "file-pw" } } };
    const cli = await loadCase({ home: tempDir(), json: pw, cli: { password: "cli-pw" }, env: { OPENCLAW_GATEWAY_PASSWORD: "env-pw" } });
    expect(cli.config.gateway?.auth?.password).toBe("cli-pw");
    expect(cli.sources.password).toBe("cli");
    const env = await loadCase({ home: tempDir(), json: pw, env: { OPENCLAW_GATEWAY_PASSWORD: "env-pw" } });
    expect(env.config.gateway?.auth?.password).toBe("env-pw");
    expect(env.sources.password).toBe("env");
    const fromFile = await loadCase({ home: tempDir(), json: pw });
    expect(fromFile.config.gateway?.auth?.password).toBe("file-pw");
    expect(fromFile.sources.password).toBe("config");
  });

  test("blank OPENCLAW_GATEWAY_TOKEN / _PASSWORD are ignored", async () => {
    const loaded = await loadCase({
      home: tempDir(),
      json: { gateway: { auth: { token: "file-token", password: "file-pw", mode: "token" } } },
      env: { OPENCLAW_GATEWAY_TOKEN: "", OPENCLAW_GATEWAY_PASSWORD: "   " },
    });
    expect(loaded.config.gateway?.auth?.token).toBe("file-token");
    expect(loaded.config.gateway?.auth?.password).toBe("file-pw");
    expect(loaded.sources.token).toBe("config");
    expect(loaded.sources.password).toBe("config");
  });

  test("auth mode: --auth > gateway.auth.mode", async () => {
    const cli = await loadCase({ home: tempDir(), json: file, cli: { auth: "password", password: "p" } });
    expect(cli.config.gateway?.auth?.mode).toBe("password");
    expect(cli.sources.authMode).toBe("cli");
    const fromFile = await loadCase({ home: tempDir(), json: file });
    expect(fromFile.config.gateway?.auth?.mode).toBe("token");
    expect(fromFile.sources.authMode).toBe("config");
  });

  test("higher layers merge deeply: sibling keys from the file survive", async () => {
    const loaded = await loadCase({
      home: tempDir(),
      json: { gateway: { mode: "local", port: 30000, auth: { mode: "token", rateLimit: { maxAttempts: 3 } } }, logging: { level: "debug" } },
      cli: { port: 31000 },
      env: { OPENCLAW_GATEWAY_TOKEN: "env-token" },
    });
    expect(loaded.config).toEqual({
      gateway: {
        mode: "local",
        port: 31000,
        bind: "loopback",
        auth: { mode: "token", token: "env-token", rateLimit: { maxAttempts: 3 } },
      },
      logging: { level: "debug" },
    });
  });

  test("CLI/env overrides work without a config file", async () => {
    const loaded = await loadCase({
      home: tempDir(),
      cli: { port: 31000, bind: "lan" },
      env: { OPENCLAW_GATEWAY_TOKEN: "env-token" },
    });
    expect(loaded.exists).toBe(false);
    expect(loaded.file).toEqual({});
    expect(loaded.config.gateway).toEqual({ port: 31000, bind: "lan", auth: { token: "env-token" } });
    expect(loaded.sources).toMatchObject({ port: "cli", bind: "cli", token: "env" });
  });

  test("`file` holds only the file content (with ${VAR} substituted)", async () => {
    const json = { gateway: { mode: "local", auth: { token: "${GW_TOKEN}" } }, plugins: { a: [1] } };
    const loaded = await loadCase({
      home: tempDir(),
      json,
      cli: { port: 31000, bind: "lan", auth: "token" },
      env: { OPENCLAW_GATEWAY_PASSWORD: "env-pw", OPENCLAW_GATEWAY_PORT: "32000", GW_TOKEN: "substituted" },
    });
    expect(loaded.file).toEqual({ ...json, gateway: { mode: "local", auth: { token: "substituted" } } } as never);
    expect(loaded.config.gateway?.auth?.token).toBe("substituted");
    expect(loaded.config.gateway?.auth?.password).toBe("env-pw");
  });

  test("opaque trees pass through to the effective config unchanged", async () => {
    const json = {
      gateway: { mode: "local" },
      channels: { telegram: { botToken: "1:x", allowFrom: ["*"] } },
      hooks: { internal: { entries: { a: { enabled: true } } } },
    };
    const loaded = await loadCase({ home: tempDir(), json });
    expect(loaded.config.channels).toEqual(json.channels);
    expect(loaded.config.hooks).toEqual(json.hooks);
  });
});

describe("arrays replace, never concatenate", () => {
  test("mergeLayers: the earlier (higher) layer's array replaces the lower one", () => {
    expect(mergeLayers<Record<string, unknown>>({ a: [3] }, { a: [1, 2] })).toEqual({ a: [3] });
    expect(mergeLayers<Record<string, unknown>>({ g: { list: [] } }, { g: { list: ["x"], keep: 1 } })).toEqual({
      g: { list: [], keep: 1 },
    });
    expect(
      mergeLayers<Record<string, unknown>>({ a: ["cli"] }, { a: ["env1", "env2"] }, { a: ["file"] }, { a: ["default"] }),
    ).toEqual({ a: ["cli"] });
  });

  test("mergeLayers: undefined never masks a lower layer; scalars and objects replace; inputs untouched", () => {
    const high = { a: undefined, b: 2, nested: { x: undefined, y: "high" } };
    const low = { a: 1, b: 1, nested: { x: "low", y: "low", z: "low" }, arr: [1] };
    const merged = mergeLayers<Record<string, unknown>>(high, null, undefined, low);
    expect(merged).toEqual({ a: 1, b: 2, nested: { x: "low", y: "high", z: "low" }, arr: [1] });
    expect(low).toEqual({ a: 1, b: 1, nested: { x: "low", y: "low", z: "low" }, arr: [1] });
    expect(mergeLayers<Record<string, unknown>>({ a: "str" }, { a: { obj: true } })).toEqual({ a: "str" });
    expect(mergeLayers<Record<string, unknown>>({ a: { obj: true } }, { a: [1] })).toEqual({ a: { obj: true } });
  });

  test("loadConfig: file arrays arrive exactly once (no duplication through merges)", async () => {
    const json = {
      gateway: {
        trustedProxies: ["10.0.0.1", "10.0.0.2"],
        controlUi: { allowedOrigins: ["https://a.example"] },
        auth: { identityScopes: ["operator.read"] },
      },
      agents: { list: [{ id: "a" }, { id: "b" }] },
    };
    const loaded = await loadCase({ home: tempDir(), json, cli: { port: 31000 }, env: { OPENCLAW_GATEWAY_TOKEN: "t" } });
    expect(loaded.config.gateway?.trustedProxies).toEqual(["10.0.0.1", "10.0.0.2"]);
    expect(loaded.config.gateway?.controlUi?.allowedOrigins).toEqual(["https://a.example"]);
    expect(loaded.config.gateway?.auth?.identityScopes).toEqual(["operator.read"]);
    expect(loaded.config.agents?.list).toEqual([{ id: "a" }, { id: "b" }]);
  });
});

describe("${VAR} substitution", () => {
  test("enum values may come from the environment (substituted before validation)", async () => {
    const loaded = await loadCase({ home: tempDir(), json: { gateway: { mode: "local", bind: "${GW_BIND}" } }, env: { GW_BIND: "lan" } });
    expect(loaded.config.gateway?.bind).toBe("lan");
  });

  test("substitutes env vars in file strings, including embedded and repeated references", async () => {
    const loaded = await loadCase({
      home: tempDir(),
      json: {
        gateway: { auth: { token: "${GW_TOKEN}" }, trustedProxies: ["${PROXY_A}", "x-${PROXY_A}-${PROXY_B}"] },
        models: { providers: { openai: { apiKey: "${OPENAI_API_KEY}", baseUrl: "https://${API_HOST}/v1" } } },
      },
      env: { GW_TOKEN: "tok", PROXY_A: "10.0.0.1", PROXY_B: "b", OPENAI_API_KEY: "sk-1", API_HOST: "api.example" },
    });
    expect(loaded.config.gateway?.auth?.token).toBe("tok");
    expect(loaded.config.gateway?.trustedProxies).toEqual(["10.0.0.1", "x-10.0.0.1-b"]);
    expect(loaded.config.models?.providers?.openai).toEqual({ apiKey: "sk-1", baseUrl: "https://api.example/v1" });
    expect(loaded.warnings).toEqual([]);
    // substitution happens before validation, so the file layer holds the substituted values
    expect(loaded.file.gateway?.auth?.token).toBe("tok");
  });

  test("$${VAR} is a literal ${VAR} and produces no warning", async () => {
    const loaded = await loadCase({
      home: tempDir(),
      json: { gateway: { auth: { token: "$${GW_TOKEN}" } }, plugins: { tpl: "a $${X} b ${Y}" } },
      env: { GW_TOKEN: "tok", X: "nope", Y: "yes" },
    });
    expect(loaded.config.gateway?.auth?.token).toBe("${GW_TOKEN}");
    expect(loaded.config.plugins).toEqual({ tpl: "a ${X} b yes" });
    expect(loaded.warnings).toEqual([]);
  });

  test("an unset or empty variable stays literal, with a warning naming the path and variable", async () => {
    const loaded = await loadCase({
      home: tempDir(),
      json: { gateway: { auth: { token: "${MISSING_TOKEN}" }, trustedProxies: ["${EMPTY_VAR}"] } },
      env: { EMPTY_VAR: "" },
    });
    expect(loaded.config.gateway?.auth?.token).toBe("${MISSING_TOKEN}");
    expect(loaded.config.gateway?.trustedProxies).toEqual(["${EMPTY_VAR}"]);
    expect(loaded.warnings).toEqual([
      "gateway.auth.token: environment variable MISSING_TOKEN is not set; kept literally",
      "gateway.trustedProxies[0]: environment variable EMPTY_VAR is not set; kept literally",
    ]);
  });

  test("only [A-Z_][A-Z0-9_]* names are substituted", async () => {
    const loaded = await loadCase({
      home: tempDir(),
      json: { plugins: { a: "${lower}", b: "${1ABC}", c: "$PLAIN", d: "${A-B}" } },
      env: { lower: "x", "1ABC": "x", PLAIN: "x", A: "x" },
    });
    expect(loaded.config.plugins).toEqual({ a: "${lower}", b: "${1ABC}", c: "$PLAIN", d: "${A-B}" });
    expect(loaded.warnings).toEqual([]);
  });

  test("CLI and env-layer values are not treated as templates", async () => {
    const loaded = await loadCase({
      home: tempDir(),
      json: { gateway: { auth: { mode: "token" } } },
      cli: { token: "cli-${HOME}-tok" },
      env: { OPENCLAW_GATEWAY_PASSWORD: "pw-$${X}-${X}", X: "expanded" },
    });
    expect(loaded.config.gateway?.auth?.token).toBe("cli-${HOME}-tok");
    expect(loaded.config.gateway?.auth?.password).toBe("pw-$${X}-${X}");
    expect(loaded.warnings).toEqual([]);
  });

  test("a substituted value is validated", async () => {
    const err = await loadError({
      home: tempDir(),
      json: { gateway: { bind: "custom", customBindHost: "${HOST_IP}" } },
      env: { HOST_IP: "not-an-ip" },
    });
    expect(err.kind).toBe("invalid");
    expect(err.issues.map((i) => i.path)).toEqual(["gateway.customBindHost"]);
  });

  test("substituteEnv leaves non-strings alone and does not mutate its input", () => {
    const input = { n: 1, b: true, z: null, s: "${A}", arr: ["${A}", 2] };
    const warnings: string[] = [];
    expect(substituteEnv(input, { A: "a" }, warnings)).toEqual({ n: 1, b: true, z: null, s: "a", arr: ["a", 2] });
    expect(input.s).toBe("${A}");
    expect(warnings).toEqual([]);
  });
});

describe("errors", () => {
  test("invalid JSON5 → ConfigError(kind parse) with the Invalid config header", async () => {
    const home = tempDir();
    const err = await loadError({ home, text: "{ gateway: { port: } " });
    const configPath = join(home, ".openclaw", "openclaw.json");
    expect(err.kind).toBe("parse");
    expect(err.configPath).toBe(configPath);
    expect(err.message.startsWith(`Invalid config at ${configPath}:\n`)).toBe(true);
    expect(err.message.split("\n")[1]).toMatch(/^ {2}× <file>: .+/);
    expect(err.issues).toHaveLength(1);
    expect(err.issues[0].path).toBe("<file>");
  });

  test("invalid values → ConfigError(kind invalid) listing every issue", async () => {
    const home = tempDir();
    const err = await loadError({ home, json: { gateway: { port: "18789", bnd: "lan", token: "x" } } });
    const configPath = join(home, ".openclaw", "openclaw.json");
    expect(err.kind).toBe("invalid");
    const lines = err.message.split("\n");
    expect(lines[0]).toBe(`Invalid config at ${configPath}:`);
    expect(lines.slice(1).sort()).toEqual(
      [
        "  × gateway.bnd: Unknown key",
        '  × gateway.token: Unknown key. Found "gateway.token" in config. Use "gateway.auth.token" instead.',
        "  × gateway.port: Invalid input: expected number, received string",
      ].sort(),
    );
    expect(err.issues).toHaveLength(3);
  });

  test("a non-object root is rejected", async () => {
    for (const text of ["[1, 2]", '"str"', "42", "null"]) {
      const home = tempDir();
      const err = await loadError({ home, text });
      expect(err.message).toBe(`Invalid config at ${join(home, ".openclaw", "openclaw.json")}:\n  × <root>: config must be an object`);
    }
  });

  test("a directory at the config path → ConfigError(kind read)", async () => {
    const home = tempDir();
    mkdirSync(join(home, ".openclaw", "openclaw.json"), { recursive: true });
    const err = await loadError({ home });
    expect(err.kind).toBe("read");
    expect(err.issues).toEqual([{ path: "<file>", message: "cannot read config: is a directory, not a file" }]);
  });

  test("an invalid CLI value fails validation of the effective config", async () => {
    const err = await loadError({ home: tempDir(), json: {}, cli: { port: 70000 } });
    expect(err.kind).toBe("invalid");
    expect(err.issues.map((i) => i.path)).toEqual(["gateway.port"]);
  });

  test("formatConfigIssues", () => {
    expect(
      formatConfigIssues("/x/openclaw.json", [
        { path: "a.b", message: "bad" },
        { path: "c", message: "worse" },
      ]),
    ).toBe("Invalid config at /x/openclaw.json:\n  × a.b: bad\n  × c: worse");
  });

  test("readConfigFile: missing, present and hashed", async () => {
    const dir = tempDir();
    expect(await readConfigFile(join(dir, "nope.json"))).toEqual({ exists: false, raw: null, parsed: {}, hash: null });
    const path = writeText(join(dir, "c.json"), "{a:1}");
    expect(await readConfigFile(path)).toEqual({
      exists: true,
      raw: "{a:1}",
      parsed: { a: 1 },
      hash: createHash("sha256").update("{a:1}").digest("hex"),
    });
  });
});

describe("the loader never executes code or reads other sources", () => {
  function plantTraps(dir: string, marker: string): void {
    const payload = (port: number) =>
      `import { appendFileSync } from "node:fs";\nappendFileSync(${JSON.stringify(marker)}, "executed\\n");\nexport default { gateway: { port: ${port} } };\n`;
    for (const name of [
      "openclaw.ts",
      "openclaw.config.ts",
      "openclaw.json.ts",
      "openclaw.config.mts",
      "openclaw.config.js",
      "openclaw.config.mjs",
      ".config/openclaw.ts",
      ".config/openclaw.config.ts",
    ]) {
      writeText(join(dir, name), payload(1111));
    }
    writeText(join(dir, ".openclawrc"), "gateway.port=2222\n");
    writeText(join(dir, "package.json"), JSON.stringify({ name: "x", openclaw: { gateway: { port: 3333 } } }));
    // `<stateDir>/.env` is a deliberate env source of ours (test/config/env.test.ts); what must
    // never happen is a dotenv loader exporting it into process.env.
    writeText(join(dir, ".env"), "OPENCLAW_DOTENV_PROBE=leaked\n");
  }

  test("with a config file present", async () => {
    const home = tempDir();
    const { paths } = pathsFor({ home });
    const marker = join(home, "MARKER");
    plantTraps(paths.stateDir, marker);
    const loaded = await loadCase({ home, json: { gateway: { mode: "local", port: 30000 } } });
    expect(existsSync(marker)).toBe(false);
    expect(loaded.config.gateway?.port).toBe(30000);
    expect(loaded.sources.port).toBe("config");
    expect(loaded.config).toEqual({ gateway: { mode: "local", port: 30000, bind: "loopback" } });
    expect(process.env.OPENCLAW_DOTENV_PROBE).toBeUndefined();

    // Control: the trap is live code — running it directly does create the marker.
    const run = Bun.spawnSync([process.execPath, join(paths.stateDir, "openclaw.ts")], { env: { PATH: process.env.PATH ?? "" } });
    expect(run.exitCode).toBe(0);
    expect(existsSync(marker)).toBe(true);
  });

  test("with no config file (nothing to fall back to)", async () => {
    const home = tempDir();
    const { paths } = pathsFor({ home });
    const marker = join(home, "MARKER");
    plantTraps(paths.stateDir, marker);
    const loaded = await loadCase({ home });
    expect(existsSync(marker)).toBe(false);
    expect(loaded.exists).toBe(false);
    expect(loaded.config).toEqual({ gateway: { port: 18789, bind: "loopback" } });
  });

  test("with an extensionless OPENCLAW_CONFIG_PATH next to openclaw.ts", async () => {
    const home = tempDir();
    const dir = join(home, "cfg");
    const marker = join(home, "MARKER");
    plantTraps(dir, marker);
    const loaded = await loadCase({ home, env: { OPENCLAW_CONFIG_PATH: join(dir, "openclaw") } });
    expect(existsSync(marker)).toBe(false);
    expect(loaded.exists).toBe(false);
    expect(loaded.config.gateway?.port).toBe(18789);
  });

  test("an `extends` key is rejected, not followed", async () => {
    const home = tempDir();
    const { paths } = pathsFor({ home });
    const marker = join(home, "MARKER");
    plantTraps(paths.stateDir, marker);
    const err = await loadError({ home, json: { extends: ["./openclaw.config.ts"], gateway: { mode: "local" } } });
    expect(err.issues).toEqual([{ path: "extends", message: "Unknown key" }]);
    expect(existsSync(marker)).toBe(false);
  });

  test("loading leaves the state dir untouched", async () => {
    const home = tempDir();
    const loaded = await loadCase({ home, json: { gateway: { mode: "local" } } });
    expect(readdirSync(loaded.paths.stateDir)).toEqual(["openclaw.json"]);
  });
});

describe("loadConfig with explicit paths", () => {
  test("uses exactly the given configPath and defaultPort", async () => {
    const dir = tempDir();
    const configPath = writeText(join(dir, "x.json"), "{ gateway: { bind: 'lan' } }");
    const loaded = await loadConfig({
      paths: { home: dir, profile: undefined, stateDir: dir, configPath, configPathFromEnv: true, defaultPort: 12345 },
      env: {},
    });
    expect(loaded.config.gateway).toEqual({ bind: "lan", port: 12345 });
    expect(loaded.sources.port).toBe("default");
  });
});
