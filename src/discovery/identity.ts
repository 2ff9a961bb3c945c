/**
 * What a gateway beacon says about itself: the DNS-SD instance name, the host label, and the TXT
 * keys (exactly the seed's list). Shared by the mDNS beacon and the wide-area zone.
 *
 * TXT values are unauthenticated hints: clients route by SRV + A/AAAA, never by `lanHost`,
 * `tailnetDns` or `gatewayPort`, and nothing secret is ever put here.
 */
import type { Env } from "../config/paths.ts";
import type { MdnsMode } from "./container.ts";

export const SERVICE_TYPE = "_openclaw-gw._tcp";
export const MDNS_DOMAIN = "local";
export const SERVICE_FQDN = `${SERVICE_TYPE}.${MDNS_DOMAIN}`;
export const SERVICES_META_FQDN = `_services._dns-sd._udp.${MDNS_DOMAIN}`;

const LABEL_RE = /^[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?$/;
const INSTANCE_SUFFIX = " (OpenClaw)";

/** Cut `text` to at most `maxBytes` UTF-8 bytes without splitting a character. */
export function truncateUtf8(text: string, maxBytes: number): string {
  const enc = new TextEncoder();
  if (enc.encode(text).length <= maxBytes) return text;
  let out = "";
  let bytes = 0;
  for (const ch of text) {
    const n = enc.encode(ch).length;
    if (bytes + n > maxBytes) break;
    out += ch;
    bytes += n;
  }
  return out;
}

export function utf8Length(text: string): number {
  return new TextEncoder().encode(text).length;
}

/** `OpenClaw.Internal.` → `openclaw.internal.`; undefined unless it is a DNS name other than `local`. */
export function dnsDomain(raw: string): string | undefined {
  const name = raw.trim().replace(/\.$/, "").toLowerCase();
  if (!name || name.length > 253 || name === MDNS_DOMAIN || !name.split(".").every((l) => LABEL_RE.test(l))) return undefined;
  return `${name}.`;
}

/** A valid `OPENCLAW_MDNS_HOSTNAME` (one DNS label, `.local` allowed), else undefined. */
export function mdnsHostnameFromEnv(env: Env): string | undefined {
  const label = (env.OPENCLAW_MDNS_HOSTNAME ?? "").trim().replace(/\.local\.?$/i, "");
  return LABEL_RE.test(label) ? label : undefined;
}

/** `OPENCLAW_MDNS_HOSTNAME` > first label of the hostname when it is a DNS label > `openclaw`. */
export function hostLabelFrom(env: Env, hostname: string): string {
  const fromEnv = mdnsHostnameFromEnv(env);
  if (fromEnv) return fromEnv;
  const label = hostname.trim().replace(/\.local\.?$/i, "").split(".")[0] ?? "";
  return LABEL_RE.test(label) ? label : "openclaw";
}

/** The machine's display name: the hostname without `.local` and without a domain. */
export function machineDisplayName(hostname: string): string {
  const base = hostname.trim().replace(/\.local\.?$/i, "").split(".")[0]?.trim() ?? "";
  return base || "openclaw";
}

/**
 * `<name> (OpenClaw)` unless the name already says OpenClaw; at most 63 UTF-8 bytes (one DNS
 * label); dots become dashes because a DNS-SD instance label cannot carry a bare dot here.
 */
export function formatInstanceName(displayName: string): string {
  const name = displayName.replace(/[\x00-\x1f\x7f]/g, "").replace(/\./g, "-").trim();
  const formatted = /openclaw/i.test(name) ? name : `${name}${INSTANCE_SUFFIX}`;
  return truncateUtf8(formatted, 63).trim() || "OpenClaw";
}

/** The TXT `displayName`: the instance name without the ` (OpenClaw)` suffix. */
export function displayNameOf(instanceName: string): string {
  return instanceName.endsWith(INSTANCE_SUFFIX) ? instanceName.slice(0, -INSTANCE_SUFFIX.length) : instanceName;
}

/** The n-th conflict-free candidate: `name`, `name (2)`, `name (3)` … (still one label). */
export function renamedInstance(base: string, n: number): string {
  if (n <= 1) return base;
  const suffix = ` (${n})`;
  return `${truncateUtf8(base, 63 - utf8Length(suffix)).trimEnd()}${suffix}`;
}

/** `host`, `host-2`, `host-3` … (a valid DNS label). */
export function renamedHost(base: string, n: number): string {
  if (n <= 1) return base;
  const suffix = `-${n}`;
  return `${base.slice(0, 63 - suffix.length).replace(/-+$/, "")}${suffix}`;
}

export function parsePort(raw: string | undefined): number | undefined {
  if (raw === undefined) return undefined;
  const v = raw.trim();
  if (!/^\d{1,5}$/.test(v)) return undefined;
  const n = Number(v);
  return n >= 1 && n <= 65535 ? n : undefined;
}

/** `OPENCLAW_SSH_PORT`, validated; a bad value is reported and ignored. */
export function sshPortFromEnv(env: Env): { port?: number; warning?: string } {
  const raw = env.OPENCLAW_SSH_PORT;
  if (raw === undefined || raw.trim() === "") return {};
  const port = parsePort(raw);
  return port ? { port } : { warning: `ignoring OPENCLAW_SSH_PORT=${JSON.stringify(raw)} (not a port number)` };
}

/**
 * The advertised CLI path: `OPENCLAW_CLI_PATH` > the compiled binary itself > the script that
 * was run (`bun src/main.ts`).
 */
export function resolveCliPath(
  env: Env,
  proc: { execPath: string; argv: string[] } = process,
  compiled: boolean = Bun.isStandaloneExecutable ?? false,
): string | undefined {
  const fromEnv = env.OPENCLAW_CLI_PATH?.trim();
  if (fromEnv) return fromEnv;
  if (compiled || proc.argv[1]?.startsWith("/$bunfs/")) return proc.execPath;
  return proc.argv[1] || undefined;
}

export interface TxtInput {
  /** `mdns` (LAN beacon) or `wide-area` (unicast zone). */
  target: "mdns" | "wide-area";
  mode: Exclude<MdnsMode, "off">;
  /** Instance name (`host (OpenClaw)`); the TXT `displayName` is derived from it. */
  instanceName: string;
  hostLabel: string;
  gatewayPort: number;
  /** Only when the gateway itself serves TLS. */
  tls?: { sha256?: string };
  /** Undefined when the canvas host is disabled. */
  canvasPort?: number;
  tailnetDns?: string;
  /** Full mode: OPENCLAW_SSH_PORT (mDNS falls back to 22). */
  sshPort?: number;
  cliPath?: string;
}

/**
 * The TXT strings in the seed's order. Entries longer than 255 bytes cannot be encoded and are
 * left out (reported in `dropped`).
 */
export function buildTxt(input: TxtInput): { txt: string[]; dropped: string[] } {
  const entries: Array<[string, string | number | undefined]> = [];
  const full = input.mode === "full";
  const wide = input.target === "wide-area";
  if (wide) entries.push(["displayName", input.instanceName]);
  entries.push(["role", "gateway"], ["transport", "gateway"]);
  if (!wide) entries.push(["displayName", displayNameOf(input.instanceName)], ["lanHost", `${input.hostLabel}.local`]);
  entries.push(["gatewayPort", input.gatewayPort]);
  if (input.tls) {
    entries.push(["gatewayTls", "1"]);
    if (input.tls.sha256) entries.push(["gatewayTlsSha256", input.tls.sha256]);
  }
  entries.push(["canvasPort", input.canvasPort]);
  entries.push(["tailnetDns", input.tailnetDns]);
  if (full) {
    entries.push(["sshPort", wide ? input.sshPort : (input.sshPort ?? 22)]);
    entries.push(["cliPath", input.cliPath]);
  }
  const txt: string[] = [];
  const dropped: string[] = [];
  for (const [key, value] of entries) {
    if (value === undefined || value === "") continue;
    const entry = `${key}=${value}`;
    if (utf8Length(entry) > 255) dropped.push(key);
    else txt.push(entry);
  }
  return { txt, dropped };
}

/** TXT strings (or buffers) → `{key: value}`; the first occurrence of a key wins (RFC 6763 §6.4). */
export function parseTxt(strings: ReadonlyArray<string | Uint8Array>): Record<string, string> {
  const out: Record<string, string> = {};
  const seen = new Set<string>();
  const dec = new TextDecoder();
  for (const item of strings.slice(0, 256)) {
    const s = typeof item === "string" ? item : dec.decode(item);
    if (!s) continue;
    const eq = s.indexOf("=");
    const key = eq >= 0 ? s.slice(0, eq) : s;
    if (!key || seen.has(key.toLowerCase())) continue;
    seen.add(key.toLowerCase());
    out[key] = eq >= 0 ? s.slice(eq + 1) : "";
  }
  return out;
}
