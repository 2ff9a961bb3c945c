/**
 * systemd: the unit generator (checked by the real `systemd-analyze verify`), the unit reader,
 * and the manager's lifecycle against a fake systemctl that keeps unit state.
 */
import { describe, expect, test } from "bun:test";
import { existsSync, mkdirSync, readFileSync, statSync, symlinkSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { prepareInstall, InstallBlocked, runLifecycle } from "../../src/service/index.ts";
import { escapeEnvAssignment, escapeExecArg, parseEnvFile, readUnitDefinition, renderSystemdEnvFile, renderSystemdUnit, splitWords, SystemdManager } from "../../src/service/systemd.ts";
import { serviceIdentity, ServiceSpecError } from "../../src/service/spec.ts";
import { resolvePaths } from "../../src/config/paths.ts";
import { systemdHost, useTempDirs, verbs } from "./fakes.ts";
import { makeSpec, skipReason } from "./helpers.ts";

const tmp = useTempDirs();
const ROOT = resolve(import.meta.dir, "../..");
const MAIN = join(ROOT, "src", "main.ts");

function modeOf(path: string): string {
  return `0${(statSync(path).mode & 0o777).toString(8)}`;
}

describe("unit rendering", () => {
  test("ExecStart arguments: %, $, quotes, spaces, backslashes; CR/LF refused", () => {
    expect(escapeExecArg("/usr/local/bin/openclaw")).toBe("/usr/local/bin/openclaw");
    expect(escapeExecArg("/opt/my apps/openclaw")).toBe('"/opt/my apps/openclaw"');
    expect(escapeExecArg("50%")).toBe("50%%");
    expect(escapeExecArg("$HOME")).toBe("$$HOME");
    // systemd expands no variables in the program path itself: `$` stays single there.
    expect(escapeExecArg("/opt/a$b/openclaw", true)).toBe("/opt/a$b/openclaw");
    expect(escapeExecArg('a"b\\c')).toBe('"a\\"b\\\\c"');
    expect(escapeExecArg("")).toBe('""');
    expect(() => escapeExecArg("a\nb")).toThrow(ServiceSpecError);
    expect(escapeEnvAssignment("A", "b c")).toBe('"A=b c"');
    expect(escapeEnvAssignment("A", "100%")).toBe("A=100%%");
    expect(escapeEnvAssignment("A", "$x")).toBe("A=$x");
    expect(() => escapeEnvAssignment("BAD-NAME", "x")).toThrow(ServiceSpecError);
  });

  test("round trip: what we write is what we read back", () => {
    const { host } = systemdHost(tmp());
    const weird = ["/opt/open claw/bin %d/open$claw", "/src/$main.ts"];
    const spec = makeSpec(host, { program: weird, port: 4321, profile: "rescue" });
    const text = renderSystemdUnit(spec);
    const def = readUnitDefinition("/x.service", text, "user");
    expect(def.programArguments).toEqual([...weird, "gateway", "--port", "4321"]);
    expect(def.port).toBe(4321);
    expect(def.profile).toBe("rescue");
    expect(def.environment.OPENCLAW_SYSTEMD_UNIT).toBe("openclaw-gateway-rescue.service");
    expect(def.stateDir).toBe(spec.stateDir);
    expect(splitWords(`"a b" c\\ d 'e f'`)).toEqual(["a b", "c d", "e f"]);
  });

  test("user unit: the policy lines the issue asks for, no secrets inline", () => {
    const { host } = systemdHost(tmp());
    const spec = makeSpec(host, { secrets: [["OPENCLAW_GATEWAY_TOKEN", "s3cret-token-value"]] });
    const text = renderSystemdUnit(spec);
    for (const line of ["Type=exec", "Restart=on-failure", "RestartPreventExitStatus=78", "KillMode=mixed", "WantedBy=default.target", "After=network-online.target"]) {
      expect(text.split("\n")).toContain(line);
    }
    expect(text).toContain(`EnvironmentFile=-${spec.envFile}`);
    expect(text).not.toContain("s3cret-token-value");
    expect(text).not.toContain("MemoryDenyWriteExecute");
    expect(text).not.toContain("DynamicUser");
  });

  test("system unit: DynamicUser, state directory, hardening, never MemoryDenyWriteExecute", () => {
    const { host } = systemdHost(tmp());
    const text = renderSystemdUnit(makeSpec(host, { scope: "system", profile: "ops" }));
    const lines = text.split("\n");
    for (const line of [
      "DynamicUser=yes",
      "StateDirectory=openclaw-ops",
      "StateDirectoryMode=0700",
      "NoNewPrivileges=yes",
      "ProtectSystem=strict",
      "ProtectHome=yes",
      "PrivateTmp=yes",
      "RestrictAddressFamilies=AF_UNIX AF_INET AF_INET6 AF_NETLINK",
      "SystemCallFilter=@system-service",
      "Type=exec",
      "Restart=on-failure",
      "RestartPreventExitStatus=78",
      "WantedBy=multi-user.target",
      "CapabilityBoundingSet=",
    ]) {
      expect(lines).toContain(line);
    }
    expect(text).not.toContain("MemoryDenyWriteExecute");
    const named = renderSystemdUnit(makeSpec(host, { scope: "system", serviceUser: "openclaw" }));
    expect(named).toContain("User=openclaw");
    expect(named).not.toContain("DynamicUser");
    const low = renderSystemdUnit(makeSpec(host, { scope: "system", port: 443 }));
    expect(low).toContain("AmbientCapabilities=CAP_NET_BIND_SERVICE");
  });

  test("env file: single-quoted values; quotes and $ survive", () => {
    const text = renderSystemdEnvFile([
      ["OPENCLAW_GATEWAY_TOKEN", "a b$c"],
      ["OTHER", `it's "x" \\ $y`],
    ]);
    expect(text).toContain("OPENCLAW_GATEWAY_TOKEN='a b$c'");
    expect(parseEnvFile(text)).toEqual({ OPENCLAW_GATEWAY_TOKEN: "a b$c", OTHER: `it's "x" \\ $y` });
    expect(() => renderSystemdEnvFile([["K", "two\nlines"]])).toThrow(ServiceSpecError);
  });
});

const verifySkip = skipReason("systemd-analyze", "systemd");

describe(`systemd-analyze verify${verifySkip ? ` (skipped: ${verifySkip})` : ""}`, () => {
  async function verify(unitText: string, name: string, user: boolean): Promise<{ code: number; problems: string[] }> {
    const dir = tmp();
    const path = join(dir, name);
    writeFileSync(path, unitText);
    const runtime = join(dir, "runtime");
    mkdirSync(runtime, { mode: 0o700 });
    const proc = Bun.spawn(["systemd-analyze", ...(user ? ["--user"] : []), "verify", path], {
      env: { ...process.env, XDG_RUNTIME_DIR: runtime, SYSTEMD_LOG_COLOR: "0" },
      stdout: "pipe",
      stderr: "pipe",
    });
    const [out, err, code] = await Promise.all([new Response(proc.stdout).text(), new Response(proc.stderr).text(), proc.exited]);
    // verify also loads the host's other units; only lines about our file count.
    const problems = `${out}\n${err}`.split("\n").filter((l) => l.includes(name) || l.includes(path));
    return { code, problems };
  }

  test.skipIf(Boolean(verifySkip))("every generated unit verifies cleanly (user, system, profile, DynamicUser, named user, odd paths)", async () => {
    const { host } = systemdHost(tmp());
    // A program path with a space, % and $ (a symlink to the real bun so ExecStart is executable).
    const odd = join(tmp(), "my bin %x $y");
    mkdirSync(odd);
    symlinkSync(process.execPath, join(odd, "bun"));
    const cases: Array<[string, string, boolean]> = [
      [renderSystemdUnit(makeSpec(host, { program: [process.execPath, MAIN] })), "openclaw-gateway.service", true],
      [renderSystemdUnit(makeSpec(host, { program: [process.execPath, MAIN], profile: "rescue", secrets: [["OPENCLAW_GATEWAY_TOKEN", "x"]] })), "openclaw-gateway-rescue.service", true],
      [renderSystemdUnit(makeSpec(host, { program: [join(odd, "bun"), MAIN], port: 20001 })), "openclaw-gateway-odd.service", true],
      [renderSystemdUnit(makeSpec(host, { program: [process.execPath, MAIN], scope: "system" })), "openclaw-gateway.service", false],
      [renderSystemdUnit(makeSpec(host, { program: [process.execPath, MAIN], scope: "system", profile: "ops", port: 443, secrets: [["K", "v"]] })), "openclaw-gateway-ops.service", false],
      [renderSystemdUnit(makeSpec(host, { program: [process.execPath, MAIN], scope: "system", serviceUser: "root" })), "openclaw-gateway-named.service", false],
    ];
    for (const [text, name, user] of cases) {
      const r = await verify(text, name, user);
      expect({ name, user, code: r.code, problems: r.problems }).toEqual({ name, user, code: 0, problems: [] });
    }
  });

  test.skipIf(Boolean(verifySkip))("the check is real: a bad key and a missing program are reported", async () => {
    const { host } = systemdHost(tmp());
    const bad = renderSystemdUnit(makeSpec(host, { program: ["/nonexistent/openclaw"] })).replace("Type=exec", "Type=exec\nBogusKey=1");
    const r = await verify(bad, "openclaw-gateway-bad.service", false);
    expect(r.problems.join("\n")).toContain("BogusKey");
    expect(r.problems.join("\n")).toContain("/nonexistent/openclaw");
  });
});

describe("SystemdManager lifecycle (fake systemctl)", () => {
  function setup(opts: Parameters<typeof systemdHost>[1] = {}) {
    const { host, systemd } = systemdHost(tmp(), opts);
    const paths = resolvePaths({ env: host.env });
    return { host, systemd, paths };
  }

  test("install writes the unit (0600) and env file (0600), enables, starts, verifies; a second install is a no-op", async () => {
    const { host, paths } = setup({ env: { OPENCLAW_GATEWAY_TOKEN: "tok-from-shell-0123456789" } });
    const prepared = await prepareInstall(host, { paths });
    const out = await prepared.manager.install(prepared.spec, {});
    expect(out.ok).toBe(true);
    expect(out.result).toBe("installed");
    const unit = join(host.dirs.systemdUser, "openclaw-gateway.service");
    expect(modeOf(unit)).toBe("0600");
    const envFile = join(paths.stateDir, "gateway.systemd.env");
    expect(modeOf(envFile)).toBe("0600");
    expect(readFileSync(envFile, "utf8")).toContain("OPENCLAW_GATEWAY_TOKEN='tok-from-shell-0123456789'");
    expect(readFileSync(unit, "utf8")).not.toContain("tok-from-shell");
    const mutating = verbs(host.calls).filter((v) => !/ (show|show-environment)( |$)/.test(v));
    expect(mutating).toEqual([
      "--user daemon-reload",
      "--user enable openclaw-gateway.service",
      "--user reset-failed openclaw-gateway.service",
      "--user restart openclaw-gateway.service",
    ]);
    expect(verbs(host.calls).every((v) => v.startsWith("--user "))).toBe(true);
    expect(out.lines).toContain(`Installed systemd user service: ${unit}`);
    expect(out.lines.at(-1)).toMatch(/^Enabled and started openclaw-gateway\.service: running \(pid \d+\), listening on port 18789\.$/);
    expect(out.state?.runtime.status).toBe("running");

    host.calls.length = 0;
    const again = await prepared.manager.install((await prepareInstall(host, { paths })).spec, {});
    expect(again.result).toBe("already-installed");
    expect(again.lines[1]).toBe("Reinstall with: openclaw gateway install --force");
    expect(verbs(host.calls).filter((v) => /restart|enable|daemon-reload/.test(v))).toEqual([]);
  });

  test("a stale unit (other binary path and port) is refreshed with a .bak and a warning", async () => {
    const { host, paths } = setup();
    const first = await prepareInstall(host, { paths, port: 18000 });
    await first.manager.install(first.spec, {});
    host.program = ["/opt/openclaw-new/openclaw"];
    const second = await prepareInstall(host, { paths, port: 18001 });
    const out = await second.manager.install(second.spec, {});
    expect(out.ok).toBe(true);
    expect(out.result).toBe("refreshed");
    expect(out.warnings[0]).toBe("The installed unit was out of date (program /usr/local/bin/openclaw → /opt/openclaw-new/openclaw; port 18000 → 18001); rewriting it.");
    const unit = join(host.dirs.systemdUser, "openclaw-gateway.service");
    expect(readFileSync(`${unit}.bak`, "utf8")).toContain("--port 18000");
    expect(readFileSync(unit, "utf8")).toContain("ExecStart=/opt/openclaw-new/openclaw gateway --port 18001");
  });

  test("--force rewrites and restarts even when current; env-file secrets survive a reinstall from a shell without them", async () => {
    const { host, paths } = setup({ env: { OPENCLAW_GATEWAY_TOKEN: "t0ken-0123456789abcdef" } });
    const p1 = await prepareInstall(host, { paths });
    const first = await p1.manager.install(p1.spec, {});
    delete host.env.OPENCLAW_GATEWAY_TOKEN;
    const p2 = await prepareInstall(host, { paths, force: true });
    const out = await p2.manager.install(p2.spec, { force: true });
    expect(out.ok).toBe(true);
    expect(out.state?.runtime.pid).not.toBe(first.state?.runtime.pid);
    expect(readFileSync(join(paths.stateDir, "gateway.systemd.env"), "utf8")).toContain("OPENCLAW_GATEWAY_TOKEN='t0ken-0123456789abcdef'");
    // --token replaces it.
    const p3 = await prepareInstall(host, { paths, token: "new-token-0123456789" });
    await p3.manager.install(p3.spec, {});
    expect(readFileSync(join(paths.stateDir, "gateway.systemd.env"), "utf8")).toContain("OPENCLAW_GATEWAY_TOKEN='new-token-0123456789'");
  });

  test("a token embedded inline by an older install moves to the env file", async () => {
    const { host, paths } = setup();
    mkdirSync(host.dirs.systemdUser, { recursive: true });
    writeFileSync(join(host.dirs.systemdUser, "openclaw-gateway.service"), "[Service]\nExecStart=/usr/local/bin/openclaw gateway --port 18789\nEnvironment=OPENCLAW_GATEWAY_TOKEN=inline-token-0123456789\n");
    const p = await prepareInstall(host, { paths });
    expect(p.spec.secrets).toEqual([["OPENCLAW_GATEWAY_TOKEN", "inline-token-0123456789"]]);
    const out = await p.manager.install(p.spec, {});
    expect(out.ok).toBe(true);
    expect(readFileSync(join(host.dirs.systemdUser, "openclaw-gateway.service"), "utf8")).not.toContain("inline-token");
    expect(readFileSync(join(paths.stateDir, "gateway.systemd.env"), "utf8")).toContain("inline-token-0123456789");
  });

  test("profiles and --dev get their own unit name, state dir and port", async () => {
    const { host } = setup();
    const paths = resolvePaths({ profile: "rescue", env: host.env });
    const prepared = await prepareInstall(host, { paths });
    expect(prepared.spec.identity.systemdUnit).toBe("openclaw-gateway-rescue.service");
    expect(prepared.spec.port).toBe(23532);
    expect(prepared.spec.stateDir).toBe(join(host.home, ".openclaw-rescue"));
    const dev = await prepareInstall(host, { paths: resolvePaths({ profile: "dev", env: host.env }) });
    expect(dev.spec.port).toBe(19001);
    expect(renderSystemdUnit(dev.spec)).toContain("Description=OpenClaw Gateway (profile: dev)");
  });

  test("a gateway that exits 78 is reported with the reason and exit 1", async () => {
    const { host, systemd, paths } = setup();
    systemd.crashOnStart.add("openclaw-gateway.service");
    const prepared = await prepareInstall(host, { paths });
    const out = await prepared.manager.install(prepared.spec, {});
    expect(out.ok).toBe(false);
    expect(out.exitCode).toBe(1);
    expect(out.warnings.join("\n")).toContain("Exit code 78 means a configuration or ownership problem");
    expect(out.warnings.at(-1)).toBe("Logs: journalctl --user -u openclaw-gateway.service -n 200 --no-pager");
  });

  test("a started unit whose port never opens is not called running", async () => {
    const { host, systemd, paths } = setup();
    systemd.noPort.add("openclaw-gateway.service");
    const prepared = await prepareInstall(host, { paths });
    const out = await prepared.manager.install(prepared.spec, {});
    expect(out.ok).toBe(false);
    expect(out.warnings.join("\n")).toContain("port 18789 is not listening");
  });

  test("stop, start, restart: idempotent, verified, and say what they did", async () => {
    const { host, systemd, paths } = setup();
    const prepared = await prepareInstall(host, { paths });
    const installed = await prepared.manager.install(prepared.spec, {});
    const req = { profile: undefined, stateDir: paths.stateDir };

    const started = await runLifecycle(host, req, "start");
    expect(started.result).toBe("already-running");
    expect(started.lines).toEqual([`Gateway service already running (pid ${installed.state?.runtime.pid}, port 18789).`]);

    const restarted = await runLifecycle(host, req, "restart");
    expect(restarted.ok).toBe(true);
    expect(restarted.lines[0]).toMatch(new RegExp(`^Restarted systemd service: openclaw-gateway\\.service \\(pid ${installed.state?.runtime.pid} → \\d+, port 18789\\)\\.$`));

    const stopped = await runLifecycle(host, req, "stop");
    expect(stopped.lines).toEqual(["Stopped systemd service: openclaw-gateway.service (port 18789 closed)."]);
    expect(systemd.portOpen(18789)).toBe(false);
    const stoppedAgain = await runLifecycle(host, req, "stop");
    expect(stoppedAgain.result).toBe("already-stopped");

    const disabled = await runLifecycle(host, req, "stop", { disable: true });
    expect(disabled.lines[0]).toBe("Disabled openclaw-gateway.service: it will not start at login until openclaw gateway start.");
    const back = await runLifecycle(host, req, "start");
    expect(back.ok).toBe(true);
    expect(back.lines[0]).toBe("Enabled openclaw-gateway.service (it starts at login again).");
    expect(back.lines[1]).toMatch(/^Started systemd service: openclaw-gateway\.service \(pid \d+, port 18789\)\.$/);
  });

  test("kill -9 and systemd restarts it: status shows the new pid and the restart count", async () => {
    const { host, systemd, paths } = setup();
    const prepared = await prepareInstall(host, { paths });
    const out = await prepared.manager.install(prepared.spec, {});
    systemd.crashAndRestart("user", "openclaw-gateway.service");
    const state = await prepared.manager.inspect();
    expect(state.runtime.pid).not.toBe(out.state?.runtime.pid);
    expect(state.runtime.restarts).toBe(1);
  });

  test("not installed: start/restart fail with the install hint; stop and uninstall are no-ops", async () => {
    const { host, paths } = setup();
    const req = { profile: undefined, stateDir: paths.stateDir };
    for (const action of ["start", "restart"] as const) {
      const out = await runLifecycle(host, req, action);
      expect(out.exitCode).toBe(1);
      expect(out.warnings).toEqual([`Gateway service not installed (${join(host.dirs.systemdUser, "openclaw-gateway.service")}).`, "Run: openclaw gateway install"]);
    }
    expect((await runLifecycle(host, req, "stop")).exitCode).toBe(0);
    const un = await runLifecycle(host, req, "uninstall");
    expect(un).toMatchObject({ ok: true, result: "not-installed", lines: [`Systemd service not found at ${join(host.dirs.systemdUser, "openclaw-gateway.service")}`] });
  });

  test("uninstall stops, disables, removes unit, .bak and env file, and verifies", async () => {
    const { host, systemd, paths } = setup({ env: { OPENCLAW_GATEWAY_TOKEN: "t0ken-0123456789abcdef" } });
    const p = await prepareInstall(host, { paths, port: 18000 });
    await p.manager.install(p.spec, {});
    const p2 = await prepareInstall(host, { paths, port: 18001 });
    await p2.manager.install(p2.spec, {});
    const unit = join(host.dirs.systemdUser, "openclaw-gateway.service");
    expect(existsSync(`${unit}.bak`)).toBe(true);
    const out = await runLifecycle(host, { profile: undefined, stateDir: paths.stateDir }, "uninstall");
    expect(out.ok).toBe(true);
    expect(out.lines).toEqual([
      "Stopped and disabled openclaw-gateway.service.",
      `Removed systemd service: ${unit}`,
      `Removed environment file: ${join(paths.stateDir, "gateway.systemd.env")}`,
      "Verified: openclaw-gateway.service is gone (LoadState=not-found) and port 18001 is closed.",
    ]);
    for (const f of [unit, `${unit}.bak`, join(paths.stateDir, "gateway.systemd.env")]) expect(existsSync(f)).toBe(false);
    expect(systemd.units.user.has("openclaw-gateway.service")).toBe(false);
  });

  test("no user bus: install is refused before anything is written, with hints", async () => {
    const { host, systemd, paths } = setup();
    systemd.busDown.user = "Failed to connect to bus: No medium found";
    const prepared = await prepareInstall(host, { paths });
    const out = await prepared.manager.install(prepared.spec, {});
    expect(out.ok).toBe(false);
    expect(out.warnings[0]).toBe("Gateway install blocked: systemctl --user unavailable: Failed to connect to bus: No medium found.");
    expect(out.warnings).toContain("systemd user services unavailable.");
    expect(existsSync(join(host.dirs.systemdUser, "openclaw-gateway.service"))).toBe(false);
  });

  test("linger disabled: install says so", async () => {
    const { host, systemd, paths } = setup();
    systemd.linger = "no";
    const prepared = await prepareInstall(host, { paths });
    const out = await prepared.manager.install(prepared.spec, {});
    expect(out.warnings).toEqual(["Systemd lingering is disabled for pi. Run: sudo loginctl enable-linger pi", "Without lingering, the Gateway will stop when you log out."]);
  });
});

describe("scopes: user vs system", () => {
  test("--system as root: unit 0644 in /etc/systemd/system, env file in /etc/openclaw, state under /var/lib", async () => {
    const { host } = systemdHost(tmp(), { uid: 0, user: "root" });
    const paths = resolvePaths({ env: host.env });
    const prepared = await prepareInstall(host, { paths, system: true, token: "sys-token-0123456789" });
    const out = await prepared.manager.install(prepared.spec, {});
    expect(out.ok).toBe(true);
    const unit = join(host.dirs.systemdSystem, "openclaw-gateway.service");
    expect(modeOf(unit)).toBe("0644");
    expect(modeOf(join(host.dirs.systemEnvDir, "gateway.env"))).toBe("0600");
    expect(readFileSync(unit, "utf8")).toContain(`Environment=OPENCLAW_STATE_DIR=${join(host.dirs.systemStateRoot, "openclaw")}`);
    expect(verbs(host.calls).some((v) => v.startsWith("--user"))).toBe(false);
    // Lifecycle commands find the system unit without --system.
    const restarted = await runLifecycle(host, { profile: undefined, stateDir: paths.stateDir }, "restart");
    expect(restarted.ok).toBe(true);
  });

  test("--system without root is refused (but --print works)", async () => {
    const { host } = systemdHost(tmp());
    const paths = resolvePaths({ env: host.env });
    const err = await prepareInstall(host, { paths, system: true }).catch((e) => e);
    expect(err).toBeInstanceOf(InstallBlocked);
    expect(err.lines[0]).toBe(`Gateway install blocked: --system writes ${join(host.dirs.systemdSystem, "openclaw-gateway.service")} and needs root.`);
    const dry = await prepareInstall(host, { paths, system: true, dryRun: true });
    expect(dry.plan.files[0].path).toBe(join(host.dirs.systemdSystem, "openclaw-gateway.service"));
  });

  test("a user unit is refused when a system unit owns the name, unless OPENCLAW_SERVICE_REPAIR_POLICY=external", async () => {
    const { host } = systemdHost(tmp());
    mkdirSync(host.dirs.systemdSystem, { recursive: true });
    const sys = join(host.dirs.systemdSystem, "openclaw-gateway.service");
    writeFileSync(sys, "[Service]\nExecStart=/usr/local/bin/openclaw gateway --port 18789\n");
    const paths = resolvePaths({ env: host.env });
    const err = await prepareInstall(host, { paths }).catch((e) => e);
    expect(err).toBeInstanceOf(InstallBlocked);
    expect(err.lines).toEqual([
      `Gateway install blocked: System systemd unit ${sys} already owns this gateway unit name.`,
      "Refusing to create or activate a user systemd unit with the same name because duplicate managers can restart-loop the gateway.",
      `Remove it first: sudo systemctl disable --now openclaw-gateway.service && sudo rm ${sys} && sudo systemctl daemon-reload`,
      "Or, if that system unit is meant to run the gateway, set OPENCLAW_SERVICE_REPAIR_POLICY=external.",
    ]);
    expect(existsSync(join(host.dirs.systemdUser, "openclaw-gateway.service"))).toBe(false);
    host.env.OPENCLAW_SERVICE_REPAIR_POLICY = "external";
    const skipped = await prepareInstall(host, { paths }).catch((e) => e);
    expect(skipped).toMatchObject({ benign: true, result: "managed-externally" });
    // --force does not override system ownership either.
    delete host.env.OPENCLAW_SERVICE_REPAIR_POLICY;
    expect(await prepareInstall(host, { paths, force: true }).catch((e) => e)).toBeInstanceOf(InstallBlocked);
  });

  test("a system unit is refused when the user unit exists", async () => {
    const { host } = systemdHost(tmp(), { uid: 0, user: "root" });
    const paths = resolvePaths({ env: host.env });
    const user = await prepareInstall(host, { paths });
    await user.manager.install(user.spec, {});
    const err = await prepareInstall(host, { paths, system: true }).catch((e) => e);
    expect(err.lines[0]).toBe(`Gateway install blocked: User systemd unit ${join(host.dirs.systemdUser, "openclaw-gateway.service")} already runs this gateway.`);
  });

  test("sudo openclaw gateway install (user unit as root for another user) is refused", async () => {
    const { host } = systemdHost(tmp(), { uid: 0, user: "root", env: { SUDO_USER: "pi" } });
    const err = await prepareInstall(host, { paths: resolvePaths({ env: host.env }) }).catch((e) => e);
    expect(err.lines[0]).toStartWith("Gateway install blocked: Refusing a sudo-to-root systemd user-service install");
  });

  test("a system-scope unit cannot be driven by a non-root user: the sudo command is named", async () => {
    const { host } = systemdHost(tmp());
    mkdirSync(host.dirs.systemdSystem, { recursive: true });
    writeFileSync(join(host.dirs.systemdSystem, "openclaw-gateway.service"), "[Service]\nExecStart=/usr/local/bin/openclaw gateway --port 18789\n");
    const out = await runLifecycle(host, { profile: undefined, stateDir: "/x" }, "restart");
    expect(out.ok).toBe(false);
    expect(out.warnings[0]).toBe(
      `openclaw-gateway.service is a system-scope unit (${join(host.dirs.systemdSystem, "openclaw-gateway.service")}); run \`sudo openclaw gateway restart\` (or \`sudo systemctl restart openclaw-gateway.service\`) to restart it.`,
    );
  });

  test("unit names follow the profile", () => {
    expect(new SystemdManager(systemdHost(tmp()).host, serviceIdentity("work")).unit).toBe("openclaw-gateway-work.service");
  });
});
