/**
 * The scopes catalogue: every RPC method the original OpenClaw 2026.9.6 knows, with the operator
 * scope it needs, and the one authorization rule every call goes through (`authorizeMethod`).
 * The method registry takes each method's scope from here and refuses a method that is not
 * listed or that names another scope (methods/index.ts), so a family added by any part of the
 * gateway is held to the original's policy.
 *
 * The rule, in the original's order:
 *   1. `health` may be called by any authenticated socket (any role, no scope).
 *   2. Node methods (`node.event`, `node.invoke.result`, …) are for role `node` only; every other
 *      method is for role `operator` only: `unauthorized role: <role>`. A node passes on to its
 *      method (nodes carry no operator scopes).
 *   3. `device.scopes.requestUpgrade` / `waitUpgrade` need no scope (a device asking for more).
 *   4. `operator.admin` passes everything.
 *   5. Otherwise the method's scope must be held (`operator.write` implies read, talk and the
 *      session scopes; read implies `operator.sessions.read`). Dynamic methods compute their
 *      scopes from the params (`agent` with `/new` or `/reset` needs admin; `channels.pairing.approve`
 *      with `bootstrapCommandOwner` needs admin; …). Session methods would also pass with the
 *      narrower session scope (a read of a session with `operator.sessions.read`, a session
 *      mutation with `operator.sessions.write`) for a caller with a verified user profile; there
 *      are no user profiles here, so such a caller gets the original's answer for a caller
 *      without one (`Session-scoped access requires a verified user profile.`).
 *   6. A method this table does not know needs `operator.admin` (so only an admin learns that it
 *      is an `unknown method`).
 * A refusal is `FORBIDDEN` `missing scope: <scope>` with `details {code: "MISSING_SCOPE",
 * missingScope, requiredScopes}`. Role failures and the unknown-method answer are INVALID_REQUEST.
 *
 * A method listed here that this gateway does not serve answers `unknown method: <name>` to a
 * caller that passed the check (an absent feature).
 */
import { ErrorCodes, Messages, RpcError, ScopeMessages } from "./errors.ts";
import { ADMIN, hasScope, isScope, READ, WRITE, type Scope } from "./scopes.ts";

const PAIRING: Scope = "operator.pairing";
const TALK_SECRETS: Scope = "operator.talk.secrets";
const SESSIONS_READ: Scope = "operator.sessions.read";
const SESSIONS_WRITE: Scope = "operator.sessions.write";

// ---- the static table (names sorted within each scope) ----------------------------------------

const READ_METHODS = [
  "agent.identity.get", "agents.files.get", "agents.files.list", "agents.list", "agents.workspace.get",
  "agents.workspace.list", "artifacts.download", "artifacts.get", "artifacts.list", "assistant.media.get",
  "audit.activity.list", "audit.list", "audit.run.inspect", "board.data.read", "board.get",
  "board.prompt.authorize", "board.widget.appView", "canvas.document.preview", "canvas.document.view",
  "channels.status", "chat.history", "chat.message.get", "chat.metadata", "chat.startup", "commands.list",
  "computer.status", "config.get", "config.schema", "config.schema.lookup", "controlUi.githubDetail",
  "controlUi.githubPreview", "controlUi.linkPreview", "controlUi.sessionPreview",
  "controlUi.sessionPullRequests.checks", "controlUi.sessionPullRequests.subscribe", "cron.get", "cron.list",
  "cron.runs", "cron.status", "device.scopes.requestUpgrade", "device.scopes.waitUpgrade",
  "diagnostics.lanes", "diagnostics.stability", "doctor.memory.dreamDiary", "doctor.memory.status",
  "environments.session.status", "environments.status", "gateway.identity.get", "gateway.restart.preflight",
  "gateway.suspend.status", "health", "hooks.status", "last-heartbeat", "logs.tail", "mcp.app.listResourceTemplates",
  "mcp.app.listResources", "mcp.app.listTools", "mcp.app.readResource", "mcp.app.view", "memory.search",
  "mentions.dismiss", "mentions.list", "models.authStatus", "models.list", "node.describe", "node.list",
  "plugin.surface.refresh", "plugins.catalog.browse", "plugins.catalog.categories", "plugins.catalog.get",
  "plugins.controlUi.list", "plugins.controlUi.report", "plugins.inspect", "plugins.list", "plugins.search",
  "plugins.skills.read", "plugins.uiDescriptors", "portal.list", "progressCard.get", "projects.list",
  "projects.searchRemote", "push.web.preferences.get", "session.discussion.info", "session.members.list",
  "session.members.listEvidence", "session.suggestions.list", "sessions.branches.list",
  "sessions.catalog.list", "sessions.catalog.read", "sessions.companion.ask", "sessions.companion.state",
  "sessions.describe", "sessions.diff", "sessions.files.get", "sessions.files.list", "sessions.get",
  "sessions.github.options", "sessions.github.status", "sessions.groups.list", "sessions.list",
  "sessions.messages.subscribe", "sessions.messages.unsubscribe", "sessions.observer.visibility",
  "sessions.preview", "sessions.resolve", "sessions.search", "sessions.setInvolvement", "sessions.subscribe",
  "sessions.usage", "sessions.usage.logs", "sessions.usage.timeseries", "sessions.viewers.set",
  "skills.curator.status", "skills.detail", "skills.library.list", "skills.library.read",
  "skills.proposals.events.list", "skills.proposals.historyStatus", "skills.proposals.inspect",
  "skills.proposals.list", "skills.search", "skills.securityVerdicts", "skills.skillCard", "skills.status",
  "skills.workshop.read", "status", "system-presence", "system.info", "talk.catalog", "taskSuggestions.list",
  "tasks.get", "tasks.history", "tasks.list", "themes.get", "themes.list", "tools.catalog", "tools.effective",
  "tools.github.status", "transcripts.export", "transcripts.get", "transcripts.list", "transcripts.status",
  "tts.personas", "tts.providers", "tts.status", "usage.cost", "usage.status",
  "users.github.authorize.cancel", "users.github.authorize.poll", "users.github.authorize.start",
  "users.github.disconnect", "users.github.status", "users.list", "users.listAuthLinks",
  "users.listModelAccounts", "users.mentionable", "users.prefs.get", "users.self", "voicewake.get",
  "voicewake.routing.get", "webSearch.status", "worktrees.list",
];
const WRITE_METHODS = [
  "agent.wait", "board.action", "board.event", "board.update", "board.widget.put", "chat.abort", "chat.send",
  "chat.toolTitles", "computer.invoke", "doctor.memory.backfillDreamDiary", "doctor.memory.dedupeDreamDiary",
  "doctor.memory.repairDreamingArtifacts", "doctor.memory.resetDreamDiary",
  "doctor.memory.resetGroundedShortTerm", "mcp.app.callTool", "mcp.app.updateModelContext", "message.action",
  "node.pending.enqueue", "poll", "portal.close", "portal.open", "progressCard.put", "progressCard.refresh",
  "projects.add", "push.test", "push.web.preferences.set", "push.web.subscribe", "push.web.test",
  "push.web.unsubscribe", "push.web.vapidPublicKey", "send", "session.discussion.open", "session.members.add",
  "session.members.remove", "session.publicShare.set", "session.suggestions.add",
  "session.suggestions.resolve", "session.typing", "session.visibility.set", "sessions.abort",
  "sessions.activitySummary.ensure", "sessions.assignOwner", "sessions.catalog.archive",
  "sessions.catalog.continue", "sessions.companion.reset", "sessions.fork", "sessions.github.confirm",
  "sessions.goal.clear", "sessions.goal.update", "sessions.groups.defaults", "sessions.groups.delete",
  "sessions.groups.put", "sessions.groups.rename", "sessions.groups.update",
  "sessions.providerReview.continue", "sessions.reclaim", "sessions.recover", "sessions.send",
  "sessions.steer", "sessions.title.prepare", "skills.library.activate", "skills.library.import",
  "skills.library.mutate", "skills.library.save", "skills.library.upload", "taskSuggestions.create",
  "taskSuggestions.dismiss", "tasks.cancel", "tasks.dismiss", "tasks.retry", "themes.import", "themes.set",
  "tools.invoke", "transcripts.summarize", "tts.convert", "tts.disable", "tts.enable", "tts.setPersona",
  "tts.setProvider", "tts.speak", "ui.command", "users.authConnect.answer", "users.authConnect.cancel",
  "users.authConnect.catalog", "users.authConnect.start", "users.authConnect.status", "users.prefs.set",
  "users.selectModelAccount", "users.setAvatar", "users.setDisplayName", "users.unlinkAuthProfile",
  "voicewake.set", "wake", "worktrees.branches", "worktrees.create",
];
const ADMIN_METHODS = [
  "agents.create", "agents.delete", "agents.files.set", "agents.update", "attach.grant", "attach.revoke",
  "channels.logout", "channels.start", "channels.stop", "chat.inject", "claws.monitors",
  "claws.packages.remove", "config.apply", "config.openFile", "config.patch", "config.set", "connect",
  "conversations.list", "conversations.send", "conversations.turn", "conversations.turn.cancel", "cron.add",
  "cron.remove", "cron.run", "cron.scratch.get", "cron.scratch.set", "cron.update", "desktop.launch",
  "desktop.observe", "desktop.release", "device.pair.setupCode", "device.pair.setupStatus",
  "diagnostics.cpuProfile", "diagnostics.heapProfile", "environments.create", "environments.destroy",
  "environments.prepare", "environments.session.create", "environments.session.destroy",
  "environments.session.exec", "exec.approvals.get", "exec.approvals.node.get", "exec.approvals.node.set",
  "exec.approvals.set", "gateway.restart.request", "gateway.suspend.handoff", "gateway.suspend.prepare",
  "gateway.suspend.resume", "mcp.authLogin", "migrations.memory.apply", "migrations.memory.plan",
  "models.authLogin", "models.authLogout", "models.authOrderSet", "models.authRefresh",
  "models.authSetApiKey", "models.probe", "nativeHook.invoke", "openclaw.changes.list", "openclaw.chat",
  "openclaw.chat.history", "openclaw.setup.activate", "openclaw.setup.activate.start",
  "openclaw.setup.auth.start", "openclaw.setup.detect", "openclaw.setup.prepare.start",
  "openclaw.setup.verify", "plugins.controlUi.reload", "plugins.controlUi.status",
  "plugins.credentials.inspect", "plugins.install", "plugins.refresh", "plugins.reload", "plugins.setEnabled",
  "plugins.uninstall", "projects.register", "projects.remove", "secrets.reload", "secrets.resolve",
  "secrets.store.delete", "secrets.store.list", "secrets.store.set", "sessions.branches.switch",
  "sessions.catalog.startTerminal", "sessions.cleanup", "sessions.compact", "sessions.files.reveal",
  "sessions.files.set", "sessions.pluginPatch", "sessions.reset", "sessions.rewind", "sessions.storage.run",
  "sessions.storage.status", "set-heartbeats", "skills.curator.pin", "skills.curator.restore",
  "skills.curator.unpin", "skills.install", "skills.proposals.apply", "skills.proposals.create",
  "skills.proposals.evaluate", "skills.proposals.historyScan", "skills.proposals.quarantine",
  "skills.proposals.reject", "skills.proposals.requestRevision", "skills.proposals.revise",
  "skills.proposals.update", "skills.update", "skills.upload.begin", "skills.upload.chunk",
  "skills.upload.commit", "system-event", "taskSuggestions.accept", "terminal.attach", "terminal.close",
  "terminal.input", "terminal.list", "terminal.open", "terminal.resize", "terminal.upload",
  "tools.github.authorize.cancel", "tools.github.authorize.poll", "tools.github.authorize.start",
  "tools.github.configure", "update.hold", "update.report", "update.run", "update.runs.get",
  "update.runs.list", "update.status", "users.linkAuthProfile", "users.linkChannelIdentity",
  "users.linkEmail", "users.listChannelIdentities", "users.setRole", "users.unlinkChannelIdentity",
  "web.login.start", "web.login.wait", "webSearch.test", "wizard.cancel", "wizard.next", "wizard.start",
  "wizard.status", "worker.desktop.launch", "worker.desktop.observe", "worktrees.gc", "worktrees.remove",
  "worktrees.restore",
];
const PAIRING_METHODS = [
  "channels.pairing.dismiss", "channels.pairing.list", "device.pair.approve", "device.pair.list",
  "device.pair.reject", "device.pair.remove", "device.pair.rename", "device.token.revoke",
  "device.token.rotate", "node.pair.approve", "node.pair.list", "node.pair.reject", "node.pair.remove",
  "node.rename",
];
const APPROVALS_METHODS = [
  "approval.get", "approval.history", "approval.resolve", "board.widget.grant", "exec.approval.get",
  "exec.approval.grants.list", "exec.approval.grants.revoke", "exec.approval.list", "exec.approval.request",
  "exec.approval.resolve", "exec.approval.waitDecision", "openclaw.approval.list", "plugin.approval.list",
  "plugin.approval.request", "plugin.approval.resolve", "plugin.approval.waitDecision",
];
const QUESTIONS_METHODS = [
  "question.get", "question.list", "question.request", "question.resolve", "question.waitAnswer",
];
const TALK_METHODS = [
  "talk.client.close", "talk.client.create", "talk.client.steer", "talk.client.toolCall",
  "talk.client.transcript", "talk.mode", "talk.session.acknowledgeMark", "talk.session.appendAudio",
  "talk.session.cancelOutput", "talk.session.close", "talk.session.create", "talk.session.steer",
  "talk.session.submitToolResult", "talk.speak", "talk.voice.complete", "talk.voice.get", "talk.voice.set",
];
const SESSIONS_WRITE_METHODS = [
  "sessions.github.publish",
];
const NODE_METHODS = [
  "node.event", "node.invoke.progress", "node.invoke.result", "node.pending.ack", "node.pending.drain",
  "node.pending.pull", "node.pluginSurface.refresh", "node.pluginTools.update", "node.runnerInventory.update",
  "node.skills.update", "skills.bins",
];

/** Methods whose scopes depend on their params (see `dynamicScopes`). */
const DYNAMIC_METHODS = [
  "agent", "channels.pairing.approve", "environments.list", "fs.listDir", "node.invoke", "plugins.sessionAction",
  "sessions.create", "sessions.delete", "sessions.dispatch", "sessions.move", "sessions.patch", "sessions.patchMany",
  "talk.config",
] as const;

/** What a method needs: an operator scope, role `node`, or params-dependent. */
export type CatalogueEntry = Scope | "node" | "dynamic";

const TABLE = new Map<string, CatalogueEntry>();
for (const [scope, names] of [
  [READ, READ_METHODS],
  [WRITE, WRITE_METHODS],
  [ADMIN, ADMIN_METHODS],
  [PAIRING, PAIRING_METHODS],
  ["operator.approvals", APPROVALS_METHODS],
  ["operator.questions", QUESTIONS_METHODS],
  ["operator.talk", TALK_METHODS],
  [SESSIONS_WRITE, SESSIONS_WRITE_METHODS],
  ["node", NODE_METHODS],
  ["dynamic", DYNAMIC_METHODS],
] as const) {
  for (const name of names) {
    if (TABLE.has(name)) throw new Error(`method-scopes: ${name} listed twice`);
    TABLE.set(name, scope);
  }
}

/** Every method name the original knows, with its entry. */
export const METHOD_SCOPES: ReadonlyMap<string, CatalogueEntry> = TABLE;

/** The catalogue's entry for a method; undefined when the original does not know it. */
export function catalogueEntry(method: string): CatalogueEntry | undefined {
  return TABLE.get(method);
}

/** Role `node` only. */
export function isNodeMethod(method: string): boolean {
  return TABLE.get(method) === "node";
}

// ---- session scopes ---------------------------------------------------------------------------

/** Session reads that also pass with `operator.sessions.read`. */
const SESSION_READS = new Set([
  "chat.history", "chat.message.get", "chat.metadata", "chat.startup", "session.members.list", "session.members.listEvidence",
  "sessions.branches.list", "sessions.describe", "sessions.files.get", "sessions.files.list", "sessions.get", "sessions.list",
  "sessions.messages.subscribe", "sessions.messages.unsubscribe", "sessions.preview", "sessions.resolve", "sessions.search",
  "sessions.setInvolvement", "sessions.subscribe", "sessions.viewers.set",
]);

/** Session mutations that also pass with `operator.sessions.write` (unless their params make them admin). */
const SESSION_WRITES = new Set([
  "chat.abort", "chat.send", "question.get", "question.list", "question.request", "question.resolve", "question.waitAnswer",
  "sessions.abort", "sessions.create", "sessions.delete", "sessions.fork", "sessions.goal.clear", "sessions.goal.update",
  "sessions.patch", "sessions.patchMany", "sessions.recover", "sessions.send", "sessions.steer",
]);

type Params = Record<string, unknown> | undefined;

const record = (v: unknown): Params => (v !== null && typeof v === "object" && !Array.isArray(v) ? (v as Record<string, unknown>) : undefined);

/** `sessions.patch` fields a writer may change; anything else (or `permissionMode: "full"`, `sandboxMode`) is admin. */
const PATCH_WRITE_FIELDS = new Set([
  "label", "autoLabel", "icon", "color", "category", "boardFace", "boardPresentation", "pinned", "archived", "unread", "model",
  "agentRuntime", "thinkingLevel", "fastMode", "permissionMode",
]);
const PATCH_ENVELOPE_FIELDS = new Set(["key", "agentId", "expectedSessionId", "expectedLifecycleRevision", "expectedPermissionMode", "expectedMarkedUnreadAt"]);
const DELETE_WRITE_FIELDS = new Set(["key", "agentId", "deleteTranscript", "expectedSessionId", "archivedOnly"]);
const INCOGNITO_KEY = /(^|:)incognito(:|$)/;

function patchScope(patch: Params, allowEnvelope: boolean): Scope {
  if (!patch) return WRITE;
  if (patch.permissionMode === "full" || Object.hasOwn(patch, "sandboxMode")) return ADMIN;
  return Object.keys(patch).every((k) => PATCH_WRITE_FIELDS.has(k) || (allowEnvelope && PATCH_ENVELOPE_FIELDS.has(k))) ? WRITE : ADMIN;
}

/** The scope a session mutation needs for these params (write, or admin for the powerful variants). */
function sessionMutationScope(method: string, p: Params): Scope | undefined {
  switch (method) {
    case "sessions.recover":
      return WRITE;
    case "sessions.patch":
      return patchScope(p, true);
    case "sessions.patchMany":
      return p ? patchScope(record(p.patch), false) : WRITE;
    case "sessions.create": {
      if (!p) return WRITE;
      const incognito = (v: unknown) => typeof v === "string" && INCOGNITO_KEY.test(v);
      const admin =
        p.incognito === true || incognito(p.key) || incognito(p.parentSessionKey) || Object.hasOwn(p, "execNode") || Object.hasOwn(p, "toolOverrides") || p.permissionMode === "full";
      return admin ? ADMIN : WRITE;
    }
    case "sessions.delete":
      if (!p || p.archivedOnly !== true) return ADMIN;
      return Object.keys(p).every((k) => DELETE_WRITE_FIELDS.has(k)) ? WRITE : ADMIN;
    case "sessions.dispatch":
      // Placing a session on a profile is admin; on a device (or any device) a write. Params that
      // are not a valid dispatch stay at write (the method refuses them anyway).
      return isProfileDispatch(p) ? ADMIN : WRITE;
    case "sessions.move":
      return isProfileMove(p) ? ADMIN : WRITE;
    default:
      return undefined;
  }
}

const DISPATCH_FIELDS = new Set(["key", "agentId", "profileId", "deviceId", "autoDevice", "machineClass", "os"]);
const MOVE_FIELDS = new Set(["key", "agentId", "expected", "target", "abandonSource"]);
const nonEmpty = (v: unknown) => typeof v === "string" && v.length > 0;

function isProfileDispatch(p: Params): boolean {
  return (
    p !== undefined &&
    Object.keys(p).every((k) => DISPATCH_FIELDS.has(k)) &&
    nonEmpty(p.key) &&
    nonEmpty(p.profileId) &&
    p.deviceId === undefined &&
    p.autoDevice === undefined
  );
}

function isProfileMove(p: Params): boolean {
  return p !== undefined && Object.keys(p).every((k) => MOVE_FIELDS.has(k)) && nonEmpty(p.key) && record(p.expected) !== undefined && record(p.target)?.kind === "profile";
}

/** The narrower session scope that also authorizes this call, if any. */
function sessionScopeFor(method: string, p: Params): Scope | undefined {
  if (SESSION_READS.has(method)) return SESSIONS_READ;
  if (SESSION_WRITES.has(method) && sessionMutationScope(method, p) !== ADMIN) return SESSIONS_WRITE;
  return undefined;
}

// ---- dynamic methods --------------------------------------------------------------------------

/** Commands `node.invoke` may only relay for an admin (they cross the node's host boundary). */
const ADMIN_ONLY_NODE_COMMANDS = new Set(["browser.proxy", "browser.proxy.upload.v1", "fs.listDir", "terminal.upload"]);
/** `agent` messages that reset the session. */
const RESET_COMMAND = /^\/(new|reset)(?:\s+([\s\S]*))?$/i;

function dynamicScopes(method: string, p: Params): Scope[] {
  switch (method) {
    case "agent":
      return typeof p?.message === "string" && RESET_COMMAND.test(p.message) ? [ADMIN] : [WRITE];
    case "node.invoke":
      return typeof p?.command === "string" && ADMIN_ONLY_NODE_COMMANDS.has(p.command) ? [ADMIN] : [WRITE];
    case "talk.config":
      return p?.includeSecrets === true ? [READ, TALK_SECRETS] : [READ];
    case "environments.list":
      return typeof p?.runtimeId === "string" && p.runtimeId ? [WRITE] : [READ];
    case "channels.pairing.approve":
      return p?.bootstrapCommandOwner === true ? [PAIRING, ADMIN] : [PAIRING];
    case "fs.listDir":
      return [p && Object.hasOwn(p, "nodeId") ? ADMIN : WRITE];
    case "sessions.delete":
      return [sessionMutationScope(method, p) ?? ADMIN];
    case "sessions.create":
    case "sessions.patch":
    case "sessions.patchMany":
    case "sessions.dispatch":
    case "sessions.move":
      return [sessionMutationScope(method, p) ?? WRITE];
    default:
      // plugins.sessionAction: no plugin actions are registered here, so the default write.
      return [WRITE];
  }
}

/**
 * The scopes a call needs (what a least-privilege client asks for when it connects to make this
 * call): none for node methods, admin for a method the catalogue does not know.
 */
export function requiredScopes(method: string, params?: unknown): Scope[] {
  const entry = TABLE.get(method);
  if (entry === "node") return [];
  if (entry === "dynamic") return dynamicScopes(method, record(params));
  if (entry !== undefined) return [entry];
  return [ADMIN];
}

/** What a registered method must declare: its static scope (dynamic methods: with no params), `bypass` for `health`. */
export function registryScope(method: string): Scope | "bypass" | "node" | undefined {
  const entry = TABLE.get(method);
  if (entry === undefined) return undefined;
  if (method === "health") return "bypass";
  if (entry === "dynamic") return dynamicScopes(method, undefined)[0];
  return entry;
}

// ---- the check --------------------------------------------------------------------------------

export interface Caller {
  role: string;
  scopes: readonly string[];
}

export type Authorization = { ok: true; roleDenied?: undefined } | { ok: false; error: RpcError; roleDenied: boolean };

/** The `missing scope` refusal. */
export function missingScopeRefusal(missing: string, required: readonly string[]): RpcError {
  return new RpcError(ErrorCodes.FORBIDDEN, Messages.missingScope(missing), {
    code: "MISSING_SCOPE",
    missingScope: missing,
    requiredScopes: required.length > 0 ? [...required] : [missing],
  });
}

function holds(scopes: readonly string[], scope: Scope): boolean {
  return hasScope(scopes, scope);
}

/** Decide whether `caller` may call `method` with `params` (see the module comment). */
export function authorizeMethod(method: string, caller: Caller, params?: unknown): Authorization {
  if (method === "health") return { ok: true };
  if (caller.role !== "operator" && caller.role !== "node") {
    return { ok: false, error: new RpcError(ErrorCodes.INVALID_REQUEST, Messages.unauthorizedRole(caller.role)), roleDenied: true };
  }
  const nodeMethod = isNodeMethod(method);
  if (nodeMethod !== (caller.role === "node")) {
    return { ok: false, error: new RpcError(ErrorCodes.INVALID_REQUEST, Messages.unauthorizedRole(caller.role)), roleDenied: true };
  }
  if (caller.role === "node") return { ok: true };
  if (method === "device.scopes.requestUpgrade" || method === "device.scopes.waitUpgrade") return { ok: true };
  const scopes = caller.scopes.filter(isScope);
  if (scopes.includes(ADMIN)) return { ok: true };
  const p = record(params);
  const named = (v: unknown) => typeof v === "string" && v.trim().length > 0;
  if (method === "plugins.sessionAction" && p && !(named(p.pluginId) && named(p.actionId))) {
    // An action that names no plugin action asks nothing of the caller beyond being an operator.
    return scopes.length > 0 ? { ok: true } : { ok: false, error: missingScopeRefusal(WRITE, [WRITE]), roleDenied: false };
  }
  const required = requiredScopes(method, p);
  const missing = required.find((s) => !holds(scopes, s));
  if (missing === undefined) return { ok: true };
  const session = sessionScopeFor(method, p);
  const viaSession =
    session !== undefined &&
    ((missing === READ && session === SESSIONS_READ) ||
      ((missing === WRITE || (missing === "operator.questions" && method.startsWith("question."))) && session === SESSIONS_WRITE)) &&
    holds(scopes, session);
  if (viaSession) return { ok: false, error: new RpcError(ErrorCodes.FORBIDDEN, ScopeMessages.sessionScopeNeedsProfile), roleDenied: false };
  return { ok: false, error: missingScopeRefusal(missing, required), roleDenied: false };
}
