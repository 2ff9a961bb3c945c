/** The config snapshot: one effective config for every consumer, also from a damaged file. */
import { describe, expect, test } from "bun:test";
import { join } from "node:path";
import { resolveGatewaySettings } from "../../src/config/runtime.ts";
import { loadSnapshot, snapshotHash, sourceOf } from "../../src/config/snapshot.ts";
import { NOT_IMPLEMENTED, unsupportedKeys } from "../../src/config/support.ts";
import { pathsFor, useTempDirs, writeText } from "./helpers.ts";

const tempDir = useTempDirs("openclaw-snapshot-test-");

async function snap(opts: { text?: string; json?: unknown; env?: Record<string, string>; cli?: Parameters<typeof loadSnapshot>[0]["cli"] }) {
  const home = tempDir();
  const { paths, env } = pathsFor({ home, env: opts.env });
  const text = opts.json !== undefined ? JSON.stringify(opts.json) : opts.text;
  if (text !== undefined) writeText(paths.configPath, text);
  return loadSnapshot({ paths, env, cli: opts.cli });
}

describe("a damaged file never throws; flags and env still count", () => {
  test("unparseable: --port and OPENCLAW_GATEWAY_PORT are honoured, the problem is recorded with the file's hash", async () => {
    const text = "{ gateway: { port: 30000, ";
    const s = await snap({ text, env: { OPENCLAW_GATEWAY_PORT: "31000" } });
    expect(s.problem?.kind).toBe("parse");
    expect(s.problem?.error.message).toStartWith(`Invalid config at ${s.paths.configPath}:`);
    expect(s.exists).toBe(true);
    expect(s.raw).toBe(text);
    expect(snapshotHash(s)).toBe(`sha256:${new Bun.CryptoHasher("sha256").update(text).digest("hex")}`);
    expect(s.gateway.port).toBe(31000);
    expect(s.sources.port).toBe("env");
    const withFlag = await snap({ text, env: { OPENCLAW_GATEWAY_PORT: "31000" }, cli: { port: 32000 } });
    expect(withFlag.gateway.port).toBe(32000);
    expect(withFlag.sources.port).toBe("cli");
  });

  test("unreadable (a directory): kind read, exists false, defaults", async () => {
    const home = tempDir();
    const { paths, env } = pathsFor({ home });
    writeText(join(paths.configPath, "x"), "");
    const s = await loadSnapshot({ paths, env });
    expect(s.problem?.kind).toBe("read");
    expect(s.problem?.issues[0].message).toContain("is a directory");
    expect(s.exists).toBe(false);
    expect(s.gateway.port).toBe(18789);
  });

  test("invalid elsewhere: the gateway connection keys that validate on their own are kept", async () => {
    const s = await snap({
      json: { gateway: { mode: "local", port: 30100, bind: "lan", auth: { token: "file-token" } }, logging: { colour: true } },
    });
    expect(s.problem?.kind).toBe("invalid");
    expect(s.problem?.issues).toEqual([{ path: "logging.colour", message: "Unknown key" }]);
    expect(s.file).toEqual({});
    expect(s.gateway).toMatchObject({ mode: "local", port: 30100, bind: "lan", bindHost: "0.0.0.0", dialHost: "127.0.0.1" });
    expect(s.gateway.auth.token).toBe("file-token");
    expect(s.sources.port).toBe("config");
    // A bad value among them is dropped, the others kept.
    const bad = await snap({ json: { gateway: { port: 99999, auth: { token: "t" } } } });
    expect(bad.gateway.port).toBe(18789);
    expect(bad.gateway.auth.token).toBe("t");
  });
});

describe("sources and the gateway view", () => {
  test("sourceOf names the layer of any effective value", async () => {
    const s = await snap({
      json: { gateway: { port: 30000, bind: "lan", auth: { token: "file" } }, logging: { level: "debug" } },
      env: { OPENCLAW_GATEWAY_TOKEN: "env-token" },
      cli: { port: 31000 },
    });
    expect(sourceOf(s, "gateway.port")).toBe("cli");
    expect(sourceOf(s, "gateway.auth.token")).toBe("env");
    expect(sourceOf(s, "gateway.bind")).toBe("config");
    expect(sourceOf(s, "logging.level")).toBe("config");
    expect(sourceOf(s, "gateway.mode")).toBeUndefined();
    expect(s.gateway.auth).toEqual({ mode: "token", token: "env-token", password: undefined, issues: [] });
  });

  test("a secret naming an unset variable is absent (warned), not the literal text", async () => {
    const s = await snap({ json: { gateway: { mode: "local", auth: { token: "${SNAPSHOT_TEST_UNSET}" } } } });
    expect(s.problem).toBeUndefined();
    expect(s.warnings).toEqual(["gateway.auth.token: environment variable SNAPSHOT_TEST_UNSET is not set; kept literally"]);
    expect(s.config.gateway?.auth?.token).toBe("${SNAPSHOT_TEST_UNSET}");
    expect(s.gateway.auth.token).toBeUndefined();
    // Loopback: a runtime token for this start; never "${SNAPSHOT_TEST_UNSET}".
    const settings = resolveGatewaySettings(s, { container: false });
    expect(settings.auth.runtimeToken).toBe(true);
    expect(settings.auth.token).not.toContain("SNAPSHOT_TEST_UNSET");
    // Set, it is the secret.
    const set = await snap({ json: { gateway: { auth: { token: "${SNAPSHOT_TEST_SET}" } } }, env: { SNAPSHOT_TEST_SET: "from-env" } });
    expect(set.gateway.auth.token).toBe("from-env");
  });

  test("remote: secrets resolved once; an unresolvable SecretRef is simply absent", async () => {
    const s = await snap({ json: { gateway: { mode: "remote", remote: { url: "wss://gw.example", token: { source: "env", id: "NOPE" }, password: "pw" } } } });
    expect(s.gateway.remote).toEqual({ url: "wss://gw.example", token: undefined, password: "pw", remotePort: undefined });
  });
});

describe("keys this gateway keeps but does not act on", () => {
  test("listed by key path, in list order", async () => {
    const s = await snap({ json: { gateway: { mode: "local", tailscale: { mode: "off" } }, channels: { telegram: {}, whatsapp: {} }, cron: { enabled: true, sessionRetention: "24h" }, wizard: { lastRunAt: "x" } } });
    expect(s.problem).toBeUndefined();
    expect(s.unsupported).toEqual(["gateway.tailscale", "channels.whatsapp", "cron.sessionRetention"]);
    expect(unsupportedKeys({})).toEqual([]);
    expect(new Set(NOT_IMPLEMENTED).size).toBe(NOT_IMPLEMENTED.length);
  });

  test("trees acted on in part: only what lies outside the implemented paths is listed", async () => {
    const s = await snap({
      json: {
        gateway: { mode: "local", tls: { enabled: false } },
        messages: { queue: { cap: 5, mode: "collect" }, responsePrefix: "> " },
        memory: { citations: "on", search: { provider: "openai", model: "m", outputDimensionality: 64, store: { vector: { enabled: true } } } },
        agents: { defaults: { maxConcurrent: 4, modelPolicy: { allow: ["a/*"] }, embeddingModel: "old/embed" } },
      },
    });
    expect(s.problem).toBeUndefined();
    expect(s.unsupported).toEqual(["agents.defaults.embeddingModel", "messages.responsePrefix", "messages.queue.mode", "memory.citations", "memory.search.store"]);
    // Only implemented keys: nothing to report (gateway.tls, maxConcurrent, modelPolicy, queue.cap, memory.search.{provider,model,outputDimensionality}).
    const clean = await snap({ json: { gateway: { mode: "local", tls: { enabled: false } }, messages: { queue: { cap: 5 } }, memory: { search: { provider: "p", model: "m", outputDimensionality: 8 } }, agents: { defaults: { maxConcurrent: 2 } } } });
    expect(clean.unsupported).toEqual([]);
    expect(unsupportedKeys({ memory: { search: {} } })).toEqual([]);
    expect(unsupportedKeys({ memory: { search: "x" } })).toEqual(["memory.search"]);
  });
});
