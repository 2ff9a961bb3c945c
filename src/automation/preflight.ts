/**
 * Local-provider preflight before an isolated scheduled turn: a configured provider whose
 * `baseUrl` is on loopback, a private network or `.local` is probed (`api: "ollama"` at
 * `/api/tags`, `openai-completions` at `/models`, i.e. `GET /v1/models` for a `/v1` base URL);
 * when every candidate of the job's model chain is unreachable the run is recorded as skipped
 * instead of starting a model call. Results are cached per endpoint for 5 minutes, so many due
 * jobs against one dead local server cost one probe. Remote providers are never probed.
 */
import { isPrivateIp } from "../auth/net.ts";
import { systemClock, type Clock } from "./clock.ts";

export const PREFLIGHT_CACHE_MS = 300_000;
export const PREFLIGHT_TIMEOUT_MS = 2_000;

export interface ProviderEndpoint {
  /** Provider id, for the skip message. */
  provider: string;
  baseUrl: string;
  /** `ollama` | `openai-completions` (others are not probed). */
  api?: string;
}

/** The URL to probe, or undefined when this endpoint is not a local one we probe. */
export function probeUrl(ep: ProviderEndpoint): string | undefined {
  let url: URL;
  try {
    url = new URL(ep.baseUrl);
  } catch {
    return undefined;
  }
  const host = url.hostname.replace(/^\[|\]$/g, "").toLowerCase();
  const local = host === "localhost" || host.endsWith(".local") || isPrivateIp(host);
  if (!local) return undefined;
  const api = ep.api ?? "openai-completions";
  const base = ep.baseUrl.replace(/\/+$/, "");
  if (api === "ollama") return `${base.replace(/\/v1$/, "")}/api/tags`;
  if (api === "openai-completions") return `${base}/models`;
  return undefined;
}

export interface Preflight {
  /** undefined when the turn may start; otherwise the skip reason. */
  check(chain: ProviderEndpoint[]): Promise<string | undefined>;
}

export function createPreflight(opts: { fetch?: typeof fetch; clock?: Clock; timeoutMs?: number } = {}): Preflight {
  const doFetch = opts.fetch ?? fetch;
  const clock = opts.clock ?? systemClock;
  const cache = new Map<string, { ok: boolean; at: number }>();

  const reachable = async (url: string): Promise<boolean> => {
    const hit = cache.get(url);
    if (hit && clock.now() - hit.at < PREFLIGHT_CACHE_MS) return hit.ok;
    let ok: boolean;
    try {
      const res = await doFetch(url, { signal: AbortSignal.timeout(opts.timeoutMs ?? PREFLIGHT_TIMEOUT_MS) });
      // Any HTTP answer means something listens; 401/404 still prove the server is up.
      ok = res.status < 500;
      await res.body?.cancel().catch(() => {});
    } catch {
      ok = false;
    }
    if (cache.size > 256) cache.clear();
    cache.set(url, { ok, at: clock.now() });
    return ok;
  };

  return {
    async check(chain) {
      const probes = chain.map((ep) => ({ ep, url: probeUrl(ep) }));
      // A remote (unprobed) candidate may always be tried.
      if (probes.length === 0 || probes.some((p) => p.url === undefined)) return undefined;
      for (const p of probes) if (await reachable(p.url!)) return undefined;
      const names = probes.map((p) => `${p.ep.provider} (${new URL(p.url!).origin})`).join(", ");
      return `local model provider unreachable: ${names}`;
    },
  };
}
