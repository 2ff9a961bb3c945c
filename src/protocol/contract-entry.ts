/**
 * One entry of the typed wire contract: a method's params schema and its result schema, both
 * built on first use. The params are read through a getter, so the hundreds of schemas of
 * methods an idle gateway is never called with are never built (see `lazy` in src/zod.ts).
 */
import { lazy, type z } from "../zod.ts";

export interface Entry<P extends z.ZodMiniType, R extends z.ZodMiniType> {
  params: P;
  result: () => R;
}

export function entry<P extends z.ZodMiniType, R extends z.ZodMiniType>(params: () => P, result: () => R): Entry<P, R> {
  const builtParams = lazy(params);
  return {
    // Built when first read (a call of the method, or a test), not when the module loads.
    get params() {
      return builtParams();
    },
    result: lazy(result),
  };
}
