/**
 * macOS launchd: a per-user LaunchAgent `~/Library/LaunchAgents/ai.openclaw.gateway.plist`
 * (`ai.openclaw.<profile>`) with RunAtLoad + KeepAlive and log paths under
 * `~/Library/Logs/openclaw/`. Secrets live in `<stateDir>/service-env/<label>.env` (0600), loaded
 * by a small `/bin/sh` wrapper so they never appear in the plist.
 *
 * Lifecycle in the GUI domain `gui/<uid>`: install = enable + bootstrap + kickstart;
 * `restart` = `kickstart -k` (the job is never unloaded, so KeepAlive keeps working);
 * `stop` = `bootout` (session only; the agent loads again at next login); `stop --disable` =
 * `disable` + `bootout`; `start` = `enable` + `bootstrap` when unloaded + `kickstart`.
 */
import { mkdir, rm } from "node:fs/promises";
import { writeFileAtomic } from "../config/write.ts";
import { firstLine } from "./exec.ts";
import { readText } from "./files.ts";
import { waitUntilDown, waitUntilUp, type ServiceHost } from "./host.ts";
import { assertSingleLine, ENV_NAME, installedDefinition, type InstallSpec, type ServiceIdentity } from "./spec.ts";
import { outcome, type ActionOutcome, type InstalledDefinition, type PlannedFile, type PlannedInstall, type ServiceManager, type ServiceRuntime, type ServiceState } from "./types.ts";

// ---------------------------------------------------------------------------------------------
// Plist writing and reading

export type PlistValue = string | number | boolean | PlistValue[] | { [key: string]: PlistValue };

function xmlEscape(text: string): string {
  if (/[\u0000-\u0008\u000b\u000c\u000e-\u001f]/.test(text)) throw new Error("plist strings cannot hold control characters");
  return text.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");
}

function plistNode(value: PlistValue, indent: string): string[] {
  if (typeof value === "string") return [`${indent}<string>${xmlEscape(value)}</string>`];
  if (typeof value === "boolean") return [`${indent}<${value}/>`];
  if (typeof value === "number") return [Number.isInteger(value) ? `${indent}<integer>${value}</integer>` : `${indent}<real>${value}</real>`];
  if (Array.isArray(value)) {
    if (value.length === 0) return [`${indent}<array/>`];
    return [`${indent}<array>`, ...value.flatMap((v) => plistNode(v, `${indent}\t`)), `${indent}</array>`];
  }
  const entries = Object.entries(value);
  if (entries.length === 0) return [`${indent}<dict/>`];
  return [`${indent}<dict>`, ...entries.flatMap(([k, v]) => [`${indent}\t<key>${xmlEscape(k)}</key>`, ...plistNode(v, `${indent}\t`)]), `${indent}</dict>`];
}

export function renderPlist(root: { [key: string]: PlistValue }): string {
  return [
    '<?xml version="1.0" encoding="UTF-8"?>',
    '<!DOCTYPE plist PUBLIC "-//Apple//DTD PLIST 1.0//EN" "http://www.apple.com/DTDs/PropertyList-1.0.dtd">',
    '<plist version="1.0">',
    ...plistNode(root, ""),
    "</plist>",
    "",
  ].join("\n");
}

function xmlUnescape(text: string): string {
  return text.replace(/&(lt|gt|amp|quot|apos|#\d+|#x[0-9a-f]+);/gi, (_, e: string) =>
    e === "lt" ? "<" : e === "gt" ? ">" : e === "amp" ? "&" : e === "quot" ? '"' : e === "apos" ? "'" : String.fromCodePoint(e[1] === "x" || e[1] === "X" ? Number.parseInt(e.slice(2), 16) : Number(e.slice(1))),
  );
}

export class PlistError extends Error {
  override name = "PlistError";
}

/** Parse an XML property list (the subset launchd uses: dict, array, string, integer, real, bool, date, data). */
export function parsePlist(xml: string): PlistValue {
  const tokens = [...xml.replace(/<!--[\s\S]*?-->/g, "").replace(/<\?[\s\S]*?\?>/g, "").replace(/<!DOCTYPE[^>]*>/i, "").matchAll(/<(\/?)([A-Za-z]+)[^>]*?(\/?)>|([^<]+)/g)];
  let i = 0;
  const next = () => {
    while (i < tokens.length && tokens[i][4] !== undefined && tokens[i][4].trim() === "") i++;
    return tokens[i++];
  };
  const textUntil = (name: string): string => {
    let text = "";
    while (i < tokens.length) {
      const t = tokens[i++];
      if (t[4] !== undefined) text += t[4];
      else if (t[1] === "/" && t[2] === name) return xmlUnescape(text);
      else throw new PlistError(`unexpected <${t[1]}${t[2]}> inside <${name}>`);
    }
    throw new PlistError(`unterminated <${name}>`);
  };
  const value = (t: RegExpMatchArray | undefined): PlistValue => {
    if (!t || t[4] !== undefined) throw new PlistError("expected an element");
    const [, close, name, selfClose] = t;
    if (close) throw new PlistError(`unexpected </${name}>`);
    switch (name) {
      case "true":
      case "false":
        if (!selfClose && next()?.[2] !== name) throw new PlistError(`unterminated <${name}>`);
        return name === "true";
      case "string":
      case "date":
      case "data":
        return selfClose ? "" : textUntil(name);
      case "integer":
      case "real": {
        const n = Number(textUntil(name).trim());
        if (!Number.isFinite(n)) throw new PlistError(`bad <${name}>`);
        return n;
      }
      case "array": {
        const out: PlistValue[] = [];
        if (selfClose) return out;
        for (let guard = 0; guard < tokens.length; guard++) {
          const t2 = next();
          if (t2?.[1] === "/" && t2[2] === "array") return out;
          out.push(value(t2));
        }
        throw new PlistError("unterminated <array>");
      }
      case "dict": {
        const out: { [key: string]: PlistValue } = {};
        if (selfClose) return out;
        for (let guard = 0; guard < tokens.length; guard++) {
          const k = next();
          if (k?.[1] === "/" && k[2] === "dict") return out;
          if (!k || k[2] !== "key" || k[1]) throw new PlistError("expected <key> in <dict>");
          const key = textUntil("key");
          out[key] = value(next());
        }
        throw new PlistError("unterminated <dict>");
      }
      default:
        throw new PlistError(`unknown element <${name}>`);
    }
  };
  const open = next();
  if (!open || open[2] !== "plist") throw new PlistError("not a property list (no <plist>)");
  return value(next());
}

/** `export KEY='value'` lines for the wrapper to source. */
export function renderLaunchdEnvFile(secrets: Array<[string, string]>): string {
  const lines = ["# Generated by OpenClaw. Do not edit while the gateway service is installed."];
  for (const [key, value] of [...secrets].sort(([a], [b]) => a.localeCompare(b))) {
    if (!ENV_NAME.test(key)) throw new Error(`Invalid environment variable name "${key}".`);
    assertSingleLine(`Environment variable ${key}`, value);
    lines.push(`export ${key}='${value.replace(/'/g, `'\\''`)}'`);
  }
  return `${lines.join("\n")}\n`;
}

export const ENV_WRAPPER = `#!/bin/sh
# Generated by OpenClaw: load the gateway service's secrets from an owner-only file, then run the gateway.
# Usage: <this script> <env file> <program> [args...]
env_file="$1"
shift
if [ -f "$env_file" ]; then
  . "$env_file"
fi
exec "$@"
`;

export function launchdPaths(host: ServiceHost, identity: ServiceIdentity, stateDir: string) {
  const envDir = host.path.join(stateDir, "service-env");
  return {
    plist: host.path.join(host.dirs.launchAgents, `${identity.launchdLabel}.plist`),
    daemonPlist: host.path.join(host.dirs.launchDaemons, `${identity.launchdLabel}.plist`),
    envDir,
    envFile: host.path.join(envDir, `${identity.launchdLabel}.env`),
    wrapper: host.path.join(envDir, `${identity.launchdLabel}-env-wrapper.sh`),
    stdout: host.path.join(host.dirs.macLogs, `${identity.stem}.log`),
    stderr: host.path.join(host.dirs.macLogs, `${identity.stem}.err.log`),
  };
}

export function renderLaunchdPlist(spec: InstallSpec, wrapper: string): string {
  const args = spec.secrets.length > 0 ? ["/bin/sh", wrapper, spec.envFile, ...spec.programArguments] : spec.programArguments;
  for (const a of args) assertSingleLine("A service argument", a);
  const env: { [key: string]: PlistValue } = {};
  for (const [k, v] of spec.environment) env[k] = v;
  return renderPlist({
    Label: spec.identity.launchdLabel,
    Comment: spec.identity.description,
    RunAtLoad: true,
    KeepAlive: true,
    ExitTimeOut: 20,
    ProcessType: "Interactive",
    ThrottleInterval: 10,
    Umask: 63,
    StandardInPath: "/dev/null",
    ProgramArguments: args,
    WorkingDirectory: spec.workingDirectory,
    StandardOutPath: spec.logFiles?.stdout ?? "/dev/null",
    StandardErrorPath: spec.logFiles?.stderr ?? "/dev/null",
    EnvironmentVariables: env,
  });
}

export function readPlistDefinition(path: string, xml: string): InstalledDefinition {
  const root = parsePlist(xml);
  if (!root || typeof root !== "object" || Array.isArray(root)) throw new PlistError("plist root is not a dict");
  const dict = root as { [key: string]: PlistValue };
  let args = Array.isArray(dict.ProgramArguments) ? dict.ProgramArguments.map(String) : typeof dict.Program === "string" ? [dict.Program] : [];
  let envFile: string | undefined;
  if (args[0] === "/bin/sh" && args[1]?.endsWith("-env-wrapper.sh")) {
    envFile = args[2];
    args = args.slice(3);
  }
  const environment: Record<string, string> = {};
  if (dict.EnvironmentVariables && typeof dict.EnvironmentVariables === "object" && !Array.isArray(dict.EnvironmentVariables)) {
    for (const [k, v] of Object.entries(dict.EnvironmentVariables)) environment[k] = String(v);
  }
  return installedDefinition({
    path,
    scope: "user",
    text: xml,
    programArguments: args,
    workingDirectory: typeof dict.WorkingDirectory === "string" ? dict.WorkingDirectory : undefined,
    environment,
    envFile,
  });
}

/** `launchctl print` output → runtime. */
export function parseLaunchctlPrint(stdout: string): ServiceRuntime {
  const state = /^\s*state = (.+)$/m.exec(stdout)?.[1]?.trim();
  const pid = Number(/^\s*pid = (\d+)$/m.exec(stdout)?.[1]);
  const last = /^\s*last exit code = (-?\d+)/m.exec(stdout)?.[1];
  const runtime: ServiceRuntime = { status: state === "running" ? "running" : state ? "stopped" : "unknown", state };
  if (pid > 0) runtime.pid = pid;
  if (last !== undefined) runtime.lastExitStatus = Number(last);
  return runtime;
}

// ---------------------------------------------------------------------------------------------
// Manager

export class LaunchdManager implements ServiceManager {
  readonly kind = "launchd" as const;

  constructor(
    readonly host: ServiceHost,
    readonly identity: ServiceIdentity,
    /** The state dir this CLI resolves (where the env file and wrapper live). */
    readonly stateDir: string,
  ) {}

  get label(): string {
    return this.identity.launchdLabel;
  }
  domain(): string {
    return `gui/${this.host.uid}`;
  }
  target(): string {
    return `${this.domain()}/${this.label}`;
  }
  paths(stateDir = this.stateDir) {
    return launchdPaths(this.host, this.identity, stateDir);
  }

  private launchctl(...args: string[]) {
    return this.host.run(["launchctl", ...args], { timeoutMs: 30_000 });
  }

  /** Run one launchctl step; when it fails, the message `launchctl <args>: <first error line>`. */
  private async step(...args: string[]): Promise<string | undefined> {
    const r = await this.launchctl(...args);
    return r.code === 0 ? undefined : `launchctl ${args.join(" ")}: ${firstLine(r)}`;
  }

  /** Loaded job's runtime, or undefined when the job is not loaded. */
  async printJob(): Promise<ServiceRuntime | undefined> {
    const r = await this.launchctl("print", this.target());
    return r.code === 0 ? parseLaunchctlPrint(r.stdout) : undefined;
  }

  async guiProblem(): Promise<string | undefined> {
    const r = await this.launchctl("print", this.domain());
    if (r.code === 0) return undefined;
    if (r.code === 127) return "launchctl not found";
    return `LaunchAgent plist exists, but macOS has no usable GUI session for this user (${firstLine(r)}).`;
  }

  async definition(): Promise<InstalledDefinition | undefined> {
    const path = this.paths().plist;
    const xml = await readText(path);
    try {
      return xml === undefined ? undefined : readPlistDefinition(path, xml);
    } catch {
      return undefined;
    }
  }

  async inspect(): Promise<ServiceState> {
    const p = this.paths();
    const xml = await readText(p.plist);
    const daemon = await readText(p.daemonPlist);
    const state: ServiceState = {
      manager: "launchd",
      label: "LaunchAgent",
      name: this.label,
      scope: "user",
      installed: xml !== undefined,
      loaded: false,
      loadedText: "loaded",
      notLoadedText: "not loaded",
      runtime: { status: "stopped" },
      logsHint: `tail -n 200 ${p.stdout} ${p.stderr}`,
    };
    if (daemon !== undefined) state.otherScope = { scope: "system", path: p.daemonPlist };
    if (xml !== undefined) {
      try {
        state.definition = readPlistDefinition(p.plist, xml);
      } catch (err) {
        state.runtime = { status: "unknown", detail: `cannot read ${p.plist}: ${(err as Error).message}` };
      }
    }
    const job = await this.printJob();
    if (job) {
      state.loaded = true;
      state.runtime = job;
      if (xml === undefined) state.runtime.detail = `LaunchAgent label cached but plist missing. Clear with: launchctl bootout ${this.target()}`;
    } else if (xml !== undefined) {
      const problem = await this.guiProblem();
      if (problem) state.unavailable = problem;
    }
    return state;
  }

  plan(spec: InstallSpec): PlannedInstall {
    const p = this.paths(spec.stateDir);
    const files: PlannedFile[] = [{ path: p.plist, mode: 0o644, content: renderLaunchdPlist(spec, p.wrapper), description: "LaunchAgent plist" }];
    const remove: string[] = [];
    if (spec.secrets.length > 0) {
      files.push({ path: spec.envFile, mode: 0o600, content: renderLaunchdEnvFile(spec.secrets), secret: true, description: "environment file (secrets)" });
      files.push({ path: p.wrapper, mode: 0o700, content: ENV_WRAPPER, description: "environment wrapper" });
    } else remove.push(spec.envFile, p.wrapper);
    return {
      files,
      remove,
      commands: [
        ["launchctl", "enable", this.target()],
        ["launchctl", "bootstrap", this.domain(), p.plist],
        ["launchctl", "kickstart", this.target()],
      ],
    };
  }

  private async waitLoaded(port: number | undefined, notPid?: number) {
    let last: ServiceRuntime = { status: "unknown" };
    const r = await waitUntilUp(this.host, port, async () => {
      const job = await this.printJob();
      if (!job) return undefined;
      last = job;
      return job.status === "running" && job.pid && job.pid !== notPid ? true : undefined;
    });
    return { ...r, runtime: last };
  }

  private waitUnloaded(port: number | undefined) {
    return waitUntilDown(this.host, port, async () => (await this.printJob()) !== undefined);
  }

  private failLines(what: string, r: { runtime: ServiceRuntime; portOpen: boolean }, port?: number): string[] {
    const p = this.paths();
    const lines = [`${what}: ${r.runtime.state ?? r.runtime.status}${r.runtime.pid ? ` (pid ${r.runtime.pid})` : ""}${r.runtime.lastExitStatus !== undefined ? `, last exit code ${r.runtime.lastExitStatus}` : ""}${r.runtime.status === "running" && !r.portOpen && port ? `; port ${port} is not listening` : ""}.`];
    if (r.runtime.lastExitStatus === 78) lines.push("Exit code 78 means a configuration or ownership problem (see the log); fix it, then run openclaw gateway restart.");
    lines.push(`Logs: ${p.stdout} and ${p.stderr}`);
    return lines;
  }

  async install(spec: InstallSpec, opts: { force?: boolean }): Promise<ActionOutcome> {
    const plan = this.plan(spec);
    const p = this.paths(spec.stateDir);
    const lines: string[] = [];
    const warnings: string[] = [];
    const existing = await readText(p.plist);
    const same = existing === plan.files[0].content && (await Promise.all(plan.files.slice(1).map(async (f) => (await readText(f.path)) === f.content))).every(Boolean);
    const before = await this.printJob();
    if (same && !opts.force && before?.status === "running") {
      const ready = await this.waitLoaded(spec.port);
      if (ready.ok) return outcome("install", "already-installed", true, [`Gateway service already loaded and running (pid ${ready.runtime.pid}, port ${spec.port}): ${p.plist}`, "Reinstall with: openclaw gateway install --force"], [], await this.inspect());
    }
    if (!before) {
      const problem = await this.guiProblem();
      if (problem) return outcome("install", "unavailable", false, [], [`Gateway install blocked: ${problem}`]);
    }
    if (existing !== undefined && !same && !opts.force) warnings.push("The installed LaunchAgent was out of date; rewriting it.");
    await mkdir(spec.stateDir, { recursive: true, mode: 0o700 });
    await mkdir(this.host.path.join(spec.stateDir, "tmp"), { recursive: true, mode: 0o700 });
    await mkdir(this.host.dirs.macLogs, { recursive: true, mode: 0o700 });
    await mkdir(this.host.dirs.launchAgents, { recursive: true });
    // writeFileAtomic creates each file's directory (0700): service-env/ for the env file and wrapper.
    for (const f of plan.files) await writeFileAtomic(f.path, f.content as string, f.mode);
    for (const r of plan.remove) await rm(r, { force: true });
    lines.push(`Installed LaunchAgent: ${p.plist}`);
    if (spec.secrets.length) lines.push(`Environment file (0600): ${spec.envFile} (${spec.secrets.map(([k]) => k).join(", ")})`);
    if (before) {
      // A changed plist only takes effect after the job is reloaded.
      const failed = await this.step("bootout", this.target());
      if (failed) warnings.push(failed);
      await this.waitUnloaded(undefined);
    }
    await this.launchctl("enable", this.target());
    const bootFailed = await this.step("bootstrap", this.domain(), p.plist);
    if (bootFailed) return outcome("install", "failed", false, lines, [...warnings, `Gateway install failed: ${bootFailed}`]);
    await this.launchctl("kickstart", this.target());
    const ready = await this.waitLoaded(spec.port, before?.pid);
    const state = await this.inspect();
    if (!ready.ok) return outcome("install", "not-running", false, lines, [...warnings, ...this.failLines("Installed, but the gateway did not come up", ready, spec.port)], state);
    lines.push(`Loaded ${this.label}: running (pid ${ready.runtime.pid}), listening on port ${spec.port}.`);
    return outcome("install", existing === undefined ? "installed" : same ? "reinstalled" : "refreshed", true, lines, warnings, state);
  }

  async uninstall(): Promise<ActionOutcome> {
    const state = await this.inspect();
    const p = this.paths(state.definition?.stateDir ?? this.stateDir);
    if (!state.installed && !state.loaded) return outcome("uninstall", "not-installed", true, [`LaunchAgent not found at ${p.plist}`], [], state);
    const lines: string[] = [];
    const port = state.definition?.port;
    if (state.loaded) {
      const failed = await this.step("bootout", this.target());
      if (failed) return outcome("uninstall", "failed", false, [], [failed], state);
      lines.push(`Unloaded ${this.target()}.`);
    }
    for (const f of [p.plist, state.definition?.envFile ?? p.envFile, p.wrapper]) await rm(f, { force: true });
    lines.push(`Removed LaunchAgent: ${p.plist}`);
    const gone = await this.waitUnloaded(port);
    if (!gone.ok) return outcome("uninstall", "failed", false, lines, [`After uninstall ${this.label} is still loaded${gone.portOpen ? ` or port ${port} still answers` : ""}.`], await this.inspect());
    lines.push(`Verified: ${this.label} is not loaded${port ? ` and port ${port} is closed` : ""}.`);
    return outcome("uninstall", "uninstalled", true, lines, [], await this.inspect());
  }

  /** Why start or restart cannot go ahead: no plist, or no GUI session to load it in. The plist path does not depend on the state dir. */
  private refusal(action: "start" | "restart", state: ServiceState): ActionOutcome | undefined {
    if (!state.installed) return outcome(action, "not-installed", false, [], [`Gateway service not installed (${this.paths().plist}).`, "Run: openclaw gateway install"], state);
    if (state.unavailable) return outcome(action, "unavailable", false, [], [state.unavailable], state);
    return undefined;
  }

  async start(): Promise<ActionOutcome> {
    const state = await this.inspect();
    const refused = this.refusal("start", state);
    if (refused) return refused;
    const plist = this.paths().plist;
    const port = state.definition?.port;
    if (state.runtime.status === "running") {
      const ready = await this.waitLoaded(port);
      if (ready.ok) return outcome("start", "already-running", true, [`Gateway service already running (pid ${ready.runtime.pid}, port ${port}).`], [], await this.inspect());
    }
    await this.launchctl("enable", this.target());
    if (!state.loaded) {
      const failed = await this.step("bootstrap", this.domain(), plist);
      if (failed) return outcome("start", "failed", false, [], [failed], state);
    }
    await this.launchctl("kickstart", this.target());
    const ready = await this.waitLoaded(port);
    const after = await this.inspect();
    if (!ready.ok) return outcome("start", "not-running", false, [], this.failLines("Started, but the gateway is not running", ready, port), after);
    return outcome("start", "started", true, [`Started LaunchAgent: ${this.label} (pid ${ready.runtime.pid}, port ${port}).`], [], after);
  }

  async stop(opts: { disable?: boolean } = {}): Promise<ActionOutcome> {
    const state = await this.inspect();
    if (!state.installed && !state.loaded) return outcome("stop", "not-installed", true, [`Gateway service not installed (${this.paths().plist}); nothing to stop.`], [], state);
    const port = state.definition?.port;
    const lines: string[] = [];
    if (opts.disable) {
      const failed = await this.step("disable", this.target());
      if (failed) return outcome("stop", "failed", false, [], [failed], state);
      lines.push(`Disabled ${this.label}: it will not load at login until openclaw gateway start.`);
    }
    if (!state.loaded) return outcome("stop", "already-stopped", true, [...lines, "Gateway service already stopped (not loaded)."], [], await this.inspect());
    const failed = await this.step("bootout", this.target());
    if (failed) return outcome("stop", "failed", false, lines, [failed], state);
    const gone = await this.waitUnloaded(port);
    const after = await this.inspect();
    if (!gone.ok) return outcome("stop", "still-running", false, lines, [`Booted out ${this.label}, but ${gone.portOpen ? `port ${port} still answers` : "it is still loaded"}.`], after);
    lines.push(`Stopped LaunchAgent: ${this.label}${port ? ` (port ${port} closed)` : ""}.${opts.disable ? "" : " It loads again at next login; openclaw gateway start loads it now."}`);
    return outcome("stop", "stopped", true, lines, [], after);
  }

  async restart(): Promise<ActionOutcome> {
    const state = await this.inspect();
    const refused = this.refusal("restart", state);
    if (refused) return refused;
    const plist = this.paths().plist;
    const port = state.definition?.port;
    const oldPid = state.runtime.status === "running" ? state.runtime.pid : undefined;
    const lines: string[] = [];
    if (!state.loaded) {
      // Recover an installed-but-unloaded agent; never bootout a loaded one to restart it.
      await this.launchctl("enable", this.target());
      const failed = await this.step("bootstrap", this.domain(), plist);
      if (failed) return outcome("restart", "failed", false, [], [failed], state);
      lines.push(`Loaded ${this.label} (it was not loaded).`);
    } else {
      const failed = await this.step("kickstart", "-k", this.target());
      if (failed) return outcome("restart", "failed", false, [], [failed], state);
    }
    const ready = await this.waitLoaded(port, oldPid);
    const after = await this.inspect();
    if (!ready.ok) return outcome("restart", "not-running", false, lines, this.failLines("Restarted, but the gateway is not running", ready, port), after);
    lines.push(`Restarted LaunchAgent: ${this.label} (${oldPid ? `pid ${oldPid} → ${ready.runtime.pid}` : `pid ${ready.runtime.pid}`}, port ${port}).`);
    return outcome("restart", "restarted", true, lines, [], after);
  }
}
