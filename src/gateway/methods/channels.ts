/**
 * `channels.status`, called by `openclaw status`. This gateway runs no chat channels yet, so it
 * answers with the truthful empty shape. (`last-heartbeat` is the automation subsystem's.)
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
