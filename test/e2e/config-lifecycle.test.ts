/**
 * End to end from source: `openclaw config …`, `openclaw secrets reload`, the newer-config guard
 * and startup recovery from last-known-good, each run as a real child process with its own temp
 * OPENCLAW_STATE_DIR over loopback. Children are stopped by PID in afterAll.
 */
import { afterAll, describe, expect, test } from "bun:test";
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { GatewayClient } from "../../src/protocol/client.ts";
import { VERSION } from "../../src/version.ts";
import { configPath, logMessages, runToExit, spawnGateway, type GatewayChild } from "../../scripts/lib/gateway-child.ts";
import { freePort, within } from "../../scripts/lib/proc.ts";
import { waitListening } from "../helpers/children.ts";
import { pollUntil } from "../helpers/poll.ts";

const ROOT = resolve(import.meta.dir, "../..");
const COMMAND = [process.execPath, join(ROOT, "src", "main.ts")];
const TOKEN = "e2e-config-token-0123456789";
const NEWER = "2099.1.1";
const GUARD_LINE_2 = "Run the newer openclaw binary on PATH, or reinstall the intended gateway service from the newer install.";

const children: GatewayChild[] = [];
const dirs: string[] = [];
afterAll(async () => {
  await Promise.all(children.map((c) => c.stop(2_000)));
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

function stateDir(config?: unknown): string {
  const d = mkdtempSync(join(tmpdir(), "openclaw-e2e-config-"));
  dirs.push(d);
  if (config !== undefined) writeFileSync(configPath(d), typeof config === "string" ? config : JSON.stringify(config, null, 2), { mode: 0o600 });
  return d;
}

async function cli(args: string[], dir: string, env: Record<string, string | undefined> = {}) {
  const r = await runToExit({ command: COMMAND, args, cwd: ROOT, env: { OPENCLAW_STATE_DIR: dir, ...env }, timeoutMs: 15_000 });
  expect(r.timedOut).toBe(false);
  return { ...r, all: r.stdout + r.stderr, messages: logMessages(r.stdout + r.stderr) };
}

async function gateway(dir: string, extra: string[] = [], env: Record<string, string | undefined> = {}, fixedPort?: number): Promise<GatewayChild> {
  const port = fixedPort ?? (await freePort());
  const child = spawnGateway({ command: COMMAND, args: ["gateway", "--port", String(port), ...extra], port, stateDir: dir, cwd: ROOT, env });
  children.push(child);
  await waitListening(child);
  return child;
}

/** Directory listing with mtimes: proves read-only commands wrote nothing. */
function snapshot(dir: string): string {
  return readdirSync(dir)
    .sort()
    .map((n) => `${n}:${statSync(join(dir, n)).mtimeMs}:${readFileSync(join(dir, n), "utf8").length}`)
    .join("\n");
}

describe("openclaw config", () => {
  test("read-only commands (file, get, validate) print what is asked and write nothing", async () => {
    const dir = stateDir(`{\n  // JSON5 with a comment\n  gateway: { mode: "local", port: 23999, auth: { token: "${TOKEN}" } },\n  models: { providers: { p: { apiKey: "sk-very-secret-key-value" } } },\n}\n`);
    const before = snapshot(dir);
    expect((await cli(["config", "file"], dir)).stdout.trim()).toBe(configPath(dir));
    expect(JSON.parse((await cli(["config", "file", "--json"], dir)).stdout)).toEqual({ path: configPath(dir) });
    const port = await cli(["config", "get", "gateway.port"], dir);
    expect([port.exitCode, port.stdout.trim()]).toEqual([0, "23999"]);
    const token = await cli(["config", "get", "gateway.auth.token"], dir);
    expect(token.stdout.trim()).toBe("__OPENCLAW_REDACTED__");
    const models = await cli(["config", "get", "models", "--json"], dir);
    expect(JSON.parse(models.stdout)).toEqual({ providers: { p: { apiKey: "__OPENCLAW_REDACTED__" } } });
    expect(models.all).not.toContain("sk-very-secret");
    const missing = await cli(["config", "get", "gateway.nope", "--json"], dir);
    expect([missing.exitCode, JSON.parse(missing.stdout)]).toEqual([1, { error: "Config path not found: gateway.nope" }]);
    const valid = await cli(["config", "validate"], dir);
    expect([valid.exitCode, valid.stdout.trim()]).toEqual([0, `Config valid: ${configPath(dir)}`]);
    expect(snapshot(dir)).toBe(before);
  });

  test("validate reports key paths (human and JSON) and a missing file", async () => {
    const dir = stateDir({ gateway: { mode: "local", port: "x", bogus: 1 } });
    const r = await cli(["config", "validate"], dir);
    expect(r.exitCode).toBe(1);
    const lines = r.stderr.split("\n");
    expect(lines[0]).toBe(`OpenClaw config is invalid: ${configPath(dir)}`);
    expect(lines).toContain("  × gateway.bogus: Unknown key");
    expect(lines.some((l) => l.startsWith("  × gateway.port: "))).toBe(true);
    const j = await cli(["config", "validate", "--json"], dir);
    expect(j.exitCode).toBe(1);
    const doc = JSON.parse(j.stdout);
    expect(doc.valid).toBe(false);
    expect(doc.issues.map((i: { path: string }) => i.path).sort()).toEqual(["gateway.bogus", "gateway.port"]);
    const empty = stateDir();
    const none = await cli(["config", "validate"], empty);
    expect([none.exitCode, none.stderr.trim()]).toEqual([1, `Config file not found: ${configPath(empty)}`]);
    expect(readdirSync(empty)).toEqual([]);
  });

  test("set / unset: validated, atomic 0600 write with .bak and stamps; invalid values change nothing", async () => {
    const dir = stateDir({ gateway: { mode: "local", auth: { token: TOKEN } }, channels: { custom: { keep: [1, { x: true }] } } });
    const set = await cli(["config", "set", "agents.defaults.model", "openai/gpt-4o"], dir);
    expect(set.exitCode).toBe(0);
    expect(set.stdout.split("\n")).toEqual([`Updated ${configPath(dir)}`, "Change will apply without restarting the gateway.", ""]);
    const doc = JSON.parse(readFileSync(configPath(dir), "utf8"));
    expect(doc.agents).toEqual({ defaults: { model: "openai/gpt-4o" } });
    expect(doc.channels).toEqual({ custom: { keep: [1, { x: true }] } });
    expect(doc.meta.lastTouchedVersion).toBe(VERSION);
    // Only what the original accepts in `meta` (it refuses lastTouchedAt).
    expect(Object.keys(doc.meta)).toEqual(["lastTouchedVersion"]);
    expect(statSync(configPath(dir)).mode & 0o777).toBe(0o600);
    expect(existsSync(`${configPath(dir)}.bak`)).toBe(true);

    const port = await cli(["config", "set", "gateway.port", "24001"], dir);
    expect(port.stdout).toContain("The running gateway restarts itself to apply this change.");
    expect(JSON.parse(readFileSync(configPath(dir), "utf8")).gateway.port).toBe(24001);

    const before = readFileSync(configPath(dir), "utf8");
    const bad = await cli(["config", "set", "gateway.port", "99999"], dir);
    expect(bad.exitCode).toBe(1);
    expect(bad.stderr).toStartWith("Config write rejected: gateway.port: ");
    const badPath = await cli(["config", "set", "gateway..port", "1"], dir);
    expect(badPath.exitCode).toBe(1);
    expect(badPath.stderr).toContain('Invalid config path "gateway..port"');
    const placeholder = await cli(["config", "set", "gateway.auth.token", "__OPENCLAW_REDACTED__"], dir);
    expect(placeholder.exitCode).toBe(1);
    expect(readFileSync(configPath(dir), "utf8")).toBe(before);

    const same = await cli(["config", "set", "gateway.port", "24001"], dir);
    expect(same.stdout.trim()).toBe("No change");
    expect(readFileSync(configPath(dir), "utf8")).toBe(before);

    const unset = await cli(["config", "unset", "agents"], dir);
    expect(unset.exitCode).toBe(0);
    expect(unset.stdout).toContain("Change will apply without restarting the gateway.");
    expect(JSON.parse(readFileSync(configPath(dir), "utf8")).agents).toBeUndefined();
    const absent = await cli(["config", "unset", "agents"], dir);
    expect([absent.exitCode, absent.stderr.trim()]).toEqual([1, "Config path not found: agents"]);
  });

  test("set on an unparseable file is refused and the file is kept as is", async () => {
    const dir = stateDir("{ gateway: { mode: ");
    const r = await cli(["config", "set", "gateway.mode", "local"], dir);
    expect(r.exitCode).toBe(1);
    expect(r.stderr).toStartWith(`Config write rejected: ${configPath(dir)} does not parse`);
    expect(readFileSync(configPath(dir), "utf8")).toBe("{ gateway: { mode: ");
  });
});

describe("a running gateway and the config CLI", () => {
  test("config set of a hot-safe key is visible over RPC without a restart; secrets reload re-reads .env", async () => {
    const port = await freePort();
    const dir = stateDir({
      gateway: { mode: "local", port, auth: { mode: "token", token: TOKEN }, reload: { debounceMs: 50 } },
      models: { providers: { p: { baseUrl: "http://127.0.0.1:9/v1", apiKey: "${P_KEY}", models: [{ id: "one" }] } } },
    });
    writeFileSync(join(dir, ".env"), "P_KEY=first\n");
    const child = await gateway(dir, [], {}, port);
    const client = await GatewayClient.connect({ url: `ws://127.0.0.1:${child.port}`, token: TOKEN, scopes: ["operator.admin"], connectTimeoutMs: 5_000 });
    try {
      const set = await cli(["config", "set", "models.providers.p.models", '[{id: "one"}, {id: "two"}]'], dir);
      expect(set.exitCode).toBe(0);
      const deadline = Date.now() + 5_000;
      let ids: string[] = [];
      while (Date.now() < deadline) {
        const r = await client.request<{ models: Array<{ id: string }> }>("models.list", { view: "provider-config" });
        ids = r.models.map((m) => m.id);
        if (ids.length === 2) break;
        await Bun.sleep(20);
      }
      expect(ids).toEqual(["one", "two"]);

      writeFileSync(join(dir, ".env"), "P_KEY=second\n");
      // Without --url: the local config's port and token.
      const reload = await cli(["secrets", "reload"], dir);
      expect(reload.exitCode).toBe(0);
      expect(reload.stdout).toContain("Secrets reloaded: 1 key(s) changed");
      expect(reload.stdout).toContain("models.providers.p.apiKey");
      const again = await cli(["secrets", "reload", "--json", "--url", `ws://127.0.0.1:${child.port}`, "--token", TOKEN], dir);
      expect(JSON.parse(again.stdout)).toMatchObject({ ok: true, status: "unchanged", changed: [] });
      expect(logMessages(child.stdout.text)).toContain("config reload: applied without restart: models.providers.p.apiKey");
    } finally {
      await within(client.close(), 1_000, undefined);
    }
  });
});

describe("newer-config guard", () => {
  const newerConfig = { meta: { lastTouchedVersion: NEWER }, gateway: { mode: "local", auth: { mode: "token", token: TOKEN } } };

  test("--force port cleanup refuses (exit 1); the override lets one run through", async () => {
    const dir = stateDir(newerConfig);
    const port = await freePort();
    const r = await cli(["gateway", "--port", String(port), "--force"], dir);
    expect(r.exitCode).toBe(1);
    expect(r.messages).toContain(
      `Refusing to force-kill gateway port listeners because this OpenClaw binary (${VERSION}) is older than the config last written by OpenClaw ${NEWER}.`,
    );
    expect(r.messages).toContain(GUARD_LINE_2);
    expect(r.all).not.toContain("listening on ws://");
    const child = await gateway(dir, ["--force"], { OPENCLAW_ALLOW_OLDER_BINARY_DESTRUCTIVE_ACTIONS: "1" });
    expect(await child.stop()).toBe(0);
  });

  test("service-mode startup refuses with exit 78 (the override is ignored there); foreground run and read-only commands work", async () => {
    const dir = stateDir(newerConfig);
    const port = await freePort();
    const r = await cli(["gateway", "--port", String(port)], dir, { OPENCLAW_SERVICE_MARKER: "openclaw", OPENCLAW_SERVICE_KIND: "gateway", OPENCLAW_ALLOW_OLDER_BINARY_DESTRUCTIVE_ACTIONS: "1" });
    expect(r.exitCode).toBe(78);
    expect(r.messages).toContain(
      `Refusing to start the gateway service because this OpenClaw binary (${VERSION}) is older than the config last written by OpenClaw ${NEWER}.`,
    );
    const get = await cli(["config", "get", "meta.lastTouchedVersion"], dir);
    expect([get.exitCode, get.stdout.trim()]).toEqual([0, NEWER]);
    const child = await gateway(dir);
    expect(await child.stop()).toBe(0);
  });
});

describe("startup recovery", () => {
  const good = { gateway: { mode: "local", auth: { mode: "token", token: TOKEN } } };

  test("an invalid config with a last-known-good copy: moved to .clobbered.*, restored, started, warning raised", async () => {
    const dir = stateDir(good);
    // The first run keeps its config as last-known-good once it has served on it a moment.
    const first = await gateway(dir);
    const lastGood = `${configPath(dir)}.last-good`;
    await pollUntil(async () => existsSync(lastGood), "the last-known-good copy", { context: () => first.stdout.text });
    expect(await first.stop()).toBe(0);
    expect(readFileSync(lastGood, "utf8")).toBe(readFileSync(configPath(dir), "utf8"));
    const bad = '{ gateway: { mode: "local", port: "oops" } }';
    writeFileSync(configPath(dir), bad);

    const child = await gateway(dir);
    const messages = logMessages(child.stdout.text);
    expect(messages.some((m) => m.startsWith("Config auto-restored from last-known-good: ") && m.includes("gateway.port"))).toBe(true);
    const clobbered = readdirSync(dir).filter((n) => n.startsWith("openclaw.json.clobbered."));
    expect(clobbered.length).toBe(1);
    expect(readFileSync(join(dir, clobbered[0]), "utf8")).toBe(bad);
    expect(JSON.parse(readFileSync(configPath(dir), "utf8"))).toEqual(good);

    const client = await GatewayClient.connect({ url: `ws://127.0.0.1:${child.port}`, token: TOKEN, connectTimeoutMs: 5_000 });
    const status = await client.request<{ queuedSystemEvents: string[] }>("status");
    expect(status.queuedSystemEvents.length).toBe(1);
    expect(status.queuedSystemEvents[0]).toStartWith("Config recovery warning: ");
    expect(status.queuedSystemEvents[0]).toContain(clobbered[0]);
    await within(client.close(), 1_000, undefined);
    expect(await child.stop()).toBe(0);
  });

  test("an invalid config without a last-known-good copy exits 78 with the key path and reason", async () => {
    const dir = stateDir('{ gateway: { mode: "local", port: "oops" } }');
    const port = await freePort();
    const r = await cli(["gateway", "--port", String(port)], dir);
    expect(r.exitCode).toBe(78);
    const text = r.messages.join("\n").split("\n");
    expect(text).toContain(`Invalid config at ${configPath(dir)}:`);
    expect(text.some((l) => l.startsWith("  × gateway.port: "))).toBe(true);
    // Nothing restored or moved aside; only the log of the refusal was written.
    expect(readdirSync(dir).filter((f) => f !== "logs")).toEqual(["openclaw.json"]);
  });
});
