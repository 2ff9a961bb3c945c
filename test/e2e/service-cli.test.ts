/**
 * The service and doctor commands as a user runs them (a real `openclaw` process from source,
 * HOME in a temp dir): `install --print` writes nothing, bad flags fail clearly, lifecycle
 * commands answer truthfully on a host without a running systemd, and `doctor` finds and fixes.
 */
import { afterAll, describe, expect, test } from "bun:test";
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { runToExit } from "../../scripts/lib/gateway-child.ts";

const ROOT = resolve(import.meta.dir, "../..");
const MAIN = join(ROOT, "src", "main.ts");
const COMMAND = [process.execPath, MAIN];
const dirs: string[] = [];
const systemdRunning = existsSync("/run/systemd/system");

afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

function home(): string {
  const d = mkdtempSync(join(tmpdir(), "openclaw-e2e-service-"));
  dirs.push(d);
  return d;
}

async function cli(h: string, args: string[], env: Record<string, string | undefined> = {}) {
  const r = await runToExit({ command: COMMAND, args, cwd: ROOT, env: { HOME: h, XDG_CONFIG_HOME: undefined, ...env }, timeoutMs: 30_000 });
  expect(r.timedOut).toBe(false);
  return r;
}

/** Every path under `dir` except Bun's own transpiler cache (~/.bun) of the source run. */
function listAll(dir: string): string[] {
  const out: string[] = [];
  const walk = (d: string) => {
    for (const n of readdirSync(d)) {
      if (d === dir && n === ".bun") continue;
      const p = join(d, n);
      out.push(p);
      if (statSync(p).isDirectory()) walk(p);
    }
  };
  walk(dir);
  return out.sort();
}

describe("gateway install --print", () => {
  test("shows the unit for this checkout (Bun on src/main.ts), writes nothing", async () => {
    const h = home();
    const r = await cli(h, ["gateway", "install", "--print", "--port", "18777"]);
    expect(r.exitCode).toBe(0);
    expect(r.stdout.split("\n")[0]).toBe("# openclaw gateway install --print: nothing was written (user service, port 18777).");
    expect(r.stdout).toContain(`# systemd user unit: ${join(h, ".config/systemd/user/openclaw-gateway.service")} (mode 0600)`);
    expect(r.stdout).toContain(`ExecStart=${process.execPath} ${MAIN} gateway --port 18777`);
    expect(r.stderr).toContain(`Would set gateway.port=18777 in ${join(h, ".openclaw/openclaw.json")}.`);
    expect(listAll(h)).toEqual([]);
  });

  test("--json with a secret: values redacted; --profile and --dev change names and ports", async () => {
    const h = home();
    const r = await cli(h, ["--profile", "rescue", "gateway", "install", "--print", "--json"], { OPENCLAW_GATEWAY_TOKEN: "tok-from-env-0123456789" });
    expect(r.exitCode).toBe(0);
    const out = JSON.parse(r.stdout);
    expect(out.result).toBe("print");
    expect(out.files.map((f: any) => [f.path, f.mode])).toEqual([
      [join(h, ".config/systemd/user/openclaw-gateway-rescue.service"), "0600"],
      [join(h, ".openclaw-rescue/gateway-rescue.systemd.env"), "0600"],
    ]);
    expect(out.files[0].content).toContain("--port 23532");
    expect(out.files[1].content).toContain("OPENCLAW_GATEWAY_TOKEN=<redacted, 23 chars>");
    expect(r.stdout).not.toContain("tok-from-env-0123456789");
    const dev = JSON.parse((await cli(h, ["--dev", "gateway", "install", "--print", "--json"])).stdout);
    expect(dev.files[0].path).toEndWith("openclaw-gateway-dev.service");
    expect(dev.files[0].content).toContain("--port 19001");
    expect(listAll(h)).toEqual([]);
  });

  test("--system --print shows the hardened system unit", async () => {
    const h = home();
    const r = await cli(h, ["gateway", "install", "--system", "--print"]);
    expect(r.exitCode).toBe(0);
    expect(r.stdout).toContain("# systemd system unit: /etc/systemd/system/openclaw-gateway.service (mode 0644)");
    expect(r.stdout).toContain("DynamicUser=yes");
    expect(r.stdout).not.toContain("MemoryDenyWriteExecute");
  });

  test("bad --port: clear error, exit 1, nothing written", async () => {
    const h = home();
    const r = await cli(h, ["gateway", "install", "--port", "99999"]);
    expect(r.exitCode).toBe(1);
    expect(r.stderr.trim()).toBe('Invalid --port "99999". Use a number from 1 to 65535.');
    expect(listAll(h)).toEqual([]);
  });
});

describe.skipIf(systemdRunning)(`lifecycle on a host without a running systemd${systemdRunning ? " (skipped: systemd is running here; the fake-manager tests cover the logic)" : ""}`, () => {
  test("install is refused with the reason; start fails with the install hint; stop/uninstall are no-ops", async () => {
    const h = home();
    const install = await cli(h, ["gateway", "install", "--json"]);
    expect(install.exitCode).toBe(1);
    const out = JSON.parse(install.stdout);
    expect(out).toMatchObject({ ok: false, action: "install", result: "unavailable" });
    expect(out.warnings[0]).toBe("Gateway install blocked: systemd is not running on this host (no /run/systemd/system).");
    expect(existsSync(join(h, ".config/systemd/user/openclaw-gateway.service"))).toBe(false);

    const start = await cli(h, ["gateway", "start"]);
    expect(start.exitCode).toBe(1);
    expect(start.stderr).toContain("Run: openclaw gateway install");
    const stop = await cli(h, ["gateway", "stop", "--json"]);
    expect(stop.exitCode).toBe(0);
    expect(JSON.parse(stop.stdout)).toMatchObject({ ok: true, action: "stop", result: "not-installed" });
    const un = await cli(h, ["gateway", "uninstall"]);
    expect(un.exitCode).toBe(0);
    expect(un.stdout).toContain("Systemd service not found at");
  });
});

describe("doctor", () => {
  test("finds a world-readable state dir and config; --fix repairs and says so; the rerun is clean", async () => {
    const h = home();
    const state = join(h, ".openclaw");
    mkdirSync(state, { mode: 0o755 });
    chmodSync(state, 0o755);
    writeFileSync(join(state, "openclaw.json"), JSON.stringify({ gateway: { mode: "local", auth: { token: "doctor-cli-token-0123456789" } } }), { mode: 0o644 });
    chmodSync(join(state, "openclaw.json"), 0o644);
    const before = await cli(h, ["doctor", "--json"]);
    expect(before.exitCode).toBe(0);
    const report = JSON.parse(before.stdout);
    expect(report.ok).toBe(false);
    expect(report.findings.map((f: any) => [f.checkId, f.fixable])).toEqual(
      expect.arrayContaining([
        ["state/permissions", true],
        ["state/secret-file-permissions", true],
      ]),
    );
    expect(statSync(state).mode & 0o777).toBe(0o755); // read-only without --fix

    const fix = await cli(h, ["doctor", "--fix"]);
    expect(fix.exitCode).toBe(0);
    expect(fix.stdout).toContain(`Fixed state/permissions: chmod 700 ${state} (was 0755)`);
    expect(fix.stdout).toContain(`Fixed state/secret-file-permissions: chmod 600 ${join(state, "openclaw.json")} (was 0644)`);
    expect(statSync(state).mode & 0o777).toBe(0o700);
    const after = JSON.parse((await cli(h, ["doctor", "--json"])).stdout);
    expect(after.findings.filter((f: any) => f.checkId.startsWith("state/"))).toEqual([]);
  });
});
