/**
 * The compiled `openclaw` for end-to-end tests: the host target, compiled once per test process
 * (every e2e file that needs it shares the same file) into a temp dir named after the process.
 * `bun test` does not emit `exit`, so the dirs of test processes that are gone are removed
 * when the next one compiles (each binary is over 100 MB).
 */
import { mkdirSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { artifactName, buildId, compileTarget, hostTarget } from "../../scripts/build.ts";
import { alive } from "../../src/system/force.ts";

const PREFIX = "openclaw-e2e-binary-pid";
let compiled: Promise<string> | undefined;

function reapStale(): void {
  for (const name of readdirSync(tmpdir())) {
    const m = new RegExp(`^${PREFIX}(\\d+)$`).exec(name);
    if (m && Number(m[1]) !== process.pid && !alive(Number(m[1]))) rmSync(join(tmpdir(), name), { recursive: true, force: true });
  }
}

/** Path of the compiled host binary (compiled on the first call, then reused). */
export function compiledBinary(): Promise<string> {
  compiled ??= (async () => {
    reapStale();
    const outdir = join(tmpdir(), `${PREFIX}${process.pid}`);
    mkdirSync(outdir, { recursive: true });
    const artifact = await compileTarget({ outfile: join(outdir, artifactName(hostTarget())), buildId: buildId() });
    return artifact.path;
  })();
  return compiled;
}
