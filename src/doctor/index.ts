/**
 * `openclaw doctor`: read-only checks of the config, the state dir, the installed service and
 * the gateway port. Every finding names its exact fix; findings marked `fixable` have a safe
 * automatic fix that `--fix` applies (permissions, config recovery from a backup, unknown keys,
 * gateway.mode, rewriting a stale service definition without restarting it). Without `--fix`
 * nothing is written.
 */
import { chmod, chown, copyFile, readdir, stat } from "node:fs/promises";
import { basename, dirname, join } from "node:path";
import { findHeartbeatFiles } from "../automation/doctor.ts";
import { describeAccount, serviceCanReadConfig, statOrUndefined } from "../config/access.ts";
import { isPlainObject } from "../config/keypath.ts";
import { fileTimestamp, lastGoodPathFor, listClobbered } from "../config/last-good.ts";
import { validateFileLayer } from "../config/load.ts";
import type { Env, ResolvedPaths } from "../config/paths.ts";
import { validateConfig, type OpenClawConfig } from "../config/schema.ts";
import { loadSnapshot, type ConfigSnapshot } from "../config/snapshot.ts";
import { keysOriginalRefuses, unsupportedMessage } from "../config/support.ts";
import { backupPathFor, serializeConfig, stampMeta, writeFileAtomic } from "../config/write.ts";
import { auditService, REWRITE_FIXES } from "../service/audit.ts";
import { newerConfigRefusal, repairPolicyExternal } from "../service/guard.ts";
import type { ServiceHost } from "../service/host.ts";
import { managerFor, prepareInstall } from "../service/index.ts";
import { readText } from "../service/files.ts";
import { scanGatewayServices } from "../service/scan.ts";
import { lingerDisabled, parseUnitFile } from "../service/systemd.ts";
import type { ServiceState } from "../service/types.ts";
import type { Listener } from "../system/ports.ts";
import { VERSION } from "../version.ts";

export type Severity = "error" | "warning" | "info";

export interface Finding {
  checkId: string;
  severity: Severity;
  message: string;
  path?: string;
  /** The exact fix (a command, or what `--fix` does). */
  fixHint: string;
  /** `--fix` applies it (safe: no data loss, no service interruption). */
  fixable: boolean;
  /** Applies the fix; returns what changed. */
  fix?: () => Promise<string>;
}

export interface DoctorDeps {
  host: ServiceHost;
  paths: ResolvedPaths;
  env: Env;
  listenersOnPort(port: number): Promise<Listener[]>;
  now(): Date;
}

export interface DoctorReport {
  ok: boolean;
  checksRun: string[];
  checksSkipped: Array<{ checkId: string; reason: string }>;
  findings: Finding[];
}

const mode = (m: number) => `0${(m & 0o777).toString(8)}`;

/** Write `text` atomically; writeFileAtomic keeps the replaced file's owner and group (a root doctor must not steal a service's file). */
async function writePreservingOwner(path: string, text: string, fileMode = 0o600): Promise<void> {
  await writeFileAtomic(path, text, fileMode);
}

/** Copy `from` to `to` and make the copy owner-only. */
async function copyPrivate(from: string, to: string): Promise<void> {
  await copyFile(from, to);
  await chmod(to, 0o600);
}

/** Keep the current config as `<config>.bak`, then write `doc` stamped (owner kept). Returns the backup path. */
async function rewriteConfig(configPath: string, doc: object): Promise<string> {
  const backup = backupPathFor(configPath);
  await copyPrivate(configPath, backup);
  await writePreservingOwner(configPath, serializeConfig(stampMeta(doc)));
  return backup;
}

function validText(text: string): { ok: true; config: OpenClawConfig } | { ok: false } {
  try {
    const parsed = text.trim() === "" ? {} : Bun.JSON5.parse(text);
    if (!isPlainObject(parsed)) return { ok: false };
    const v = validateConfig(parsed);
    return v.ok ? v : { ok: false };
  } catch {
    return { ok: false };
  }
}

function deletePath(obj: Record<string, unknown>, path: string): boolean {
  const parts = path.split(".");
  let cur: unknown = obj;
  for (const p of parts.slice(0, -1)) {
    if (!cur || typeof cur !== "object") return false;
    cur = (cur as Record<string, unknown>)[p];
  }
  if (!cur || typeof cur !== "object") return false;
  return delete (cur as Record<string, unknown>)[parts.at(-1)!];
}

// ---------------------------------------------------------------------------------------------
// Config

async function recoverySource(configPath: string, raw: string | null): Promise<{ label: string; text: string } | undefined> {
  const bak = backupPathFor(configPath);
  const candidates = [lastGoodPathFor(configPath), bak, ...[1, 2, 3, 4].map((n) => `${bak}.${n}`)];
  for (const c of candidates) {
    const text = await readText(c);
    if (text !== undefined && validText(text).ok) return { label: c, text };
  }
  if (raw) {
    const start = raw.search(/[{]/);
    if (start > 0) {
      const rest = raw.slice(start);
      if (validText(rest).ok) return { label: `the same file without its ${start}-byte non-JSON prefix`, text: rest };
    }
  }
  return undefined;
}

/**
 * The config verdict is the snapshot's (src/config/snapshot.ts): the same file, environment and
 * `${VAR}` substitution as `openclaw gateway` and `openclaw config validate`.
 */
async function checkConfig(deps: DoctorDeps, out: Finding[]): Promise<ConfigSnapshot> {
  const { configPath } = deps.paths;
  const snapshot = await loadSnapshot({ paths: deps.paths, env: deps.env });
  const problem = snapshot.problem;
  if (!snapshot.exists && !problem) {
    out.push({
      checkId: "config/missing",
      severity: "info",
      message: `No config at ${configPath}; the gateway writes one (gateway.mode=local, a random token, mode 0600) on first start.`,
      path: configPath,
      fixHint: "Nothing to do; or start the gateway once: openclaw gateway run",
      fixable: false,
    });
    return snapshot;
  }
  const raw = snapshot.raw ?? (await readText(configPath)) ?? null;
  const parsed = snapshot.doc;
  if (problem) {
    const issues = problem.kind === "invalid" ? problem.issues : [];
    const message = problem.error.message;
    const unknownOnly = issues.length > 0 && issues.every((i) => i.message.startsWith("Unknown key"));
    if (unknownOnly && parsed && typeof parsed === "object") {
      const copy = structuredClone(parsed) as Record<string, unknown>;
      for (const i of issues) deletePath(copy, i.path);
      const v = (await validateFileLayer(copy, deps.env, deps.paths.stateDir)).check;
      if (v.ok) {
        const keys = issues.map((i) => i.path);
        out.push({
          checkId: "config/unknown-keys",
          severity: "error",
          message,
          path: configPath,
          fixHint: `openclaw doctor --fix removes ${keys.join(", ")} (the previous file is kept as ${basename(configPath)}.bak)`,
          fixable: true,
          fix: async () => {
            const backup = await rewriteConfig(configPath, copy);
            return `removed unknown key(s) ${keys.join(", ")} from ${configPath} (previous file: ${backup})`;
          },
        });
        return snapshot;
      }
    }
    // Only now look for a backup: the unknown-keys fix above needs none.
    const recovery = await recoverySource(configPath, raw);
    const clobbered = `${configPath}.clobbered.${fileTimestamp(deps.now())}`;
    out.push({
      checkId: "config/valid",
      severity: "error",
      message,
      path: configPath,
      fixHint: recovery
        ? `openclaw doctor --fix restores ${recovery.label} (the broken file is kept as ${basename(clobbered)})`
        : `Edit ${configPath} and fix the listed problem${issues.length === 1 ? "" : "s"}; the gateway refuses to start (exit 78) until then. No valid backup (.last-good, .bak) was found.`,
      fixable: Boolean(recovery),
      fix: recovery
        ? async () => {
            await copyPrivate(configPath, clobbered);
            await writePreservingOwner(configPath, recovery.text);
            return `restored ${configPath} from ${recovery.label}; the broken file is kept as ${clobbered}`;
          }
        : undefined,
    });
    return snapshot;
  }
  const config = snapshot.file;
  const touched = config.meta?.lastTouchedVersion;
  const refusal = newerConfigRefusal(touched, "manage the gateway service", {}, VERSION);
  if (refusal) {
    out.push({
      checkId: "config/newer-version",
      severity: "error",
      message: `The config was last written by OpenClaw ${touched}, newer than this binary (${VERSION}): service start/stop/restart/uninstall and install --force are refused.`,
      path: configPath,
      fixHint: `${refusal[1]} ${refusal[2]}`,
      fixable: false,
    });
  }
  if (config.gateway?.mode === undefined) {
    out.push({
      checkId: "config/gateway-mode",
      severity: "warning",
      message: "gateway.mode is unset; gateway start will be blocked.",
      path: configPath,
      fixHint: `openclaw doctor --fix sets gateway.mode to "local" in ${configPath} (comments in the file are not kept; the previous file is kept as ${basename(configPath)}.bak)`,
      fixable: true,
      fix: async () => {
        const next = { ...(parsed as OpenClawConfig), gateway: { ...(parsed as OpenClawConfig).gateway, mode: "local" as const } };
        const backup = await rewriteConfig(configPath, next);
        return `set gateway.mode=local in ${configPath} (previous file: ${backup})`;
      },
    });
  }
  const meta = (parsed as { meta?: Record<string, unknown> } | undefined)?.meta;
  if (meta && Object.hasOwn(meta, "lastTouchedAt")) {
    out.push({
      checkId: "config/meta-last-touched-at",
      severity: "warning",
      message: "meta.lastTouchedAt is set; the official openclaw CLI refuses the file with it (meta: Unrecognized key).",
      path: configPath,
      fixHint: `openclaw doctor --fix removes meta.lastTouchedAt (the previous file is kept as ${basename(configPath)}.bak)`,
      fixable: true,
      fix: async () => {
        const { lastTouchedAt: _gone, ...restMeta } = meta;
        const backup = await rewriteConfig(configPath, { ...(parsed as Record<string, unknown>), meta: restMeta });
        return `removed meta.lastTouchedAt from ${configPath} (previous file: ${backup})`;
      },
    });
  }
  const refused = keysOriginalRefuses(parsed);
  if (refused.length > 0) {
    out.push({
      checkId: "config/original-refuses",
      severity: "warning",
      message: `The official openclaw CLI refuses this config: it does not know ${refused.join(", ")} (this gateway does).`,
      path: configPath,
      fixHint: `To share the file with the official CLI, remove them: ${refused.map((k) => `openclaw config unset ${k.replace(/=.*$/, "")}`).join("; ")}`,
      fixable: false,
    });
  }
  if (snapshot.unsupported.length > 0) {
    out.push({
      checkId: "config/unsupported-keys",
      severity: "warning",
      message: `${unsupportedMessage(snapshot.unsupported)}.`,
      path: configPath,
      fixHint: "Nothing breaks: the keys stay in the file for the official gateway; this gateway ignores them until it supports them.",
      fixable: false,
    });
  }
  return snapshot;
}

async function checkRecovered(deps: DoctorDeps, out: Finding[]): Promise<void> {
  const copies = await listClobbered(deps.paths.configPath); // newest first
  if (copies.length === 0) return;
  const newest = copies[0];
  out.push({
    checkId: "config/recovered",
    severity: "info",
    message: `The config was recovered earlier; the broken copy is kept at ${newest}${copies.length > 1 ? ` (${copies.length} broken copies in total)` : ""}.`,
    path: newest,
    fixHint: `Compare it with the current config, then delete it: rm ${copies.toReversed().join(" ")}`,
    fixable: false,
  });
}

// ---------------------------------------------------------------------------------------------
// Permissions

/** Files in a state dir that hold secrets: the config and its copies, `.env`, service env files. */
const SECRET_FILE = /^(openclaw\.json.*|\.env|gateway(-[a-z0-9_-]+)?\.systemd\.env|gateway\.env\.cmd)$/;

async function checkPermissions(deps: DoctorDeps, out: Finding[], stateDirs: string[]): Promise<void> {
  if (deps.host.platform === "win32") return;
  for (const dir of [...new Set(stateDirs)]) {
    const info = statOrUndefined(dir);
    if (!info?.isDirectory()) continue;
    if (info.mode & 0o077) {
      out.push({
        checkId: "state/permissions",
        severity: "warning",
        message: `State directory ${dir} is mode ${mode(info.mode)}; other users can list or read it.`,
        path: dir,
        fixHint: `chmod 700 ${dir}   (openclaw doctor --fix does this)`,
        fixable: true,
        fix: async () => {
          await chmod(dir, 0o700);
          return `chmod 700 ${dir} (was ${mode(info.mode)})`;
        },
      });
    }
    const files = [...(await readdir(dir).catch(() => [] as string[])).filter((n) => SECRET_FILE.test(n)).map((n) => join(dir, n))];
    const envDir = join(dir, "service-env");
    for (const n of await readdir(envDir).catch(() => [] as string[])) if (n.endsWith(".env")) files.push(join(envDir, n));
    if (deps.paths.configPath && dirname(deps.paths.configPath) !== dir && dir === deps.paths.stateDir) files.push(deps.paths.configPath);
    for (const file of files) {
      const f = statOrUndefined(file);
      if (!f?.isFile() || !(f.mode & 0o077)) continue;
      out.push({
        checkId: "state/secret-file-permissions",
        severity: "error",
        message: `${file} is mode ${mode(f.mode)}; it holds secrets (gateway token, API keys) and must be owner-only.`,
        path: file,
        fixHint: `chmod 600 ${file}   (openclaw doctor --fix does this)`,
        fixable: true,
        fix: async () => {
          await chmod(file, 0o600);
          return `chmod 600 ${file} (was ${mode(f.mode)})`;
        },
      });
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Service

async function checkService(deps: DoctorDeps, out: Finding[], skipped: DoctorReport["checksSkipped"], snapshot: ConfigSnapshot): Promise<ServiceState | undefined> {
  const { host, paths } = deps;
  const manager = managerFor(host, { profile: paths.profile, stateDir: paths.stateDir });
  if (!manager) {
    skipped.push({ checkId: "service", reason: `no supported service manager on ${host.platform}` });
    return undefined;
  }
  const state = await manager.inspect();
  const external = repairPolicyExternal(deps.env);
  const expectedPort = snapshot.gateway.port;
  if (!state.installed) {
    if (state.manager !== "systemd" || host.systemdBooted) {
      out.push({
        checkId: "service/not-installed",
        severity: "info",
        message: `No gateway service is installed for this profile (${state.name}).`,
        fixHint: "openclaw gateway install   (to run the gateway as a service)",
        fixable: false,
      });
    } else skipped.push({ checkId: "service", reason: "systemd is not running on this host" });
    return state;
  }
  const def = state.definition!;
  const scopeFlag = state.scope === "system" ? " --system" : "";
  const sudo = state.scope === "system" && host.uid !== 0 ? "sudo " : "";
  if (state.otherScope) {
    out.push({
      checkId: "service/duplicate",
      severity: "error",
      message: `The same gateway is defined twice: ${def.path} (${state.scope}) and ${state.otherScope.path} (${state.otherScope.scope}); duplicate managers restart-loop the gateway over its port and state dir.`,
      path: state.otherScope.path,
      fixHint:
        state.otherScope.scope === "system"
          ? `Keep one. Remove the user unit: openclaw gateway uninstall; or the system unit: sudo systemctl disable --now ${state.name} && sudo rm ${state.otherScope.path} && sudo systemctl daemon-reload`
          : `Keep one. Remove the system unit: sudo openclaw gateway uninstall --system; or the user unit (as its user): openclaw gateway uninstall`,
      fixable: false,
    });
  }
  const issues = await auditService(state, { program: host.program, port: expectedPort, profile: paths.profile, configPath: paths.configPath });
  const mismatch = issues.find((i) => i.code === "gateway-config-mismatch");
  if (mismatch) {
    out.push({
      checkId: "service/config-mismatch",
      severity: state.scope === "system" ? "info" : "warning",
      message: `Doctor and the managed Gateway select different config or state directories: ${mismatch.message}`,
      path: def.path,
      fixHint: `Check the service's own files: OPENCLAW_STATE_DIR=${def.stateDir ?? dirname(def.configPath ?? "")} ${sudo}openclaw doctor${def.profile ? ` --profile ${def.profile}` : ""}; or retarget the service to this CLI's config: openclaw gateway install --force${scopeFlag}`,
      fixable: false,
    });
  }
  const rewritable = !external && !mismatch && (state.scope === "user" || host.uid === 0) && !state.unavailable;
  // Several findings share one rewrite; run it once.
  let rewrite: Promise<string> | undefined;
  const rewriteOnce = async () => {
    if (rewrite) {
      await rewrite;
      return `covered by the rewrite of ${state.definition?.path} above`;
    }
    rewrite = rewriteDefinition(deps, state);
    return rewrite;
  };
  for (const issue of issues) {
    if (issue.code === "gateway-config-mismatch") continue;
    const canRewrite = REWRITE_FIXES.has(issue.code) && rewritable;
    const severity: Severity = issue.level === "warn" ? "warning" : issue.level;
    if (issue.code === "gateway-env-file-permissions" && def.envFile) {
      const envFile = def.envFile;
      out.push({
        checkId: `service/${issue.code}`,
        severity,
        message: issue.message,
        path: envFile,
        fixHint: `${sudo}chmod 600 ${envFile}   (openclaw doctor --fix does this)`,
        fixable: state.scope === "user" || host.uid === 0,
        fix: async () => {
          await chmod(envFile, 0o600);
          return `chmod 600 ${envFile}`;
        },
      });
      continue;
    }
    out.push({
      checkId: `service/${issue.code}`,
      severity,
      message: issue.message,
      path: def.path,
      fixHint: canRewrite
        ? `openclaw doctor --fix rewrites ${def.path} for this binary and port (no restart; it takes effect at the next openclaw gateway restart), or run ${sudo}openclaw gateway install --force${scopeFlag} to rewrite and restart now`
        : external
          ? "Gateway service is managed externally; fix the definition through your supervisor (OPENCLAW_SERVICE_REPAIR_POLICY=external)."
          : `${sudo}openclaw gateway install --force${scopeFlag}`,
      fixable: canRewrite,
      fix: canRewrite ? rewriteOnce : undefined,
    });
  }
  if (state.loaded && state.runtime.status === "stopped") {
    out.push({
      checkId: "service/not-running",
      severity: "warning",
      message: `${state.label} ${state.name} is installed and ${state.loadedText} but not running${state.runtime.lastExitStatus !== undefined ? ` (last exit ${state.runtime.lastExitStatus}${state.runtime.lastExitStatus === 78 ? ": a config or ownership problem" : ""})` : ""}.`,
      path: def.path,
      fixHint: external ? "Start it through your supervisor (OPENCLAW_SERVICE_REPAIR_POLICY=external)." : `${sudo}openclaw gateway start${scopeFlag}${state.logsHint ? `; logs: ${state.logsHint}` : ""}`,
      fixable: false,
    });
  }
  if (state.manager === "systemd") await checkServiceCanRead(deps, out, state);
  if (state.manager === "systemd" && state.scope === "user" && !state.unavailable) {
    if (await lingerDisabled(host)) {
      out.push({
        checkId: "service/linger",
        severity: "warning",
        message: `Systemd lingering is disabled for ${host.user}. Without lingering, the Gateway will stop when you log out.`,
        fixHint: `sudo loginctl enable-linger ${host.user}`,
        fixable: false,
      });
    }
  }
  return state;
}

/**
 * The account a systemd service runs as must be able to read the config it uses: a root-owned
 * 0600 file (an edit made with sudo) makes every reload fail with EACCES and the next start exit
 * 78. A system unit runs as its `User=` (root without one; a `DynamicUser` as its state
 * directory's owner), a user unit as its owner (the owner of the unit file).
 */
async function checkServiceCanRead(deps: DoctorDeps, out: Finding[], state: ServiceState): Promise<void> {
  const def = state.definition;
  if (!def || deps.host.platform === "win32") return;
  const configPath = def.configPath ?? (def.stateDir ? join(def.stateDir, "openclaw.json") : deps.paths.configPath);
  if (!statOrUndefined(configPath)) return; // a missing config is the gateway's first run
  // A user unit runs as the user whose unit it is: the owner of the unit file.
  const unitOwner = state.scope === "user" ? statOrUndefined(def.path)?.uid : undefined;
  const result = await serviceCanReadConfig({
    configPath,
    unit: parseUnitFile(def.text),
    ...(state.scope === "user" ? { user: unitOwner ?? deps.host.uid } : {}),
    stateDir: def.stateDir,
  });
  if (result.unknown) {
    out.push({
      checkId: "service/config-access-unknown",
      severity: "info",
      message: `Cannot tell whether the service can read ${configPath}: ${result.unknown}.`,
      path: configPath,
      fixHint: "Start the service once, then run openclaw doctor again.",
      fixable: false,
    });
    return;
  }
  const check = result.check;
  if (!check || check.ok || !result.account) return;
  const account = result.account;
  const who = account.name ?? String(account.uid);
  const onFile = check.blockedAt === check.path;
  const sudo = deps.host.uid === 0 ? "" : "sudo ";
  out.push({
    checkId: "service/config-unreadable",
    severity: "error",
    message: `The gateway service (${state.name}) runs as ${describeAccount(account)} and cannot read its config: ${check.reason}. Reloads fail with EACCES and the next start exits 78.`,
    path: check.blockedAt ?? configPath,
    fixHint: onFile
      ? `${sudo}chown ${who}: ${configPath}   (openclaw doctor --fix does this as root; the mode is kept)`
      : `Let ${who} enter ${check.blockedAt}: ${sudo}chown ${who}: ${check.blockedAt} (or chmod o+x ${check.blockedAt})`,
    fixable: onFile && deps.host.uid === 0,
    fix: onFile
      ? async () => {
          const before = await stat(configPath);
          await chown(configPath, account.uid, account.gid);
          return `chown ${account.uid}:${account.gid} ${configPath} (was ${before.uid}:${before.gid}, mode ${mode(before.mode)} kept)`;
        }
      : undefined,
  });
}

/** Rewrite a service definition from what this CLI resolves, reload the manager, restart nothing. */
async function rewriteDefinition(deps: DoctorDeps, state: ServiceState): Promise<string> {
  const prepared = await prepareInstall(deps.host, { paths: deps.paths, system: state.scope === "system", dryRun: true });
  const written: string[] = [];
  for (const f of prepared.plan.files) {
    // writeFileAtomic creates the directory (0700) when it is missing.
    if (f.path === state.definition?.path) await copyPrivate(f.path, `${f.path}.bak`);
    await writeFileAtomic(f.path, f.content, f.mode);
    written.push(f.path);
  }
  let reload = "";
  if (prepared.manager.kind === "systemd") {
    const r = await deps.host.run(["systemctl", ...(state.scope === "user" ? ["--user"] : []), "daemon-reload"], { timeoutMs: 30_000 });
    reload = r.code === 0 ? "; systemd reloaded" : "; systemctl daemon-reload failed, run it yourself";
  }
  return `rewrote ${written.join(", ")} (previous definition: ${state.definition?.path}.bak)${reload}; the running gateway keeps its old command until openclaw gateway restart`;
}

async function checkOtherServices(deps: DoctorDeps, out: Finding[], state: ServiceState | undefined, port: number): Promise<void> {
  const extra = await scanGatewayServices(deps.host, { name: state?.name ?? "", scope: state?.scope ?? "user", path: state?.definition?.path }, { deep: true });
  for (const s of extra) {
    if (state?.otherScope && s.detail.endsWith(state.otherScope.path)) continue; // reported as service/duplicate
    const cleanup = s.hints.filter((h) => h.startsWith("Cleanup hint: ")).map((h) => h.slice("Cleanup hint: ".length));
    const fixHint = cleanup.length ? cleanup.join("; ") : s.hints.join("; ");
    if (s.port === port) {
      out.push({ checkId: "service/port-conflict", severity: "error", message: `Another gateway service, ${s.label} (${s.scope}, ${s.detail}), also records port ${port}; only one of them can listen.`, path: s.detail.replace(/^\w+: /, ""), fixHint: `Remove it (${fixHint}) or give one of them another port: openclaw gateway install --force --port <free port>`, fixable: false });
    } else if (s.legacy) {
      out.push({ checkId: "service/legacy", severity: "warning", message: `Legacy gateway service ${s.label} (${s.scope}, ${s.detail}) from an older install${s.stale ? "; its program no longer exists" : ""}.`, path: s.detail.replace(/^\w+: /, ""), fixHint, fixable: false });
    } else if (s.stale) {
      out.push({ checkId: "service/stale", severity: "warning", message: `Stale gateway service ${s.label} (${s.scope}, ${s.detail}): its program no longer exists, so it fails at every start.`, path: s.detail.replace(/^\w+: /, ""), fixHint, fixable: false });
    } else {
      out.push({ checkId: "service/other", severity: "info", message: `Other gateway service: ${s.label} (${s.scope}, ${s.detail}${s.profile ? `, profile ${s.profile}` : ""}${s.port ? `, port ${s.port}` : ""}).`, path: s.detail.replace(/^\w+: /, ""), fixHint: `Nothing to do if it is intended (another profile); otherwise: ${fixHint}`, fixable: false });
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Port

async function checkPort(deps: DoctorDeps, out: Finding[], state: ServiceState | undefined, port: number): Promise<void> {
  const listeners = await deps.listenersOnPort(port);
  if (listeners.length === 0) return;
  const ours = new Set<number>();
  const lockPid = await deps.host.gatewayPid(deps.paths.stateDir);
  if (lockPid) ours.add(lockPid);
  if (state?.runtime.pid) ours.add(state.runtime.pid);
  if (state?.definition?.stateDir) {
    const svcPid = await deps.host.gatewayPid(state.definition.stateDir);
    if (svcPid) ours.add(svcPid);
  }
  const foreign = listeners.filter((l) => !ours.has(l.pid));
  if (foreign.length === 0) return;
  const who = foreign.map((l) => `pid ${l.pid} (${l.command ?? l.name}${l.address ? ` on ${l.address}` : ""})`).join(", ");
  out.push({
    checkId: "port/conflict",
    severity: "error",
    message: `Gateway port ${port} is held by ${who}, not by this profile's gateway; the gateway cannot start (exit 78).`,
    fixHint: `Stop it (kill ${foreign.map((l) => l.pid).join(" ")}), or move this gateway to a free port: openclaw gateway install --force --port <free port> (or set gateway.port). If it is an SSH tunnel or another OpenClaw gateway, see openclaw gateway status --deep.`,
    fixable: false,
  });
}

/** A workspace `HEARTBEAT.md` the heartbeat no longer reads (its instructions live in the monitor's scratch). */
function checkHeartbeatFiles(deps: DoctorDeps, out: Finding[], snapshot: ConfigSnapshot): void {
  if (snapshot.problem) return;
  for (const f of findHeartbeatFiles(snapshot.config, deps.paths.stateDir, deps.env)) {
    out.push({
      checkId: "heartbeat/file",
      severity: "warning",
      message: `${f.file} is no longer read: the heartbeat of agent "${f.agentId}" takes its instructions from its monitor job's scratch.`,
      path: f.file,
      fixHint: `openclaw doctor --fix moves it into the scratch (openclaw cron scratch <heartbeat job id>); a copy is kept in ${join(deps.paths.stateDir, "backups", "heartbeat-migration")}`,
      fixable: true,
      fix: async () => {
        const r = f.fix();
        if (r.migrated) return `moved ${f.file} into the heartbeat scratch of job ${r.jobId} (copy: ${r.archivedTo})`;
        if (r.reason === "scratch-differs") throw new Error(`the scratch of job ${r.jobId} already holds other text; merge ${f.file} by hand (openclaw cron scratch ${r.jobId} --file ${f.file}) and remove the file`);
        if (r.reason === "too-large") throw new Error(`${f.file} is larger than the 256 KiB scratch limit (${r.bytes} bytes)`);
        throw new Error(`not moved (${r.reason})`);
      },
    });
  }
}

// ---------------------------------------------------------------------------------------------

export async function runDoctor(deps: DoctorDeps): Promise<DoctorReport> {
  const findings: Finding[] = [];
  const checksSkipped: DoctorReport["checksSkipped"] = [];
  const checksRun = ["config", "config/recovered", "state/permissions", "service", "service/others", "port", "core/doctor/device-pairing", "heartbeat/file"];
  const snapshot = await checkConfig(deps, findings);
  checkHeartbeatFiles(deps, findings, snapshot);
  await checkRecovered(deps, findings);
  const state = await checkService(deps, findings, checksSkipped, snapshot);
  const stateDirs = [deps.paths.stateDir];
  if (state?.definition?.stateDir && (state.scope === "user" || deps.host.uid === 0)) stateDirs.push(state.definition.stateDir);
  await checkPermissions(deps, findings, stateDirs);
  const port = snapshot.gateway.port;
  if (state) await checkOtherServices(deps, findings, state, port);
  await checkPort(deps, findings, state, port);
  await checkDevices(deps, findings, checksSkipped);
  return { ok: !findings.some((f) => f.severity === "error"), checksRun, checksSkipped, findings };
}

/** Device pairing: the gateway's store here and this CLI's device tokens (src/doctor/devices.ts). */
async function checkDevices(deps: DoctorDeps, out: Finding[], skipped: DoctorReport["checksSkipped"]): Promise<void> {
  const { checkDevicePairing } = await import("./devices.ts");
  try {
    const r = await checkDevicePairing({ stateDir: deps.paths.stateDir, now: deps.now().getTime() });
    for (const f of r.findings) out.push({ checkId: f.checkId, severity: f.severity, message: f.message, path: f.path, fixHint: f.fixHint, fixable: false });
    skipped.push(...r.skipped);
  } catch (err) {
    skipped.push({ checkId: "core/doctor/device-pairing", reason: `the pairing state could not be read (${(err as Error).message})` });
  }
}

export interface FixResult {
  checkId: string;
  changed?: string;
  error?: string;
}

/** Apply every fixable finding once, in order. */
export async function applyFixes(findings: Finding[]): Promise<FixResult[]> {
  const results: FixResult[] = [];
  for (const f of findings) {
    if (!f.fixable || !f.fix) continue;
    try {
      results.push({ checkId: f.checkId, changed: await f.fix() });
    } catch (err) {
      results.push({ checkId: f.checkId, error: (err as Error).message });
    }
  }
  return results;
}

