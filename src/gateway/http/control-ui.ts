/**
 * The Control UI on the gateway port: a Hono router around `serveUi` (src/ui/serve.ts),
 * mounted as the fallback router at "/" so the probes, the OpenAI-compatible API and every
 * other router answer first. It reads `gateway.controlUi` per request (the key hot-applies):
 *
 *   enabled: false   nothing is served (the gateway's plain-text 404)
 *   basePath         where the UI lives (default "/"); other paths fall through to the 404
 *   root             serve that folder (e.g. the official UI) instead of our embedded dashboard
 *
 * `control-ui-config.json` is behind the gateway's HTTP auth, as upstream keeps it (the
 * shared token or password; a trusted proxy's user; open in `auth.mode: "none"`), and names the
 * default agent's identity as the assistant.
 */
import { Hono } from "hono";
import { listAgents } from "../../agents/registry.ts";
import { normalizeIp } from "../../auth/net.ts";
import { UI_BUILD_ID } from "../../ui/assets.ts";
import { DASHBOARD_HEADERS, normalizeBasePath, officialHeaders } from "../../ui/http.ts";
import { bootstrapConfig, serveUi } from "../../ui/serve.ts";
import { agentIdentity } from "../methods/ui-bootstrap.ts";
import { authenticateHttp } from "./auth.ts";
import { textResponse } from "./reply.ts";
import type { HttpContext, HttpEnv } from "./types.ts";

/** `gateway.controlUi` as the router reads it. */
export interface ControlUiSettings {
  enabled: boolean;
  basePath: string;
  root?: string;
}

export function controlUiSettings(cfg: HttpContext["snapshot"]["config"]): ControlUiSettings {
  const ui = cfg.gateway?.controlUi;
  const root = ui?.root?.trim();
  return { enabled: ui?.enabled !== false, basePath: normalizeBasePath(ui?.basePath), root: root ? root : undefined };
}

/** The assistant the UI names: the default agent's identity (`agent.identity.get`'s answer). */
export function assistantOf(cfg: HttpContext["snapshot"]["config"]): { id: string; name: string; avatar: string } {
  const agent = listAgents(cfg).find((a) => a.isDefault)!;
  const identity = agentIdentity(cfg, agent.id);
  return { id: agent.id, name: identity.name, avatar: identity.avatar };
}

export function controlUiApp(ctx: HttpContext): Hono<HttpEnv> {
  const app = new Hono<HttpEnv>();
  app.all("*", async (c) => {
    const ui = controlUiSettings(ctx.snapshot.config);
    if (!ui.enabled) return textResponse(404, "Not Found");
    const req = c.req.raw;
    const headers = ui.root !== undefined ? officialHeaders() : DASHBOARD_HEADERS;
    const res = await serveUi(req, {
      basePath: ui.basePath,
      root: ui.root,
      authorize: async (request) => {
        const verdict = await authenticateHttp(ctx, request, normalizeIp(c.env.server.requestIP(request)?.address ?? ""));
        if (!(verdict instanceof Response)) return undefined;
        // The refusal keeps the UI's own headers, as upstream answers it.
        for (const [k, v] of Object.entries(headers)) if (!verdict.headers.has(k)) verdict.headers.set(k, v);
        return verdict;
      },
      bootstrapConfig: () => {
        const assistant = assistantOf(ctx.snapshot.config);
        return bootstrapConfig({
          basePath: ui.basePath,
          root: ui.root,
          assistantName: assistant.name,
          assistantAvatar: assistant.avatar,
          assistantAgentId: assistant.id,
          buildId: UI_BUILD_ID,
          authMode: ctx.settings.auth.mode,
        });
      },
    });
    return res ?? textResponse(404, "Not Found");
  });
  return app;
}
