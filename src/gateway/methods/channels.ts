/**
 * `channels.status` and `last-heartbeat`, called by `openclaw status`. This gateway runs no
 * chat channels and no heartbeat yet, so both answer with the truthful empty shapes.
 */
import { z } from "../../zod.ts";
import { defineMethod } from "./types.ts";

export const channelsStatusMethod = defineMethod({
  name: "channels.status",
  scope: "operator.read",
  params: z.looseObject({ probe: z.optional(z.boolean()), timeoutMs: z.optional(z.number()), channel: z.optional(z.string()) }),
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
