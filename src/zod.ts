/**
 * zod, configured once: the zod/mini API (tree-shakable functions, far less startup work and
 * memory than the classic chainable API), English messages, and jitless parsing (each schema
 * is parsed a handful of times, so compiling parsers with `new Function` would only cost).
 */
import * as z from "zod/mini";
import type { $ZodError } from "zod/v4/core";
import en from "zod/v4/locales/en.js";

z.config({ ...en(), jitless: true });

export { z };
export type ZodError = $ZodError;

/** How `lazy` runs a build (see setLazyBuilder); by default it just calls it. */
let runBuild: <T>(build: () => T) => T = (build) => build();

/**
 * Run every later `lazy` (and `buildSchema`) build through `run`. The gateway builds schemas
 * under its startup JIT policy: constructing schemas is run-once code, and zod's constructors
 * ran thousands of times while the gateway started, so under the interactive policy the first
 * schema built after listening would send them through the JIT compilers (whose code then stays
 * resident).
 */
export function setLazyBuilder(run: <T>(build: () => T) => T): void {
  runBuild = run;
}

/** Run a schema build the way setLazyBuilder says (for builders that cache on their own). */
export function buildSchema<T>(build: () => T): T {
  return runBuild(build);
}

/**
 * `build()` once, on the first call, and the same value after. For schemas an idle gateway may
 * never need (the params of methods nobody called): hundreds of zod schemas are a megabyte of
 * JavaScript heap.
 */
export function lazy<T>(build: () => T): () => T {
  let built = false;
  let value: T;
  return () => {
    if (!built) {
      value = runBuild(build);
      built = true;
    }
    return value;
  };
}
