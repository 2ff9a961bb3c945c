/**
 * What the dashboard keeps in the browser, under the official Control UI's keys so a browser
 * that used one UI is recognised by the other:
 *
 *   sessionStorage  openclaw.control.token.v1:<gateway>   the shared token, kept for this tab
 *                   only after a token-mode connect (passwords are never stored)
 *   localStorage    openclaw.device.auth.v1:<gateway>     {version:1, deviceId, tokens:{<role>:
 *                   {token, role, scopes, updatedAtMs}}}: the device token from hello-ok
 *   localStorage    openclaw-bun.dashboard.v1             {gatewayUrl}: a chosen non-default gateway
 *
 * `<gateway>` is the gateway URL as `protocol//host/path` without a trailing slash (the device
 * token key keeps the query string), as the official UI normalises it.
 */

function safe(kind: "localStorage" | "sessionStorage"): Storage | undefined {
  try {
    return globalThis[kind];
  } catch {
    return undefined;
  }
}

export const local = () => safe("localStorage");
export const session = () => safe("sessionStorage");

export function normalizeGatewayUrl(url: string, keepSearch = false): string {
  const trimmed = url.trim();
  if (!trimmed) return "default";
  try {
    const u = new URL(trimmed, location.href);
    const path = u.pathname === "/" ? "" : u.pathname.replace(/\/+$/, "") || u.pathname;
    return `${u.protocol}//${u.host}${path}${keepSearch ? u.search : ""}`;
  } catch {
    return trimmed;
  }
}

const TOKEN_PREFIX = "openclaw.control.token.v1:";
const DEVICE_AUTH_PREFIX = "openclaw.device.auth.v1:";
const SETTINGS_KEY = "openclaw-bun.dashboard.v1";

function get(store: Storage | undefined, key: string): string | null {
  try {
    return store?.getItem(key) ?? null;
  } catch {
    return null;
  }
}

function set(store: Storage | undefined, key: string, value: string | null): void {
  try {
    if (value === null) store?.removeItem(key);
    else store?.setItem(key, value);
  } catch {
    // storage blocked or full: the value lives in memory for this page
  }
}

export function loadToken(gatewayUrl: string): string {
  return get(session(), TOKEN_PREFIX + normalizeGatewayUrl(gatewayUrl)) ?? "";
}

export function saveToken(gatewayUrl: string, token: string): void {
  set(session(), TOKEN_PREFIX + normalizeGatewayUrl(gatewayUrl), token || null);
}

export interface StoredDeviceToken {
  token: string;
  role: string;
  scopes: string[];
  updatedAtMs: number;
}

interface DeviceAuthRecord {
  version: 1;
  deviceId: string;
  tokens: Record<string, StoredDeviceToken>;
}

function readDeviceAuth(gatewayUrl: string): DeviceAuthRecord | undefined {
  try {
    const parsed = JSON.parse(get(local(), DEVICE_AUTH_PREFIX + normalizeGatewayUrl(gatewayUrl, true)) ?? "null");
    if (parsed?.version === 1 && typeof parsed.deviceId === "string" && parsed.tokens && typeof parsed.tokens === "object") return parsed;
  } catch {
    // unreadable record: as if absent
  }
  return undefined;
}

export function loadDeviceToken(gatewayUrl: string, deviceId: string, role = "operator"): StoredDeviceToken | undefined {
  const rec = readDeviceAuth(gatewayUrl);
  if (!rec || rec.deviceId !== deviceId) return undefined;
  const t = rec.tokens[role];
  return t && typeof t.token === "string" ? t : undefined;
}

export function saveDeviceToken(gatewayUrl: string, deviceId: string, token: Omit<StoredDeviceToken, "updatedAtMs">): void {
  const rec = readDeviceAuth(gatewayUrl);
  const tokens = rec?.deviceId === deviceId ? { ...rec.tokens } : {};
  tokens[token.role] = { ...token, updatedAtMs: Date.now() };
  set(local(), DEVICE_AUTH_PREFIX + normalizeGatewayUrl(gatewayUrl, true), JSON.stringify({ version: 1, deviceId, tokens }));
}

export function clearDeviceToken(gatewayUrl: string, deviceId: string, role = "operator"): void {
  const rec = readDeviceAuth(gatewayUrl);
  if (!rec || rec.deviceId !== deviceId || !rec.tokens[role]) return;
  const tokens = { ...rec.tokens };
  delete tokens[role];
  set(local(), DEVICE_AUTH_PREFIX + normalizeGatewayUrl(gatewayUrl, true), JSON.stringify({ ...rec, tokens }));
}

export function loadChosenGateway(): string | undefined {
  try {
    const v = JSON.parse(get(local(), SETTINGS_KEY) ?? "null")?.gatewayUrl;
    return typeof v === "string" && v ? v : undefined;
  } catch {
    return undefined;
  }
}

export function saveChosenGateway(url: string | undefined): void {
  set(local(), SETTINGS_KEY, url ? JSON.stringify({ gatewayUrl: url }) : null);
}
