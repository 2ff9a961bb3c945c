/**
 * JavaScriptCore tier-up threshold scales (`Bun.unsafe.setJITPolicy`). Compiled binaries start
 * with STARTUP_JIT_POLICY (scripts/build.ts compiles it in), so run-once startup code stays in
 * the interpreter; once listening the gateway switches to INTERACTIVE_JIT_POLICY (see
 * Gateway.afterFirstListen), and schemas built on first use go back to the startup scale.
 */
/** Tier-up threshold scale once listening (1 = JSC's default). */
export const INTERACTIVE_JIT_POLICY = 8;
/** The scale compiled binaries start with, for run-once code. */
export const STARTUP_JIT_POLICY = 1000;
