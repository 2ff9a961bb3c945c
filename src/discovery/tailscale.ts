/**
 * Tailscale detection for the `tailnetDns` hint and the wide-area zone:
 *
 *   OPENCLAW_TAILNET_DNS                  wins (trailing dot removed)
 *   `tailscale status --json` (if found)  Self.DNSName, else the first Self.TailscaleIPs entry
 *   an interface in 100.64.0.0/10         its address
 *
 * Every step is bounded (the CLI gets 1.5 s) and failures only mean "unknown".
 */
import { existsSync } from "node:fs";
import type { Env } from "../config/paths.ts";
import { isTailnetIPv4, isTailnetIPv6, stripScope, systemInterfaces, type InterfaceSource } from "./interfaces.ts";

export interface TailscaleStatus {
  dnsName?: string;
  ips: string[];
}

const DNS_NAME_RE = /^(?=.{1,253}$)[A-Za-z0-9_](?:[A-Za-z0-9_-]{0,62})(?:\.[A-Za-z0-9_](?:[A-Za-z0-9_-]{0,62}))*$/;

/** `name.` → `name`; undefined unless it is a plausible DNS name. */
export function cleanDnsName(raw: unknown): string | undefined {
  if (typeof raw !== "string") return undefined;
  const name = raw.trim().replace(/\.$/, "");
  return DNS_NAME_RE.test(name) ? name : undefined;
}

export function parseTailscaleStatus(text: string): TailscaleStatus | undefined {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    return undefined;
  }
  const self = (parsed as { Self?: unknown } | null)?.Self;
  if (!self || typeof self !== "object") return undefined;
  const s = self as { DNSName?: unknown; TailscaleIPs?: unknown };
  const ips = Array.isArray(s.TailscaleIPs) ? s.TailscaleIPs.filter((x): x is string => typeof x === "string") : [];
  return { dnsName: cleanDnsName(s.DNSName), ips };
}

export function findTailscaleCli(env: Env = process.env): string | undefined {
  const found = Bun.which("tailscale", { PATH: env.PATH ?? "" });
  if (found) return found;
  const mac = "/Applications/Tailscale.app/Contents/MacOS/Tailscale";
  return process.platform === "darwin" && existsSync(mac) ? mac : undefined;
}

/** Run `<cli> status --json` with a deadline; undefined on any failure. */
export async function readTailscaleStatus(cli: string, timeoutMs = 1500): Promise<TailscaleStatus | undefined> {
  let proc: Bun.Subprocess<"ignore", "pipe", "ignore">;
  try {
    proc = Bun.spawn([cli, "status", "--json"], { stdin: "ignore", stdout: "pipe", stderr: "ignore" });
  } catch {
    return undefined;
  }
  let timer: ReturnType<typeof setTimeout> | undefined;
  const deadline = new Promise<"timeout">((r) => (timer = setTimeout(() => r("timeout"), timeoutMs)));
  try {
    const text = await Promise.race([new Response(proc.stdout).text(), deadline]);
    if (text === "timeout") return undefined;
    const code = await Promise.race([proc.exited, deadline]);
    if (code !== 0) return undefined;
    return parseTailscaleStatus(text.slice(0, 4 * 1024 * 1024));
  } catch {
    return undefined;
  } finally {
    clearTimeout(timer);
    if (proc.exitCode === null) {
      try {
        proc.kill("SIGKILL");
      } catch {}
    }
  }
}

export function tailnetAddresses(source: InterfaceSource = systemInterfaces): { ipv4: string[]; ipv6: string[] } {
  const ipv4: string[] = [];
  const ipv6: string[] = [];
  const all = source.networkInterfaces();
  for (const name of Object.keys(all).sort()) {
    for (const a of all[name] ?? []) {
      if (a.family === "IPv4" && isTailnetIPv4(a.address)) ipv4.push(a.address);
      if (a.family === "IPv6" && isTailnetIPv6(a.address)) ipv6.push(stripScope(a.address));
    }
  }
  return { ipv4: [...new Set(ipv4)], ipv6: [...new Set(ipv6)] };
}

export async function resolveTailnetDns(
  opts: { env?: Env; interfaces?: InterfaceSource; cli?: string | null; timeoutMs?: number } = {},
): Promise<string | undefined> {
  const env = opts.env ?? process.env;
  const fromEnv = env.OPENCLAW_TAILNET_DNS?.trim();
  if (fromEnv) return cleanDnsName(fromEnv) ?? fromEnv.replace(/\.$/, "");
  const cli = opts.cli === null ? undefined : (opts.cli ?? findTailscaleCli(env));
  if (cli) {
    const status = await readTailscaleStatus(cli, opts.timeoutMs);
    if (status?.dnsName) return status.dnsName;
    const ip = status?.ips.find((x) => isTailnetIPv4(x)) ?? status?.ips[0];
    if (ip) return ip;
  }
  return tailnetAddresses(opts.interfaces).ipv4[0];
}
