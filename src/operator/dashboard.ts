/**
 * What `openclaw dashboard` knows: where the Control UI of the configured local gateway is
 * (the original's rules: a browser on this host uses loopback for `lan`, wildcard `custom`
 * and plaintext `tailnet`/`custom` binds; `gateway.controlUi.basePath`; https/wss with
 * `gateway.tls.enabled`), the link with the shared token in its `#token=` fragment (never a
 * SecretRef-managed token), whether the gateway is up and serving the dashboard, and how to
 * open a browser on this machine. No printing here (src/cli/dashboard.ts renders).
 */
import { isIP } from "node:net";
import type { Env } from "../config/paths.ts";
import type { ConfigSnapshot } from "../config/snapshot.ts";
import { GatewayRequestError } from "../protocol/client.ts";
import { connectTo, IDENTITY } from "./connect.ts";
import { shortReason, transportErrno } from "./failure.ts";
import type { GatewayTarget } from "./target.ts";

export interface DashboardTarget {
  port: number;
  /** "" or "/prefix" */
  basePath: string;
  /** `http://127.0.0.1:<port><basePath>/` */
  httpUrl: string;
  /** `ws://127.0.0.1:<port><basePath>` */
  wsUrl: string;
  /** httpUrl with `#token=<token>` when the token may travel in a URL, else httpUrl. */
  dashboardUrl: string;
  tokenIncluded: boolean;
  /** Password mode with a literal password: handed to native clients in `--json` (the original's `gatewayPassword`). */
  passwordHandoff?: string;
  /** What the readiness check requests (loopback, no fragment). */
  documentUrl: string;
  tlsEnabled: boolean;
}

function normalizeBasePath(raw: unknown): string {
  const v = typeof raw === "string" ? raw.trim() : "";
  if (!v || v === "/") return "";
  return (v.startsWith("/") ? v : `/${v}`).replace(/\/+$/, "");
}

function hostFor(ip: string): string {
  return isIP(ip) === 6 ? `[${ip}]` : ip;
}

/** The dashboard links of the snapshot's local gateway. */
export function dashboardTarget(snapshot: ConfigSnapshot, env: Env = process.env): DashboardTarget {
  const gw = snapshot.config.gateway;
  const port = snapshot.gateway.port;
  const basePath = normalizeBasePath(gw?.controlUi?.basePath);
  const tlsEnabled = (gw as { tls?: { enabled?: unknown } } | undefined)?.tls?.enabled === true;
  const bind = snapshot.gateway.bind;
  const customHost = gw?.customBindHost?.trim();
  // A browser on this host: loopback, except a TLS gateway bound to one specific address, whose
  // certificate names that address.
  let host = "127.0.0.1";
  if (tlsEnabled && bind === "custom" && customHost && customHost !== "0.0.0.0" && isIP(customHost) === 4) host = customHost;
  else if (tlsEnabled && bind === "tailnet" && isIP(snapshot.gateway.bindHost) === 4) host = snapshot.gateway.bindHost;
  const scheme = tlsEnabled ? "https" : "http";
  const httpUrl = `${scheme}://${hostFor(host)}:${port}${basePath ? `${basePath}/` : "/"}`;
  const wsUrl = `${tlsEnabled ? "wss" : "ws"}://${hostFor(host)}:${port}${basePath}`;

  // The token that may go into a URL: a literal one (file, flags) or OPENCLAW_GATEWAY_TOKEN,
  // never one the file names as a SecretRef object.
  const fileToken = (snapshot.doc as { gateway?: { auth?: { token?: unknown } } } | undefined)?.gateway?.auth?.token;
  const secretRef = typeof fileToken === "object" && fileToken !== null && snapshot.sources.token === "config";
  const token = snapshot.gateway.auth.token ?? (env.OPENCLAW_GATEWAY_TOKEN || undefined);
  const mode = snapshot.gateway.auth.mode ?? (snapshot.gateway.auth.password ? "password" : "token");
  const tokenIncluded = mode !== "password" && Boolean(token) && !secretRef;
  const filePassword = (snapshot.doc as { gateway?: { auth?: { password?: unknown } } } | undefined)?.gateway?.auth?.password;
  const passwordRef = typeof filePassword === "object" && filePassword !== null && snapshot.sources.password === "config";
  const passwordHandoff = mode === "password" && !passwordRef ? snapshot.gateway.auth.password : undefined;

  const documentUrl = `${scheme}://127.0.0.1:${port}${basePath ? `${basePath}/` : "/"}`;
  return {
    port,
    basePath,
    httpUrl,
    wsUrl,
    dashboardUrl: tokenIncluded ? `${httpUrl}#token=${encodeURIComponent(token!)}` : httpUrl,
    tokenIncluded,
    ...(passwordHandoff ? { passwordHandoff } : {}),
    documentUrl,
    tlsEnabled,
  };
}

export type Readiness = { ready: true } | { ready: false; reason: string; status?: number };

/** The original's readiness reason for a gateway that is down. */
export const NOT_RUNNING = "Gateway is not running.";

/**
 * Is the gateway up? A gateway that answers the handshake is, even when it refuses these
 * credentials (the dashboard asks for them itself); nothing listening is "not running".
 */
export async function gatewayReadiness(target: GatewayTarget, timeoutMs = 3_000): Promise<Readiness> {
  try {
    const client = await connectTo(target, { identity: IDENTITY.probe, minProtocol: 3, timeoutMs });
    void client.close();
    return { ready: true };
  } catch (err) {
    if (err instanceof GatewayRequestError) return { ready: true };
    const errno = await transportErrno(target.url, Math.min(timeoutMs, 1500));
    if (errno === "ECONNREFUSED" || errno === "ENOTFOUND" || errno === "EHOSTUNREACH") return { ready: false, reason: NOT_RUNNING };
    return { ready: false, reason: `Gateway probe failed: ${await shortReason(err, target)}` };
  }
}

/**
 * Does the gateway serve the dashboard document? HEAD with `Accept: text/html` must answer 200
 * text/html; a plain-text 503 (a missing `gateway.controlUi.root`) is reported by its text.
 */
export async function documentReadiness(target: DashboardTarget, timeoutMs = 2_000): Promise<Readiness> {
  const request = (method: string) =>
    fetch(target.documentUrl, {
      method,
      redirect: "manual",
      headers: { Accept: "text/html", "Accept-Encoding": "identity" },
      signal: AbortSignal.timeout(timeoutMs),
      ...(target.tlsEnabled ? { tls: { rejectUnauthorized: false } } : {}),
    } as RequestInit);
  let res: Response;
  try {
    res = await request("HEAD");
  } catch (err) {
    return { ready: false, reason: `Control UI dashboard is unavailable (${(err as Error).message}).` };
  }
  const type = res.headers.get("content-type")?.split(";", 1)[0]?.trim().toLowerCase();
  if (res.status === 200 && type === "text/html") return { ready: true };
  if (res.status === 503) {
    const diag = await request("GET").catch(() => undefined);
    const diagType = diag?.headers.get("content-type")?.split(";", 1)[0]?.trim().toLowerCase();
    if (diag?.status === 503 && diagType === "text/plain") {
      const text = (await diag.text()).slice(0, 2048).replace(/[\u0000-\u0008\u000b-\u001f\u007f]/g, "").trim();
      if (text) return { ready: false, reason: text, status: 503 };
    }
  }
  return { ready: false, reason: `Control UI dashboard is unavailable (HTTP ${res.status}).`, status: res.status };
}

/** The command that opens a URL in a browser here, or why there is none (the original's rules). */
export async function browserOpener(env: Env = process.env, platform: NodeJS.Platform = process.platform): Promise<{ argv: string[] } | { argv: null; reason: string }> {
  const hasDisplay = Boolean(env.DISPLAY || env.WAYLAND_DISPLAY);
  const overSsh = Boolean(env.SSH_CLIENT || env.SSH_TTY || env.SSH_CONNECTION);
  if (overSsh && !hasDisplay && platform !== "win32" && platform !== "darwin") return { argv: null, reason: "ssh-no-display" };
  if (platform === "win32") return { argv: [`${env.SystemRoot ?? "C:\\Windows"}\\System32\\rundll32.exe`, "url.dll,FileProtocolHandler"] };
  if (platform === "darwin") return Bun.which("open") ? { argv: ["open"] } : { argv: null, reason: "missing-open" };
  if (platform === "linux") {
    const wsl = Boolean(env.WSL_DISTRO_NAME || env.WSL_INTEROP);
    if (wsl && Bun.which("wslview")) return { argv: ["wslview"] };
    if (!hasDisplay) return { argv: null, reason: wsl ? "wsl-no-wslview" : "no-display" };
    return Bun.which("xdg-open") ? { argv: ["xdg-open"] } : { argv: null, reason: "missing-xdg-open" };
  }
  return { argv: null, reason: "unsupported-platform" };
}

/** Open an http(s) URL with the platform's opener; true when it exited 0 within 5 s. */
export async function openInBrowser(url: string, opener: string[]): Promise<boolean> {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return false;
  }
  if (parsed.protocol !== "http:" && parsed.protocol !== "https:") return false;
  try {
    const child = Bun.spawn([...opener, parsed.toString()], { stdio: ["ignore", "ignore", "ignore"] });
    const code = await Promise.race([child.exited, Bun.sleep(5_000).then(() => undefined)]);
    if (code === undefined) child.kill();
    return code === 0;
  } catch {
    return false;
  }
}
