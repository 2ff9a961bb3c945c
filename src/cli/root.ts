/** The citty root command; subcommands are imported lazily. */
import { defineCommand, runMain } from "citty";
import { ProfileError } from "../config/paths.ts";
import { isVersionFlag, VERSION, versionLine } from "../version.ts";
import { checkFlags, exitWithError } from "./command.ts";
import { extractGlobals, setGlobals, UsageError } from "./globals.ts";
import { showUsage } from "./help.ts";

const main = defineCommand({
  meta: { name: "openclaw", version: VERSION, description: "OpenClaw Gateway (Bun single binary)" },
  args: {
    dev: { type: "boolean", description: "Use the dev profile (~/.openclaw-dev, port 19001)" },
    profile: { type: "string", description: "Use a named profile (~/.openclaw-<name>)" },
    "log-level": { type: "string", description: "silent|fatal|error|warn|info|debug|trace" },
    "no-color": { type: "boolean", description: "Disable colours" },
  },
  subCommands: {
    gateway: () => import("./gateway.ts").then((m) => m.default),
    status: () => import("./status.ts").then((m) => m.statusCommand),
    health: () => import("./call.ts").then((m) => m.healthCommand),
    logs: () => import("./logs.ts").then((m) => m.logsCommand),
    config: () => import("./config.ts").then((m) => m.default),
    secrets: () => import("./secrets.ts").then((m) => m.default),
    dns: () => import("./dns.ts").then((m) => m.default),
    licenses: () => import("./licenses.ts").then((m) => m.default),
    doctor: () => import("./doctor.ts").then((m) => m.doctorCommand),
    devices: () => import("./devices.ts").then((m) => m.default),
    dashboard: () => import("./dashboard.ts").then((m) => m.dashboardCommand),
    channels: () => import("./channels.ts").then((m) => m.default),
    pairing: () => import("./pairing.ts").then((m) => m.default),
    cron: () => import("./cron.ts").then((m) => m.default),
    automations: () => import("./cron.ts").then((m) => ({ ...m.default, meta: { name: "automations", description: "Manage automations (alias of cron)", hidden: true } })),
    system: () => import("./system.ts").then((m) => m.default),
  },
});

export async function runCli(argv: string[]): Promise<void> {
  let rest: string[];
  try {
    const extracted = extractGlobals(argv);
    setGlobals(extracted.globals);
    rest = extracted.rest;
  } catch (err) {
    if (err instanceof UsageError || err instanceof ProfileError) exitWithError(err);
    throw err;
  }
  // `openclaw --dev --version` etc.: the same line as a bare `--version` (main.ts), not citty's.
  if (isVersionFlag(rest)) {
    console.log(versionLine());
    return;
  }
  // Unknown or misspelt flags are refused before any command runs (nothing read or written).
  try {
    await checkFlags(main, rest);
  } catch (err) {
    exitWithError(err);
  }
  await runMain(main, { rawArgs: rest, showUsage });
}

/** The command tree (for `--help`'s full listing and its tests). */
export const rootCommand = main;
