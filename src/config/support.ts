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
  "plugins", "skills", "tools", "browser", "talk",
  "diagnostics", "update", "secrets", "auth", "mcp", "telemetry", "identity",
  "ui", "tui", "audio", "agent", "routing", "approvals", "sandbox", "nodeHost", "canvasHost",
  "web", "media", "broadcast", "workspace", "users", "themes", "logs", "accessGroups", "acp",
  "worktreeRoot", "worktreeAcceleration", "security", "attachments", "tts", "transcripts",
  "cloudWorkers", "desktop", "surfaces", "proxy",
  // Parts of the trees the gateway owns.
  "gateway.tailscale", "gateway.nodes.browser", "gateway.nodes.pairing.sshVerify",
  "gateway.nodes.pluginTools", "gateway.nodes.allowSkills", "gateway.nodes.commands", "gateway.push", "gateway.terminal",
  "gateway.cliAgents", "gateway.roles", "gateway.portals", "gateway.auth.allowTailscale",
  "models.catalogRefresh", "agents.ownership",
  // Read by earlier builds of this gateway; the original refuses it (memory.search.model replaces it).
  "agents.defaults.embeddingModel",
  // Chat: the channel host runs Telegram and Discord (`channels.telegram|discord|defaults`),
  // routes by `bindings`, scopes DM/group sessions (`session.dmScope|groupScope|mainKey`), reads
  // `commands.ownerAllowFrom` and `messages.ackReaction|ackReactionScope|groupChat|queue.cap`.
  // The original's other channels and the rest of those trees are kept, not acted on.
  "channels.whatsapp", "channels.irc", "channels.googlechat", "channels.slack", "channels.signal",
  "channels.imessage", "channels.feishu", "channels.nostr", "channels.buzz", "channels.msteams",
  "channels.mattermost", "channels.nextcloud-talk", "channels.matrix", "channels.raft", "channels.a2a",
  "channels.line", "channels.zalo", "channels.clickclack", "channels.zalouser", "channels.sms",
  "channels.synology-chat", "channels.tlon", "channels.qa-channel", "channels.reef", "channels.twitch",
  "channels.modelByChannel",
  "session.scope", "session.notifyOnCreate", "session.identityLinks", "session.reset", "session.resetByType",
  "session.resetByChannel", "session.resetTriggers", "session.store", "session.maintenance",
  "session.threadBindings", "session.sharing", "session.sendPolicy",
  "commands.native", "commands.nativeSkills", "commands.text", "commands.bash", "commands.bashForegroundMs",
  "commands.config", "commands.mcp", "commands.plugins", "commands.debug", "commands.restart", "commands.allowFrom",
  "messages.responsePrefix", "messages.statusReactions", "messages.queue.mode", "messages.queue.drop",
  "messages.queue.byChannel", "messages.queue.debounceMsByChannel", "messages.inbound", "messages.visibleReplies",
  "messages.usageTemplate", "messages.responseUsage",
  // Parts of cron and hooks the scheduler does not run (condition triggers, webhook delivery
  // settings, isolated-run session pruning, Gmail and transform presets, HOOK.md hooks).
  "cron.triggers", "cron.webhookToken", "cron.webhookSsrfPolicy", "cron.sessionRetention",
  "hooks.presets", "hooks.transformsDir", "hooks.gmail", "hooks.internal",
];

/**
 * Trees this gateway acts on only in part: every key set under the tree outside the listed
 * paths is reported (`memory.citations`, `memory.search.store`, …).
 */
export const PARTLY_IMPLEMENTED: Readonly<Record<string, readonly string[]>> = {
  // /v1/embeddings: the embedding provider, model and dimensions.
  memory: ["search.provider", "search.model", "search.outputDimensionality"],
};

const SPLIT = NOT_IMPLEMENTED.map((p) => p.split("."));

/** The NOT_IMPLEMENTED paths that `doc` sets (in list order), then what it sets in PARTLY_IMPLEMENTED trees outside their implemented paths. */
export function unsupportedKeys(doc: unknown): string[] {
  const out: string[] = [];
  for (const segs of SPLIT) {
    let cur: unknown = doc;
    for (const s of segs) cur = isPlainObject(cur) ? cur[s] : undefined;
    if (cur !== undefined) out.push(segs.join("."));
  }
  for (const [tree, implemented] of Object.entries(PARTLY_IMPLEMENTED)) {
    const value = isPlainObject(doc) ? doc[tree] : undefined;
    if (value !== undefined) outside(value, tree, implemented.map((p) => `${tree}.${p}`), out);
  }
  return out;
}

/** Paths under `path` that `value` sets and that are neither an implemented path nor on the way to one. */
function outside(value: unknown, path: string, implemented: string[], out: string[]): void {
  if (implemented.includes(path)) return;
  const below = implemented.filter((p) => p.startsWith(`${path}.`));
  if (below.length === 0 || !isPlainObject(value)) {
    out.push(path);
    return;
  }
  for (const [key, child] of Object.entries(value)) if (child !== undefined) outside(child, `${path}.${key}`, below, out);
}

/**
 * Keys this gateway reads that the original's schema refuses (its `config validate` fails with
 * them, and so do its `gateway status --deep`, `devices list`, `dashboard`). They work here, but
 * a file holding them no longer loads in the official CLI: `doctor` says so. Checked against the
 * official CLI by test/config/original-config.test.ts.
 */
export const ORIGINAL_REFUSES: readonly string[] = [
  "gateway.reload.debounceMs",
  "gateway.reload.deferralTimeoutMs",
  "gateway.http.cors",
  "gateway.http.endpoints.models",
  "gateway.http.endpoints.embeddings",
  "gateway.http.endpoints.toolsInvoke",
  "discovery.wideArea.enabled",
  "agents.defaults.embeddingModel",
  "agents.defaults.systemPrompt",
  "agents.defaults.name",
];

/** The ORIGINAL_REFUSES paths that `doc` sets, plus `gateway.reload.mode` values it refuses (hot, restart). */
export function keysOriginalRefuses(doc: unknown): string[] {
  const out: string[] = [];
  for (const path of ORIGINAL_REFUSES) {
    let cur: unknown = doc;
    for (const s of path.split(".")) cur = isPlainObject(cur) ? cur[s] : undefined;
    if (cur !== undefined) out.push(path);
  }
  const gw = isPlainObject(doc) && isPlainObject(doc.gateway) ? doc.gateway : undefined;
  const mode = isPlainObject(gw?.reload) ? gw.reload.mode : undefined;
  if (mode === "hot" || mode === "restart") out.push(`gateway.reload.mode=${mode}`);
  return out;
}

/** The one line the gateway logs at startup and `doctor` reports. */
export function unsupportedMessage(keys: readonly string[]): string {
  return `config keys not supported by this gateway (kept in the file, not acted on): ${keys.join(", ")}`;
}
