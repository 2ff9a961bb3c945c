/**
 * Configs move between this gateway and the original OpenClaw in both directions.
 *
 * test/fixture/original/openclaw.json was written by the official CLI 2026.9.6, in a temp state
 * dir, with:
 *
 *   openclaw onboard --non-interactive --accept-risk --mode local --flow quickstart \
 *     --auth-choice skip --gateway-auth token --gateway-token fixture-token-from-the-original-cli \
 *     --gateway-port 18789 --gateway-bind loopback --skip-channels --skip-daemon --skip-health \
 *     --skip-skills --skip-search --skip-ui --skip-hooks --skip-bootstrap --workspace <dir>
 *   openclaw config set logging.level debug
 *   openclaw config set gateway.reload.mode hybrid
 *   openclaw config set gateway.controlUi.allowedOrigins '["https://claw.example"]'
 *   openclaw config set session.dmScope per-channel-peer
 *   openclaw config set discovery.mdns.mode minimal
 *
 * It must load here (what we implement validated, the rest kept and listed as unsupported), and
 * what our writer produces must pass the original's `config validate` (run when OPENCLAW_REF_CLI
 * names the official CLI; skipped with the reason otherwise).
 */
import { describe, expect, test } from "bun:test";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { runToExit } from "../../scripts/lib/gateway-child.ts";
import { setAtPath } from "../../src/config/keypath.ts";
import { resolvePaths } from "../../src/config/paths.ts";
import { loadSnapshot } from "../../src/config/snapshot.ts";
import { keysOriginalRefuses, ORIGINAL_REFUSES, unsupportedMessage } from "../../src/config/support.ts";
import { initialConfig, writeConfig, writeConfigDocument } from "../../src/config/write.ts";
import { startTestGateway } from "../helpers/gateway.ts";
import { useTempDirs } from "../helpers/state-dir.ts";

const ROOT = resolve(import.meta.dir, "../..");
const FIXTURE = join(ROOT, "test/fixture/original/openclaw.json");
const ORIGINAL = JSON.parse(readFileSync(FIXTURE, "utf8"));
const REF_CLI = process.env.OPENCLAW_REF_CLI;
const tempDir = useTempDirs("openclaw-original-config-");

function setIn(doc: Record<string, unknown>, path: string[], value: unknown): void {
  let cur = doc;
  for (const seg of path.slice(0, -1)) cur = (cur[seg] ??= {}) as Record<string, unknown>;
  cur[path.at(-1)!] = value;
}

function stateWith(doc: unknown): { stateDir: string; configPath: string } {
  const stateDir = tempDir();
  const configPath = join(stateDir, "openclaw.json");
  writeFileSync(configPath, typeof doc === "string" ? doc : `${JSON.stringify(doc, null, 2)}\n`, { mode: 0o600 });
  return { stateDir, configPath };
}

describe("a config the original wrote", () => {
  test("loads: implemented keys validated and applied, the others kept and listed as not supported", async () => {
    const { stateDir } = stateWith(ORIGINAL);
    const s = await loadSnapshot({ paths: resolvePaths({ env: { OPENCLAW_STATE_DIR: stateDir } }), env: { OPENCLAW_STATE_DIR: stateDir } });
    expect(s.problem).toBeUndefined();
    expect(s.gateway).toMatchObject({ mode: "local", port: 18789, bind: "loopback", auth: { mode: "token", token: "fixture-token-from-the-original-cli" } });
    expect(s.config.logging?.level).toBe("debug");
    expect(s.config.gateway?.controlUi?.allowedOrigins).toEqual(["https://claw.example"]);
    expect(s.config.meta).toEqual(ORIGINAL.meta);
    expect(s.unsupported).toEqual(["plugins", "tools", "gateway.tailscale"]);
  });

  test("our writer keeps every key it does not interpret and writes only the meta keys the original accepts", async () => {
    const { configPath } = stateWith(ORIGINAL);
    const written = await writeConfigDocument(configPath, setAtPath(ORIGINAL, ["gateway", "port"], 18790));
    const back = JSON.parse(readFileSync(configPath, "utf8"));
    expect(back).toEqual({ ...ORIGINAL, gateway: { ...ORIGINAL.gateway, port: 18790 } });
    expect(Object.keys(back.meta).sort()).toEqual(["lastTouchedVersion", "migrations"]);
    expect(written.doc).toEqual(back);
  });

  test("the gateway lists the unsupported keys once at startup; doctor reports them", async () => {
    const gw = await startTestGateway({ config: ORIGINAL });
    try {
      const lines = gw.logs.filter((r) => r.message === unsupportedMessage(["plugins", "tools", "gateway.tailscale"]));
      expect(lines.map((r) => r.level)).toEqual(["warn"]);
    } finally {
      await gw.stop();
    }
    const { stateDir } = stateWith(ORIGINAL);
    const home = tempDir();
    const r = await runToExit({ command: [process.execPath, join(ROOT, "src/main.ts")], args: ["doctor", "--json"], cwd: ROOT, env: { OPENCLAW_STATE_DIR: stateDir, HOME: home } });
    const finding = JSON.parse(r.stdout).findings.find((f: { checkId: string }) => f.checkId === "config/unsupported-keys");
    expect(finding).toMatchObject({ severity: "warning", fixable: false });
    expect(finding.message).toContain("not supported by this gateway (kept in the file, not acted on): plugins, tools, gateway.tailscale");
  });
});

describe.skipIf(!REF_CLI)(`the official CLI accepts what we write${REF_CLI ? "" : " (skipped: set OPENCLAW_REF_CLI to the official openclaw CLI)"}`, () => {
  async function refValidate(configPath: string, stateDir: string): Promise<{ valid: boolean; issues?: unknown; raw: string }> {
    const home = tempDir();
    mkdirSync(home, { recursive: true });
    const r = await runToExit({
      command: [REF_CLI as string],
      args: ["config", "validate", "--json"],
      cwd: home,
      env: { HOME: home, OPENCLAW_STATE_DIR: stateDir, OPENCLAW_CONFIG_PATH: configPath },
      timeoutMs: 90_000,
    });
    const start = r.stdout.indexOf("{");
    const out = JSON.parse(r.stdout.slice(start));
    return { ...out, raw: r.stdout + r.stderr };
  }

  test("our first-run config, a config set through our writer, and the original's own file after our write", async () => {
    const first = stateWith("{}");
    await writeConfig(first.configPath, initialConfig());
    const edited = stateWith(ORIGINAL);
    await writeConfigDocument(edited.configPath, setAtPath(ORIGINAL, ["gateway", "port"], 18790));
    const ours = stateWith("{}");
    await writeConfig(ours.configPath, { gateway: { mode: "local", port: 19000, bind: "loopback", auth: { mode: "token", token: "t0123456789" }, reload: { mode: "hybrid" } }, logging: { level: "warn" } });
    for (const { stateDir, configPath } of [first, edited, ours]) {
      const verdict = await refValidate(configPath, stateDir);
      expect({ configPath, valid: verdict.valid }).toEqual({ configPath, valid: true });
    }
  }, 300_000);

  test("refuses exactly the keys doctor warns about (ORIGINAL_REFUSES)", async () => {
    const doc: Record<string, unknown> = structuredClone(ORIGINAL);
    for (const key of ORIGINAL_REFUSES) setIn(doc, key.split("."), key.startsWith("gateway.http.endpoints.") ? { enabled: true } : key === "gateway.http.cors" ? { allowedOrigins: ["*"] } : key.endsWith("Ms") ? 50 : key.endsWith(".enabled") ? true : "x");
    expect(keysOriginalRefuses(doc)).toEqual([...ORIGINAL_REFUSES]);
    const { stateDir, configPath } = stateWith(doc);
    const verdict = await refValidate(configPath, stateDir);
    expect(verdict.valid).toBe(false);
    const issues = JSON.stringify(verdict.issues);
    for (const key of ORIGINAL_REFUSES) expect(issues).toContain(key.split(".").at(-1)!);
    // Each is refused on its own too.
    for (const key of ORIGINAL_REFUSES.slice(0, 3)) {
      const one: Record<string, unknown> = structuredClone(ORIGINAL);
      setIn(one, key.split("."), key === "gateway.http.cors" ? { allowedOrigins: ["*"] } : 50);
      const s = stateWith(one);
      expect((await refValidate(s.configPath, s.stateDir)).valid).toBe(false);
    }
  }, 300_000);

  test("and refuses meta.lastTouchedAt, which is why the writer never writes it", async () => {
    const old = stateWith({ ...ORIGINAL, meta: { ...ORIGINAL.meta, lastTouchedAt: "2026-01-01T00:00:00.000Z" } });
    const verdict = await refValidate(old.configPath, old.stateDir);
    expect(verdict.valid).toBe(false);
    expect(verdict.raw).toContain("lastTouchedAt");
  }, 120_000);
});
