/**
 * End to end, as a compiled binary: build once with the release options (scripts/build.ts) into
 * a temp dir, then run it from a foreign working directory that holds a hostile bunfig.toml
 * (a preload) and .env (a different gateway token); the binary must ignore both.
 */
import { beforeAll, describe, expect, test } from "bun:test";
import { copyFileSync, existsSync, readdirSync, readFileSync, statSync, truncateSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { GatewayClient } from "../../src/protocol/client.ts";
import { VERSION } from "../../src/version.ts";
import { build, NOTICES_TITLE, verifyArtifact } from "../../scripts/build.ts";
import { rootCommand } from "../../src/cli/root.ts";
import { listCommands } from "../../src/cli/help.ts";
import { configPath, healthOnce, logMessages, readConfig, runToExit } from "../../scripts/lib/gateway-child.ts";
import { within } from "../../scripts/lib/proc.ts";
import { useChildGateways } from "../helpers/children.ts";
import { writeStateConfig } from "../helpers/state-dir.ts";

let hostTarget = "";
let binary = "";
let expectedBuildId = "";
/** A working directory with a bunfig.toml preload and a .env, both of which must be ignored. */
let hostileCwd = "";
let preloadMarker = "";
const DOTENV_TOKEN = "dotenv-token-that-must-be-ignored-0123";

const gateways = useChildGateways("openclaw-e2e-bin-");
const tempDir = gateways.tempDir;
const start = (stateDir: string) => gateways.start({ command: [binary], stateDir, cwd: hostileCwd });

beforeAll(async () => {
  const outdir = tempDir("openclaw-e2e-build-");
  // The release build of the host target only: compile, check, smoke `--version`, SHA256SUMS.
  const result = await build({ outdir, targets: [], alias: false });
  expectedBuildId = result.buildId;
  binary = result.host.path;
  hostTarget = result.host.target;

  hostileCwd = tempDir("openclaw-e2e-cwd-");
  preloadMarker = join(hostileCwd, "PRELOAD_RAN");
  writeFileSync(join(hostileCwd, "bunfig.toml"), 'preload = ["./evil.ts"]\n');
  writeFileSync(join(hostileCwd, "evil.ts"), `require("node:fs").writeFileSync(${JSON.stringify(preloadMarker)}, "1");\n`);
  writeFileSync(join(hostileCwd, ".env"), `OPENCLAW_GATEWAY_TOKEN=${DOTENV_TOKEN}\n`);
}, 60_000);

describe("compiled gateway binary", () => {
  test("the artifact exists and is executable", () => {
    const st = statSync(binary);
    expect(st.isFile()).toBe(true);
    expect(st.mode & 0o111).not.toBe(0);
  });

  test("the build's own checks pass again on the artifact (header, payload, --version)", () => {
    expect(verifyArtifact(binary, hostTarget, expectedBuildId)).toBe("ran --version natively");
  });

  test("--help lists every command of the command tree, nested ones included", async () => {
    const r = await runToExit({ command: [binary], args: ["--help"], cwd: hostileCwd, env: { NO_COLOR: "1" }, timeoutMs: 15_000 });
    expect(r.exitCode).toBe(0);
    const commands = await listCommands(rootCommand);
    expect(commands.map((c) => c.path)).toContain("gateway run");
    for (const c of commands) expect(r.stdout).toContain(`openclaw ${c.path} `);
  });

  test("`licenses` prints the notices embedded at build time", async () => {
    const r = await runToExit({ command: [binary], args: ["licenses"], cwd: hostileCwd, timeoutMs: 15_000 });
    expect(r.exitCode).toBe(0);
    expect(r.stdout.startsWith(`${NOTICES_TITLE}\n`)).toBe(true);
    expect(r.stdout).toContain(`(build ${expectedBuildId})`);
    expect(r.stdout).toContain(`Bun ${Bun.version} (runtime)`);
    expect(r.stdout).toMatch(/^hono@\S+ \(MIT\)$/m);
  });

  test("a truncated copy of the artifact is caught as broken", () => {
    const copy = join(tempDir(), "openclaw-truncated");
    copyFileSync(binary, copy);
    truncateSync(copy, 4 * 2 ** 20);
    expect(() => verifyArtifact(copy, hostTarget, expectedBuildId)).toThrow(/not a complete openclaw build/);
  });

  test("--version prints the build id and ignores bunfig.toml in the cwd", async () => {
    const r = await runToExit({ command: [binary], args: ["--version"], cwd: hostileCwd, timeoutMs: 15_000 });
    expect(r.exitCode).toBe(0);
    expect(r.stdout.trim()).toBe(`OpenClaw ${VERSION} (${expectedBuildId})`);
    expect(existsSync(preloadMarker)).toBe(false);
  });

  test("first run creates the config; health uses its token (not the cwd's .env); /healthz works", async () => {
    const stateDir = tempDir();
    const child = await start(stateDir);

    expect((statSync(configPath(stateDir)).mode & 0o777).toString(8)).toBe("600");
    const cfg = readConfig(stateDir);
    expect(cfg.gateway?.mode).toBe("local");
    expect(cfg.gateway?.auth?.mode).toBe("token");
    const token = cfg.gateway?.auth?.token ?? "";
    expect(token.length).toBeGreaterThanOrEqual(16);
    expect(token).not.toBe(DOTENV_TOKEN);

    const health = await healthOnce(child.port, token);
    expect(health.ok).toBe(true);
    // If .env had been loaded, OPENCLAW_GATEWAY_TOKEN would have replaced the config token.
    expect(logMessages(child.stdout.text).some((m) => m.includes(`with gateway.auth.token in ${configPath(stateDir)}`))).toBe(true);

    const res = await fetch(`http://127.0.0.1:${child.port}/healthz`, { signal: AbortSignal.timeout(5_000) });
    expect(await res.json()).toEqual({ ok: true, status: "live" });
    expect(existsSync(preloadMarker)).toBe(false);

    expect(await child.stop()).toBe(0);
  });

  // Memory: a started gateway's file work is synchronous and its TTY check does not load
  // node:tty, so the runtime's file-system thread pool never starts (docs/benchmarks.md).
  test.skipIf(process.platform !== "linux")("a started gateway that served a request runs no file-system thread pool", async () => {
    const stateDir = tempDir();
    const child = await start(stateDir);
    const token = readConfig(stateDir).gateway?.auth?.token ?? "";
    expect((await healthOnce(child.port, token)).ok).toBe(true);
    const tasks = readdirSync(`/proc/${child.pid}/task`);
    const names = tasks.map((t) => readFileSync(`/proc/${child.pid}/task/${t}/comm`, "utf8").trim());
    expect(names.length).toBeGreaterThan(1);
    expect(names.filter((n) => n.startsWith("Bun Pool"))).toEqual([]);
    expect(await child.stop()).toBe(0);
  });

  test("SIGTERM sends `shutdown`, closes 1012 `service restart`, exits 0", async () => {
    const stateDir = tempDir();
    const token = "e2e-binary-token-0123456789";
    writeStateConfig(stateDir, { gateway: { mode: "local", auth: { mode: "token", token } } });
    const child = await start(stateDir);
    const client = await GatewayClient.connect({ url: `ws://127.0.0.1:${child.port}`, token, connectTimeoutMs: 5_000 });
    const shutdown = client.waitForEvent("shutdown", 5_000);

    child.proc.kill("SIGTERM");

    expect((await shutdown).payload).toEqual({ reason: "gateway stopping" });
    expect(await within(client.closed, 5_000, "no close within 5 s" as const)).toEqual({ code: 1012, reason: "service restart" });
    expect(await within(child.proc.exited, 5_000, "no exit within 5 s" as const)).toBe(0);
  });
});
