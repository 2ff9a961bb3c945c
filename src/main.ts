#!/usr/bin/env bun
/**
 * `openclaw`: the citty root command. Subcommands are imported lazily so each command
 * only pays for what it uses (startup time matters on a Raspberry Pi).
 */
import { defineCommand, runMain } from "citty";
import { ProfileError } from "./config/paths.ts";
import { extractGlobals, setGlobals, UsageError } from "./cli/globals.ts";
import { VERSION, versionLine } from "./version.ts";

const argv = process.argv.slice(2);
if (argv.length === 1 && (argv[0] === "--version" || argv[0] === "-v" || argv[0] === "-V")) {
  console.log(versionLine());
  process.exit(0);
}

let rest: string[];
try {
  const extracted = extractGlobals(argv);
  setGlobals(extracted.globals);
  rest = extracted.rest;
} catch (err) {
  if (err instanceof UsageError || err instanceof ProfileError) {
    console.error(err.message);
    process.exit(1);
  }
  throw err;
}

const main = defineCommand({
  meta: { name: "openclaw", version: VERSION, description: "OpenClaw Gateway (Bun single binary)" },
  args: {
    dev: { type: "boolean", description: "Use the dev profile (~/.openclaw-dev, port 19001)" },
    profile: { type: "string", description: "Use a named profile (~/.openclaw-<name>)" },
    "log-level": { type: "string", description: "silent|fatal|error|warn|info|debug|trace" },
    "no-color": { type: "boolean", description: "Disable colours" },
  },
  subCommands: {
    gateway: () => import("./cli/gateway.ts").then((m) => m.default),
  },
});

await runMain(main, { rawArgs: rest });
