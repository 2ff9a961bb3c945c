/**
 * Version reported on the wire and stamped into config (`meta.lastTouchedVersion`).
 * OpenClaw clients compare calendar versions (YYYY.M.D), so we report the upstream
 * release we are wire-compatible with; our own build id goes into BUILD only.
 */
declare const OPENCLAW_BUILD_ID: string | undefined;

export const VERSION = "2026.9.6";

/** Build id injected by scripts/build.ts (`define`); "source" when run from a checkout. */
export const BUILD: string = typeof OPENCLAW_BUILD_ID === "string" ? OPENCLAW_BUILD_ID : "source";

export function versionLine(): string {
  return `OpenClaw ${VERSION} (${BUILD})`;
}

/** `openclaw --version` (also `-v`, `-V`): the argv is exactly one version flag. */
export function isVersionFlag(argv: string[]): boolean {
  return argv.length === 1 && (argv[0] === "--version" || argv[0] === "-v" || argv[0] === "-V");
}
