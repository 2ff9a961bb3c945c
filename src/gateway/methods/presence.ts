/** `system-presence`: an array whose first entry is the gateway itself (mode gateway, reason self). */
import { z } from "../../zod.ts";
import { defineMethod } from "./types.ts";

export const systemPresenceMethod = defineMethod({
  name: "system-presence",
  scope: "operator.read",
  params: z.looseObject({}),
  handler: (_params, { ctx }) => ctx.presence.list(),
});
