/**
 * `openclaw gateway install|uninstall|start|stop|restart`: thin wrappers over src/service.
 * Every action verifies its result and says what it did; `--json` prints one document
 * `{ok, action, result, messages, warnings, service}`. Exit 0 on success (including "already
 * installed/running/stopped"), 1 otherwise.
 */
import { defineCommand } from "citty";
import { resolvePaths } from "../config/paths.ts";
import { defaultServiceHost, type ServiceHost } from "../service/host.ts";
import { InstallBlocked, prepareInstall, runLifecycle, type LifecycleAction } from "../service/index.ts";
import type { ActionOutcome, PlannedFile, PlannedInstall, ServiceState } from "../service/types.ts";
import { globals } from "./globals.ts";
import { printJson } from "./output.ts";
import { portFlag } from "./command.ts";

/** The JSON view of a service state (no file contents, no secrets). */
export function serviceJson(state: ServiceState | undefined) {
  if (!state) return null;
  const def = state.definition;
  return {
    label: state.label,
    manager: state.manager,
    name: state.name,
    scope: state.scope,
    installed: state.installed,
    loaded: state.loaded,
    loadedText: state.loadedText,
    notLoadedText: state.notLoadedText,
    ...(state.unavailable ? { unavailable: state.unavailable } : {}),
    ...(def
      ? {
          command: {
            programArguments: def.programArguments,
            ...(def.workingDirectory ? { workingDirectory: def.workingDirectory } : {}),
            sourcePath: def.path,
            ...(def.envFile ? { environmentFile: def.envFile } : {}),
          },
          port: def.port,
          stateDir: def.stateDir,
          configPath: def.configPath,
        }
      : {}),
    runtime: state.runtime,
    ...(state.otherScope ? { otherScope: state.otherScope } : {}),
  };
}

function emit(out: ActionOutcome, json: boolean, extraWarnings: string[] = [], notes: string[] = []): never {
  const warnings = [...extraWarnings, ...out.warnings];
  if (json) {
    printJson({ ok: out.ok, action: out.action, result: out.result, messages: [...notes, ...out.lines], warnings, service: serviceJson(out.state) });
  } else {
    for (const line of notes) console.log(line);
    for (const line of out.lines) console.log(line);
    for (const line of warnings) console.error(line);
  }
  process.exit(out.exitCode);
}

function parsePort(raw: unknown): number | undefined {
  if (raw === undefined || raw === "") return undefined;
  try {
    return portFlag(raw);
  } catch (err) {
    console.error((err as Error).message);
    process.exit(1);
  }
}

const MODE = (m: number) => `0${m.toString(8)}`;

/** Human `--print`: every file with its path and mode (secret values replaced), then the commands. */
export function renderPlan(plan: PlannedInstall, header: string[]): string {
  const out = [...header];
  for (const f of plan.files) {
    out.push("", `# ${f.description}: ${f.path} (mode ${MODE(f.mode)})`);
    out.push(shownText(f).replace(/\r\n/g, "\n").replace(/\n$/, ""));
  }
  for (const r of plan.remove) out.push("", `# removed if present: ${r}`);
  out.push("", "# then runs:");
  for (const c of plan.commands) out.push(`#   ${c.map((a) => (/[\s"']/.test(a) ? JSON.stringify(a) : a)).join(" ")}`);
  return out.join("\n");
}

/** A planned file's text as `--print` shows it: UTF-16 decoded, secret values redacted. */
function shownText(f: PlannedFile): string {
  const text = typeof f.content === "string" ? f.content : decodeUtf16(f.content);
  return f.secret ? redactEnvText(text) : text;
}

function decodeUtf16(bytes: Uint8Array): string {
  const start = bytes[0] === 0xff && bytes[1] === 0xfe ? 2 : 0;
  return new TextDecoder("utf-16le").decode(bytes.subarray(start));
}

/** Keep keys, hide values: `KEY=<redacted, N chars>`. */
export function redactEnvText(text: string): string {
  return text
    .split(/\r?\n/)
    .map((line) => {
      const m = /^(\s*(?:export\s+|set\s+")?)([A-Za-z_][A-Za-z0-9_]*)=(.*?)("?)$/.exec(line);
      if (!m || line.trim().startsWith("#") || /^rem\b/i.test(line.trim())) return line;
      const raw = m[3].replace(/^['"]|['"]$/g, "");
      return `${m[1]}${m[2]}=<redacted, ${raw.length} chars>${m[4]}`;
    })
    .join("\n");
}

export async function runInstall(host: ServiceHost, args: Record<string, unknown>): Promise<never> {
  const json = Boolean(args.json);
  const print = Boolean(args.print);
  const port = parsePort(args.port);
  const warnings: string[] = [];
  if (args.runtime !== undefined || args["runtime-path"] !== undefined) warnings.push("--runtime/--runtime-path are ignored: the service runs this executable.");
  const paths = resolvePaths({ profile: globals().profile, env: host.env });
  let prepared: Awaited<ReturnType<typeof prepareInstall>>;
  try {
    prepared = await prepareInstall(host, {
      paths,
      port,
      token: typeof args.token === "string" ? args.token : undefined,
      force: Boolean(args.force),
      system: Boolean(args.system),
      serviceUser: typeof args["service-user"] === "string" ? args["service-user"] : undefined,
      dryRun: print,
    });
  } catch (err) {
    if (err instanceof InstallBlocked) {
      emit({ ok: err.benign, exitCode: err.benign ? 0 : 1, action: "install", result: err.result, lines: err.benign ? err.lines : [], warnings: err.benign ? [] : err.lines }, json, warnings);
    }
    throw err;
  }
  warnings.push(...prepared.warnings);
  if (print) {
    if (json) {
      printJson({
        ok: true,
        action: "install",
        result: "print",
        files: prepared.plan.files.map((f) => ({
          path: f.path,
          mode: MODE(f.mode),
          description: f.description,
          content: shownText(f),
        })),
        remove: prepared.plan.remove,
        commands: prepared.plan.commands,
        notes: prepared.notes,
        warnings,
      });
    } else {
      console.log(renderPlan(prepared.plan, [`# openclaw gateway install --print: nothing was written (${prepared.spec.scope} service, port ${prepared.spec.port}).`]));
      for (const n of prepared.notes) console.error(n);
      for (const w of warnings) console.error(w);
    }
    process.exit(0);
  }
  const out = await prepared.manager.install(prepared.spec, { force: Boolean(args.force) });
  if (out.ok && prepared.spec.scope === "system") {
    out.lines.push(
      `State directory: ${prepared.spec.stateDir} (config, token and logs of this gateway).`,
      `Operator CLI on this host (as root): OPENCLAW_STATE_DIR=${prepared.spec.stateDir} openclaw gateway status`,
    );
  }
  emit(out, json, warnings, prepared.notes);
}

export async function runAction(host: ServiceHost, action: LifecycleAction, args: Record<string, unknown>): Promise<never> {
  const paths = resolvePaths({ profile: globals().profile, env: host.env });
  const out = await runLifecycle(host, { profile: paths.profile, stateDir: paths.stateDir, system: Boolean(args.system) }, action, { disable: Boolean(args.disable) });
  emit(out, Boolean(args.json));
}

const common = {
  json: { type: "boolean", description: "Print one JSON document" },
  system: { type: "boolean", description: "Act on the system unit (/etc/systemd/system; Linux, root)" },
} as const;

export const installCommand = defineCommand({
  meta: { name: "install", description: "Install the gateway as a service (systemd user unit, LaunchAgent, Scheduled Task) and start it" },
  args: {
    port: { type: "string", description: "Port recorded in the service (default: OPENCLAW_GATEWAY_PORT, gateway.port, profile default)" },
    force: { type: "boolean", description: "Rewrite the definition even when it is current" },
    system: { type: "boolean", description: "systemd system unit in /etc/systemd/system with a DynamicUser and hardening (Linux, root; not upstream)" },
    "service-user": { type: "string", description: "With --system: run as this existing account instead of a DynamicUser" },
    print: { type: "boolean", description: "Show what would be written and run, write nothing" },
    token: { type: "string", description: "Gateway token for the service (stored in the 0600 environment file)" },
    runtime: { type: "string", description: "Accepted for compatibility; ignored" },
    "runtime-path": { type: "string", description: "Accepted for compatibility; ignored" },
    json: common.json,
  },
  run: ({ args }) => runInstall(defaultServiceHost(), args),
});

export const uninstallCommand = defineCommand({
  meta: { name: "uninstall", description: "Stop the gateway service and remove its definition and environment file" },
  args: common,
  run: ({ args }) => runAction(defaultServiceHost(), "uninstall", args),
});

export const startCommand = defineCommand({
  meta: { name: "start", description: "Start the installed gateway service (re-enables it if it was disabled)" },
  args: common,
  run: ({ args }) => runAction(defaultServiceHost(), "start", args),
});

export const stopCommand = defineCommand({
  meta: { name: "stop", description: "Stop the gateway service (launchd: bootout; it returns at next login unless --disable)" },
  args: {
    ...common,
    disable: { type: "boolean", description: "Also keep it from starting at login/boot until `openclaw gateway start`" },
    force: { type: "boolean", description: "Accepted for compatibility" },
  },
  run: ({ args }) => runAction(defaultServiceHost(), "stop", args),
});

export const restartCommand = defineCommand({
  meta: { name: "restart", description: "Restart the gateway service (systemctl restart, launchctl kickstart -k, task end + run)" },
  args: { ...common, force: { type: "boolean", description: "Accepted for compatibility" } },
  run: ({ args }) => runAction(defaultServiceHost(), "restart", args),
});
