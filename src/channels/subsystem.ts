/**
 * The chat channels as a part of the long-lived gateway (a Subsystem, see
 * src/gateway/subsystem.ts): one ChannelHost on the gateway's state database, started once the
 * gateway listens, given every applied config (a channel edit hot-applies; listeners restart
 * underneath it without touching it), stopped when the gateway stops for good.
 *
 * Agent turns go through the agent runtime's lanes (agent-turn.ts). The methods are
 * `channels.status|start|stop|logout` and `channels.pairing.list|approve|dismiss` with the
 * original's scopes (`channels.pairing.approve` also needs operator.admin when it asks for the
 * command-owner bootstrap); `health` gains the channel fields.
 *
 * A gateway without a Telegram or Discord block loads none of the channel code: the host is
 * created when such a block first appears (at start or on a reload), or when a channel method
 * that acts on accounts is called.
 *
 * `automation()` is what automation's `channels` seam reads on every use: the host's delivery
 * (cron announces, `last` routes, heartbeat targets) once there is a host, the answers of a
 * gateway without channels until then.
 */
import type { ConfigSnapshot } from "../config/snapshot.ts";
import type { Subsystem, SubsystemHost } from "../gateway/subsystem.ts";
import { defineMethod, type MethodDef } from "../gateway/methods/types.ts";
import { ErrorCodes, missingScopeError, RpcError } from "../protocol/errors.ts";
import { ADMIN, hasScope } from "../protocol/scopes.ts";
import type { AutomationChannels } from "../automation/subsystem.ts";
import { OFFLINE_DELIVERY } from "./automation-seam.ts";
import type { ChannelHost, ChannelHostOptions } from "./host.ts";
import type { ChannelPlugin } from "./types.ts";

/** The channels this gateway ships (ids only: the code loads with the first account). */
export const BUILTIN_CHANNEL_IDS: readonly string[] = ["telegram", "discord"];

export interface ChannelsSubsystemOptions {
  /** The channel plugins (default: the built-in Telegram and Discord). */
  plugins?: () => ChannelPlugin[];
  /** Host tuning (backoff policies, queue bounds), for tests and benchmarks. */
  host?: Partial<Pick<ChannelHostOptions, "restart" | "retry" | "maxConcurrentTurns" | "maxPending" | "maxAttempts">>;
}

/** True when the config has a block for one of our channels (then the host must run). */
export function channelsConfigured(snapshot: ConfigSnapshot): boolean {
  const channels = snapshot.config.channels as Record<string, unknown> | undefined;
  return Boolean(channels && BUILTIN_CHANNEL_IDS.some((id) => channels[id] !== undefined && channels[id] !== null));
}

/** `channels.status` of a gateway that has no channel host (no channel configured). */
function emptyStatus(channel: string | undefined) {
  if (channel !== undefined && !BUILTIN_CHANNEL_IDS.includes(channel)) throw new RpcError(ErrorCodes.INVALID_REQUEST, `unknown channel: ${channel}`);
  return {
    ts: Date.now(),
    channelOrder: [],
    channelLabels: {},
    channelDetailLabels: {},
    channelSystemImages: {},
    channelMeta: [],
    channels: {},
    channelAccounts: {},
    channelDefaultAccountId: {},
    statusIssues: [],
  };
}

/** The channels part, with the delivery it lends automation. */
export interface ChannelsSubsystem extends Subsystem {
  /** Automation's `channels` seam: the host's delivery, or the no-channel answers. */
  automation(): AutomationChannels;
}

export function channelsSubsystem(opts: ChannelsSubsystemOptions = {}): ChannelsSubsystem {
  let gw: SubsystemHost | undefined;
  let host: ChannelHost | undefined;
  let delivery: AutomationChannels | undefined;
  let creating: Promise<ChannelHost> | undefined;
  let stopped = false;
  /** Config applications run one after another (reloads can come quickly). */
  let applying: Promise<void> = Promise.resolve();

  const rpc = () => import("./rpc.ts");

  async function create(snapshot: ConfigSnapshot): Promise<ChannelHost> {
    const owner = gw!;
    const [{ ChannelHost }, { builtinChannelPlugins }, { agentRunTurn }, { channelsHealth }, { hostDelivery }] = await Promise.all([
      import("./host.ts"),
      import("./index.ts"),
      import("./agent-turn.ts"),
      rpc(),
      import("./delivery.ts"),
    ]);
    healthOf = channelsHealth;
    const log = owner.logger("channels");
    const next = new ChannelHost({
      config: snapshot.config,
      env: snapshot.env,
      stateDir: snapshot.paths.stateDir,
      configPath: snapshot.paths.configPath,
      // The durable ingress queue lives in the gateway's state database, next to the sessions.
      db: owner.agents.store.db,
      runTurn: agentRunTurn(owner.agents, owner.logger("channels/agent")),
      log,
      plugins: opts.plugins?.() ?? builtinChannelPlugins(),
      onStateChange: () => owner.healthChanged(),
      ...opts.host,
    });
    await next.start();
    delivery = hostDelivery(next);
    return next;
  }

  /** The host, created on first need (throws when the state database cannot be opened). */
  async function ensureHost(): Promise<ChannelHost> {
    if (host) return host;
    if (!gw) throw new RpcError(ErrorCodes.UNAVAILABLE, "channels are not running", undefined, { retryable: true });
    creating ??= create(gw.snapshot).then(
      (h) => {
        host = h;
        creating = undefined;
        return h;
      },
      (err) => {
        creating = undefined;
        throw err;
      },
    );
    return creating;
  }

  /** ensureHost for a method: a failure is the method's UNAVAILABLE answer. */
  async function hostFor(method: string): Promise<ChannelHost> {
    try {
      return await ensureHost();
    } catch (err) {
      if (err instanceof RpcError) throw err;
      gw?.logger("channels").error(`${method}: the channel host cannot start: ${(err as Error).message}`);
      throw new RpcError(ErrorCodes.UNAVAILABLE, `channels unavailable: ${(err as Error).message}`, undefined, { retryable: true });
    }
  }

  // The health snapshot is built synchronously: the function comes with the host's modules.
  let healthOf: ((h: ChannelHost) => Record<string, unknown>) | undefined;

  const methods: MethodDef<any>[] = [
    defineMethod("channels.status", {
      scope: "operator.read",
      handler: async (params) => {
        if (!host) return emptyStatus(params.channel);
        return (await rpc()).channelsStatus(host, params) as any;
      },
    }),
    defineMethod("channels.start", {
      scope: "operator.admin",
      handler: async (params) => (await rpc()).channelsStart(await hostFor("channels.start"), params),
    }),
    defineMethod("channels.stop", {
      scope: "operator.admin",
      handler: async (params) => (await rpc()).channelsStop(await hostFor("channels.stop"), params),
    }),
    defineMethod("channels.logout", {
      scope: "operator.admin",
      handler: async (params) => (await rpc()).channelsLogout(await hostFor("channels.logout"), params),
    }),
    defineMethod("channels.pairing.list", {
      scope: "operator.pairing",
      handler: async (params) => (await rpc()).pairingList(await hostFor("channels.pairing.list"), params),
    }),
    defineMethod("channels.pairing.approve", {
      // The original's dynamic scope: operator.pairing, plus operator.admin to bootstrap a command owner.
      scope: "operator.pairing",
      handler: async (params, { client }) => {
        if (params.bootstrapCommandOwner === true && client.role === "operator" && !hasScope(client.scopes, ADMIN)) throw missingScopeError(ADMIN);
        return (await rpc()).pairingApprove(await hostFor("channels.pairing.approve"), params);
      },
    }),
    defineMethod("channels.pairing.dismiss", {
      scope: "operator.pairing",
      handler: async (params) => (await rpc()).pairingDismiss(await hostFor("channels.pairing.dismiss"), params),
    }),
  ];

  return {
    name: "channels",
    methods,
    automation: () => delivery ?? OFFLINE_DELIVERY,
    async start(owner) {
      gw = owner;
      if (!channelsConfigured(owner.snapshot)) return;
      await ensureHost();
    },
    applyConfig(next) {
      const run = applying.then(async () => {
        if (stopped || !gw) return;
        if (host) {
          await host.applyConfig(next.config, next.env);
        } else if (channelsConfigured(next)) {
          await ensureHost();
        }
      });
      applying = run.catch(() => {});
      return run;
    },
    health() {
      if (!host || !healthOf) return undefined;
      return healthOf(host);
    },
    async stop() {
      stopped = true;
      await applying;
      const h = host ?? (await creating?.catch(() => undefined));
      host = undefined;
      delivery = undefined;
      await h?.stop();
    },
  };
}
