/**
 * The wire contract of the device pairing and device token methods (spread into CONTRACT).
 * Params are the closed objects the original validates (`unexpected property` for anything
 * else; the gateway answers with the original's exact texts, src/auth/device-methods.ts);
 * results are what `device.pair.list` and friends answer, never a token value except where the
 * device itself receives it (`rotate` in-band, `waitUpgrade`).
 */
import { deviceParams } from "../auth/device-methods.ts";
import { z } from "../zod.ts";
import { entry } from "./contract-entry.ts";

const opt = z.optional;
const str = () => opt(z.string());
const strs = () => opt(z.array(z.string()));

const PendingRequest = () =>
  z.object({
    requestId: z.string(),
    deviceId: z.string(),
    publicKey: z.string(),
    displayName: str(),
    platform: str(),
    deviceFamily: str(),
    clientId: str(),
    clientMode: str(),
    role: str(),
    roles: strs(),
    scopes: strs(),
    remoteIp: str(),
    silent: opt(z.boolean()),
    isRepair: opt(z.boolean()),
    ts: z.number(),
  });

const TokenSummary = () =>
  z.object({
    role: z.string(),
    scopes: z.array(z.string()),
    createdAtMs: z.number(),
    rotatedAtMs: opt(z.number()),
    revokedAtMs: opt(z.number()),
    lastUsedAtMs: opt(z.number()),
  });

const PairedDevice = () =>
  z.object({
    deviceId: z.string(),
    publicKey: z.string(),
    displayName: str(),
    operatorLabel: str(),
    platform: str(),
    deviceFamily: str(),
    clientId: str(),
    clientMode: str(),
    role: str(),
    roles: strs(),
    scopes: strs(),
    remoteIp: str(),
    approvedVia: str(),
    createdAtMs: z.number(),
    approvedAtMs: z.number(),
    lastSeenAtMs: opt(z.number()),
    lastSeenReason: str(),
    connected: opt(z.boolean()),
    tokens: opt(z.array(TokenSummary())),
  });

export const DEVICE_CONTRACT = {
  "device.pair.list": entry(() => deviceParams()["device.pair.list"], () => z.object({ pending: z.array(PendingRequest()), paired: z.array(PairedDevice()) })),
  "device.pair.approve": entry(() => deviceParams()["device.pair.approve"], () => z.object({ requestId: z.string(), device: PairedDevice() })),
  "device.pair.reject": entry(() => deviceParams()["device.pair.reject"], () => z.object({ requestId: z.string(), deviceId: z.string() })),
  "device.pair.remove": entry(() => deviceParams()["device.pair.remove"], () => z.object({ deviceId: z.string() })),
  "device.pair.rename": entry(() => deviceParams()["device.pair.rename"], () => z.object({ deviceId: z.string(), label: z.string() })),
  "device.token.rotate": entry(() => deviceParams()["device.token.rotate"], () =>
    z.object({
      deviceId: z.string(),
      role: z.string(),
      token: str(),
      scopes: z.array(z.string()),
      rotatedAtMs: z.number(),
      tokenDelivery: z.enum(["in-band", "withheld-cross-device"]),
    }),
  ),
  "device.token.revoke": entry(() => deviceParams()["device.token.revoke"], () => z.object({ deviceId: z.string(), role: z.string(), revokedAtMs: z.number() })),
  "device.scopes.requestUpgrade": entry(() => deviceParams()["device.scopes.requestUpgrade"], () => z.object({ requestId: z.string() })),
  "device.scopes.waitUpgrade": entry(() => deviceParams()["device.scopes.waitUpgrade"], () =>
    z.object({ status: z.enum(["approved", "rejected", "expired"]), requestId: z.string(), deviceToken: str(), scopes: strs() }),
  ),
};
