#!/usr/bin/env bun
/**
 * `openclaw` entry point. Only the version module is imported eagerly; the CLI (citty) and
 * each subcommand load on demand, so `--version` and short commands stay fast on a Pi.
 */
import { isVersionFlag, versionLine } from "./version.ts";

const argv = process.argv.slice(2);
if (isVersionFlag(argv)) {
  console.log(versionLine());
} else {
  const { runCli } = await import("./cli/root.ts");
  await runCli(argv);
}
