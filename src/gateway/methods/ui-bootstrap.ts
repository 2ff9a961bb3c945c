/**
 * What the Control UI asks on every page load, answered from this gateway's real state:
 *
 *   chat.startup        the session's history page (as chat.history) with its row and defaults
 *   chat.metadata       the agent's models; no slash commands (the gateway runs none in chat)
 *   agents.list         configured agents, the default, the main key
 *   agent.identity.get  an agent's `identity.name` / `identity.avatar` (the original's defaults)
 *   models.authStatus   how each configured provider authenticates (a key in the config or the
 *                       environment, or none)
 *   system.info         host, OS, CPU, memory, disk of the state dir, this process
 *   environments.list   the gateway itself, the only place agents run here
 *   node.list           connected nodes (from presence; nodes are not paired here)
 *
 * and, for features this gateway does not have, the original's answers when the feature holds
 * nothing: no pending questions, approvals, tasks or progress cards, no update information,
 * no talk providers, no stored user preferences (`no_durable_identity`), an empty exec approvals
 * policy that allows nothing (this gateway runs no commands).
 */
import { statfsSync } from "node:fs";
import { arch, cpus, freemem, hostname, loadavg, platform, release, totalmem } from "node:os";
import { join } from "node:path";
import type { AgentRuntime } from "../../agents/runtime.ts";
import type { OpenClawConfig } from "../../config/schema.ts";
import { ErrorCodes, RpcError } from "../../protocol/errors.ts";
import { runtimeStore } from "./agent.ts";
import { modelsFor } from "./models.ts";
import { canonicalKey, CURSOR_RESET, historyPage } from "./session-view.ts";
import { processMemory } from "./status.ts";
import { defineMethod, type MethodDef } from "./types.ts";

/** The original's assistant identity when an agent names none. */
export const DEFAULT_IDENTITY = { name: "Assistant", avatar: "A" } as const;
const NAME_MAX = 50;

type RawAgentEntry = { id?: string; identity?: { name?: unknown; avatar?: unknown; emoji?: unknown } };

function rawAgent(cfg: OpenClawConfig, id: string): RawAgentEntry | undefined {
  const agents = cfg.agents as { entries?: Record<string, RawAgentEntry>; list?: RawAgentEntry[] } | undefined;
  const wanted = id.toLowerCase();
  for (const [key, entry] of Object.entries(agents?.entries ?? {})) if (key.toLowerCase() === wanted) return entry;
  return agents?.list?.find((a) => a.id?.toLowerCase() === wanted);
}

function text(value: unknown): string | undefined {
  return typeof value === "string" && value.trim() ? value.trim() : undefined;
}

/** An avatar the original keeps: a URL, a data URL, a path, or up to four characters. */
function avatarValue(value: unknown): string | undefined {
  const v = text(value);
  if (!v) return undefined;
  if (/^(https?:|data:image\/)/i.test(v) || v.includes("/")) return v;
  return !/\s/.test(v) && [...v].length <= 4 ? v : undefined;
}

/** `agent.identity.get`: name from `agents.list[].identity.name`, else "Assistant". */
export function agentIdentity(cfg: OpenClawConfig, agentId: string): { agentId: string; name: string; nameSource: "agent" | "default"; avatar: string; emoji?: string } {
  const identity = rawAgent(cfg, agentId)?.identity;
  const name = text(identity?.name)?.slice(0, NAME_MAX);
  const avatar = avatarValue(identity?.avatar) ?? avatarValue(identity?.emoji) ?? DEFAULT_IDENTITY.avatar;
  // An emoji: the first non-ASCII value of `emoji`, then `avatar`, that is not a URL or a path.
  const emoji = [text(identity?.emoji), text(identity?.avatar)].find((v) => v && /[^\x00-\x7f]/.test(v) && !/^(https?:|data:)/i.test(v) && !v.includes("/"));
  return {
    agentId,
    name: name ?? DEFAULT_IDENTITY.name,
    nameSource: name ? "agent" : "default",
    avatar,
    ...(emoji ? { emoji: emoji.slice(0, 16) } : {}),
  };
}

/** How a provider's key is configured: a literal in the file, an env reference, or none. */
function apiKeySource(raw: unknown): { source: "config" } | { source: "env"; envVar: string } | undefined {
  if (typeof raw === "string") {
    const env = /^\$\{([A-Z0-9_]+)\}$/i.exec(raw.trim());
    if (env) return { source: "env", envVar: env[1] };
    return raw.trim() ? { source: "config" } : undefined;
  }
  if (raw && typeof raw === "object") {
    const ref = raw as { source?: unknown; id?: unknown };
    if (ref.source === "env" && typeof ref.id === "string") return { source: "env", envVar: ref.id };
    return { source: "config" };
  }
  return undefined;
}

function resolveAgent(runtime: AgentRuntime, agentId: string | undefined) {
  if (!agentId) return runtime.defaultAgent();
  const agent = runtime.agent(agentId);
  if (!agent) throw new RpcError(ErrorCodes.INVALID_REQUEST, `unknown agent id "${agentId}"`);
  return agent;
}

/** Disk space of the file system holding `path` (undefined when it cannot be read). */
function diskOf(path: string): { path: string; totalBytes: number; availableBytes: number } | undefined {
  try {
    const s = statfsSync(path);
    return { path, totalBytes: Number(s.blocks) * Number(s.bsize), availableBytes: Number(s.bavail) * Number(s.bsize) };
  } catch {
    return undefined;
  }
}

export interface UiBootstrapHost {
  /** The port the gateway listens on now. */
  port(): number;
  /** The state directory. */
  stateDir(): string;
}

const processInstanceId = crypto.randomUUID();
const OS_LABELS: Record<string, string> = { linux: "Linux", darwin: "macOS", win32: "Windows", freebsd: "FreeBSD" };

export function uiBootstrapMethods(host: UiBootstrapHost): MethodDef<any>[] {
  return [
    defineMethod("chat.startup", {
      scope: "operator.read",
      handler: (p, { ctx }) => {
        if (p.cursor !== undefined) return CURSOR_RESET;
        const store = runtimeStore(ctx.agents);
        return historyPage(ctx.agents, store, canonicalKey(ctx.agents, p.sessionKey), p.limit ?? 80, p.maxBytes);
      },
    }),
    defineMethod("chat.metadata", {
      scope: "operator.read",
      handler: (p, { ctx }) => {
        const agent = resolveAgent(ctx.agents, p.agentId);
        return { models: modelsFor(ctx.snapshot.config, "configured", agent.id), commands: [] };
      },
    }),
    defineMethod("agents.list", {
      scope: "operator.read",
      handler: (_p, { ctx }) => {
        const agents = ctx.agents.agents();
        return {
          defaultId: agents.find((a) => a.isDefault)!.id,
          ownership: "sole",
          selectionRequired: false,
          mainKey: "main",
          scope: "per-sender",
          agents: agents.map((a) => {
            const identity = agentIdentity(ctx.snapshot.config, a.id);
            return {
              id: a.id,
              ...(a.name ? { name: a.name } : {}),
              kind: "agent",
              ...(identity.nameSource === "agent" ? { identity: { name: identity.name, avatar: identity.avatar } } : {}),
              ...(a.model ? { model: { primary: a.model, ...(a.fallbacks.length ? { fallbacks: a.fallbacks } : {}) } } : {}),
            };
          }),
        };
      },
    }),
    defineMethod("agent.identity.get", {
      scope: "operator.read",
      handler: (p, { ctx }) => {
        const key = p.sessionKey ? canonicalKey(ctx.agents, p.sessionKey) : undefined;
        const fromKey = key ? /^agent:([^:]+):/.exec(key)?.[1] : undefined;
        // As the original: any id is answered (an unknown one gets the default identity).
        return agentIdentity(ctx.snapshot.config, p.agentId?.trim() || fromKey || ctx.agents.defaultAgent().id);
      },
    }),
    defineMethod("models.authStatus", {
      scope: "operator.read",
      handler: (p, { ctx }) => {
        if (p.agentId) resolveAgent(ctx.agents, p.agentId);
        const providers = Object.entries(ctx.snapshot.config.models?.providers ?? {}).map(([provider, cfg]) => {
          const apiKey = apiKeySource(cfg.apiKey);
          return { provider, authProvider: provider, displayName: provider, status: apiKey ? "static" : "none", profiles: [], ...(apiKey ? { apiKey } : {}) };
        });
        return { ts: Date.now(), providers, providerCapabilities: [] };
      },
    }),
    defineMethod("update.status", {
      scope: "operator.admin",
      handler: () => ({ sentinel: null, updateAvailable: null }),
    }),
    defineMethod("talk.catalog", {
      scope: "operator.read",
      handler: () => ({
        modes: [],
        transports: [],
        brains: [],
        speech: { providers: [] },
        transcription: { ready: false, providers: [] },
        realtime: { ready: false, providers: [] },
      }),
    }),
    defineMethod("question.list", { scope: "operator.questions", handler: () => ({ questions: [] }) }),
    defineMethod("exec.approval.list", { scope: "operator.approvals", handler: () => [] }),
    defineMethod("plugin.approval.list", { scope: "operator.approvals", handler: () => [] }),
    defineMethod("openclaw.approval.list", { scope: "operator.approvals", handler: () => [] }),
    defineMethod("progressCard.get", { scope: "operator.read", handler: () => ({ card: null }) }),
    defineMethod("tasks.list", { scope: "operator.read", handler: () => ({ tasks: [] }) }),
    defineMethod("users.prefs.get", { scope: "operator.read", handler: () => ({ status: "no_durable_identity" }) }),
    defineMethod("exec.approvals.get", {
      scope: "operator.admin",
      handler: () => {
        const file = { version: 1, defaults: {}, agents: {} };
        return {
          path: join(host.stateDir(), "exec-approvals.json"),
          exists: false,
          file,
          hash: new Bun.CryptoHasher("sha256").update(JSON.stringify(file)).digest("hex"),
          resolvedDefaults: { security: "deny", ask: "off", askFallback: "deny", autoAllowSkills: false },
        };
      },
    }),
    defineMethod("environments.list", {
      scope: "operator.read",
      handler: () => ({
        environments: [
          {
            id: "gateway",
            type: "local",
            label: "Gateway local",
            status: "available",
            platform: platform(),
            sessionHost: true,
            trust: "persistent",
            capabilities: ["agent.run", "sessions"],
          },
        ],
      }),
    }),
    defineMethod("node.list", {
      scope: "operator.read",
      handler: (_p, { ctx }) => ({
        ts: Date.now(),
        nodes: ctx.presence
          .list()
          .filter((e) => e.roles?.includes("node"))
          .map((e) => ({
            nodeId: e.deviceId ?? e.instanceId ?? e.clientId ?? "unknown",
            ...(e.host ? { displayName: e.host } : {}),
            ...(e.platform ? { platform: e.platform } : {}),
            ...(e.version ? { version: e.version } : {}),
            ...(e.deviceFamily ? { deviceFamily: e.deviceFamily } : {}),
            ...(e.modelIdentifier ? { modelIdentifier: e.modelIdentifier } : {}),
            ...(e.ip ? { remoteIp: e.ip } : {}),
            paired: false,
            connected: true,
            connectedAtMs: e.ts,
          })),
      }),
    }),
    defineMethod("system.info", {
      scope: "operator.read",
      handler: (_p, { ctx }) => {
        const cpuList = cpus();
        const stateDir = host.stateDir();
        const disk = diskOf(stateDir);
        const name = hostname();
        return {
          machineName: name,
          hostname: name,
          platform: platform(),
          release: release(),
          arch: arch(),
          osLabel: `${OS_LABELS[platform()] ?? platform()} ${release()}`,
          port: host.port(),
          bunVersion: Bun.version,
          nodeVersion: process.version,
          pid: process.pid,
          processInstanceId,
          uptimeMs: ctx.uptimeMs(),
          cpuCount: cpuList.length,
          ...(cpuList[0]?.model ? { cpuModel: cpuList[0].model.trim() } : {}),
          loadAverage: loadavg(),
          memoryTotalBytes: totalmem(),
          memoryFreeBytes: freemem(),
          processMemory: processMemory(),
          ...(disk ? { disks: [disk], diskTotalBytes: disk.totalBytes, diskAvailableBytes: disk.availableBytes, diskPath: stateDir } : {}),
          // No utility model runs here (titles, recaps): the original's answer when there is none.
          defaultAgentUtilityModel: { status: "unavailable" },
        };
      },
    }),
  ];
}
