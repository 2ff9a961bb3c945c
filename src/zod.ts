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
