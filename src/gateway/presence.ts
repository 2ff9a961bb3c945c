/**
 * Presence: the gateway's own `self` entry plus one entry per non-ephemeral client
 * (UIs, apps, nodes). CLI, probe and backend connections are ephemeral and not listed.
 * A client that leaves stays listed with reason "disconnect" for a while, then is pruned.
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
    this.clients.set(key, entry);
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
