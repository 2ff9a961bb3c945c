#!/usr/bin/env bun
/**
 * `openclaw` entry point. Only the version module is imported eagerly; the CLI (citty) and
 * each subcommand load on demand, so `--version` and short commands stay fast on a Pi.
 */
import { isTerminal } from "./system/tty.ts";
import { isVersionFlag, versionLine } from "./version.ts";

const argv = process.argv.slice(2);
// No colour codes unless stdout is a terminal (decided before any module that colours loads).
if (!isTerminal(1) || argv.includes("--no-color")) process.env.NO_COLOR ??= "1";
if (isVersionFlag(argv)) {
  console.log(versionLine());
} else {
  const { runCli } = await import("./cli/root.ts");
  await runCli(argv);
}
