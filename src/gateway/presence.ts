/**
 * Presence: the gateway's own `self` entry plus one entry per non-ephemeral client
 * (UIs, apps, nodes). CLI, probe and backend connections are ephemeral and not listed.
 * A client that leaves stays listed with reason "disconnect" for a while, then is pruned.
 *
 * Bounded, because every change is broadcast to every reader: at most MAX_PRESENCE_ENTRIES
 * entries (the original's 200, self included; departed clients go first, then the least
 * recently seen), and every client-supplied string is cut to a length no real client needs
 * (the original bounds `timeZone` at 64; its other fields only by the 64 KB pre-auth frame,
 * which let one client push 60 KB names to every reader on every connect).
 */
import { hostname, networkInterfaces, platform, release } from "node:os";
import { VERSION } from "../version.ts";

export interface PresenceEntry {
  host?: string;
  clientId?: string;
  ip?: string;
  version?: string;
  platform?: string;
  deviceFamily?: string;
  modelIdentifier?: string;
  timeZone?: string;
  mode?: string;
  reason?: string;
  text?: string;
  ts: number;
  deviceId?: string;
  roles?: string[];
  scopes?: string[];
  instanceId?: string;
}

const DISCONNECTED_TTL_MS = 5 * 60_000;
/** Entries in a presence list, the gateway's own included (the original's limit). */
export const MAX_PRESENCE_ENTRIES = 200;
/** UTF-16 code units kept of a client-supplied string field. */
export const MAX_PRESENCE_FIELD = 200;
export const MAX_PRESENCE_TIMEZONE = 64;
export const MAX_PRESENCE_TEXT = 512;
/** Roles / scopes listed per entry, each cut like a field. */
export const MAX_PRESENCE_LIST = 16;

/** Cut without leaving half of a surrogate pair at the end. */
export function truncateUtf16(text: string, max: number): string {
  if (text.length <= max) return text;
  let end = max;
  const last = text.charCodeAt(end - 1);
  if (last >= 0xd800 && last <= 0xdbff) end--;
  return text.slice(0, end);
}

const STRING_FIELDS = ["host", "clientId", "ip", "version", "platform", "deviceFamily", "modelIdentifier", "mode", "reason", "deviceId", "instanceId"] as const;

/** The entry with every string and list bounded (non-strings in string fields are dropped). */
export function boundPresence(entry: PresenceEntry): PresenceEntry {
  const out: PresenceEntry = { ...entry };
  for (const key of STRING_FIELDS) {
    const v = out[key];
    if (v === undefined) continue;
    if (typeof v !== "string") delete out[key];
    else out[key] = truncateUtf16(v, MAX_PRESENCE_FIELD);
  }
  if (out.timeZone !== undefined) out.timeZone = typeof out.timeZone === "string" ? truncateUtf16(out.timeZone, MAX_PRESENCE_TIMEZONE) : undefined;
  if (out.text !== undefined) out.text = typeof out.text === "string" ? truncateUtf16(out.text, MAX_PRESENCE_TEXT) : undefined;
  for (const key of ["roles", "scopes"] as const) {
    const list = out[key];
    if (list === undefined) continue;
    out[key] = Array.isArray(list)
      ? list
          .filter((x): x is string => typeof x === "string")
          .slice(0, MAX_PRESENCE_LIST)
          .map((x) => truncateUtf16(x, MAX_PRESENCE_FIELD))
      : undefined;
  }
  return out;
}
const EPHEMERAL_MODES = new Set(["cli", "probe", "backend", "test"]);

export function isEphemeralClient(mode: string): boolean {
  return EPHEMERAL_MODES.has(mode);
}

export function primaryIPv4(): string {
  for (const addrs of Object.values(networkInterfaces())) {
    for (const a of addrs ?? []) if (a.family === "IPv4" && !a.internal) return a.address;
  }
  return "127.0.0.1";
}

export function deviceFamilyOf(p: string = platform()): string {
  if (p === "darwin") return "Mac";
  if (p === "win32") return "Windows";
  if (p === "linux") return "Linux";
  return p;
}

export class PresenceStore {
  private clients = new Map<string, PresenceEntry>();
  private readonly host = hostname();
  private readonly ip = primaryIPv4();

  constructor(private readonly instanceId: string) {}

  self(now = Date.now()): PresenceEntry {
    return {
      host: this.host,
      ip: this.ip,
      version: VERSION,
      platform: `${platform()} ${release()}`,
      deviceFamily: deviceFamilyOf(),
      mode: "gateway",
      reason: "self",
      instanceId: this.instanceId,
      text: `Gateway: ${this.host} (${this.ip}) · app ${VERSION} · mode gateway · reason self`,
      ts: now,
    };
  }

  upsert(key: string, entry: PresenceEntry): void {
    this.clients.delete(key); // re-inserted last: Map order is then least recently seen first
    this.clients.set(key, boundPresence(entry));
    this.trim();
  }

  get size(): number {
    return this.clients.size + 1;
  }

  /** Keep MAX_PRESENCE_ENTRIES - 1 clients: drop departed ones first, then the least recently seen. */
  private trim(): void {
    let excess = this.clients.size - (MAX_PRESENCE_ENTRIES - 1);
    if (excess <= 0) return;
    for (const [key, entry] of this.clients) {
      if (excess <= 0) return;
      if (entry.reason === "disconnect") {
        this.clients.delete(key);
        excess--;
      }
    }
    const byAge = [...this.clients.entries()].sort((a, b) => a[1].ts - b[1].ts);
    for (const [key] of byAge.slice(0, excess)) this.clients.delete(key);
  }

  /** Mark a client gone; returns false when it was never listed. */
  disconnect(key: string, now = Date.now()): boolean {
    const entry = this.clients.get(key);
    if (!entry) return false;
    this.clients.set(key, { ...entry, reason: "disconnect", ts: now });
    return true;
  }

  list(now = Date.now()): PresenceEntry[] {
    for (const [key, entry] of this.clients) {
      if (entry.reason === "disconnect" && now - entry.ts > DISCONNECTED_TTL_MS) this.clients.delete(key);
    }
    return [this.self(now), ...this.clients.values()];
  }
}
