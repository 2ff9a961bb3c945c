/**
 * Config keys this gateway accepts and keeps but does not act on yet.
 *
 * A config written by the original OpenClaw must load unchanged, so the schema accepts the
 * original's trees (schema.ts); the writer never drops them. What the gateway does not
 * implement is not silently ignored either: the gateway logs the list once at startup and
 * `openclaw doctor` reports it. When a part of the gateway starts acting on one of these keys,
 * remove it from the list (and give it a real schema in schema.ts).
 */
import { isPlainObject } from "./keypath.ts";

/** Key paths (dot-separated) present in a config that this gateway does not implement. */
export const NOT_IMPLEMENTED: readonly string[] = [
  // Whole trees.
  "channels", "plugins", "skills", "tools", "hooks", "cron", "session", "messages", "browser", "talk",
  "diagnostics", "update", "secrets", "auth", "bindings", "commands", "mcp", "telemetry", "identity",
  "ui", "tui", "audio", "agent", "routing", "memory", "approvals", "sandbox", "nodeHost", "canvasHost",
  "web", "media", "broadcast", "workspace", "users", "themes", "logs", "accessGroups", "acp",
  "worktreeRoot", "worktreeAcceleration", "security", "attachments", "tts", "transcripts",
  "cloudWorkers", "desktop", "surfaces", "proxy",
  // Parts of the trees the gateway owns.
  "gateway.tls", "gateway.tailscale", "gateway.nodes", "gateway.push", "gateway.terminal",
  "gateway.cliAgents", "gateway.roles", "gateway.portals", "gateway.auth.allowTailscale",
  "models.catalogRefresh", "agents.ownership",
];

const SPLIT = NOT_IMPLEMENTED.map((p) => p.split("."));

/** The NOT_IMPLEMENTED paths that `doc` sets (in list order). */
export function unsupportedKeys(doc: unknown): string[] {
  const out: string[] = [];
  for (const segs of SPLIT) {
    let cur: unknown = doc;
    for (const s of segs) cur = isPlainObject(cur) ? cur[s] : undefined;
    if (cur !== undefined) out.push(segs.join("."));
  }
  return out;
}

/** The one line the gateway logs at startup and `doctor` reports. */
export function unsupportedMessage(keys: readonly string[]): string {
  return `config keys not supported by this gateway (kept in the file, not acted on): ${keys.join(", ")}`;
}
