/**
 * Best-effort scan for other gateway-like services on this machine (`gateway status --deep`,
 * `doctor`): systemd user and system units, LaunchAgents/LaunchDaemons, scheduled tasks. A
 * definition counts when it carries our marker pair, is named like ours, or runs a `gateway`
 * subcommand of openclaw (or its former names). The current profile's own definition is left out.
 */
import { readdir, readFile, stat } from "node:fs/promises";
import { exists } from "./files.ts";
import type { ServiceHost } from "./host.ts";
import { readPlistDefinition } from "./launchd.ts";
import { gatewayTaskNames } from "./schtasks.ts";
import type { Scope } from "./spec.ts";
import { readUnitDefinition } from "./systemd.ts";

export interface ExtraService {
  platform: "linux" | "darwin" | "win32";
  /** Unit name, launchd label or task name. */
  label: string;
  /** Where it is defined. */
  detail: string;
  scope: Scope;
  marker?: "openclaw";
  legacy?: boolean;
  /** Profile recorded in the definition. */
  profile?: string;
  port?: number;
  /** Its program no longer exists. */
  stale?: boolean;
  hints: string[];
}

const MAX_BYTES = 256 * 1024;

async function readSmall(path: string): Promise<string | undefined> {
  try {
    const info = await stat(path);
    if (!info.isFile() || info.size > MAX_BYTES) return undefined;
    return await readFile(path, "utf8");
  } catch {
    return undefined;
  }
}

async function listDir(dir: string): Promise<string[]> {
  return readdir(dir).catch(() => [] as string[]);
}

const LEGACY_NAME = /^(clawdbot|moltbot)-gateway/;
const KNOWN_PROGRAM = /openclaw|clawdbot|moltbot/i;

function hasMarker(text: string): boolean {
  return /OPENCLAW_SERVICE_MARKER[=\s"'<>/a-z]*openclaw/i.test(text) && /OPENCLAW_SERVICE_KIND[=\s"'<>/a-z]*gateway/i.test(text);
}

/** Is this systemd unit a gateway? */
export function unitLooksLikeGateway(name: string, text: string, execArgs: string[]): { match: boolean; marker: boolean; legacy: boolean } {
  const marker = hasMarker(text);
  const legacy = LEGACY_NAME.test(name);
  const named = /^openclaw-gateway/.test(name) && /gateway/.test(text);
  const execGateway = execArgs.includes("gateway") && execArgs.some((a) => KNOWN_PROGRAM.test(a));
  return { match: marker || named || legacy || execGateway, marker, legacy };
}

async function programMissing(args: string[]): Promise<boolean> {
  const gw = args.indexOf("gateway");
  const program = gw > 0 ? args.slice(0, gw) : args.slice(0, 1);
  for (const p of program) if (p.startsWith("/") && !(await exists(p))) return true;
  return false;
}

export interface OwnService {
  /** Unit/label/task of the current profile. */
  name: string;
  scope: Scope;
  path?: string;
}

async function scanSystemd(host: ServiceHost, own: OwnService, deep: boolean): Promise<ExtraService[]> {
  const dirs: Array<[string, Scope]> = [[host.dirs.systemdUser, "user"]];
  if (deep) for (const d of host.dirs.systemdSystemSearch) dirs.push([d, "system"]);
  const found: ExtraService[] = [];
  const seen = new Set<string>();
  for (const [dir, scope] of dirs) {
    for (const file of (await listDir(dir)).sort()) {
      if (!/\.service(\.bak)?$/.test(file)) continue;
      const path = host.path.join(dir, file);
      const name = file.replace(/\.bak$/, "");
      if (file.endsWith(".bak") && !LEGACY_NAME.test(name)) continue;
      if (name === own.name && scope === own.scope && !file.endsWith(".bak")) continue;
      const key = `${scope}:${file}`;
      if (seen.has(key)) continue;
      const text = await readSmall(path);
      if (text === undefined) continue;
      const def = readUnitDefinition(path, text, scope);
      const look = unitLooksLikeGateway(name, text, def.programArguments);
      if (!look.match) continue;
      seen.add(key);
      const sc = scope === "user" ? "--user" : "--system";
      const sudo = scope === "system" && host.uid !== 0 ? "sudo " : "";
      found.push({
        platform: "linux",
        label: file,
        detail: `unit: ${path}`,
        scope,
        ...(look.marker ? { marker: "openclaw" as const } : {}),
        ...(look.legacy ? { legacy: true } : {}),
        ...(def.profile ? { profile: def.profile } : {}),
        ...(def.port ? { port: def.port } : {}),
        ...((await programMissing(def.programArguments)) ? { stale: true } : {}),
        hints: [
          `Inspection hint: systemctl ${sc} status -- ${name}`,
          `Inspection hint: systemctl ${sc} cat -- ${name}`,
          `Cleanup hint: ${sudo}systemctl ${sc} disable --now ${name} && ${sudo}rm ${path} && ${sudo}systemctl ${sc} daemon-reload`,
        ],
      });
    }
  }
  return found;
}

async function scanLaunchd(host: ServiceHost, own: OwnService, deep: boolean): Promise<ExtraService[]> {
  const dirs: Array<[string, Scope]> = [[host.dirs.launchAgents, "user"]];
  if (deep) dirs.push([host.dirs.launchAgentsGlobal, "system"], [host.dirs.launchDaemons, "system"]);
  const found: ExtraService[] = [];
  for (const [dir, scope] of dirs) {
    for (const file of (await listDir(dir)).sort()) {
      if (!file.endsWith(".plist")) continue;
      const label = file.slice(0, -".plist".length);
      const path = host.path.join(dir, file);
      if (label === own.name && path === own.path) continue;
      const text = await readSmall(path);
      if (text === undefined) continue;
      const marker = hasMarker(text);
      const legacy = /^com\.(clawdbot|moltbot)\./.test(label);
      let args: string[] = [];
      let profile: string | undefined;
      let port: number | undefined;
      try {
        const def = readPlistDefinition(path, text);
        args = def.programArguments;
        profile = def.profile;
        port = def.port;
      } catch {}
      const match = marker || legacy || /^ai\.openclaw\./.test(label) || (args.includes("gateway") && args.some((a) => KNOWN_PROGRAM.test(a)));
      if (!match) continue;
      const daemon = dir === host.dirs.launchDaemons;
      const domain = daemon ? "system" : `gui/${host.uid}`;
      found.push({
        platform: "darwin",
        label,
        detail: `plist: ${path}`,
        scope,
        ...(marker ? { marker: "openclaw" as const } : {}),
        ...(legacy ? { legacy: true } : {}),
        ...(profile ? { profile } : {}),
        ...(port ? { port } : {}),
        ...((await programMissing(args)) ? { stale: true } : {}),
        hints: [`Cleanup hint: ${daemon || scope === "system" ? "sudo " : ""}launchctl bootout ${domain}/${label}`, `Cleanup hint: ${scope === "system" ? "sudo " : ""}rm ${path}`],
      });
    }
  }
  return found;
}

async function scanTasks(host: ServiceHost, own: OwnService): Promise<ExtraService[]> {
  const r = await host.run(["schtasks", "/Query", "/FO", "LIST"], { timeoutMs: 30_000 });
  if (r.code !== 0) return [];
  return gatewayTaskNames(r.stdout)
    .filter((n) => n !== own.name)
    .map((name) => ({
      platform: "win32" as const,
      label: name,
      detail: `task: ${name}`,
      scope: "user" as const,
      hints: [`Cleanup hint: schtasks /Delete /TN "${name}" /F`],
    }));
}

export async function scanGatewayServices(host: ServiceHost, own: OwnService, opts: { deep: boolean }): Promise<ExtraService[]> {
  try {
    if (host.platform === "linux") return await scanSystemd(host, own, opts.deep);
    if (host.platform === "darwin") return await scanLaunchd(host, own, opts.deep);
    if (host.platform === "win32") return opts.deep ? await scanTasks(host, own) : [];
  } catch {}
  return [];
}

/** Human lines for `--deep`. */
export function renderExtraServices(extra: ExtraService[]): string[] {
  if (extra.length === 0) return ["Other gateway-like services: none found"];
  const lines = ["Other gateway-like services detected (best effort):"];
  for (const s of extra) {
    const tags = [s.scope, s.detail, s.profile ? `profile ${s.profile}` : "", s.port ? `port ${s.port}` : "", s.legacy ? "legacy" : "", s.stale ? "stale: its program is missing" : ""].filter(Boolean);
    lines.push(`- ${s.label} (${tags.join(", ")})`);
    for (const h of s.hints) lines.push(`  ${h}`);
  }
  return lines;
}
