/**
 * doctor: every finding produced from a crafted state dir (real files, a fake service manager),
 * `--fix` resolving the safe ones and saying what it changed, and no writes without `--fix`.
 */
import { describe, expect, test } from "bun:test";
import { chmodSync, chownSync, existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { resolvePaths } from "../../src/config/paths.ts";
import { applyFixes, runDoctor, type DoctorDeps, type Finding } from "../../src/doctor/index.ts";
import { prepareInstall } from "../../src/service/index.ts";
import type { Listener } from "../../src/system/ports.ts";
import { systemdHost, useTempDirs, verbs, type FakeHost, type FakeSystemd } from "../service/fakes.ts";

const tmp = useTempDirs("openclaw-doctor-test-");
const NOW = new Date("2026-11-22T10:20:30.456Z");
/** An executable that exists, so only the drift a test creates is reported. */
const PROGRAM = [process.execPath];
const EXEC = `ExecStart=${process.execPath}`;

interface Case {
  host: FakeHost;
  systemd: FakeSystemd;
  deps: DoctorDeps;
  stateDir: string;
  config: string;
  listeners: Listener[];
}

function setup(opts: { profile?: string; env?: Record<string, string>; uid?: number } = {}): Case {
  const { host, systemd } = systemdHost(tmp(), { env: opts.env, program: PROGRAM, ...(opts.uid !== undefined ? { uid: opts.uid } : {}) });
  const paths = resolvePaths({ profile: opts.profile, env: host.env });
  mkdirSync(paths.stateDir, { recursive: true, mode: 0o700 });
  chmodSync(paths.stateDir, 0o700);
  const listeners: Listener[] = [];
  const deps: DoctorDeps = { host, paths, env: host.env, listenersOnPort: async () => listeners, now: () => NOW };
  return { host, systemd, deps, stateDir: paths.stateDir, config: paths.configPath, listeners };
}

function writeConfig(c: Case, text: string, mode = 0o600): void {
  writeFileSync(c.config, text, { mode });
  chmodSync(c.config, mode);
}

const GOOD = JSON.stringify({ gateway: { mode: "local", auth: { mode: "token", token: "doctor-token-0123456789" } }, meta: { lastTouchedVersion: "2026.9.6" } }, null, 2);

function ids(findings: Finding[]): string[] {
  return findings.map((f) => f.checkId);
}

function find(findings: Finding[], id: string): Finding {
  const f = findings.find((x) => x.checkId === id);
  if (!f) throw new Error(`no ${id} in ${ids(findings).join(", ")}`);
  return f;
}

/** Install a user unit through the real manager code and return the unit path. */
async function installUnit(c: Case, port?: number): Promise<string> {
  const prepared = await prepareInstall(c.host, { paths: c.deps.paths, port });
  const out = await prepared.manager.install(prepared.spec, {});
  expect(out.ok).toBe(true);
  return join(c.host.dirs.systemdUser, prepared.spec.identity.systemdUnit);
}

/** Every file under `dir`: path → mode, size, mtime and content. */
function snapshot(dir: string): Record<string, string> {
  const out: Record<string, string> = {};
  const walk = (d: string) => {
    for (const name of readdirSync(d)) {
      const p = join(d, name);
      const st = statSync(p);
      if (st.isDirectory()) {
        out[p] = `dir ${st.mode & 0o777}`;
        walk(p);
      } else out[p] = `${st.mode & 0o777} ${st.size} ${st.mtimeMs} ${readFileSync(p, "utf8")}`;
    }
  };
  walk(dir);
  return out;
}

describe("config", () => {
  test("a healthy setup has no findings", async () => {
    const c = setup();
    writeConfig(c, GOOD);
    await installUnit(c);
    const report = await runDoctor(c.deps);
    expect(report.findings.filter((f) => f.severity !== "info")).toEqual([]);
    expect(report.ok).toBe(true);
  });

  test("a broken config with a valid backup: --fix restores it and keeps the broken file", async () => {
    const c = setup();
    writeFileSync(`${c.config}.bak`, GOOD, { mode: 0o600 });
    writeConfig(c, '{ gateway: { mode: "local", port: "nope" } }');
    const before = await runDoctor(c.deps);
    const f = find(before.findings, "config/valid");
    expect(f.severity).toBe("error");
    expect(f.message).toBe(`Invalid config at ${c.config}:\n  × gateway.port: Invalid input: expected number, received string`);
    expect(f.fixHint).toBe(`openclaw doctor --fix restores ${c.config}.bak (the broken file is kept as openclaw.json.clobbered.2026-11-22T10-20-30-456Z)`);
    expect(f.fixable).toBe(true);
    const fixes = await applyFixes(before.findings);
    expect(fixes.find((x) => x.checkId === "config/valid")?.changed).toBe(
      `restored ${c.config} from ${c.config}.bak; the broken file is kept as ${c.config}.clobbered.2026-11-22T10-20-30-456Z`,
    );
    expect(readFileSync(c.config, "utf8")).toBe(GOOD);
    expect(readFileSync(`${c.config}.clobbered.2026-11-22T10-20-30-456Z`, "utf8")).toContain('"nope"');
    const after = await runDoctor(c.deps);
    expect(ids(after.findings)).not.toContain("config/valid");
    // The recovery is itself reported (info), with the exact cleanup command.
    expect(find(after.findings, "config/recovered").fixHint).toStartWith("Compare it with the current config, then delete it: rm ");
  });

  test("a file with junk before the JSON: --fix strips the prefix", async () => {
    const c = setup();
    writeConfig(c, `Last login: Mon\n${GOOD}`);
    const f = find((await runDoctor(c.deps)).findings, "config/valid");
    expect(f.fixHint).toContain("without its 16-byte non-JSON prefix");
    await applyFixes([f]);
    expect(readFileSync(c.config, "utf8")).toBe(GOOD);
  });

  test("broken with no backup: the finding says what to edit and is not auto-fixed", async () => {
    const c = setup();
    writeConfig(c, "{ gateway: ");
    const f = find((await runDoctor(c.deps)).findings, "config/valid");
    expect(f.fixable).toBe(false);
    expect(f.fixHint).toContain(`Edit ${c.config}`);
  });

  test("unknown keys: --fix removes exactly those keys and keeps a .bak", async () => {
    const c = setup();
    writeConfig(c, JSON.stringify({ gateway: { mode: "local", token: "misplaced", port: 18800 } }));
    const f = find((await runDoctor(c.deps)).findings, "config/unknown-keys");
    expect(f.message).toContain('gateway.token: Unknown key. Found "gateway.token" in config. Use "gateway.auth.token" instead.');
    expect(f.fixHint).toBe("openclaw doctor --fix removes gateway.token (the previous file is kept as openclaw.json.bak)");
    await applyFixes([f]);
    const fixed = JSON.parse(readFileSync(c.config, "utf8"));
    expect(fixed.gateway).toEqual({ mode: "local", port: 18800 });
    expect(JSON.parse(readFileSync(`${c.config}.bak`, "utf8")).gateway.token).toBe("misplaced");
    expect(ids((await runDoctor(c.deps)).findings)).not.toContain("config/unknown-keys");
  });

  test("gateway.mode unset: --fix sets local", async () => {
    const c = setup();
    writeConfig(c, JSON.stringify({ gateway: { port: 18800 } }));
    const f = find((await runDoctor(c.deps)).findings, "config/gateway-mode");
    expect(f.message).toBe("gateway.mode is unset; gateway start will be blocked.");
    await applyFixes([f]);
    expect(JSON.parse(readFileSync(c.config, "utf8")).gateway).toEqual({ port: 18800, mode: "local" });
  });

  test("a config written by a newer OpenClaw: the guard is reported, not 'fixed'", async () => {
    const c = setup();
    writeConfig(c, JSON.stringify({ gateway: { mode: "local" }, meta: { lastTouchedVersion: "2027.1.1" } }));
    const f = find((await runDoctor(c.deps)).findings, "config/newer-version");
    expect(f.severity).toBe("error");
    expect(f.fixable).toBe(false);
    expect(f.fixHint).toContain("Run the newer openclaw binary on PATH");
    expect(f.fixHint).toContain("OPENCLAW_ALLOW_OLDER_BINARY_DESTRUCTIVE_ACTIONS=1");
  });
});

describe("permissions", () => {
  test("state dir 0755 and a world-readable config: --fix makes them 0700 / 0600", async () => {
    const c = setup();
    writeConfig(c, GOOD, 0o644);
    chmodSync(c.stateDir, 0o755);
    writeFileSync(join(c.stateDir, "gateway.systemd.env"), "OPENCLAW_GATEWAY_TOKEN='x'\n", { mode: 0o640 });
    const report = await runDoctor(c.deps);
    expect(find(report.findings, "state/permissions").fixHint).toBe(`chmod 700 ${c.stateDir}   (openclaw doctor --fix does this)`);
    const secretFiles = report.findings.filter((f) => f.checkId === "state/secret-file-permissions").map((f) => f.path);
    expect(secretFiles.sort()).toEqual([c.config, join(c.stateDir, "gateway.systemd.env")].sort());
    const fixes = await applyFixes(report.findings);
    expect(fixes.map((f) => f.changed)).toContain(`chmod 700 ${c.stateDir} (was 0755)`);
    expect(statSync(c.stateDir).mode & 0o777).toBe(0o700);
    expect(statSync(c.config).mode & 0o777).toBe(0o600);
    expect(statSync(join(c.stateDir, "gateway.systemd.env")).mode & 0o777).toBe(0o600);
    expect((await runDoctor(c.deps)).findings.filter((f) => f.checkId.startsWith("state/"))).toEqual([]);
  });
});

describe("service", () => {
  test("drift (binary moved by an update, port changed): --fix rewrites the unit without restarting it", async () => {
    const c = setup();
    writeConfig(c, GOOD);
    const unit = await installUnit(c);
    const pidBefore = c.systemd.units.user.get("openclaw-gateway.service")!.pid;
    // An update moved the binary, and the config now says another port.
    writeFileSync(unit, readFileSync(unit, "utf8").replace(EXEC, "ExecStart=/opt/old/openclaw"));
    writeConfig(c, JSON.stringify({ ...JSON.parse(GOOD), gateway: { ...JSON.parse(GOOD).gateway, port: 18800 } }));
    const report = await runDoctor(c.deps);
    const path = find(report.findings, "service/gateway-path-missing");
    expect(path.message).toBe("Service runs /opt/old/openclaw, which no longer exists (moved or removed by an update?).");
    expect(path.fixable).toBe(true);
    const port = find(report.findings, "service/gateway-port-mismatch");
    expect(port.message).toBe("Gateway service port does not match current gateway config (service 18789, config 18800).");
    c.host.calls.length = 0;
    const fixes = await applyFixes(report.findings);
    expect(fixes.filter((f) => f.error)).toEqual([]);
    expect(readFileSync(unit, "utf8")).toContain(`${EXEC} gateway --port 18800`);
    expect(readFileSync(`${unit}.bak`, "utf8")).toContain("ExecStart=/opt/old/openclaw");
    // Reloaded, never restarted: the running gateway is not interrupted.
    expect(verbs(c.host.calls).filter((v) => !/ show/.test(v))).toEqual(["--user daemon-reload"]);
    expect(c.systemd.units.user.get("openclaw-gateway.service")!.pid).toBe(pidBefore);
    expect(fixes[0].changed).toContain("the running gateway keeps its old command until openclaw gateway restart");
    const after = await runDoctor(c.deps);
    expect(ids(after.findings).filter((id) => id.startsWith("service/gateway-"))).toEqual([]);
  });

  test("MemoryDenyWriteExecute and an inline token are flagged; the rewrite keeps the token (in the env file)", async () => {
    const c = setup();
    writeConfig(c, GOOD);
    const unit = await installUnit(c);
    writeFileSync(unit, readFileSync(unit, "utf8").replace("UMask=0077", "UMask=0077\nMemoryDenyWriteExecute=yes\nEnvironment=OPENCLAW_GATEWAY_TOKEN=inline-0123456789"));
    const report = await runDoctor(c.deps);
    expect(find(report.findings, "service/systemd-memory-deny-write-execute").severity).toBe("error");
    expect(find(report.findings, "service/gateway-token-embedded").message).toBe("Gateway service embeds OPENCLAW_GATEWAY_TOKEN and should be reinstalled.");
    await applyFixes(report.findings);
    const text = readFileSync(unit, "utf8");
    expect(text).not.toContain("MemoryDenyWriteExecute");
    expect(text).not.toContain("inline-0123456789");
    expect(readFileSync(join(c.stateDir, "gateway.systemd.env"), "utf8")).toContain("OPENCLAW_GATEWAY_TOKEN='inline-0123456789'");
  });

  test("env file readable by others: --fix chmods it", async () => {
    const c = setup({ env: { OPENCLAW_GATEWAY_TOKEN: "tok-0123456789abcdef" } });
    writeConfig(c, GOOD);
    await installUnit(c);
    const envFile = join(c.stateDir, "gateway.systemd.env");
    chmodSync(envFile, 0o644);
    const report = await runDoctor(c.deps);
    const f = find(report.findings, "service/gateway-env-file-permissions");
    expect(f.fixHint).toBe(`chmod 600 ${envFile}   (openclaw doctor --fix does this)`);
    await applyFixes(report.findings);
    expect(statSync(envFile).mode & 0o777).toBe(0o600);
  });

  test("installed but not running, and linger off", async () => {
    const c = setup();
    writeConfig(c, GOOD);
    await installUnit(c);
    const u = c.systemd.units.user.get("openclaw-gateway.service")!;
    u.active = "failed";
    u.pid = 0;
    u.exitStatus = 78;
    c.systemd.linger = "no";
    const report = await runDoctor(c.deps);
    const nr = find(report.findings, "service/not-running");
    expect(nr.message).toBe("systemd openclaw-gateway.service is installed and enabled but not running (last exit 78: a config or ownership problem).");
    expect(nr.fixHint).toBe("openclaw gateway start; logs: journalctl --user -u openclaw-gateway.service -n 200 --no-pager");
    expect(find(report.findings, "service/linger").fixHint).toBe("sudo loginctl enable-linger pi");
  });

  test("duplicate user + system units; a system unit alone is the service (hints use sudo and --system)", async () => {
    const c = setup();
    writeConfig(c, GOOD);
    await installUnit(c);
    mkdirSync(c.host.dirs.systemdSystem, { recursive: true });
    const sys = join(c.host.dirs.systemdSystem, "openclaw-gateway.service");
    writeFileSync(sys, `[Service]\n${EXEC} gateway --port 18789\nEnvironment=OPENCLAW_SERVICE_MARKER=openclaw OPENCLAW_SERVICE_KIND=gateway\n`);
    const dup = find((await runDoctor(c.deps)).findings, "service/duplicate");
    expect(dup.severity).toBe("error");
    expect(dup.fixHint).toContain(`sudo systemctl disable --now openclaw-gateway.service && sudo rm ${sys} && sudo systemctl daemon-reload`);

    const only = setup();
    writeConfig(only, GOOD);
    mkdirSync(only.host.dirs.systemdSystem, { recursive: true });
    writeFileSync(join(only.host.dirs.systemdSystem, "openclaw-gateway.service"), "[Service]\nExecStart=/opt/gone/openclaw gateway --port 18789\n");
    const f = find((await runDoctor(only.deps)).findings, "service/gateway-path-missing");
    expect(f.fixable).toBe(false); // not root
    expect(f.fixHint).toBe("sudo openclaw gateway install --force --system");
  });

  test("other services: a stale one, a legacy one, and another profile on the same port", async () => {
    const c = setup();
    writeConfig(c, GOOD);
    await installUnit(c);
    const dir = c.host.dirs.systemdUser;
    writeFileSync(join(dir, "openclaw-gateway-old.service"), "[Service]\nExecStart=/opt/gone/openclaw gateway --port 20000\nEnvironment=OPENCLAW_PROFILE=old\n");
    writeFileSync(join(dir, "clawdbot-gateway.service"), "[Service]\nExecStart=/usr/bin/clawdbot gateway\n");
    writeFileSync(join(dir, "openclaw-gateway-twin.service"), `[Service]\n${EXEC} gateway --port 18789\nEnvironment=OPENCLAW_PROFILE=twin\n`);
    writeFileSync(join(dir, "unrelated.service"), "[Service]\nExecStart=/usr/bin/sleep infinity\n");
    const report = await runDoctor(c.deps);
    const stale = find(report.findings, "service/stale");
    expect(stale.message).toContain("openclaw-gateway-old.service");
    expect(stale.fixHint).toBe(`systemctl --user disable --now openclaw-gateway-old.service && rm ${join(dir, "openclaw-gateway-old.service")} && systemctl --user daemon-reload`);
    expect(find(report.findings, "service/legacy").message).toContain("clawdbot-gateway.service");
    expect(find(report.findings, "service/port-conflict").message).toContain("openclaw-gateway-twin.service");
    expect(report.findings.some((f) => f.message.includes("unrelated.service"))).toBe(false);
  });

  test("OPENCLAW_SERVICE_REPAIR_POLICY=external: drift is reported, never rewritten", async () => {
    const c = setup();
    writeConfig(c, GOOD);
    const unit = await installUnit(c);
    writeFileSync(unit, readFileSync(unit, "utf8").replace(EXEC, "ExecStart=/opt/old/openclaw"));
    c.host.env.OPENCLAW_SERVICE_REPAIR_POLICY = "external";
    const f = find((await runDoctor(c.deps)).findings, "service/gateway-path-missing");
    expect(f.fixable).toBe(false);
    expect(f.fixHint).toStartWith("Gateway service is managed externally");
  });
});

describe("port", () => {
  test("someone else holds the gateway port: named with pid and command", async () => {
    const c = setup();
    writeConfig(c, GOOD);
    c.listeners.push({ pid: 4321, name: "ssh", command: "ssh -N -L 18789:127.0.0.1:18789 pi@host", address: "127.0.0.1:18789" });
    const f = find((await runDoctor(c.deps)).findings, "port/conflict");
    expect(f.message).toBe("Gateway port 18789 is held by pid 4321 (ssh -N -L 18789:127.0.0.1:18789 pi@host on 127.0.0.1:18789), not by this profile's gateway; the gateway cannot start (exit 78).");
    expect(f.fixHint).toStartWith("Stop it (kill 4321), or move this gateway to a free port: openclaw gateway install --force --port <free port>");
  });

  test("our own gateway on the port is not a conflict", async () => {
    const c = setup();
    writeConfig(c, GOOD);
    c.host.locks.set(c.stateDir, 777);
    c.listeners.push({ pid: 777, name: "openclaw", address: "127.0.0.1:18789" });
    expect(ids((await runDoctor(c.deps)).findings)).not.toContain("port/conflict");
  });
});

describe("the service account must be able to read its config (as root, with the real uid of nobody)", () => {
  const root = process.getuid?.() === 0;
  const setpriv = Bun.which("setpriv");
  const note = root ? "" : " [skipped: needs root to own files as another uid]";

  /** A system unit running as `user` (or DynamicUser) on this profile's state dir. */
  function systemUnit(c: Case, lines: string): void {
    mkdirSync(c.host.dirs.systemdSystem, { recursive: true });
    writeFileSync(
      join(c.host.dirs.systemdSystem, "openclaw-gateway.service"),
      `[Service]\n${EXEC} gateway --port 18789\n${lines}\nEnvironment=OPENCLAW_STATE_DIR=${c.stateDir} OPENCLAW_SERVICE_MARKER=openclaw OPENCLAW_SERVICE_KIND=gateway\n`,
    );
  }

  /** The temp dirs above the state dir: searchable by others, like /var/lib. */
  function searchable(c: Case): void {
    for (const up of ["..", "../.."]) chmodSync(join(c.stateDir, up), 0o711);
  }

  /** Whether uid 65534 can really read the file (the kernel's answer, not the model's). */
  function nobodyCanRead(path: string): boolean {
    const r = Bun.spawnSync([setpriv!, "--reuid=65534", "--regid=65534", "--clear-groups", "cat", path], { stdout: "ignore", stderr: "ignore" });
    return r.exitCode === 0;
  }

  test.skipIf(!root)(`a root-owned 0600 config under a service-owned state dir: reported; --fix gives it to the service account, mode kept${note}`, async () => {
    const c = setup({ uid: 0 });
    searchable(c);
    chownSync(c.stateDir, 65534, 65534);
    writeConfig(c, GOOD); // written by root (sudo openclaw config set …): root:root 0600
    systemUnit(c, "User=nobody");
    if (setpriv) expect(nobodyCanRead(c.config)).toBe(false);
    const f = find((await runDoctor(c.deps)).findings, "service/config-unreadable");
    expect(f.severity).toBe("error");
    expect(f.message).toBe(
      `The gateway service (openclaw-gateway.service) runs as nobody (uid 65534) and cannot read its config: nobody (uid 65534) cannot read ${c.config} (owner root (uid 0), gid 0, mode 0600). Reloads fail with EACCES and the next start exits 78.`,
    );
    expect(f.path).toBe(c.config);
    expect(f.fixHint).toBe(`chown nobody: ${c.config}   (openclaw doctor --fix does this as root; the mode is kept)`);
    expect(f.fixable).toBe(true);
    const [fixed] = await applyFixes([f]);
    expect(fixed.changed).toBe(`chown 65534:65534 ${c.config} (was 0:0, mode 0600 kept)`);
    const st = statSync(c.config);
    expect([st.uid, st.gid, st.mode & 0o777]).toEqual([65534, 65534, 0o600]);
    if (setpriv) expect(nobodyCanRead(c.config)).toBe(true);
    expect(ids((await runDoctor(c.deps)).findings)).not.toContain("service/config-unreadable");
  });

  test.skipIf(!root)(`a state directory the service account cannot enter: named, not auto-fixed${note}`, async () => {
    const c = setup({ uid: 0 });
    searchable(c);
    writeConfig(c, GOOD); // state dir root:root 0700
    systemUnit(c, "User=nobody");
    const f = find((await runDoctor(c.deps)).findings, "service/config-unreadable");
    expect(f.message).toContain(`nobody (uid 65534) cannot enter ${c.stateDir} (owner root (uid 0), gid 0, mode 0700)`);
    expect(f.path).toBe(c.stateDir);
    expect(f.fixable).toBe(false);
    expect(f.fixHint).toBe(`Let nobody enter ${c.stateDir}: chown nobody: ${c.stateDir} (or chmod o+x ${c.stateDir})`);
  });

  test(`a readable config, a root service, and a DynamicUser service that never ran`, async () => {
    const ok = setup({ uid: 0 });
    writeConfig(ok, GOOD);
    systemUnit(ok, ""); // no User=: root
    expect(ids((await runDoctor(ok.deps)).findings)).not.toContain("service/config-unreadable");
    const dyn = setup({ uid: 0 });
    writeConfig(dyn, GOOD);
    systemUnit(dyn, "DynamicUser=yes");
    const f = find((await runDoctor(dyn.deps)).findings, "service/config-access-unknown");
    expect(f.severity).toBe("info");
    expect(f.message).toContain("DynamicUser=yes and has not started yet");
  });
});

test("without --fix nothing is written, even with many findings", async () => {
  const c = setup();
  writeConfig(c, GOOD);
  const unit = await installUnit(c);
  writeFileSync(unit, readFileSync(unit, "utf8").replace(EXEC, "ExecStart=/opt/old/openclaw"));
  writeConfig(c, '{ gateway: { port: "nope" } }', 0o644);
  writeFileSync(`${c.config}.bak`, GOOD, { mode: 0o600 });
  chmodSync(c.stateDir, 0o755);
  const before = { state: snapshot(c.stateDir), units: snapshot(c.host.dirs.systemdUser) };
  c.host.calls.length = 0;
  const report = await runDoctor(c.deps);
  expect(ids(report.findings.filter((f) => f.fixable)).sort()).toEqual(["config/valid", "service/gateway-path-missing", "state/permissions", "state/secret-file-permissions"]);
  const after = { state: snapshot(c.stateDir), units: snapshot(c.host.dirs.systemdUser) };
  expect(after).toEqual(before);
  expect(verbs(c.host.calls).filter((v) => !/ (show|show-environment)( |$)/.test(v))).toEqual([]);
});
