/** `logs.tail`: read the gateway's own file log by cursor (see src/log/tail.ts). */
import { z } from "../../zod.ts";
import { ErrorCodes, RpcError } from "../../protocol/errors.ts";
import { tailFile } from "../../log/tail.ts";
import { defineMethod } from "./types.ts";

export const logsTailMethod = defineMethod({
  name: "logs.tail",
  scope: "operator.read",
  params: z.looseObject({
    cursor: z.optional(z.number().check(z.int(), z.nonnegative())),
    limit: z.optional(z.number().check(z.int(), z.minimum(1), z.maximum(5000))),
    maxBytes: z.optional(z.number().check(z.int(), z.minimum(1), z.maximum(1_000_000))),
  }),
  handler: async (params, { ctx }) => {
    if (!ctx.logFile) throw new RpcError(ErrorCodes.UNAVAILABLE, "file logging is disabled on this gateway");
    return tailFile(ctx.logFile, params);
  },
});
