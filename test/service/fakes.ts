/**
 * Test doubles for the service managers: a ServiceHost rooted in temp directories and fake
 * `systemctl`, `launchctl` and `schtasks` command runners that keep just enough state (unit files
 * read at daemon-reload, enabled/active units, main PIDs) to drive the real manager code. No
 * processes are started: a "running" unit's recorded port counts as open.
 */
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, realpathSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterEach } from "bun:test";
import type { CommandRunner, RunResult } from "../../src/service/exec.ts";
import type { ServiceDirs, ServiceHost } from "../../src/service/host.ts";
import { readUnitDefinition } from "../../src/service/systemd.ts";

export function useTempDirs(prefix = "openclaw-service-test-"): () => string {
  const dirs: string[] = [];
  afterEach(() => {
    for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
  });
  return () => {
    const d = realpathSync(mkdtempSync(path.join(tmpdir(), prefix)));
    dirs.push(d);
    return d;
  };
}

const ok = (stdout = ""): RunResult => ({ code: 0, stdout, stderr: "" });
const fail = (code: number, stderr: string): RunResult => ({ code, stdout: "", stderr });

export interface FakeHostOptions {
  platform?: string;
  uid?: number;
  user?: string;
  env?: Record<string, string | undefined>;
  program?: string[];
  systemdBooted?: boolean;
}

export interface FakeHost extends ServiceHost {
  root: string;
  calls: string[][];
  /** Ports the fakes consider open, besides running units. */
  openPorts: Set<number>;
  /** stateDir → pid of a gateway holding its lock. */
  locks: Map<string, number>;
}

export function fakeHost(root: string, run: CommandRunner & { portOpen?: (p: number) => boolean }, opts: FakeHostOptions = {}): FakeHost {
  const home = path.join(root, "home");
  mkdirSync(home, { recursive: true });
  const dirs: ServiceDirs = {
    systemdUser: path.join(home, ".config", "systemd", "user"),
    systemdSystem: path.join(root, "etc", "systemd", "system"),
    systemdSystemSearch: [path.join(root, "etc", "systemd", "system"), path.join(root, "usr", "lib", "systemd", "system")],
    systemEnvDir: path.join(root, "etc", "openclaw"),
    systemStateRoot: path.join(root, "var", "lib"),
    launchAgents: path.join(home, "Library", "LaunchAgents"),
    launchAgentsGlobal: path.join(root, "Library", "LaunchAgents"),
    launchDaemons: path.join(root, "Library", "LaunchDaemons"),
    macLogs: path.join(home, "Library", "Logs", "openclaw"),
    startupFolder: path.join(home, "AppData", "Roaming", "Microsoft", "Windows", "Start Menu", "Programs", "Startup"),
  };
  const calls: string[][] = [];
  const openPorts = new Set<number>();
  const locks = new Map<string, number>();
  const host: FakeHost = {
    root,
    calls,
    openPorts,
    locks,
    platform: opts.platform ?? "linux",
    path: path.posix,
    env: { HOME: home, ...opts.env },
    home,
    uid: opts.uid ?? 1000,
    user: opts.user ?? "pi",
    run: async (argv, o) => {
      calls.push(argv);
      return run(argv, o);
    },
    program: opts.program ?? ["/usr/local/bin/openclaw"],
    systemdBooted: opts.systemdBooted ?? true,
    dirs,
    timing: { readyMs: 300, stopMs: 300, pollMs: 5 },
    portOpen: async (port) => openPorts.has(port) || Boolean(run.portOpen?.(port)),
    gatewayPid: async (stateDir) => locks.get(stateDir),
    sleep: (ms) => Bun.sleep(Math.min(ms, 5)),
    accountHome: async () => undefined,
  };
  return host;
}

// ---------------------------------------------------------------------------------------------
// systemctl

interface FakeUnit {
  text: string;
  enabled: boolean;
  active: "active" | "inactive" | "failed" | "activating";
  pid: number;
  exitStatus?: number;
  restarts: number;
}

export class FakeSystemd {
  units: Record<"user" | "system", Map<string, FakeUnit>> = { user: new Map(), system: new Map() };
  nextPid = 4000;
  busDown: Partial<Record<"user" | "system", string>> = {};
  /** Units whose start fails like a gateway exiting 78. */
  crashOnStart = new Set<string>();
  /** Units that start but never open their port. */
  noPort = new Set<string>();
  linger = "yes";
  constructor(readonly dirsFor: () => { user: string; system: string[] }) {}

  private load(scope: "user" | "system"): void {
    const dirs = scope === "user" ? [this.dirsFor().user] : this.dirsFor().system;
    const present = new Map<string, string>();
    for (const dir of dirs) {
      let names: string[] = [];
      try {
        names = readdirSync(dir);
      } catch {}
      for (const n of names) if (n.endsWith(".service") && !present.has(n)) present.set(n, readFileSync(path.join(dir, n), "utf8"));
    }
    const units = this.units[scope];
    for (const [name, u] of units) {
      if (!present.has(name) && u.active !== "active") units.delete(name);
    }
    for (const [name, text] of present) {
      const u = units.get(name);
      if (u) u.text = text;
      else units.set(name, { text, enabled: false, active: "inactive", pid: 0, restarts: 0 });
    }
  }

  private start(name: string, u: FakeUnit): void {
    if (this.crashOnStart.has(name)) {
      u.active = "failed";
      u.pid = 0;
      u.exitStatus = 78;
      return;
    }
    u.active = "active";
    u.pid = this.nextPid++;
    u.exitStatus = undefined;
  }

  /** Simulate the gateway dying (kill -9) and systemd restarting it. */
  crashAndRestart(scope: "user" | "system", name: string): void {
    const u = this.units[scope].get(name)!;
    u.restarts++;
    u.pid = this.nextPid++;
  }

  portOpen = (port: number): boolean => {
    for (const scope of ["user", "system"] as const) {
      for (const [name, u] of this.units[scope]) {
        if (u.active !== "active" || this.noPort.has(name)) continue;
        if (readUnitDefinition(name, u.text, scope).port === port) return true;
      }
    }
    return false;
  };

  run: CommandRunner & { portOpen?: (p: number) => boolean } = Object.assign(
    async (argv: string[]): Promise<RunResult> => {
      if (argv[0] === "loginctl") return ok(`${this.linger}\n`);
      if (argv[0] !== "systemctl") return fail(127, `${argv[0]}: command not found`);
      let args = argv.slice(1);
      const scope: "user" | "system" = args[0] === "--user" ? "user" : "system";
      if (args[0] === "--user") args = args.slice(1);
      if (this.busDown[scope]) return fail(1, this.busDown[scope]!);
      const [cmd, ...rest] = args;
      const units = this.units[scope];
      const names = rest.filter((a) => !a.startsWith("--"));
      switch (cmd) {
        case "show-environment":
          return ok("PATH=/usr/bin\n");
        case "daemon-reload":
          this.load(scope);
          return ok();
        case "reset-failed": {
          const u = units.get(names[0]);
          if (u?.active === "failed") u.active = "inactive";
          return ok();
        }
        case "enable":
        case "disable": {
          const u = units.get(names[0]);
          if (!u) return fail(1, `Failed to ${cmd} unit: Unit file ${names[0]} does not exist.`);
          u.enabled = cmd === "enable";
          if (cmd === "disable" && rest.includes("--now")) {
            u.active = "inactive";
            u.pid = 0;
          }
          return ok();
        }
        case "start":
        case "restart": {
          const u = units.get(names[0]);
          if (!u) return fail(5, `Failed to ${cmd} ${names[0]}: Unit ${names[0]} not found.`);
          if (cmd === "start" && u.active === "active") return ok();
          this.start(names[0], u);
          return u.active === "failed" ? fail(1, `Job for ${names[0]} failed because the control process exited with error code.`) : ok();
        }
        case "stop": {
          const u = units.get(names[0]);
          if (!u) return fail(5, `Failed to stop ${names[0]}: Unit ${names[0]} not loaded.`);
          u.active = "inactive";
          u.pid = 0;
          u.exitStatus = 0;
          return ok();
        }
        case "show": {
          const u = units.get(names[0]);
          if (!u) return ok(`Id=${names[0]}\nLoadState=not-found\nActiveState=inactive\nSubState=dead\nResult=success\nNRestarts=0\nMainPID=0\nExecMainStatus=0\nUnitFileState=\n`);
          const sub = u.active === "active" ? "running" : u.active === "failed" ? "failed" : "dead";
          return ok(
            [
              `Id=${names[0]}`,
              "LoadState=loaded",
              `ActiveState=${u.active}`,
              `SubState=${sub}`,
              `Result=${u.active === "failed" ? "exit-code" : "success"}`,
              `NRestarts=${u.restarts}`,
              `MainPID=${u.pid}`,
              `ExecMainStatus=${u.exitStatus ?? 0}`,
              `UnitFileState=${u.enabled ? "enabled" : "disabled"}`,
              "",
            ].join("\n"),
          );
        }
        default:
          return fail(1, `Unknown command verb ${cmd}.`);
      }
    },
    { portOpen: (p: number) => this.portOpen(p) },
  );
}

export function systemdHost(root: string, opts: FakeHostOptions = {}): { host: FakeHost; systemd: FakeSystemd } {
  let host!: FakeHost;
  const systemd = new FakeSystemd(() => ({ user: host.dirs.systemdUser, system: host.dirs.systemdSystemSearch }));
  host = fakeHost(root, systemd.run, opts);
  return { host, systemd };
}

/** Only the systemctl verbs, e.g. ["--user daemon-reload", "--user enable x.service", ...]. */
export function verbs(calls: string[][], tool = "systemctl"): string[] {
  return calls.filter((c) => c[0] === tool).map((c) => c.slice(1).join(" "));
}

// ---------------------------------------------------------------------------------------------
// launchctl

export class FakeLaunchd {
  loaded = new Map<string, { plist: string; pid: number; running: boolean }>();
  disabled = new Set<string>();
  nextPid = 7000;
  noGui = false;
  host!: FakeHost;

  private port(plistPath: string): number | undefined {
    const xml = readFileSync(plistPath, "utf8");
    const m = /<string>--port<\/string>\s*<string>(\d+)<\/string>/.exec(xml);
    return m ? Number(m[1]) : undefined;
  }

  portOpen = (port: number): boolean => [...this.loaded.values()].some((j) => j.running && this.port(j.plist) === port);

  run: CommandRunner & { portOpen?: (p: number) => boolean } = Object.assign(
    async (argv: string[]): Promise<RunResult> => {
      if (argv[0] !== "launchctl") return fail(127, `${argv[0]}: command not found`);
      const [cmd, ...rest] = argv.slice(1);
      const target = rest.at(-1) ?? "";
      const label = target.split("/").slice(2).join("/");
      switch (cmd) {
        case "print": {
          if (rest[0].split("/").length === 2) return this.noGui ? fail(125, "Bad request.\nCould not find domain for user") : ok("gui domain\n");
          const job = this.loaded.get(label);
          if (!job) return fail(113, `Could not find service "${label}" in domain for user gui: ${this.host.uid}`);
          return ok(`${label} = {\n\tstate = ${job.running ? "running" : "not running"}\n${job.running ? `\tpid = ${job.pid}\n` : ""}\tlast exit code = 0\n}\n`);
        }
        case "print-disabled":
          return ok(`disabled services = {\n${[...this.disabled].map((l) => `\t"${l}" => disabled\n`).join("")}}\n`);
        case "enable":
          this.disabled.delete(label);
          return ok();
        case "disable":
          this.disabled.add(label);
          return ok();
        case "bootstrap": {
          const plist = rest[1];
          const lbl = /<key>Label<\/key>\s*<string>([^<]+)<\/string>/.exec(readFileSync(plist, "utf8"))?.[1] ?? "";
          if (this.disabled.has(lbl)) return fail(5, "Bootstrap failed: 5: Input/output error");
          if (this.loaded.has(lbl)) return fail(5, "Bootstrap failed: 5: Input/output error");
          this.loaded.set(lbl, { plist, pid: this.nextPid++, running: true });
          return ok();
        }
        case "bootout":
          if (!this.loaded.delete(label)) return fail(113, "Boot-out failed: 113: Could not find specified service");
          return ok();
        case "kickstart": {
          const job = this.loaded.get(label);
          if (!job) return fail(113, "Could not find service");
          if (rest.includes("-k") || !job.running) {
            job.pid = this.nextPid++;
            job.running = true;
          }
          return ok();
        }
        default:
          return fail(1, `Unrecognized subcommand: ${cmd}`);
      }
    },
    { portOpen: (p: number) => this.portOpen(p) },
  );
}

export function launchdHost(root: string, opts: FakeHostOptions = {}): { host: FakeHost; launchd: FakeLaunchd } {
  const launchd = new FakeLaunchd();
  const host = fakeHost(root, launchd.run, { platform: "darwin", uid: 501, user: "me", ...opts });
  launchd.host = host;
  return { host, launchd };
}

// ---------------------------------------------------------------------------------------------
// schtasks

export class FakeSchtasks {
  tasks = new Map<string, { enabled: boolean; launcher: string }>();
  deny = false;
  nextPid = 9000;
  host!: FakeHost;

  /** Start the gateway a launcher points at: lock its state dir and open its port. */
  private startFrom(launcher: string): void {
    const vbs = readFileSync(launcher, "utf8");
    const script = /Chr\(34\) & "([^"]+)" & Chr\(34\)/.exec(vbs)?.[1];
    if (!script) throw new Error(`no script in ${launcher}`);
    const cmd = readFileSync(script, "utf8");
    const stateDir = /set "OPENCLAW_STATE_DIR=([^"]*)"/.exec(cmd)![1];
    const port = Number(/--port (\d+)/.exec(cmd)![1]);
    this.host.locks.set(stateDir, this.nextPid++);
    this.host.openPorts.add(port);
  }

  private stopPid(pid: number): void {
    for (const [dir, p] of this.host.locks) {
      if (p !== pid) continue;
      this.host.locks.delete(dir);
      const cmd = readFileSync(path.join(dir, "gateway.cmd"), "utf8");
      this.host.openPorts.delete(Number(/--port (\d+)/.exec(cmd)![1]));
    }
  }

  run: CommandRunner = async (argv: string[]): Promise<RunResult> => {
    if (argv[0] === "taskkill") {
      this.stopPid(Number(argv[argv.indexOf("/PID") + 1]));
      return ok("SUCCESS");
    }
    if (argv[0].endsWith("wscript.exe")) {
      const launcher = argv.at(-1)!;
      const vbs = readFileSync(launcher, "utf8");
      const script = /Chr\(34\) & "([^"]+)" & Chr\(34\)/.exec(vbs)![1];
      this.startFrom(path.join(path.dirname(script), "gateway-hidden.vbs"));
      return ok();
    }
    if (argv[0] !== "schtasks") return fail(127, `${argv[0]}: command not found`);
    const a = argv.slice(1);
    const name = a[a.indexOf("/TN") + 1];
    const task = this.tasks.get(name);
    switch (a[0]) {
      case "/Query":
        if (!a.includes("/TN")) return ok([...this.tasks.keys()].map((n) => `Folder: \\\nHostName: PC\nTaskName: \\${n}\nStatus: Ready\n`).join("\n"));
        if (!task) return fail(1, "ERROR: The system cannot find the file specified.");
        return ok(`HostName: PC\nTaskName: \\${name}\nStatus: ${[...this.host.locks.values()].length ? "Running" : "Ready"}\nLast Result: 0\nScheduled Task State: ${task.enabled ? "Enabled" : "Disabled"}\n`);
      case "/Create": {
        if (this.deny) return fail(1, "ERROR: Access is denied.");
        const bytes = readFileSync(a[a.indexOf("/XML") + 1]);
        const xml = new TextDecoder("utf-16le").decode(bytes.subarray(2));
        const launcher = /<Arguments>\/\/B \/\/NoLogo "([^"]+)"<\/Arguments>/.exec(xml)![1];
        this.tasks.set(name, { enabled: true, launcher });
        return ok(`SUCCESS: The scheduled task "${name}" has successfully been created.`);
      }
      case "/Run":
        if (!task) return fail(1, "ERROR: The system cannot find the file specified.");
        if (!task.enabled) return fail(1, "ERROR: The task is disabled.");
        this.startFrom(task.launcher);
        return ok(`SUCCESS: Attempted to run the scheduled task "${name}".`);
      case "/End":
        return ok(`SUCCESS: The scheduled task "${name}" has been terminated successfully.`);
      case "/Delete":
        this.tasks.delete(name);
        return ok(`SUCCESS: The scheduled task "${name}" was successfully deleted.`);
      case "/Change":
        if (!task) return fail(1, "ERROR: not found");
        task.enabled = a.includes("/ENABLE");
        return ok();
      default:
        return fail(1, "ERROR: Invalid argument/option");
    }
  };
}

export function schtasksHost(root: string, opts: FakeHostOptions = {}): { host: FakeHost; schtasks: FakeSchtasks } {
  const schtasks = new FakeSchtasks();
  const host = fakeHost(root, schtasks.run, { platform: "win32", uid: -1, user: "me", env: { USERDOMAIN: "PC", USERNAME: "me", SystemRoot: "C:\\Windows", ...opts.env }, program: ["C:\\Program Files\\OpenClaw\\openclaw.exe"], ...opts });
  schtasks.host = host;
  return { host, schtasks };
}
