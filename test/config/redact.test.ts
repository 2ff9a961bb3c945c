import { describe, expect, test } from "bun:test";
import { REDACTED, isSensitiveKey, redactConfig, redactText } from "../../src/config/redact.ts";
import { loadCase, useTempDirs } from "./helpers.ts";

const tempDir = useTempDirs("openclaw-redact-test-");

describe("redactConfig", () => {
  test("the placeholder is __OPENCLAW_REDACTED__", () => {
    expect(REDACTED).toBe("__OPENCLAW_REDACTED__");
  });

  test("replaces token/password/apiKey values everywhere and collects them", () => {
    const config = {
      gateway: {
        mode: "local",
        port: 18789,
        auth: { mode: "token", token: "gw-token-1", password: "gw-pass-1" },
        remote: { url: "wss://r", token: "remote-token", password: "remote-pw" },
      },
      models: { providers: { openai: { baseUrl: "https://api.openai.com/v1", apiKey: "sk-live-1" } } },
      channels: { telegram: { botToken: "123:bot", allowFrom: ["*"] }, slack: { signingSecret: "sig", appToken: "xapp" } },
    };
    const found = new Set<string>();
    const out = redactConfig(config, found);
    expect(out).toEqual({
      gateway: {
        mode: "local",
        port: 18789,
        auth: { mode: "token", token: REDACTED, password: REDACTED },
        remote: { url: "wss://r", token: REDACTED, password: REDACTED },
      },
      models: { providers: { openai: { baseUrl: "https://api.openai.com/v1", apiKey: REDACTED } } },
      channels: { telegram: { botToken: REDACTED, allowFrom: ["*"] }, slack: { signingSecret: REDACTED, appToken: REDACTED } },
    });
    expect([...found].sort()).toEqual(["123:bot", "gw-pass-1", "gw-token-1", "remote-pw", "remote-token", "sig", "sk-live-1", "xapp"].sort());
  });

  test("does not mutate its input", () => {
    const config = { gateway: { auth: { token: "t" } } };
    redactConfig(config);
    expect(config.gateway.auth.token).toBe("t");
  });

  test("everything under a sensitive key is redacted (arrays, nested objects)", () => {
    const out = redactConfig({ apiKeys: ["k1", "k2"], credentials: { user: "u", pass: "p" } });
    expect(out).toEqual({ apiKeys: [REDACTED, REDACTED], credentials: { user: REDACTED, pass: REDACTED } });
  });

  test("non-string values and empty strings under sensitive keys are left as they are", () => {
    const found = new Set<string>();
    const out = redactConfig({ token: "", maxTokens: 4096, password: null, apiKey: true }, found);
    expect(out).toEqual({ token: "", maxTokens: 4096, password: null, apiKey: true });
    expect(found.size).toBe(0);
  });

  test("non-sensitive strings are untouched", () => {
    const config = { gateway: { mode: "local", bind: "lan", publicOrigin: "https://x" }, logging: { file: "/var/log/x" } };
    expect(redactConfig(config)).toEqual(config);
  });

  test("SecretRef objects are kept as they are: they name where a secret lives", () => {
    const config = {
      gateway: {
        auth: {
          token: { source: "env", id: "GW_TOKEN" },
          password: { source: "file", provider: "vault", id: "/gateway/password" },
        },
      },
      models: { providers: { openai: { apiKey: { source: "exec", provider: "op", id: "openai" } } } },
    };
    const found = new Set<string>();
    expect(redactConfig(config, found)).toEqual(config);
    expect(found.size).toBe(0);
  });

  test("an object under a sensitive key that is not a SecretRef is still redacted", () => {
    const out = redactConfig({ token: { source: "env", id: "X", value: "leak" }, password: { value: "p" } });
    expect(out).toEqual({
      token: { source: REDACTED, id: REDACTED, value: REDACTED },
      password: { value: REDACTED },
    });
  });

  test("isSensitiveKey", () => {
    for (const k of ["token", "botToken", "password", "apiKey", "api_key", "privateKey", "clientSecret", "credentials"]) {
      expect(isSensitiveKey(k)).toBe(true);
    }
    for (const k of ["mode", "port", "bind", "url", "id", "source", "tokenizer", "passwordPolicy"]) {
      expect(isSensitiveKey(k)).toBe(false);
    }
  });

  test("the top-level secrets provider table is not itself redacted", () => {
    const cfg = { secrets: { providers: { vault: { source: "file", path: "/run/keys.json", mode: "json" } } } };
    const found = new Set<string>();
    expect(redactConfig(cfg, found)).toEqual(cfg);
    expect(found.size).toBe(0);
  });
});

describe("redactText", () => {
  test("removes every occurrence of each long secret from raw JSON5 text, comments included", () => {
    const raw = `{
  // old token was "tok-A1-long" — rotate it
  gateway: { auth: { token: "tok-A1-long", password: 'pw-B2-long' } },
  models: { providers: { openai: { apiKey: "sk-C3-long" } } },
  notes: "tok-A1-long appears here too",
}`;
    const out = redactText(raw, ["tok-A1-long", "pw-B2-long", "sk-C3-long"]);
    for (const secret of ["tok-A1-long", "pw-B2-long", "sk-C3-long"]) expect(out).not.toContain(secret);
    expect(out.split(REDACTED).length - 1).toBe(5);
    expect(out).toContain(`token: "${REDACTED}"`);
    expect(out).toContain(`password: '${REDACTED}'`);
    expect(out).toContain("// old token was");
  });

  test("short secrets are replaced only as whole string literals, so keys and words survive", () => {
    const raw = `{ env: { x: "env" }, secrets: { providers: { f: { source: "file" } } }, gateway: { auth: { token: "env" } } }`;
    const out = redactText(raw, ["env"]);
    expect(out).toBe(`{ env: { x: "${REDACTED}" }, secrets: { providers: { f: { source: "file" } } }, gateway: { auth: { token: "${REDACTED}" } } }`);
  });

  test("removes JSON-escaped forms of secrets", () => {
    const secret = 'p"a\\ss\nword';
    const raw = JSON.stringify({ gateway: { auth: { password: secret } } }, null, 2);
    expect(raw).toContain('p\\"a\\\\ss\\nword');
    const out = redactText(raw, [secret]);
    expect(out).not.toContain('p\\"a\\\\ss\\nword');
    expect(JSON.parse(out)).toEqual({ gateway: { auth: { password: REDACTED } } });
  });

  test("longer secrets are replaced before their prefixes", () => {
    const out = redactText('{a: "abc", b: "abcdef"}', ["abc", "abcdef"]);
    expect(out).toBe(`{a: "${REDACTED}", b: "${REDACTED}"}`);
  });

  test("empty secrets are ignored and text without secrets is unchanged", () => {
    const raw = '{gateway: {mode: "local"}}';
    expect(redactText(raw, [""])).toBe(raw);
    expect(redactText(raw, [])).toBe(raw);
    expect(redactText(raw, new Set(["not-present"]))).toBe(raw);
  });

  test("secrets with regex metacharacters are matched literally", () => {
    const out = redactText('{token: "a.b*c(d)$"}, other: "aXbbc"', ["a.b*c(d)$"]);
    expect(out).toBe(`{token: "${REDACTED}"}, other: "aXbbc"`);
  });
});

describe("redacting a loaded config end to end", () => {
  test("no secret from the file or the environment survives in config or raw text", async () => {
    const text = `{
  gateway: {
    mode: "local",
    auth: { mode: "token", token: "file-token-xyz", password: "file\\"pw" },
    remote: { token: "\${REMOTE_TOKEN}" },
  },
  env: { vars: { HELPER: "x" } },
  models: { providers: { local: { apiKey: { source: "env", id: "LOCAL_KEY" } } } },
}
`;
    const loaded = await loadCase({
      home: tempDir(),
      text,
      env: { OPENCLAW_GATEWAY_TOKEN: "env-token-abc", REMOTE_TOKEN: "remote-secret" },
    });
    const secrets = new Set<string>();
    const file = redactConfig(loaded.file, secrets);
    const effective = redactConfig(loaded.config, secrets);
    const raw = redactText(loaded.raw ?? "", secrets);

    for (const secret of ["file-token-xyz", 'file"pw', "env-token-abc", "remote-secret"]) {
      expect(JSON.stringify(file)).not.toContain(secret);
      expect(JSON.stringify(effective)).not.toContain(secret);
    }
    expect(raw).not.toContain("file-token-xyz");
    expect(raw).not.toContain('file\\"pw');
    expect(effective.gateway?.auth?.token).toBe(REDACTED);
    expect(effective.gateway?.remote?.token).toBe(REDACTED);
    // the SecretRef survives, and redacting it did not mangle unrelated text like the `env:` key
    expect(effective.models?.providers?.local?.apiKey).toEqual({ source: "env", id: "LOCAL_KEY" });
    expect(raw).toContain('env: { vars: { HELPER: "x" } }');
    expect(raw).toContain('apiKey: { source: "env", id: "LOCAL_KEY" }');
    expect(raw).toContain('mode: "local"');
  });
});
