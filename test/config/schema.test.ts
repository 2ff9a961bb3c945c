import { describe, expect, test } from "bun:test";
import { validateConfig, type ConfigIssue } from "../../src/config/schema.ts";

/** The `parsed` field of a real OpenClaw 2026.9.6 `config.get` (spec transcript call-config-get). */
const UPSTREAM_PARSED = {
  gateway: {
    mode: "local",
    bind: "loopback",
    port: 28789,
    auth: { mode: "token", token: "__OPENCLAW_REDACTED__" },
  },
  update: { checkOnStart: false },
  telemetry: { enabled: false },
  models: { catalogRefresh: { enabled: false } },
  agents: { defaults: { heartbeat: { every: "0m" } } },
  logging: { file: "/home/op/state/logs/openclaw.log" },
};

/** A larger, realistic config touching most of the schema. */
const REALISTIC = {
  $schema: "https://openclaw.ai/schema/config.json",
  meta: { lastTouchedVersion: "2026.9.6", lastTouchedAt: "2026-09-01T10:22:33.123Z", migrations: { modelPolicyAllowlist: true } },
  env: { vars: { FOO: "bar" }, OPENAI_API_KEY: "sk-x", shellEnv: { enabled: true, timeoutMs: 15000 } },
  gateway: {
    mode: "local",
    port: 18789,
    bind: "custom",
    customBindHost: "192.168.1.20",
    publicOrigin: "https://claw.example.com",
    auth: {
      mode: "password",
      password: { source: "env", id: "GW_PASSWORD" },
      token: { source: "file", provider: "vault", id: "/gateway/token" },
      allowTailscale: false,
      identityScopes: ["operator.read"],
      rateLimit: { maxAttempts: 5, windowMs: 1000, lockoutMs: 2000, exemptLoopback: false },
      trustedProxy: { userHeader: "x-user", requiredHeaders: ["x-proxy"], allowUsers: ["me"], allowLoopback: true, extra: 1 },
    },
    tailscale: { mode: "off", preserveFunnel: true },
    controlUi: { enabled: true, basePath: "/ui", allowedOrigins: ["https://claw.example.com"], embedSandbox: "strict" },
    http: {
      endpoints: { chatCompletions: { enabled: true }, responses: { enabled: false, maxBodyBytes: 10 } },
      cors: { allowedOrigins: ["https://a.example"] },
      securityHeaders: { strictTransportSecurity: false },
    },
    reload: { mode: "hot", debounceMs: 500, deferralTimeoutMs: 300000 },
    remote: { url: "wss://remote:18789", transport: "direct", remotePort: 18789, token: "${REMOTE_TOKEN}" },
    tls: { enabled: false, autoGenerate: false },
    trustedProxies: ["10.0.0.1", "10.0.0.0/8"],
    allowRealIpFallback: false,
    tools: { deny: ["exec"] },
    nodes: { pairing: { autoApproveLocal: true } },
    push: { apns: { relay: { baseUrl: "https://relay", timeoutMs: 10000 } } },
    terminal: { enabled: true },
    cliAgents: ["claude"],
    roles: { admin: {} },
    portals: [],
  },
  logging: { level: "debug", consoleLevel: "info", consoleStyle: "compact", maxFileBytes: 104857600, redactSensitive: "tools" },
  discovery: { wideArea: { domain: "claw.example.", enabled: true }, mdns: { mode: "minimal" } },
  agents: {
    defaults: { workspace: "~/ws", model: { primary: "openai/gpt-5", fallbacks: ["anthropic/claude"] }, skipBootstrap: true },
    entries: { main: { default: true, name: "Main" }, "dev_2-x": { model: "openai/gpt-5-mini" } },
    list: [{ id: "legacy", workspace: "~/legacy" }],
  },
  models: {
    mode: "merge",
    providers: {
      openai: { baseUrl: "https://api.openai.com/v1", apiKey: "${OPENAI_API_KEY}", models: [{ id: "gpt-5", name: "GPT-5" }] },
      local: { baseUrl: "http://127.0.0.1:11434", apiKey: { source: "env", id: "LOCAL_KEY" }, api: "openai-completions" },
    },
  },
  channels: { telegram: { botToken: "123:abc", allowFrom: ["*"], groups: { "-100": { requireMention: true } } } },
  plugins: { entries: { "memory-core": { enabled: true, config: { any: [1, "two", null] } } } },
  hooks: { internal: { enabled: true } },
  cron: { enabled: true, sessionRetention: "24h" },
  session: { dmScope: "per-channel-peer", identityLinks: { alice: ["telegram:1"] } },
  messages: { queue: { cap: 10, mode: "collect" }, responsePrefix: "> ", groupChat: { historyLimit: 20 } },
  secrets: { providers: { vault: { source: "file", path: "/etc/secrets.json", mode: "json" } } },
};

function issuesOf(value: unknown): ConfigIssue[] {
  const result = validateConfig(value);
  if (result.ok) throw new Error(`expected an invalid config: ${JSON.stringify(value)}`);
  return result.issues;
}

function onlyIssue(value: unknown): ConfigIssue {
  const issues = issuesOf(value);
  expect(issues).toHaveLength(1);
  return issues[0];
}

describe("valid configs", () => {
  test("the upstream config.get `parsed` config validates unchanged", () => {
    const result = validateConfig(UPSTREAM_PARSED);
    expect(result.ok).toBe(true);
    if (result.ok) expect(result.config).toEqual(UPSTREAM_PARSED as never);
  });

  test("a realistic full config validates and keeps unknown keys in open trees", () => {
    const result = validateConfig(REALISTIC);
    expect(result.ok).toBe(true);
    if (!result.ok) return;
    expect(result.config).toEqual(REALISTIC as never);
    expect((result.config.gateway?.controlUi as Record<string, unknown>).embedSandbox).toBe("strict");
    expect((result.config.agents?.defaults as Record<string, unknown>).skipBootstrap).toBe(true);
  });

  test("empty config and $schema-only config", () => {
    expect(validateConfig({}).ok).toBe(true);
    expect(validateConfig({ $schema: "./schema.json" }).ok).toBe(true);
  });

  test("every bind and auth mode enum value", () => {
    for (const bind of ["loopback", "lan", "tailnet", "auto", "custom"]) {
      expect(validateConfig({ gateway: { bind } }).ok).toBe(true);
    }
    for (const mode of ["none", "token", "password", "trusted-proxy"]) {
      expect(validateConfig({ gateway: { auth: { mode } } }).ok).toBe(true);
    }
  });

  test("port bounds 1 and 65535", () => {
    expect(validateConfig({ gateway: { port: 1 } }).ok).toBe(true);
    expect(validateConfig({ gateway: { port: 65535 } }).ok).toBe(true);
  });
});

describe("closed objects reject unknown keys with their full path", () => {
  const cases: Array<[unknown, string]> = [
    [{ gateway: { prot: 1 } }, "gateway.prot"],
    [{ gateway: { auth: { tokn: "x" } } }, "gateway.auth.tokn"],
    [{ gateway: { auth: { rateLimit: { attempts: 3 } } } }, "gateway.auth.rateLimit.attempts"],
    [{ gateway: { http: { endpoints: { bogus: { enabled: true } } } } }, "gateway.http.endpoints.bogus"],
    [{ gateway: { http: { cors: { origins: [] } } } }, "gateway.http.cors.origins"],
    [{ gateway: { reload: { modus: "off" } } }, "gateway.reload.modus"],
    [{ gateway: { remote: { host: "x" } } }, "gateway.remote.host"],
    [{ gateway: { tls: { cert: "x" } } }, "gateway.tls.cert"],
    [{ meta: { lastTouched: "x" } }, "meta.lastTouched"],
    [{ meta: { migrations: { v: 3 } } }, "meta.migrations.v"],
    [{ logging: { colour: true } }, "logging.colour"],
    [{ discovery: { bonjour: true } }, "discovery.bonjour"],
    [{ bogusTopLevel: {} }, "bogusTopLevel"],
    [{ extends: "./other.ts" }, "extends"],
    [{ $development: { gateway: { port: 1 } } }, "$development"],
  ];
  for (const [value, path] of cases) {
    test(path, () => {
      expect(onlyIssue(value)).toEqual({ path, message: "Unknown key" });
    });
  }

  test("one issue per unknown key", () => {
    const issues = issuesOf({ gateway: { foo: 1, bar: 2, auth: { baz: 3 } }, logging: { qux: 4 } });
    expect(issues.map((i) => i.path).sort()).toEqual(["gateway.auth.baz", "gateway.bar", "gateway.foo", "logging.qux"]);
    expect(issues.every((i) => i.message === "Unknown key")).toBe(true);
  });

  test('gateway.token hints at "gateway.auth.token"', () => {
    expect(onlyIssue({ gateway: { token: "abc" } })).toEqual({
      path: "gateway.token",
      message: 'Unknown key. Found "gateway.token" in config. Use "gateway.auth.token" instead.',
    });
  });

  test('gateway.password hints at "gateway.auth.password"', () => {
    expect(onlyIssue({ gateway: { password: "abc" } })).toEqual({
      path: "gateway.password",
      message: 'Unknown key. Found "gateway.password" in config. Use "gateway.auth.password" instead.',
    });
  });

  test("gateway.auth.token itself is fine", () => {
    expect(validateConfig({ gateway: { auth: { token: "abc" } } }).ok).toBe(true);
  });
});

describe("wrong types and enums report the key path", () => {
  const cases: Array<[string, unknown, string, RegExp?]> = [
    ["port as string", { gateway: { port: "18789" } }, "gateway.port", /expected number/],
    ["port 0", { gateway: { port: 0 } }, "gateway.port"],
    ["port 65536", { gateway: { port: 65536 } }, "gateway.port"],
    ["fractional port", { gateway: { port: 1.5 } }, "gateway.port"],
    ["bind enum", { gateway: { bind: "everywhere" } }, "gateway.bind", /loopback/],
    ["gateway mode enum", { gateway: { mode: "cloud" } }, "gateway.mode"],
    ["auth mode enum", { gateway: { auth: { mode: "magic" } } }, "gateway.auth.mode"],
    ["customBindHost not an IP", { gateway: { customBindHost: "my-host" } }, "gateway.customBindHost"],
    ["customBindHost IPv6", { gateway: { customBindHost: "::1" } }, "gateway.customBindHost"],
    ["rateLimit negative", { gateway: { auth: { rateLimit: { maxAttempts: -1 } } } }, "gateway.auth.rateLimit.maxAttempts"],
    ["exemptLoopback string", { gateway: { auth: { rateLimit: { exemptLoopback: "yes" } } } }, "gateway.auth.rateLimit.exemptLoopback"],
    ["tailscale mode", { gateway: { tailscale: { mode: "on" } } }, "gateway.tailscale.mode"],
    ["reload mode", { gateway: { reload: { mode: "sometimes" } } }, "gateway.reload.mode"],
    ["array element type", { gateway: { trustedProxies: ["10.0.0.1", 7] } }, "gateway.trustedProxies[1]"],
    ["nested array element", { gateway: { http: { cors: { allowedOrigins: ["a", false] } } } }, "gateway.http.cors.allowedOrigins[1]"],
    ["logging level", { logging: { level: "verbose" } }, "logging.level", /info/],
    ["mdns mode", { discovery: { mdns: { mode: "loud" } } }, "discovery.mdns.mode"],
    ["meta version type", { meta: { lastTouchedVersion: 2026 } }, "meta.lastTouchedVersion"],
    ["gateway not an object", { gateway: "local" }, "gateway"],
    ["legacy agents.list entry without id", { agents: { list: [{ id: "a" }, { name: "b" }] } }, "agents.list[1].id"],
    ["invalid agent id key", { agents: { entries: { "Bad Id!": {} } } }, "agents.entries.Bad Id!"],
    ["models mode", { models: { mode: "append" } }, "models.mode"],
  ];
  for (const [name, value, path, message] of cases) {
    test(name, () => {
      const issue = onlyIssue(value);
      expect(issue.path).toBe(path);
      expect(issue.message.length).toBeGreaterThan(0);
      if (message) expect(issue.message).toMatch(message);
    });
  }

  test("a non-object root is reported at <root>", () => {
    for (const value of [[], "x", 1, null]) {
      expect(onlyIssue(value).path).toBe("<root>");
    }
  });

  test("several problems are all reported", () => {
    const issues = issuesOf({ gateway: { port: "x", bind: "y", auth: { mode: "z" } } });
    expect(issues.map((i) => i.path).sort()).toEqual(["gateway.auth.mode", "gateway.bind", "gateway.port"]);
  });
});

describe("opaque plugin/channel trees accept anything", () => {
  // `cron`, `hooks`, `channels`, `session` and `commands` are typed: test/automation/config.test.ts, test/channels/;
  // `messages` and `memory` below.
  const trees = ["plugins", "skills", "tools", "browser", "secrets", "auth", "mcp"];
  const values: unknown[] = [{ deep: { nested: [1, { x: null }] }, anyKey: true }, [1, "two"], "str", 0, false, null];
  for (const tree of trees) {
    test(tree, () => {
      for (const value of values) {
        const result = validateConfig({ [tree]: value });
        expect(result.ok).toBe(true);
        if (result.ok) expect((result.config as Record<string, unknown>)[tree]).toEqual(value);
      }
    });
  }

  test("open sub-trees keep unknown keys (agents, models, controlUi, env)", () => {
    const value = {
      agents: { defaults: { thinking: "high" }, entries: { main: { identity: { name: "C3-PO" } } }, unknownAgentKey: 1 },
      models: { providers: { p: { headers: { a: "b" } } }, other: true },
      gateway: { controlUi: { embedSandbox: "trusted" }, nodes: { anything: 1 }, tools: { allow: ["x"] } },
      env: { MY_VAR: "1", vars: { A: "b" } },
    };
    const result = validateConfig(value);
    expect(result.ok).toBe(true);
    if (result.ok) expect(result.config).toEqual(value as never);
  });
});

describe("SecretInput", () => {
  const refs = [
    { source: "env", id: "GATEWAY_TOKEN" },
    { source: "file", provider: "vault", id: "/gateway/token" },
    { source: "exec", provider: "op", id: "item" },
    { source: "store", id: "gw" },
  ];

  test("SecretRef objects are accepted for token, password, remote token and apiKey", () => {
    for (const ref of refs) {
      const config = {
        gateway: { auth: { token: ref, password: ref }, remote: { token: ref, password: ref } },
        models: { providers: { openai: { apiKey: ref } } },
      };
      const result = validateConfig(config);
      expect(result.ok).toBe(true);
      if (result.ok) expect(result.config.gateway?.auth?.token).toEqual(ref as never);
    }
  });

  test("literal strings and ${VAR} strings are accepted", () => {
    expect(validateConfig({ gateway: { auth: { token: "abc", password: "${GW_PASSWORD}" } } }).ok).toBe(true);
  });

  test("a number is rejected with the SecretInput message", () => {
    expect(onlyIssue({ gateway: { auth: { token: 123 } } })).toEqual({
      path: "gateway.auth.token",
      message: "Invalid value: expected a string or a SecretRef object",
    });
    expect(onlyIssue({ models: { providers: { openai: { apiKey: true } } } }).path).toBe("models.providers.openai.apiKey");
  });

  test("an unknown source or a missing id is rejected at the secret's path", () => {
    expect(onlyIssue({ gateway: { auth: { password: { source: "vault", id: "x" } } } }).path).toBe("gateway.auth.password");
    expect(onlyIssue({ gateway: { auth: { token: { source: "env" } } } }).path).toMatch(/^gateway\.auth\.token/);
  });

  test("extra keys in a SecretRef are unknown keys", () => {
    expect(onlyIssue({ gateway: { auth: { token: { source: "env", id: "X", value: "leak" } } } })).toEqual({
      path: "gateway.auth.token.value",
      message: "Unknown key",
    });
  });

  test("a non-secret union (agents model) does not claim to want a SecretRef", () => {
    const issue = onlyIssue({ agents: { defaults: { model: 5 } } });
    expect(issue.path).toBe("agents.defaults.model");
    expect(issue.message).not.toContain("SecretRef");
  });
});

describe("keys the lanes, the model policy and /v1/embeddings read (the original's shapes)", () => {
  test("valid values load with their types", () => {
    const v = validateConfig({
      agents: {
        defaults: { maxConcurrent: 4, modelPolicy: { allow: ["openai/*", "fast"] } },
        entries: { work: { modelPolicy: { allow: [] }, memory: { search: { provider: "local", model: "nomic", outputDimensionality: 256, query: { maxResults: 5, minScore: 0.5 } } } } },
        list: [{ id: "ops", memory: { search: { provider: "none" } } }],
      },
      memory: { citations: "auto", search: { provider: "openai", model: "text-embedding-3-small", sources: ["memory", "sessions"], remote: { apiKey: "${OPENAI_KEY}", batch: { enabled: true } } } },
      messages: { queue: { cap: 5, mode: "followup", drop: "new", byChannel: { telegram: "collect" }, debounceMsByChannel: { discord: 0 } }, responsePrefix: "» " },
    });
    expect(v.ok).toBe(true);
    if (!v.ok) return;
    expect(v.config.agents?.defaults?.maxConcurrent).toBe(4);
    expect(v.config.messages?.queue?.cap).toBe(5);
    expect(v.config.agents?.entries?.work?.memory?.search?.outputDimensionality).toBe(256);
    expect(v.config.memory?.search?.model).toBe("text-embedding-3-small");
  });

  const bad: Array<[unknown, string, RegExp]> = [
    [{ agents: { defaults: { maxConcurrent: 0 } } }, "agents.defaults.maxConcurrent", /Too small|>0/],
    [{ agents: { defaults: { maxConcurrent: 2.5 } } }, "agents.defaults.maxConcurrent", /integer|int/i],
    [{ agents: { defaults: { modelPolicy: { allow: "openai/*" } } } }, "agents.defaults.modelPolicy.allow", /array/],
    [{ agents: { defaults: { modelPolicy: { deny: [] } } } }, "agents.defaults.modelPolicy.deny", /Unknown key/],
    [{ agents: { entries: { w: { memory: { search: { outputDimensionality: -1 } } } } } }, "agents.entries.w.memory.search.outputDimensionality", /Too small|>0/],
    [{ agents: { entries: { w: { memory: { recall: true } } } } }, "agents.entries.w.memory.recall", /Unknown key/],
    [{ memory: { search: { modle: "x" } } }, "memory.search.modle", /Unknown key/],
    [{ memory: { search: { query: { minScore: 2 } } } }, "memory.search.query.minScore", /Too big|<=1/],
    [{ memory: { citations: "sometimes" } }, "memory.citations", /Invalid option|expected one of/],
    [{ messages: { queue: { cap: 0 } } }, "messages.queue.cap", /Too small|>0/],
    [{ messages: { queue: { size: 3 } } }, "messages.queue.size", /Unknown key/],
    [{ messages: { queue: { drop: "oldest" } } }, "messages.queue.drop", /Invalid option|expected one of/],
  ];
  for (const [value, path, message] of bad) {
    test(`refused: ${path}`, () => {
      const issues = issuesOf(value);
      expect(issues.map((i) => i.path)).toEqual([path]);
      expect(issues[0].message).toMatch(message);
    });
  }

  test("our old agents.*.embeddingModel is no longer a declared key (kept, not read; support.ts names it)", () => {
    expect(validateConfig({ agents: { defaults: { embeddingModel: "fake/embed" } } }).ok).toBe(true);
  });
});
