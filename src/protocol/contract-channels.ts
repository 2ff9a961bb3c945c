/**
 * The wire contract of the chat-channel methods (`channels.*`, `channels.pairing.*`), spread
 * into CONTRACT (contract.ts). Params are closed objects, as the original's are (an unknown
 * field is an invalid request); results name the fields the CLI and tests read (see
 * test/fixture/transcripts/channels/ for the captured shapes).
 */
import { z } from "../zod.ts";
import { entry } from "./contract-entry.ts";

const opt = z.optional;
const NonEmpty = z.string().check(z.minLength(1));
const NonNegInt = z.number().check(z.int(), z.nonnegative());
const Millis = z.nullable(z.number());

/** One `channelAccounts[channel][i]` entry (schema-light, like the original's: channels add fields). */
const AccountSnapshot = () =>
  z.looseObject({
    accountId: NonEmpty,
    enabled: opt(z.boolean()),
    configured: opt(z.boolean()),
    running: opt(z.boolean()),
    connected: opt(z.boolean()),
    lifecycle: opt(z.string()),
    reconnectAttempts: opt(NonNegInt),
    lastStartAt: opt(Millis),
    lastStopAt: opt(Millis),
    lastInboundAt: opt(Millis),
    lastOutboundAt: opt(Millis),
    lastTransportActivityAt: opt(Millis),
    lastError: opt(z.nullable(z.string())),
    healthState: opt(z.string()),
    mode: opt(z.string()),
    tokenSource: opt(z.string()),
    lastProbeAt: opt(Millis),
    probe: opt(z.unknown()),
  });

const ChannelsStatusResult = () =>
  z.object({
    ts: z.number(),
    channelOrder: z.array(z.string()),
    channelLabels: z.record(z.string(), z.string()),
    channelDetailLabels: opt(z.record(z.string(), z.string())),
    channelSystemImages: opt(z.record(z.string(), z.string())),
    channelMeta: opt(z.array(z.object({ id: z.string(), label: z.string(), detailLabel: z.string(), systemImage: opt(z.string()) }))),
    channels: z.record(z.string(), z.unknown()),
    channelAccounts: z.record(z.string(), z.array(AccountSnapshot())),
    channelDefaultAccountId: z.record(z.string(), z.string()),
    statusIssues: opt(
      z.array(
        z.object({
          channel: z.string(),
          accountId: z.string(),
          kind: z.enum(["intent", "permissions", "config", "auth", "runtime"]),
          message: z.string(),
          fix: opt(z.string()),
        }),
      ),
    ),
  });

const AccountParams = z.strictObject({ channel: NonEmpty, accountId: opt(z.string()) });

const PairingRequest = () =>
  z.object({
    requestId: z.string(),
    channel: z.string(),
    channelLabel: z.string(),
    accountId: z.string(),
    accountLabel: opt(z.string()),
    senderId: z.string(),
    senderLabel: z.string(),
    metadata: opt(z.record(z.string(), z.string())),
    createdAt: z.string(),
    lastSeenAt: z.string(),
    expiresAt: z.string(),
    notifySupported: z.boolean(),
  });

export const CHANNELS_CONTRACT = {
  "channels.status": entry(
    () => z.strictObject({ probe: opt(z.boolean()), timeoutMs: opt(NonNegInt), channel: opt(NonEmpty) }),
    ChannelsStatusResult,
  ),
  "channels.start": entry(() => AccountParams, () =>
    z.object({
      channel: z.string(),
      accountId: z.string(),
      started: z.boolean(),
      outcome: z.object({ status: z.enum(["handed-off", "retry", "skipped"]), reason: opt(z.string()) }),
    }),
  ),
  "channels.stop": entry(() => AccountParams, () => z.object({ channel: z.string(), accountId: z.string(), stopped: z.boolean() })),
  "channels.logout": entry(() => AccountParams, () =>
    z.object({ channel: z.string(), accountId: z.string(), cleared: z.boolean(), envToken: z.boolean(), loggedOut: z.boolean() }),
  ),
  "channels.pairing.list": entry(() => z.strictObject({ channel: opt(NonEmpty), accountId: opt(NonEmpty) }), () =>
    z.object({
      accounts: z.array(
        z.object({ channel: z.string(), channelLabel: z.string(), accountId: z.string(), accountLabel: opt(z.string()), notifySupported: z.boolean() }),
      ),
      requests: z.array(PairingRequest()),
      commandOwnerConfigured: z.boolean(),
      limits: z.object({ pendingPerAccount: NonNegInt, ttlMs: NonNegInt }),
    }),
  ),
  "channels.pairing.approve": entry(
    () => z.strictObject({
      channel: NonEmpty,
      accountId: NonEmpty,
      requestId: NonEmpty,
      notify: opt(z.boolean()),
      bootstrapCommandOwner: opt(z.boolean()),
    }),
    () =>
      z.object({
        requestId: z.string(),
        senderId: z.string(),
        notification: z.enum(["not-requested", "sent", "unsupported", "failed"]),
        commandOwnerBootstrap: z.enum(["not-requested", "configured", "already-configured", "unavailable"]),
      }),
  ),
  "channels.pairing.dismiss": entry(() => z.strictObject({ channel: NonEmpty, accountId: NonEmpty, requestId: NonEmpty }), () =>
    z.object({ requestId: z.string(), senderId: z.string() }),
  ),
};
