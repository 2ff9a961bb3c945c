/**
 * `openclaw dashboard` (from source, as a child process) against a real gateway in this
 * process that serves the dashboard: the JSON object and the printed lines of the original
 * (captured in test/fixture/transcripts/control-ui/dashboard-*.txt), the `#token=` link, a
 * base path, password mode, SecretRef tokens, a stopped gateway, a disabled dashboard, a
 * damaged config. With OPENCLAW_REF_CLI, the official CLI's `dashboard --json` for the same
 * config gives the same links.
 */
import { afterEach, describe, expect, test } from "bun:test";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { controlUiSubsystem } from "../../src/gateway/control-ui.ts";
import { dashboardTarget } from "../../src/operator/dashboard.ts";
import { loadSnapshot } from "../../src/config/snapshot.ts";
import { resolvePaths } from "../../src/config/paths.ts";
import { freePort } from "../../scripts/lib/proc.ts";
import { SOURCE_COMMAND } from "../helpers/children.ts";
import { TEST_TOKEN } from "../helpers/gateway.ts";
import { baseConfig, startTestRuntime, type TestRuntime } from "../helpers/runtime.ts";
import { tempDir } from "../helpers/state-dir.ts";

const FIXTURES = join(import.meta.dir, "../fixture/transcripts/control-ui");
const REF = process.env.OPENCLAW_REF_CLI;

const running: TestRuntime[] = [];
afterEach(async () => {
  for (const t of running.splice(0)) await t.stop();
});

async function gateway(config: Record<string, any> = baseConfig()): Promise<TestRuntime> {
  const t = await startTestRuntime({ config, subsystems: [controlUiSubsystem()] });
  running.push(t);
  return t;
}

async function dashboard(stateDir: string, args: string[], env: Record<string, string> = {}): Promise<{ code: number; out: string; err: string }> {
  const proc = Bun.spawn([...SOURCE_COMMAND, "dashboard", ...args], {
    // No DISPLAY and no SSH: a test never opens a browser (and --no-open / --json are used anyway).
    env: { PATH: process.env.PATH, HOME: stateDir, OPENCLAW_STATE_DIR: stateDir, NO_COLOR: "1", ...env },
    stdout: "pipe",
    stderr: "pipe",
  });
  const timer = setTimeout(() => proc.kill("SIGKILL"), 30_000);
  const [out, err, code] = await Promise.all([new Response(proc.stdout).text(), new Response(proc.stderr).text(), proc.exited]);
  clearTimeout(timer);
  return { code, out, err };
}

/** The original's `--json` object for a running gateway (fixture), token and port generalised. */
function originalJsonKeys(): string[] {
  const line = readFileSync(join(FIXTURES, "dashboard-json.txt"), "utf8").split("\n")[0];
  return Object.keys(JSON.parse(line));
}

describe("openclaw dashboard", () => {
  test("--json: the URL with #token=, the links and the port, as the original prints them", async () => {
    const t = await gateway();
    const port = t.runtime.port;
    const r = await dashboard(t.stateDir, ["--no-open", "--json"], { OPENCLAW_GATEWAY_PORT: String(port) });
    expect(r.code).toBe(0);
    const json = JSON.parse(r.out);
    expect(json).toEqual({
      ok: true,
      url: `http://127.0.0.1:${port}/#token=${TEST_TOKEN}`,
      httpUrl: `http://127.0.0.1:${port}/`,
      wsUrl: `ws://127.0.0.1:${port}`,
      port,
      tokenIncluded: true,
    });
    // Every field of the original's object except its one-time bootstrap handoff (not issued here).
    expect(originalJsonKeys().filter((k) => !Object.hasOwn(json, k))).toEqual(["browserUrl", "browserBootstrapExpiresAtMs"]);
  }, 40_000);

  test("--no-open prints the clean URL and how to add the token fragment", async () => {
    const t = await gateway();
    const port = t.runtime.port;
    const r = await dashboard(t.stateDir, ["--no-open"], { OPENCLAW_GATEWAY_PORT: String(port) });
    expect(r.code).toBe(0);
    const original = readFileSync(join(FIXTURES, "dashboard-no-open.txt"), "utf8").split("\n");
    expect(r.out.trim().split("\n")).toEqual([`Dashboard URL: http://127.0.0.1:${port}/`, original.at(-3)!]);
    expect(r.out).not.toContain(TEST_TOKEN);
  }, 40_000);

  test("without --no-open and without a desktop it says how to reach it over SSH (nothing is opened)", async () => {
    const t = await gateway();
    const port = t.runtime.port;
    const r = await dashboard(t.stateDir, [], { OPENCLAW_GATEWAY_PORT: String(port) });
    expect(r.code).toBe(0);
    expect(r.out).toContain("No GUI detected. Open from your computer:");
    expect(r.out).toContain(`ssh -N -L ${port}:127.0.0.1:${port} <user>@<host>`);
  }, 40_000);

  test("a base path is in both links; password mode hands the password to native clients, not in the URL", async () => {
    const cfg = baseConfig();
    cfg.gateway.controlUi = { basePath: "/openclaw" };
    const t = await gateway(cfg);
    const port = t.runtime.port;
    const r = await dashboard(t.stateDir, ["--json"], { OPENCLAW_GATEWAY_PORT: String(port) });
    expect(JSON.parse(r.out)).toMatchObject({ url: `http://127.0.0.1:${port}/openclaw/#token=${TEST_TOKEN}`, wsUrl: `ws://127.0.0.1:${port}/openclaw` });

    const pw = tempDir("openclaw-dash-pw-");
    const snapshot = await loadSnapshot({ paths: resolvePaths({ env: { OPENCLAW_STATE_DIR: pw } }), env: { OPENCLAW_STATE_DIR: pw } });
    const target = dashboardTarget({ ...snapshot, gateway: { ...snapshot.gateway, auth: { mode: "password", password: "s3cret", issues: [] } } });
    expect(target).toMatchObject({ tokenIncluded: false, passwordHandoff: "s3cret", dashboardUrl: "http://127.0.0.1:18789/" });
  }, 40_000);

  test("a SecretRef token never goes into the URL", async () => {
    const state = tempDir("openclaw-dash-ref-");
    writeFileSync(join(state, "openclaw.json"), JSON.stringify({ gateway: { mode: "local", auth: { mode: "token", token: { source: "env", id: "DASH_TOKEN" } } } }));
    const env = { OPENCLAW_STATE_DIR: state, DASH_TOKEN: "from-env-ref" };
    const snapshot = await loadSnapshot({ paths: resolvePaths({ env }), env });
    expect(snapshot.gateway.auth.token).toBe("from-env-ref");
    expect(dashboardTarget(snapshot, env)).toMatchObject({ tokenIncluded: false, dashboardUrl: "http://127.0.0.1:18789/" });
  });

  test("a stopped gateway: the original's reason (JSON exits 1, text exits 0)", async () => {
    const state = tempDir("openclaw-dash-down-");
    writeFileSync(join(state, "openclaw.json"), JSON.stringify({ gateway: { mode: "local", port: await freePort(), auth: { mode: "token", token: "x" } } }));
    const json = await dashboard(state, ["--json"]);
    expect(json.code).toBe(1);
    expect(json.out.trim()).toBe(readFileSync(join(FIXTURES, "dashboard-json-down.txt"), "utf8").split("\n")[0]);
    const text = await dashboard(state, ["--no-open"]);
    expect(text.code).toBe(0);
    expect(text.out.trim()).toBe(readFileSync(join(FIXTURES, "dashboard-no-open-down.txt"), "utf8").trim().split("\n").slice(0, -1).join("\n"));
  }, 40_000);

  test("a gateway that does not serve the dashboard (controlUi.enabled: false) is reported, exit 1", async () => {
    const cfg = baseConfig();
    cfg.gateway.controlUi = { enabled: false };
    const t = await gateway(cfg);
    const r = await dashboard(t.stateDir, ["--json"], { OPENCLAW_GATEWAY_PORT: String(t.runtime.port) });
    expect(r.code).toBe(1);
    expect(JSON.parse(r.out)).toEqual({ ok: false, reason: "Control UI dashboard is unavailable (HTTP 404)." });
  }, 40_000);

  test("a damaged config is refused with the original's words", async () => {
    const state = tempDir("openclaw-dash-bad-");
    writeFileSync(join(state, "openclaw.json"), JSON.stringify({ gateway: { port: "not-a-port" } }));
    const r = await dashboard(state, ["--json"]);
    expect(r.code).toBe(1);
    expect(JSON.parse(r.out)).toEqual({
      ok: false,
      reason: `OpenClaw config is invalid: ${join(state, "openclaw.json")}. Run \`openclaw doctor --fix\` or \`openclaw config validate\`.`,
    });
  }, 40_000);
});

describe.skipIf(!REF)("the official CLI's dashboard --json against this gateway (set OPENCLAW_REF_CLI to run)", () => {
  test("same url, links, port and tokenIncluded as ours", async () => {
    const t = await gateway();
    const port = t.runtime.port;
    const ours = JSON.parse((await dashboard(t.stateDir, ["--json"], { OPENCLAW_GATEWAY_PORT: String(port) })).out);
    // The official CLI gets a copy of the config with the port written in, in its own state dir.
    const home = tempDir("openclaw-ref-dash-");
    const state = join(home, ".openclaw");
    mkdirSync(state, { recursive: true });
    const cfg = baseConfig();
    cfg.gateway.port = port;
    delete cfg.gateway.reload;
    writeFileSync(join(state, "openclaw.json"), JSON.stringify(cfg));
    const proc = Bun.spawn([REF!, "dashboard", "--no-open", "--json"], {
      env: { PATH: process.env.PATH, HOME: home, OPENCLAW_STATE_DIR: state, OPENCLAW_CONFIG_PATH: join(state, "openclaw.json"), NO_COLOR: "1" },
      stdout: "pipe",
      stderr: "pipe",
    });
    const timer = setTimeout(() => proc.kill("SIGKILL"), 60_000);
    const [out, code] = await Promise.all([new Response(proc.stdout).text(), proc.exited]);
    clearTimeout(timer);
    expect(code).toBe(0);
    const theirs = JSON.parse(out);
    for (const k of ["ok", "url", "httpUrl", "wsUrl", "port", "tokenIncluded"]) expect(ours[k]).toEqual(theirs[k]);
  }, 90_000);
});
