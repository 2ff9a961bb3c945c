/**
 * CLI output conventions: `--json` prints exactly one JSON document on stdout (NDJSON for
 * streams), diagnostics go to stderr; human output is `Label: value` lines. Errors become the
 * upstream JSON error envelopes (src/operator/failure.ts) and exit 1.
 */
import { describeFailure } from "../operator/failure.ts";
import { writeStderr } from "./command.ts";
import type { GatewayTarget } from "../operator/target.ts";

export { describeFailure, shortReason, transportErrno, type CliFailure } from "../operator/failure.ts";

export function printJson(value: unknown): void {
  console.log(JSON.stringify(value, null, 2));
}

/** Print a failure (JSON on stdout with --json, text on stderr otherwise) and exit 1. */
export async function exitWithFailure(err: unknown, opts: { json?: boolean; target?: GatewayTarget; what?: string }): Promise<never> {
  const failure = await describeFailure(err, opts.target, opts.what);
  if (opts.json) printJson(failure.json);
  else writeStderr(failure.human);
  process.exit(1);
}

