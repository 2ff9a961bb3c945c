/**
 * `channels.status` and `last-heartbeat`, called by `openclaw status`. This gateway runs no
 * chat channels and no heartbeat yet, so both answer with the truthful empty shapes.
 */
import { defineMethod } from "./types.ts";

export const channelsStatusMethod = defineMethod("channels.status", {
  scope: "operator.read",
  handler: () => ({
    ts: Date.now(),
    channelOrder: [],
    channelLabels: {},
    channels: {},
    channelAccounts: {},
    channelDefaultAccountId: {},
  }),
});

export const lastHeartbeatMethod = defineMethod("last-heartbeat", {
  scope: "operator.read",
  handler: () => null,
});
