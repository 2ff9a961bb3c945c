/**
 * `channels.status` and `last-heartbeat`, called by `openclaw status`. This gateway runs no
 * chat channels and no heartbeat yet, so both answer with the truthful empty shapes.
 */
import { z } from "zod";
import { defineMethod } from "./types.ts";

export const channelsStatusMethod = defineMethod({
  name: "channels.status",
  scope: "operator.read",
  params: z.looseObject({ probe: z.boolean().optional(), timeoutMs: z.number().optional(), channel: z.string().optional() }),
  handler: () => ({
    ts: Date.now(),
    channelOrder: [],
    channelLabels: {},
    channels: {},
    channelAccounts: {},
    channelDefaultAccountId: {},
  }),
});

export const lastHeartbeatMethod = defineMethod({
  name: "last-heartbeat",
  scope: "operator.read",
  params: z.looseObject({}),
  handler: () => null,
});
