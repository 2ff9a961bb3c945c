/**
 * The compiled `openclaw` for end-to-end tests: the host target, compiled once per test process
 * (every e2e file that needs it shares the same file) into a temp dir removed at exit.
 */
import { rmSync } from "node:fs";
import { join } from "node:path";
import { artifactName, buildId, compileTarget, hostTarget } from "../../scripts/build.ts";
import { tempDir } from "./state-dir.ts";

let compiled: Promise<string> | undefined;

/** Path of the compiled host binary (compiled on the first call, then reused). */
export function compiledBinary(): Promise<string> {
  compiled ??= (async () => {
    const outdir = tempDir("openclaw-e2e-binary-");
    process.once("exit", () => rmSync(outdir, { recursive: true, force: true }));
    const artifact = await compileTarget({ outfile: join(outdir, artifactName(hostTarget())), buildId: buildId() });
    return artifact.path;
  })();
  return compiled;
}
