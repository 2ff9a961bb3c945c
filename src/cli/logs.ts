/**
 * `openclaw logs`: the gateway's log through the `logs.tail` RPC when it is up, or straight
 * from the log file when the local gateway is down (never for an explicit `--url`).
 * `--follow` polls with the returned cursor and survives gateway restarts.
 */
import { defineCommand } from "citty";
import type { GatewayClient } from "../protocol/client.ts";
import { GatewayConnectError, GatewayClosedError } from "../protocol/client.ts";
import { gatewayLogFile } from "../log/file.ts";
import { tailFile, type TailResult } from "../log/tail.ts";
import { targetOf, timeoutArg } from "./call.ts";
import { exitWithFailure } from "./output.ts";
import { connectTo, IDENTITY } from "../operator/connect.ts";
import { intFlag } from "./command.ts";
import type { GatewayTarget, ResolvedTarget } from "../operator/target.ts";

interface Parsed {
  time?: string;
  level?: string;
  subsystem?: string;
  message?: string;
}

/** Our records are `{time, level, subsystem, message}`; upstream's tslog lines are read too. */
export function parseLogLine(raw: string): Parsed | undefined {
  let v: Record<string, unknown>;
  try {
    v = JSON.parse(raw);
  } catch {
    return undefined;
  }
  if (!v || typeof v !== "object") return undefined;
  const meta = (v._meta ?? {}) as Record<string, unknown>;
  let subsystem = typeof v.subsystem === "string" ? v.subsystem : undefined;
  if (!subsystem && typeof v["0"] === "string") {
    try {
      subsystem = (JSON.parse(v["0"] as string) as { subsystem?: string }).subsystem;
    } catch {}
  }
  return {
    time: (v.time ?? meta.date) as string | undefined,
    level: ((v.level ?? meta.logLevelName) as string | undefined)?.toString().toLowerCase(),
    subsystem,
    message: (v.message ?? v["1"] ?? v.msg) as string | undefined,
  };
}

function formatTime(time: string | undefined, local: boolean): string {
  if (!time) return "-";
  if (!local) return time;
  const d = new Date(time);
  if (Number.isNaN(d.getTime())) return time;
  const pad = (n: number, w = 2) => String(n).padStart(w, "0");
  const off = -d.getTimezoneOffset();
  const sign = off >= 0 ? "+" : "-";
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}T${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}.${pad(d.getMilliseconds(), 3)}${sign}${pad(Math.floor(Math.abs(off) / 60))}:${pad(Math.abs(off) % 60)}`;
}

type Source = { kind: "rpc"; client: GatewayClient } | { kind: "file"; path: string };

export const logsCommand = defineCommand({
  meta: { name: "logs", description: "Show the gateway's logs (RPC logs.tail, or the log file when the gateway is down)" },
  args: {
    limit: { type: "string", description: "Lines to show (default 200)" },
    "max-bytes": { type: "string", description: "Bytes to read per request (default 250000)" },
    follow: { type: "boolean", description: "Keep printing new lines" },
    interval: { type: "string", description: "Follow poll interval in ms (default 500)" },
    json: { type: "boolean", description: "NDJSON: meta, log and notice objects" },
    plain: { type: "boolean", description: "Raw lines as written" },
    "local-time": { type: "boolean", description: "Show times in local time" },
    utc: { type: "boolean", description: "Show times in UTC (default)" },
    url: { type: "string", description: "Gateway WebSocket URL (needs --token or --password)" },
    token: { type: "string", description: "Gateway token" },
    password: { type: "string", description: "Gateway password" },
    timeout: { type: "string", description: "Timeout in ms (default 30000)" },
  },
  async run({ args }) {
    const json = Boolean(args.json);
    let target: GatewayTarget | undefined;
    try {
      const limit = intArg(args.limit, 200, 1, 5000, "--limit");
      const maxBytes = intArg(args["max-bytes"], 250_000, 1, 1_000_000, "--max-bytes");
      const interval = intArg(args.interval, 500, 50, 60_000, "--interval");
      const timeoutMs = timeoutArg(args.timeout, 30_000);
      const resolved = await targetOf(args, { needConfig: true });
      target = resolved.target;
      const localTime = Boolean(args["local-time"]) && !args.utc;
      const emit = (obj: Record<string, unknown>) => console.log(JSON.stringify(obj));
      const printLines = (lines: string[]) => {
        for (const raw of lines) {
          const p = parseLogLine(raw);
          if (json) emit(p ? { type: "log", time: p.time, level: p.level, subsystem: p.subsystem, message: p.message, raw } : { type: "raw", raw });
          else if (args.plain || !p) console.log(raw);
          else console.log(`${formatTime(p.time, localTime)} ${p.level ?? "-"} ${p.subsystem ?? "-"} ${p.message ?? ""}`);
        }
      };
      const notice = (message: string) => (json ? emit({ type: "notice", message }) : console.error(`[logs] ${message}`));

      let source = await openSource(resolved, timeoutMs);
      let result = await read(source, { limit, maxBytes });
      if (json) {
        emit({
          type: "meta",
          file: result.file,
          sourceKind: source.kind,
          cursor: result.cursor,
          size: result.size,
          ...(source.kind === "file" ? { localFallback: true } : {}),
        });
      } else if (source.kind === "file") notice(`gateway not reachable; reading ${result.file}`);
      printLines(result.lines);
      if (result.truncated) notice("Log tail truncated (increase --limit or --max-bytes).");
      if (!args.follow) {
        if (source.kind === "rpc") void source.client.close();
        return;
      }
      let cursor = result.cursor;
      let failures = 0;
      process.on("SIGINT", () => process.exit(0));
      for (;;) {
        await Bun.sleep(interval);
        try {
          result = await read(source, { cursor, limit: 5000, maxBytes });
          if (failures > 0) {
            failures = 0;
            notice("gateway reconnected");
          }
        } catch (err) {
          if (source.kind === "file" || !isConnectionLoss(err)) throw err;
          failures++;
          if (failures > 8) throw err;
          await Bun.sleep(Math.min(30_000, 500 * 2 ** (failures - 1)));
          try {
            source = await openSource(resolved, timeoutMs, true);
          } catch {}
          continue;
        }
        if (result.reset) notice("log file rotated; continuing from its start");
        printLines(result.lines);
        cursor = result.cursor;
      }
    } catch (err) {
      await exitWithFailure(err, { json, target, what: "Logs" });
    }
  },
});

function intArg(raw: unknown, fallback: number, min: number, max: number, name: string): number {
  return intFlag(name, raw, { min, max }) ?? fallback;
}

function isConnectionLoss(err: unknown): boolean {
  return err instanceof GatewayClosedError || err instanceof GatewayConnectError;
}

async function openSource(resolved: ResolvedTarget, timeoutMs: number, rpcOnly = false): Promise<Source> {
  const { target } = resolved;
  try {
    const client = await connectTo(target, { identity: IDENTITY.cli, timeoutMs });
    return { kind: "rpc", client };
  } catch (err) {
    const unreachable = err instanceof GatewayConnectError && err.kind !== "rejected";
    const pairing = err instanceof GatewayConnectError && err.code === "NOT_PAIRED";
    if (!rpcOnly && target.local && (unreachable || pairing)) return { kind: "file", path: gatewayLogFile(target.paths.stateDir, resolved.loaded?.config) };
    throw err;
  }
}

async function read(source: Source, opts: { cursor?: number; limit: number; maxBytes: number }): Promise<TailResult> {
  if (source.kind === "file") return tailFile(source.path, opts);
  return source.client.call("logs.tail", opts);
}
