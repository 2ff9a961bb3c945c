/**
 * launchd: plist generation checked by a real plist parser (`plistutil`), the env file and
 * wrapper run by a real /bin/sh, and the LaunchAgent lifecycle against a fake launchctl.
 */
import { describe, expect, test } from "bun:test";
import { existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { resolvePaths } from "../../src/config/paths.ts";
import { InstallBlocked, prepareInstall, runLifecycle } from "../../src/service/index.ts";
import { ENV_WRAPPER, parseLaunchctlPrint, parsePlist, readPlistDefinition, renderLaunchdEnvFile, renderLaunchdPlist, renderPlist, type PlistValue } from "../../src/service/launchd.ts";
import { launchdHost, useTempDirs, verbs } from "./fakes.ts";
import { makeSpec, skipReason } from "./helpers.ts";

const tmp = useTempDirs();
const modeOf = (p: string) => `0${(statSync(p).mode & 0o777).toString(8)}`;

async function sh(args: string[], env: Record<string, string> = {}): Promise<{ code: number; out: string }> {
  const proc = Bun.spawn(["/bin/sh", ...args], { stdout: "pipe", stderr: "pipe", env: { PATH: "/usr/bin:/bin", ...env } });
  const [out, code] = await Promise.all([new Response(proc.stdout).text(), proc.exited]);
  return { code, out };
}

describe("plist", () => {
  test("renders and parses back, escaping XML", () => {
    const value: { [k: string]: PlistValue } = { Label: "ai.openclaw.gateway", A: ["x & <y>", ""], B: true, C: false, N: 63, E: {}, D: { K: "v" } };
    expect(parsePlist(renderPlist(value))).toEqual(value);
  });

  test("the LaunchAgent keys: RunAtLoad, KeepAlive, log paths, env, no secrets", () => {
    const { host } = launchdHost(tmp());
    const spec = makeSpec(host, { kind: "launchd", secrets: [["OPENCLAW_GATEWAY_TOKEN", "secret-value-123"]] });
    const xml = renderLaunchdPlist(spec, "/s/service-env/ai.openclaw.gateway-env-wrapper.sh");
    expect(xml).not.toContain("secret-value-123");
    const dict = parsePlist(xml) as Record<string, PlistValue>;
    expect(dict).toMatchObject({ Label: "ai.openclaw.gateway", RunAtLoad: true, KeepAlive: true, Umask: 63, ProcessType: "Interactive", ThrottleInterval: 10 });
    expect(dict.StandardOutPath).toBe(join(host.dirs.macLogs, "gateway.log"));
    expect(dict.StandardErrorPath).toBe(join(host.dirs.macLogs, "gateway.err.log"));
    expect((dict.ProgramArguments as string[]).slice(0, 3)).toEqual(["/bin/sh", "/s/service-env/ai.openclaw.gateway-env-wrapper.sh", spec.envFile]);
    const def = readPlistDefinition("/p.plist", xml);
    expect(def.programArguments).toEqual(["/usr/local/bin/openclaw", "gateway", "--port", "18789"]);
    expect(def.envFile).toBe(spec.envFile);
    expect(def.environment.OPENCLAW_LAUNCHD_LABEL).toBe("ai.openclaw.gateway");
    expect(makeSpec(host, { kind: "launchd", profile: "work" }).identity.launchdLabel).toBe("ai.openclaw.work");
  });

  const plistSkip = skipReason("plistutil", "libplist-utils");
  test.skipIf(Boolean(plistSkip))(`a real plist parser accepts every generated plist${plistSkip ? ` (skipped: ${plistSkip})` : ""}`, async () => {
    const { host } = launchdHost(tmp());
    const dir = tmp();
    const specs = [
      makeSpec(host, { kind: "launchd" }),
      makeSpec(host, { kind: "launchd", profile: "rescue", port: 19789, secrets: [["K", "v"]] }),
      makeSpec(host, { kind: "launchd", program: ["/Applications/Open Claw & Co/openclaw <x>"] }),
    ];
    for (const [i, spec] of specs.entries()) {
      const xml = renderLaunchdPlist(spec, "/w.sh");
      const file = join(dir, `p${i}.plist`);
      writeFileSync(file, xml);
      // XML → binary → XML through libplist, then compare what both sides mean. (plistutil 2.2
      // exits 0 even when it cannot parse; failure shows as an ERROR line and no output file.)
      const toBin = Bun.spawnSync(["plistutil", "-i", file, "-o", `${file}.bin`, "-f", "bin"], { stdout: "pipe", stderr: "pipe" });
      const said = `${toBin.stdout.toString()}${toBin.stderr.toString()}`;
      expect({ i, code: toBin.exitCode, said, out: existsSync(`${file}.bin`) }).toEqual({ i, code: 0, said: "", out: true });
      const back = Bun.spawnSync(["plistutil", "-i", `${file}.bin`, "-f", "xml"], { stdout: "pipe" });
      expect(back.exitCode).toBe(0);
      expect(parsePlist(back.stdout.toString())).toEqual(parsePlist(xml));
    }
    // And it rejects a broken one (the check is real).
    writeFileSync(join(dir, "bad.plist"), '<?xml version="1.0"?><plist version="1.0"><dict><key>a</key><string>x & y</string></dict></plist>');
    const bad = Bun.spawnSync(["plistutil", "-i", join(dir, "bad.plist"), "-o", join(dir, "bad.bin"), "-f", "bin"], { stdout: "pipe", stderr: "pipe" });
    expect(`${bad.stdout.toString()}${bad.stderr.toString()}`).toContain("ERROR");
    expect(existsSync(join(dir, "bad.bin"))).toBe(false);
  });

  test("launchctl print → runtime", () => {
    expect(parseLaunchctlPrint("gui/501/ai.openclaw.gateway = {\n\tstate = running\n\tpid = 4242\n\tlast exit code = 0\n}")).toEqual({ status: "running", state: "running", pid: 4242, lastExitStatus: 0 });
    expect(parseLaunchctlPrint("x = {\n\tstate = not running\n\tlast exit code = 78: EX_CONFIG\n}")).toMatchObject({ status: "stopped", lastExitStatus: 78 });
  });
});

describe("env file and wrapper (real /bin/sh)", () => {
  test("values with quotes, $, spaces and backslashes reach the gateway unchanged", async () => {
    const dir = tmp();
    const values: Array<[string, string]> = [
      ["OPENCLAW_GATEWAY_TOKEN", "tok 'quoted' $HOME `x` \\n"],
      ["OPENAI_API_KEY", 'sk-"abc"'],
    ];
    const envFile = join(dir, "ai.openclaw.gateway.env");
    writeFileSync(envFile, renderLaunchdEnvFile(values), { mode: 0o600 });
    const wrapper = join(dir, "wrapper.sh");
    writeFileSync(wrapper, ENV_WRAPPER, { mode: 0o700 });
    const r = await sh([wrapper, envFile, "/usr/bin/env"]);
    expect(r.code).toBe(0);
    const seen = Object.fromEntries(
      r.out
        .trim()
        .split("\n")
        .map((l) => [l.slice(0, l.indexOf("=")), l.slice(l.indexOf("=") + 1)]),
    );
    expect(seen.OPENCLAW_GATEWAY_TOKEN).toBe(values[0][1]);
    expect(seen.OPENAI_API_KEY).toBe(values[1][1]);
    // A missing env file does not stop the gateway.
    expect((await sh([wrapper, join(dir, "missing.env"), "/bin/echo", "ran"])).out).toBe("ran\n");
  });
});

describe("LaunchdManager lifecycle (fake launchctl)", () => {
  function setup(env: Record<string, string> = {}) {
    const { host, launchd } = launchdHost(tmp(), { env });
    return { host, launchd, paths: resolvePaths({ env: host.env }) };
  }

  test("install: plist 0644, env file 0600, wrapper 0700; enable + bootstrap + kickstart; verified", async () => {
    const { host, paths } = setup({ OPENCLAW_GATEWAY_TOKEN: "tok-0123456789abcdef" });
    const prepared = await prepareInstall(host, { paths });
    const out = await prepared.manager.install(prepared.spec, {});
    expect(out.ok).toBe(true);
    const plist = join(host.dirs.launchAgents, "ai.openclaw.gateway.plist");
    expect(modeOf(plist)).toBe("0644");
    expect(modeOf(join(paths.stateDir, "service-env", "ai.openclaw.gateway.env"))).toBe("0600");
    expect(modeOf(join(paths.stateDir, "service-env", "ai.openclaw.gateway-env-wrapper.sh"))).toBe("0700");
    expect(verbs(host.calls, "launchctl").filter((v) => !v.startsWith("print"))).toEqual([
      "enable gui/501/ai.openclaw.gateway",
      `bootstrap gui/501 ${plist}`,
      "kickstart gui/501/ai.openclaw.gateway",
    ]);
    expect(out.lines.at(-1)).toMatch(/^Loaded ai\.openclaw\.gateway: running \(pid \d+\), listening on port 18789\.$/);
    const again = await prepared.manager.install(prepared.spec, {});
    expect(again.result).toBe("already-installed");
  });

  test("restart uses kickstart -k and never unloads; stop is bootout; stop --disable persists; start brings it back", async () => {
    const { host, launchd, paths } = setup();
    const prepared = await prepareInstall(host, { paths });
    const installed = await prepared.manager.install(prepared.spec, {});
    const req = { profile: undefined, stateDir: paths.stateDir };
    host.calls.length = 0;
    const restarted = await runLifecycle(host, req, "restart");
    expect(restarted.ok).toBe(true);
    expect(restarted.lines[0]).toMatch(new RegExp(`^Restarted LaunchAgent: ai\\.openclaw\\.gateway \\(pid ${installed.state?.runtime.pid} → \\d+, port 18789\\)\\.$`));
    const restartVerbs = verbs(host.calls, "launchctl").filter((v) => !v.startsWith("print"));
    expect(restartVerbs).toEqual(["kickstart -k gui/501/ai.openclaw.gateway"]);

    host.calls.length = 0;
    const stopped = await runLifecycle(host, req, "stop");
    expect(verbs(host.calls, "launchctl").filter((v) => !v.startsWith("print"))).toEqual(["bootout gui/501/ai.openclaw.gateway"]);
    expect(stopped.lines[0]).toBe("Stopped LaunchAgent: ai.openclaw.gateway (port 18789 closed). It loads again at next login; openclaw gateway start loads it now.");
    expect(existsSync(join(host.dirs.launchAgents, "ai.openclaw.gateway.plist"))).toBe(true);
    expect((await runLifecycle(host, req, "stop")).result).toBe("already-stopped");

    const disabled = await runLifecycle(host, req, "stop", { disable: true });
    expect(disabled.lines[0]).toBe("Disabled ai.openclaw.gateway: it will not load at login until openclaw gateway start.");
    expect(launchd.disabled.has("ai.openclaw.gateway")).toBe(true);

    host.calls.length = 0;
    const started = await runLifecycle(host, req, "start");
    expect(started.ok).toBe(true);
    expect(verbs(host.calls, "launchctl").filter((v) => !v.startsWith("print"))).toEqual([
      "enable gui/501/ai.openclaw.gateway",
      `bootstrap gui/501 ${join(host.dirs.launchAgents, "ai.openclaw.gateway.plist")}`,
      "kickstart gui/501/ai.openclaw.gateway",
    ]);
  });

  test("restart recovers an installed but unloaded agent", async () => {
    const { host, launchd, paths } = setup();
    const prepared = await prepareInstall(host, { paths });
    await prepared.manager.install(prepared.spec, {});
    launchd.loaded.clear();
    const out = await runLifecycle(host, { profile: undefined, stateDir: paths.stateDir }, "restart");
    expect(out.ok).toBe(true);
    expect(out.lines[0]).toBe("Loaded ai.openclaw.gateway (it was not loaded).");
  });

  test("uninstall removes plist, env file and wrapper and verifies", async () => {
    const { host, launchd, paths } = setup({ OPENCLAW_GATEWAY_TOKEN: "tok-0123456789abcdef" });
    const prepared = await prepareInstall(host, { paths });
    await prepared.manager.install(prepared.spec, {});
    const out = await runLifecycle(host, { profile: undefined, stateDir: paths.stateDir }, "uninstall");
    expect(out.ok).toBe(true);
    for (const f of [join(host.dirs.launchAgents, "ai.openclaw.gateway.plist"), join(paths.stateDir, "service-env", "ai.openclaw.gateway.env"), join(paths.stateDir, "service-env", "ai.openclaw.gateway-env-wrapper.sh")]) {
      expect(existsSync(f)).toBe(false);
    }
    expect(launchd.loaded.size).toBe(0);
  });

  test("refusals: a same-label LaunchDaemon, a reserved profile, no GUI session", async () => {
    const { host, launchd, paths } = setup();
    mkdirSync(host.dirs.launchDaemons, { recursive: true });
    writeFileSync(join(host.dirs.launchDaemons, "ai.openclaw.gateway.plist"), "<plist/>");
    const err = await prepareInstall(host, { paths }).catch((e) => e);
    expect(err).toBeInstanceOf(InstallBlocked);
    expect(err.lines[0]).toContain("already owns the label ai.openclaw.gateway");
    const reserved = await prepareInstall(host, { paths: resolvePaths({ profile: "node", env: host.env }) }).catch((e) => e);
    expect(reserved.lines[0]).toContain('profile "node" is reserved on macOS');

    const other = launchdHost(tmp());
    other.launchd.noGui = true;
    const p = await prepareInstall(other.host, { paths: resolvePaths({ env: other.host.env }) });
    const out = await p.manager.install(p.spec, {});
    expect(out.ok).toBe(false);
    expect(out.warnings[0]).toStartWith("Gateway install blocked: LaunchAgent plist exists, but macOS has no usable GUI session for this user");
    void launchd;
  });
});
