import { describe, expect, test } from "bun:test";
import { chmodSync, mkdirSync, readFileSync, readdirSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { loadConfig } from "../../src/config/snapshot.ts";
import { resolvePaths } from "../../src/config/paths.ts";
import { validateConfig, type OpenClawConfig } from "../../src/config/schema.ts";
import { REDACTED, restoreRedacted } from "../../src/config/redact.ts";
import {
  ConfigWriteError,
  ensurePrivateDir,
  hasJson5Comments,
  initialConfig,
  stampMeta,
  writeConfig,
  writeConfigDocument,
  writeFileAtomic,
} from "../../src/config/write.ts";
import { VERSION } from "../../src/version.ts";
import { useTempDirs } from "./helpers.ts";

const tempDir = useTempDirs("openclaw-write-test-");
const mode = (path: string) => statSync(path).mode & 0o777;

describe("writeFileAtomic", () => {
  test("creates missing parents 0700, writes the file 0600, leaves no temp files", async () => {
    const root = tempDir();
    const path = join(root, "a", "b", "openclaw.json");
    await writeFileAtomic(path, "hello\n");
    expect(readFileSync(path, "utf8")).toBe("hello\n");
    expect(mode(path)).toBe(0o600);
    expect(mode(join(root, "a", "b"))).toBe(0o700);
    expect(mode(join(root, "a"))).toBe(0o700);
    expect(readdirSync(join(root, "a", "b"))).toEqual(["openclaw.json"]);
  });

  test("replaces an existing file and tightens its mode to 0600", async () => {
    const dir = tempDir();
    const path = join(dir, "openclaw.json");
    writeFileSync(path, "old");
    chmodSync(path, 0o644);
    await writeFileAtomic(path, "new");
    expect(readFileSync(path, "utf8")).toBe("new");
    expect(mode(path)).toBe(0o600);
    expect(readdirSync(dir)).toEqual(["openclaw.json"]);
  });

  test("replaces by rename: the old inode is not written in place", async () => {
    const dir = tempDir();
    const path = join(dir, "openclaw.json");
    writeFileSync(path, "old");
    const before = statSync(path).ino;
    await writeFileAtomic(path, "new");
    expect(statSync(path).ino).not.toBe(before);
  });

  test("an explicit mode is honoured", async () => {
    const dir = tempDir();
    const path = join(dir, "public.txt");
    await writeFileAtomic(path, "x", 0o640);
    expect(mode(path)).toBe(0o640);
  });

  test("concurrent writes leave one complete version and no temp files", async () => {
    const dir = tempDir();
    const path = join(dir, "openclaw.json");
    const versions = Array.from({ length: 8 }, (_, i) => JSON.stringify({ i, pad: "x".repeat(4096 * (i + 1)) }));
    await Promise.all(versions.map((text) => writeFileAtomic(path, text)));
    expect(versions).toContain(readFileSync(path, "utf8"));
    expect(readdirSync(dir)).toEqual(["openclaw.json"]);
  });

  test("a failed rename removes the temp file and rejects", async () => {
    const dir = tempDir();
    const path = join(dir, "openclaw.json");
    mkdirSync(path);
    writeFileSync(join(path, "keep"), "x");
    await expect(writeFileAtomic(path, "data")).rejects.toThrow();
    expect(readdirSync(dir)).toEqual(["openclaw.json"]);
    expect(readdirSync(path)).toEqual(["keep"]);
  });

  test("ensurePrivateDir is idempotent", async () => {
    const dir = join(tempDir(), "state");
    await ensurePrivateDir(dir);
    await ensurePrivateDir(dir);
    expect(mode(dir)).toBe(0o700);
  });
});

describe("meta stamping", () => {
  const NOW = new Date("2026-11-22T10:22:33.123Z");

  test("stampMeta sets lastTouchedVersion, drops lastTouchedAt (the original refuses it), keeps the rest, does not mutate", () => {
    const input: OpenClawConfig = {
      meta: { lastTouchedVersion: "2025.1.1", lastTouchedAt: "2025-01-01T00:00:00.000Z", migrations: { modelPolicyAllowlist: true } },
      gateway: { mode: "local" },
    };
    const stamped = stampMeta(input, NOW);
    expect(stamped).toEqual({
      meta: { lastTouchedVersion: VERSION, migrations: { modelPolicyAllowlist: true } },
      gateway: { mode: "local" },
    });
    expect(input.meta?.lastTouchedAt).toBe("2025-01-01T00:00:00.000Z");
    expect(input.meta?.lastTouchedVersion).toBe("2025.1.1");
  });

  test("stampMeta adds meta when absent", () => {
    expect(stampMeta({}, NOW)).toEqual({ meta: { lastTouchedVersion: VERSION } });
    expect(VERSION).toMatch(/^\d{4}\.\d{1,2}\.\d{1,2}/);
  });
});

describe("writeConfig", () => {
  test("writes 2-space JSON with a trailing newline, stamped, 0600, in a new 0700 state dir", async () => {
    const home = tempDir();
    const paths = resolvePaths({ env: { HOME: home } });
    const config: OpenClawConfig = {
      meta: { lastTouchedAt: "2025-01-01T00:00:00.000Z" },
      gateway: { mode: "local", port: 28789, auth: { mode: "token", token: "abc" } },
      channels: { telegram: { enabled: true } },
    };
    await writeConfig(paths.configPath, config, { now: new Date("2026-11-22T00:00:00.000Z") });
    const text = readFileSync(paths.configPath, "utf8");
    expect(text.endsWith("}\n")).toBe(true);
    expect(text).toContain('\n  "gateway": {\n    "mode": "local",');
    expect(JSON.parse(text)).toEqual({
      meta: { lastTouchedVersion: VERSION },
      gateway: { mode: "local", port: 28789, auth: { mode: "token", token: "abc" } },
      channels: { telegram: { enabled: true } },
    });
    expect(mode(paths.configPath)).toBe(0o600);
    expect(mode(paths.stateDir)).toBe(0o700);
    expect(readdirSync(paths.stateDir)).toEqual(["openclaw.json"]);
  });

  test("what writeConfig writes loads back through loadConfig", async () => {
    const home = tempDir();
    const paths = resolvePaths({ env: { HOME: home } });
    const now = new Date();
    await writeConfig(paths.configPath, { gateway: { mode: "local", bind: "lan", auth: { token: "tok" } } }, { now });
    const loaded = await loadConfig({ paths, env: { HOME: home } });
    expect(loaded.exists).toBe(true);
    expect(loaded.file).toEqual({ meta: { lastTouchedVersion: VERSION }, gateway: { mode: "local", bind: "lan", auth: { token: "tok" } } });
    expect(loaded.config.gateway?.bind).toBe("lan");
    expect(loaded.sources.bind).toBe("config");
  });

  test("rewriting replaces the content completely and keeps exactly one .bak of the previous text", async () => {
    const dir = tempDir();
    const path = join(dir, "openclaw.json");
    const now = new Date("2026-11-22T00:00:00.000Z");
    await writeConfig(path, { gateway: { mode: "local", trustedProxies: Array.from({ length: 200 }, (_, i) => `10.0.0.${i}`) } }, { now });
    const first = readFileSync(path, "utf8");
    expect(readdirSync(dir)).toEqual(["openclaw.json"]);
    await writeConfig(path, { gateway: { mode: "remote" } }, { now });
    expect(JSON.parse(readFileSync(path, "utf8"))).toEqual({
      meta: { lastTouchedVersion: VERSION },
      gateway: { mode: "remote" },
    });
    expect(readFileSync(`${path}.bak`, "utf8")).toBe(first);
    expect(mode(`${path}.bak`)).toBe(0o600);
    await writeConfig(path, { gateway: { mode: "local" } }, { now });
    expect(readdirSync(dir).sort()).toEqual(["openclaw.json", "openclaw.json.bak"]);
    expect(JSON.parse(readFileSync(`${path}.bak`, "utf8")).gateway).toEqual({ mode: "remote" });
  });
});

describe("initialConfig", () => {
  test("local mode with token auth and a fresh 43-char base64url token", () => {
    const config = initialConfig();
    expect(config.gateway?.mode).toBe("local");
    expect(config.gateway?.auth?.mode).toBe("token");
    const token = config.gateway?.auth?.token;
    expect(typeof token).toBe("string");
    expect(token as string).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(Object.keys(config)).toEqual(["gateway"]);
    expect(Object.keys(config.gateway ?? {}).sort()).toEqual(["auth", "mode"]);
    expect(validateConfig(config).ok).toBe(true);
  });

  test("tokens differ between calls", () => {
    const a = initialConfig().gateway?.auth?.token;
    const b = initialConfig().gateway?.auth?.token;
    expect(a).not.toBe(b);
  });

  test("password-mode variant records the mode and holds no secret", () => {
    const config = initialConfig({ passwordMode: true });
    expect(config).toEqual({ gateway: { mode: "local", auth: { mode: "password" } } });
    expect(JSON.stringify(config)).not.toContain("token");
    expect(validateConfig(config).ok).toBe(true);
  });

  test("written initial config is a valid local gateway config", async () => {
    const home = tempDir();
    const paths = resolvePaths({ env: { HOME: home } });
    const config = initialConfig();
    await writeConfig(paths.configPath, config);
    const loaded = await loadConfig({ paths, env: { HOME: home } });
    expect(loaded.file.gateway?.mode).toBe("local");
    expect(loaded.config.gateway?.auth?.token).toBe(config.gateway?.auth?.token as string);
    expect(loaded.sources.token).toBe("config");
    expect(mode(paths.configPath)).toBe(0o600);
  });
});

describe("writeConfigDocument (the one writer)", () => {
  test("an invalid document is rejected with key paths and nothing is written", async () => {
    const dir = tempDir();
    const path = join(dir, "openclaw.json");
    writeFileSync(path, '{"gateway":{"mode":"local"}}');
    const err = await writeConfigDocument(path, { gateway: { mode: "local", port: 70000, bogus: 1 } }).catch((e) => e);
    expect(err).toBeInstanceOf(ConfigWriteError);
    expect((err as ConfigWriteError).issues.map((i) => i.path).sort()).toEqual(["gateway.bogus", "gateway.port"]);
    expect((err as Error).message).toContain("Config write rejected: gateway.port:");
    expect(readFileSync(path, "utf8")).toBe('{"gateway":{"mode":"local"}}');
    expect(readdirSync(dir)).toEqual(["openclaw.json"]);
    await expect(writeConfigDocument(path, [1, 2])).rejects.toThrow("Config write rejected: <root>: config must be an object");
  });

  test("validation substitutes ${VAR} from the given env; the file keeps the reference", async () => {
    const dir = tempDir();
    const path = join(dir, "openclaw.json");
    const doc = { gateway: { mode: "local", bind: "${GW_BIND}" } };
    await expect(writeConfigDocument(path, doc, { env: {} })).rejects.toBeInstanceOf(ConfigWriteError);
    const r = await writeConfigDocument(path, doc, { env: { GW_BIND: "lan" } });
    expect(JSON.parse(readFileSync(path, "utf8")).gateway.bind).toBe("${GW_BIND}");
    expect(r.hash).toBe(new Bun.CryptoHasher("sha256").update(readFileSync(path, "utf8")).digest("hex"));
  });

  test("keys the gateway does not interpret survive a write untouched", async () => {
    const dir = tempDir();
    const path = join(dir, "openclaw.json");
    const doc = {
      gateway: { mode: "local", controlUi: { allowedOrigins: ["https://x"], futureOption: { a: [1, { b: null }] } } },
      channels: { whatsapp: { allowFrom: ["+1555"], quirks: { x: true } } },
      plugins: { entries: { p: { config: { deep: "value" } } } },
      models: { providers: { p: { apiKey: { source: "env", id: "KEY" }, extra: 1 } } },
    };
    await writeConfigDocument(path, doc);
    const { meta, ...rest } = JSON.parse(readFileSync(path, "utf8"));
    expect(rest).toEqual(doc);
    expect(Object.keys(meta).sort()).toEqual(["lastTouchedVersion"]);
  });

  test("hasJson5Comments sees comments outside strings only", () => {
    expect(hasJson5Comments('{ a: 1 } // note')).toBe(true);
    expect(hasJson5Comments("{ /* block */ a: 1 }")).toBe(true);
    expect(hasJson5Comments('{ "url": "https://example.com//x" }')).toBe(false);
    expect(hasJson5Comments("{ 'a': 'it\\'s // fine' }")).toBe(false);
  });
});

describe("restoreRedacted", () => {
  const current = {
    gateway: { auth: { token: "real-token-0123456789" }, remote: { url: "wss://h/?t=real-token-0123456789" } },
    models: { providers: { p: { apiKey: { source: "env", id: "K" } } } },
  };

  test("placeholders become the current values again", () => {
    const incoming = {
      gateway: { auth: { token: REDACTED }, remote: { url: `wss://h/?t=${REDACTED}` } },
      models: { providers: { p: { apiKey: { source: "env", id: "K" } } } },
      extra: "x",
    };
    const r = restoreRedacted(incoming, current);
    expect(r.unresolved).toEqual([]);
    expect(r.doc).toEqual({ ...current, extra: "x" });
  });

  test("a placeholder with no current value (or a changed one) is reported, not written", () => {
    const r = restoreRedacted({ gateway: { auth: { password: REDACTED }, remote: { url: `wss://other/?t=${REDACTED}` } }, list: [REDACTED] }, current);
    expect(r.unresolved.sort()).toEqual(["gateway.auth.password", "gateway.remote.url", "list[0]"]);
  });
});

describe("leftovers of killed writers", () => {
  test("temp files older than a minute are swept on the next write; fresh ones (a writer in flight) are kept", async () => {
    const { utimesSync } = await import("node:fs");
    const dir = tempDir();
    const path = join(dir, "openclaw.json");
    const stale = join(dir, ".openclaw.json.abcdef012345.tmp");
    const staleBak = join(dir, ".openclaw.json.bak.00aa11bb22cc.tmp");
    const fresh = join(dir, ".openclaw.json.123456abcdef.tmp");
    const foreign = join(dir, ".other.json.abcdef012345.tmp");
    for (const f of [stale, staleBak, fresh, foreign]) writeFileSync(f, "partial");
    const old = new Date(Date.now() - 5 * 60_000);
    for (const f of [stale, staleBak, foreign]) utimesSync(f, old, old);
    await writeConfigDocument(path, { gateway: { mode: "local" } });
    expect(readdirSync(dir).sort()).toEqual([".openclaw.json.123456abcdef.tmp", ".other.json.abcdef012345.tmp", "openclaw.json"]);
  });
});
