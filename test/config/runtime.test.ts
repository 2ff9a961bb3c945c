import { describe, expect, test } from "bun:test";
import type { LoadedConfig } from "../../src/config/snapshot.ts";
import type { Env } from "../../src/config/paths.ts";
import {
  EXIT_CONFIG,
  StartupError,
  generateToken,
  isLoopbackHost,
  resolveBindHosts,
  resolveGatewaySettings,
  resolveSecret,
  type GatewaySettings,
} from "../../src/config/runtime.ts";
import { validateConfig, type OpenClawConfig } from "../../src/config/schema.ts";
import { loadCase, useTempDirs, type LoadCase } from "./helpers.ts";

const tempDir = useTempDirs("openclaw-runtime-test-");

const BASE64URL_43 = /^[A-Za-z0-9_-]{43}$/;
const RUNTIME_TOKEN_WARNING =
  "Gateway auth token was missing. Generated a runtime token for this startup without changing config; restart will generate a different token. Set gateway.auth.token (or OPENCLAW_GATEWAY_TOKEN) to keep one.";
const NONE_WARNING = "Gateway auth mode=none explicitly configured; all gateway connections are unauthenticated.";
const NO_AUTH_HINT =
  "Set gateway.auth.token/password (or OPENCLAW_GATEWAY_TOKEN/OPENCLAW_GATEWAY_PASSWORD) or pass --token/--password.";

/** Write the config to a real file, load it through loadConfig, then resolve settings. */
async function settingsFor(
  c: Omit<LoadCase, "home">,
  opts: { container?: boolean; env?: Env } = {},
): Promise<{ settings: GatewaySettings; loaded: LoadedConfig }> {
  const loaded = await loadCase({ home: tempDir(), ...c });
  const settings = resolveGatewaySettings(loaded, { container: opts.container ?? false });
  return { settings, loaded };
}

async function startupError(c: Omit<LoadCase, "home">, opts: { container?: boolean } = {}): Promise<StartupError> {
  try {
    await settingsFor(c, opts);
  } catch (err) {
    expect(err).toBeInstanceOf(StartupError);
    expect((err as StartupError).exitCode).toBe(78);
    expect((err as StartupError).message).toBe((err as StartupError).lines.join("\n"));
    return err as StartupError;
  }
  throw new Error("expected a StartupError");
}

const BOTH_NO_MODE = [
  "Gateway auth has both a token and a password configured but no gateway.auth.mode.",
  'Set gateway.auth.mode to "token" or "password" (or pass --auth token|password).',
];

describe("auth mode inference", () => {
  test("token only → token mode", async () => {
    const { settings } = await settingsFor({ json: { gateway: { auth: { token: "tok" } } } });
    expect(settings.auth.mode).toBe("token");
    expect(settings.auth.token).toBe("tok");
    expect(settings.auth.password).toBeUndefined();
    expect(settings.auth.runtimeToken).toBe(false);
    expect(settings.warnings).toEqual([]);
  });

  test("password only → password mode", async () => {
    const { settings } = await settingsFor({ json: { gateway: { auth: { password: "pw" } } } });
    expect(settings.auth.mode).toBe("password");
    expect(settings.auth.password).toBe("pw");
    expect(settings.auth.token).toBeUndefined();
    expect(settings.auth.runtimeToken).toBe(false);
  });

  test("password only from the environment → password mode", async () => {
    const { settings } = await settingsFor({ json: {}, env: { OPENCLAW_GATEWAY_PASSWORD: "env-pw" } });
    expect(settings.auth.mode).toBe("password");
    expect(settings.auth.password).toBe("env-pw");
  });

  test("explicit mode wins over inference", async () => {
    const a = await settingsFor({ json: { gateway: { auth: { mode: "password", token: "tok", password: "pw" } } } });
    expect(a.settings.auth.mode).toBe("password");
    expect(a.settings.auth.password).toBe("pw");
    expect(a.settings.auth.token).toBeUndefined();
    const b = await settingsFor({ json: { gateway: { auth: { mode: "token", token: "tok", password: "pw" } } } });
    expect(b.settings.auth.mode).toBe("token");
    expect(b.settings.auth.token).toBe("tok");
    expect(b.settings.auth.password).toBe("pw");
    const c = await settingsFor({ json: { gateway: { auth: { token: "tok", password: "pw" } } }, cli: { auth: "password" } });
    expect(c.settings.auth.mode).toBe("password");
  });

  test("token + password in the file with no mode → exit 78", async () => {
    const err = await startupError({ json: { gateway: { auth: { token: "tok", password: "pw" } } } });
    expect(err.lines).toEqual(BOTH_NO_MODE);
  });

  test("token + password both from env, or both from CLI, with no mode → exit 78", async () => {
    const env = await startupError({ json: {}, env: { OPENCLAW_GATEWAY_TOKEN: "t", OPENCLAW_GATEWAY_PASSWORD: "p" } });
    expect(env.lines).toEqual(BOTH_NO_MODE);
    const cli = await startupError({ json: {}, cli: { token: "t", password: "p" } });
    expect(cli.lines).toEqual(BOTH_NO_MODE);
  });

  test("token + password from different layers: the higher layer decides", async () => {
    const cases: Array<[Omit<LoadCase, "home">, "token" | "password"]> = [
      [{ json: { gateway: { auth: { password: "pw" } } }, cli: { token: "t" } }, "token"],
      [{ json: { gateway: { auth: { token: "tok" } } }, cli: { password: "p" } }, "password"],
      [{ json: { gateway: { auth: { password: "pw" } } }, env: { OPENCLAW_GATEWAY_TOKEN: "t" } }, "token"],
      [{ json: { gateway: { auth: { token: "tok" } } }, env: { OPENCLAW_GATEWAY_PASSWORD: "p" } }, "password"],
      [{ json: {}, cli: { token: "t" }, env: { OPENCLAW_GATEWAY_PASSWORD: "p" } }, "token"],
      [{ json: {}, cli: { password: "p" }, env: { OPENCLAW_GATEWAY_TOKEN: "t" } }, "password"],
    ];
    for (const [c, mode] of cases) {
      const { settings } = await settingsFor(c);
      expect(settings.auth.mode).toBe(mode);
      if (mode === "token") expect(settings.auth.token).toBe("t");
      else expect(settings.auth.password).toBe("p");
    }
  });

  test("password mode without a password → the two exact lines, exit 78", async () => {
    const lines = [
      "Gateway auth is set to password, but no password is configured.",
      "Set gateway.auth.password (or OPENCLAW_GATEWAY_PASSWORD), or pass --password.",
    ];
    expect((await startupError({ json: { gateway: { auth: { mode: "password" } } } })).lines).toEqual(lines);
    expect((await startupError({ json: {}, cli: { auth: "password" } })).lines).toEqual(lines);
    // a token does not satisfy password mode
    expect((await startupError({ json: { gateway: { auth: { mode: "password", token: "tok" } } } })).lines).toEqual(lines);
  });

  test("password mode with the password from env or CLI passes", async () => {
    const env = await settingsFor({ json: { gateway: { auth: { mode: "password" } } }, env: { OPENCLAW_GATEWAY_PASSWORD: "p" } });
    expect(env.settings.auth).toMatchObject({ mode: "password", password: "p", runtimeToken: false });
    const cli = await settingsFor({ json: { gateway: { auth: { mode: "password" } } }, cli: { password: "c" } });
    expect(cli.settings.auth.password).toBe("c");
  });
});

describe("runtime token and mode none on loopback", () => {
  test("loopback token mode without a token generates a runtime token and warns", async () => {
    const { settings, loaded } = await settingsFor({ json: { gateway: { mode: "local" } } });
    expect(settings.auth.mode).toBe("token");
    expect(settings.auth.runtimeToken).toBe(true);
    expect(settings.auth.token).toMatch(BASE64URL_43);
    expect(settings.warnings).toEqual([RUNTIME_TOKEN_WARNING]);
    // the config is not changed
    expect(loaded.config.gateway?.auth).toBeUndefined();
  });

  test("each run gets a different runtime token", async () => {
    const a = await settingsFor({ json: {} });
    const b = await settingsFor({ json: {} });
    expect(a.settings.auth.token).not.toBe(b.settings.auth.token);
  });

  test("explicit token mode without token also gets a runtime token", async () => {
    const { settings } = await settingsFor({ json: { gateway: { auth: { mode: "token", password: "pw" } } } });
    expect(settings.auth.runtimeToken).toBe(true);
    expect(settings.auth.token).toMatch(BASE64URL_43);
    expect(settings.auth.password).toBe("pw");
  });

  test("mode none → warning, no secrets", async () => {
    const { settings } = await settingsFor({ json: { gateway: { auth: { mode: "none" } } } });
    expect(settings.auth.mode).toBe("none");
    expect(settings.auth.token).toBeUndefined();
    expect(settings.auth.password).toBeUndefined();
    expect(settings.auth.runtimeToken).toBe(false);
    expect(settings.warnings).toEqual([NONE_WARNING]);
  });

  test("--auth none from the CLI", async () => {
    const { settings } = await settingsFor({ json: { gateway: { auth: { token: "tok" } } }, cli: { auth: "none" } });
    expect(settings.auth.mode).toBe("none");
    expect(settings.warnings).toEqual([NONE_WARNING]);
  });
});

describe("non-loopback binds require auth", () => {
  test("lan without auth → refuse, exit 78", async () => {
    const err = await startupError({ json: { gateway: { bind: "lan" } } });
    expect(err.lines).toEqual(["Refusing to bind gateway to lan without auth.", NO_AUTH_HINT]);
  });

  test("--bind lan without auth → refuse", async () => {
    const err = await startupError({ json: {}, cli: { bind: "lan" } });
    expect(err.lines[0]).toBe("Refusing to bind gateway to lan without auth.");
  });

  test("custom (non-loopback host) without auth → refuse", async () => {
    const err = await startupError({ json: { gateway: { bind: "custom", customBindHost: "10.1.2.3" } } });
    expect(err.lines).toEqual(["Refusing to bind gateway to custom without auth.", NO_AUTH_HINT]);
  });

  test("auto in a container without auth → refuse with the container line", async () => {
    const err = await startupError({ json: { gateway: { bind: "auto" } } }, { container: true });
    expect(err.lines[0]).toBe("Refusing to bind gateway to auto without auth.");
    expect(err.lines[1]).toContain("Container environment detected");
    expect(err.lines[err.lines.length - 1]).toBe(NO_AUTH_HINT);
  });

  test("mode none on lan → refuse", async () => {
    const err = await startupError({ json: { gateway: { bind: "lan", auth: { mode: "none" } } } });
    expect(err.lines[0]).toBe("Refusing to bind gateway to lan without auth.");
  });

  test("explicit token mode with only a password on lan → refuse (no usable token)", async () => {
    const err = await startupError({ json: { gateway: { bind: "lan", auth: { mode: "token", password: "pw" } } } });
    expect(err.lines[0]).toBe("Refusing to bind gateway to lan without auth.");
  });

  test("with a token (file, env or CLI) it passes, without a runtime token", async () => {
    const cases: Array<Omit<LoadCase, "home">> = [
      { json: { gateway: { bind: "lan", auth: { token: "tok" } } } },
      { json: { gateway: { bind: "lan" } }, env: { OPENCLAW_GATEWAY_TOKEN: "tok" } },
      { json: { gateway: { bind: "lan" } }, cli: { token: "tok" } },
    ];
    for (const c of cases) {
      const { settings } = await settingsFor(c);
      expect(settings.hosts).toEqual(["0.0.0.0"]);
      expect(settings.loopbackOnly).toBe(false);
      expect(settings.auth).toMatchObject({ mode: "token", token: "tok", runtimeToken: false });
      expect(settings.warnings).toEqual([]);
    }
  });

  test("with a password it passes", async () => {
    const { settings } = await settingsFor({ json: { gateway: { bind: "custom", customBindHost: "10.1.2.3", auth: { password: "pw" } } } });
    expect(settings.auth.mode).toBe("password");
    expect(settings.hosts).toEqual(["10.1.2.3", "127.0.0.1"]);
  });

  test("auto outside a container is loopback and needs no auth", async () => {
    const { settings } = await settingsFor({ json: { gateway: { bind: "auto" } } }, { container: false });
    expect(settings.loopbackOnly).toBe(true);
    expect(settings.auth.runtimeToken).toBe(true);
  });

  test("custom 127.0.0.1 is loopback and needs no auth", async () => {
    const { settings } = await settingsFor({ json: { gateway: { bind: "custom", customBindHost: "127.0.0.1" } } });
    expect(settings.hosts).toEqual(["127.0.0.1"]);
    expect(settings.loopbackOnly).toBe(true);
  });

  test("trusted-proxy on lan passes when fully configured", async () => {
    const { settings } = await settingsFor({
      json: {
        gateway: {
          bind: "lan",
          trustedProxies: ["10.0.0.1"],
          auth: { mode: "trusted-proxy", trustedProxy: { userHeader: "x-forwarded-user" } },
        },
      },
    });
    expect(settings.auth.mode).toBe("trusted-proxy");
    expect(settings.auth.trustedProxy).toEqual({
      userHeader: "x-forwarded-user",
      requiredHeaders: [],
      allowUsers: [],
      allowLoopback: false,
    });
    expect(settings.trustedProxies).toEqual(["10.0.0.1"]);
  });

  test("trusted-proxy without trustedProxies, without userHeader, or with a token → exit 78", async () => {
    const line =
      "Gateway auth mode trusted-proxy needs gateway.trustedProxies (non-empty), gateway.auth.trustedProxy.userHeader, and no gateway.auth.token.";
    const bad = [
      { gateway: { auth: { mode: "trusted-proxy", trustedProxy: { userHeader: "x-user" } } } },
      { gateway: { trustedProxies: [], auth: { mode: "trusted-proxy", trustedProxy: { userHeader: "x-user" } } } },
      { gateway: { trustedProxies: ["10.0.0.1"], auth: { mode: "trusted-proxy" } } },
      { gateway: { trustedProxies: ["10.0.0.1"], auth: { mode: "trusted-proxy", token: "t", trustedProxy: { userHeader: "x-user" } } } },
    ];
    for (const json of bad) {
      expect((await startupError({ json })).lines).toEqual([line]);
    }
  });
});

describe("bind hosts", () => {
  const cfg = (gateway: Record<string, unknown> = {}): OpenClawConfig => {
    const result = validateConfig({ gateway });
    if (!result.ok) throw new Error("bad fixture");
    return result.config;
  };

  test("loopback → 127.0.0.1 then ::1", () => {
    expect(resolveBindHosts("loopback", cfg(), false)).toEqual(["127.0.0.1", "::1"]);
    expect(resolveBindHosts("loopback", cfg(), true)).toEqual(["127.0.0.1", "::1"]);
  });

  test("lan → 0.0.0.0", () => {
    expect(resolveBindHosts("lan", cfg(), false)).toEqual(["0.0.0.0"]);
  });

  test("auto → 0.0.0.0 in a container, loopback otherwise", () => {
    expect(resolveBindHosts("auto", cfg(), true)).toEqual(["0.0.0.0"]);
    const outside = resolveBindHosts("auto", cfg(), false);
    expect(outside[0]).toBe("127.0.0.1");
    expect(outside.every(isLoopbackHost)).toBe(true);
  });

  test("custom → the host plus 127.0.0.1, except for 0.0.0.0 and 127.0.0.1", () => {
    expect(resolveBindHosts("custom", cfg({ customBindHost: "192.168.1.20" }), false)).toEqual(["192.168.1.20", "127.0.0.1"]);
    expect(resolveBindHosts("custom", cfg({ customBindHost: "0.0.0.0" }), false)).toEqual(["0.0.0.0"]);
    expect(resolveBindHosts("custom", cfg({ customBindHost: "127.0.0.1" }), false)).toEqual(["127.0.0.1"]);
  });

  test("custom without customBindHost → StartupError exit 78", () => {
    let caught: unknown;
    try {
      resolveBindHosts("custom", cfg(), false);
    } catch (err) {
      caught = err;
    }
    expect(caught).toBeInstanceOf(StartupError);
    expect((caught as StartupError).exitCode).toBe(EXIT_CONFIG);
    expect((caught as StartupError).lines[0]).toBe("gateway.bind=custom requires gateway.customBindHost (an IPv4 address).");
  });

  test("custom without customBindHost fails resolveGatewaySettings too (even with auth)", async () => {
    const err = await startupError({ json: { gateway: { bind: "custom", auth: { token: "tok" } } } });
    expect(err.lines[0]).toBe("gateway.bind=custom requires gateway.customBindHost (an IPv4 address).");
  });

  test("tailnet always includes 127.0.0.1", () => {
    const hosts = resolveBindHosts("tailnet", cfg(), false);
    expect(hosts).toContain("127.0.0.1");
    expect(hosts.length).toBe(2);
  });

  test("isLoopbackHost", () => {
    for (const h of ["127.0.0.1", "127.1.2.3", "::1", "[::1]", "localhost", "LOCALHOST", "::ffff:127.0.0.1"]) {
      expect(isLoopbackHost(h)).toBe(true);
    }
    for (const h of ["0.0.0.0", "10.0.0.1", "192.168.1.1", "::", "example.com", "128.0.0.1"]) {
      expect(isLoopbackHost(h)).toBe(false);
    }
  });

  test("settings carry bind, hosts and port", async () => {
    const { settings } = await settingsFor({ json: { gateway: { port: 28789 } } });
    expect(settings.bind).toBe("loopback");
    expect(settings.hosts).toEqual(["127.0.0.1", "::1"]);
    expect(settings.loopbackOnly).toBe(true);
    expect(settings.port).toBe(28789);
    const dev = await settingsFor({ json: {}, profile: "dev" });
    expect(dev.settings.port).toBe(19001);
  });
});

describe("allowed origins", () => {
  test("loopback binds seed nothing", async () => {
    const { settings } = await settingsFor({ json: { gateway: { port: 28789 } } });
    expect(settings.allowedOrigins).toEqual([]);
  });

  test("loopback keeps configured origins unchanged", async () => {
    const { settings } = await settingsFor({ json: { gateway: { controlUi: { allowedOrigins: ["https://a.example"] } } } });
    expect(settings.allowedOrigins).toEqual(["https://a.example"]);
  });

  test("non-loopback binds seed localhost and 127.0.0.1 for the effective port", async () => {
    const { settings } = await settingsFor({
      json: { gateway: { bind: "lan", port: 28789, auth: { token: "t" } } },
      cli: { port: 28800 },
    });
    expect(settings.port).toBe(28800);
    expect(settings.allowedOrigins).toEqual(["http://localhost:28800", "http://127.0.0.1:28800"]);
  });

  test("configured origins come first and are not duplicated", async () => {
    const { settings } = await settingsFor({
      json: {
        gateway: {
          bind: "lan",
          port: 28789,
          auth: { token: "t" },
          controlUi: { allowedOrigins: ["https://a.example", "http://127.0.0.1:28789"] },
        },
      },
    });
    expect(settings.allowedOrigins).toEqual(["https://a.example", "http://127.0.0.1:28789", "http://localhost:28789"]);
  });

  test("auto in a container and custom non-loopback seed; custom 127.0.0.1 does not", async () => {
    const auto = await settingsFor({ json: { gateway: { bind: "auto", port: 30001, auth: { token: "t" } } } }, { container: true });
    expect(auto.settings.allowedOrigins).toEqual(["http://localhost:30001", "http://127.0.0.1:30001"]);
    const custom = await settingsFor({ json: { gateway: { bind: "custom", customBindHost: "10.0.0.9", port: 30002, auth: { token: "t" } } } });
    expect(custom.settings.allowedOrigins).toEqual(["http://localhost:30002", "http://127.0.0.1:30002"]);
    const local = await settingsFor({ json: { gateway: { bind: "custom", customBindHost: "127.0.0.1", port: 30003 } } });
    expect(local.settings.allowedOrigins).toEqual([]);
  });

  test("host-header fallback defaults to false and follows config", async () => {
    expect((await settingsFor({ json: {} })).settings.allowHostHeaderOriginFallback).toBe(false);
    const on = await settingsFor({ json: { gateway: { controlUi: { dangerouslyAllowHostHeaderOriginFallback: true } } } });
    expect(on.settings.allowHostHeaderOriginFallback).toBe(true);
  });
});

describe("SecretRef resolution", () => {
  test('token {source:"env"} resolves from the environment', async () => {
    const { settings } = await settingsFor({
      json: { gateway: { bind: "lan", auth: { token: { source: "env", id: "MY_GW_TOKEN" } } } },
      env: { MY_GW_TOKEN: "from-ref" },
    });
    expect(settings.auth.mode).toBe("token");
    expect(settings.auth.token).toBe("from-ref");
    expect(settings.auth.runtimeToken).toBe(false);
  });

  test('password {source:"env"} resolves and infers password mode', async () => {
    const { settings } = await settingsFor({
      json: { gateway: { auth: { password: { source: "env", provider: "default", id: "MY_GW_PW" } } } },
      env: { MY_GW_PW: "pw-from-ref" },
    });
    expect(settings.auth.mode).toBe("password");
    expect(settings.auth.password).toBe("pw-from-ref");
  });

  test("an unset or empty env SecretRef fails closed with exit 78", async () => {
    for (const env of [{}, { MY_GW_TOKEN: "" }]) {
      const err = await startupError({ json: { gateway: { auth: { token: { source: "env", id: "MY_GW_TOKEN" } } } }, env });
      expect(err.lines).toEqual(["gateway.auth.token: SecretRef env:MY_GW_TOKEN is not set."]);
    }
  });

  test("a higher layer literal replaces a file SecretRef", async () => {
    const { settings } = await settingsFor({
      json: { gateway: { auth: { token: { source: "env", id: "UNSET_VAR" } } } },
      env: { OPENCLAW_GATEWAY_TOKEN: "env-token" },
    });
    expect(settings.auth.token).toBe("env-token");
  });

  test("resolveSecret", () => {
    expect(resolveSecret(undefined, "k", {})).toBeUndefined();
    expect(resolveSecret("", "k", {})).toBeUndefined();
    expect(resolveSecret("lit", "k", {})).toBe("lit");
    expect(resolveSecret({ source: "env", id: "A" }, "k", { A: "a" })).toBe("a");
    expect(() => resolveSecret({ source: "env", id: "A" }, "gateway.auth.password", {})).toThrow(
      "gateway.auth.password: SecretRef env:A is not set.",
    );
    for (const source of ["file", "exec", "store"] as const) {
      let caught: unknown;
      try {
        resolveSecret({ source, id: "x" }, "gateway.auth.token", {});
      } catch (err) {
        caught = err;
      }
      expect(caught).toBeInstanceOf(StartupError);
      expect((caught as StartupError).exitCode).toBe(78);
      expect((caught as StartupError).message).toContain(`gateway.auth.token: SecretRef source "${source}" is not supported`);
    }
  });
});

describe("rate limit and other defaults", () => {
  test("rate-limit defaults are 10 / 60000 / 300000 / exemptLoopback true", async () => {
    const { settings } = await settingsFor({ json: { gateway: { auth: { token: "t" } } } });
    expect(settings.auth.rateLimit).toEqual({ maxAttempts: 10, windowMs: 60000, lockoutMs: 300000, exemptLoopback: true });
    expect(settings.trustedProxies).toEqual([]);
  });

  test("configured rate-limit values override field by field", async () => {
    const { settings } = await settingsFor({
      json: { gateway: { auth: { token: "t", rateLimit: { maxAttempts: 3, exemptLoopback: false } } } },
    });
    expect(settings.auth.rateLimit).toEqual({ maxAttempts: 3, windowMs: 60000, lockoutMs: 300000, exemptLoopback: false });
  });

  test("generateToken is 32 random bytes as 43-char base64url", () => {
    const seen = new Set<string>();
    for (let i = 0; i < 20; i++) {
      const t = generateToken();
      expect(t).toMatch(BASE64URL_43);
      expect(Buffer.from(t, "base64url")).toHaveLength(32);
      seen.add(t);
    }
    expect(seen.size).toBe(20);
  });
});
