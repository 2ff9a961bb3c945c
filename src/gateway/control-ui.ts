/**
 * The Control UI as a part of the gateway: our dashboard (or a UI folder) on the gateway port,
 * and the methods and events the official Control UI needs beyond the core (session
 * subscriptions and descriptions, chat startup, agents and identities, the answers for
 * features this gateway does not have). See docs/dashboard.md and docs/control-ui-protocol.md.
 *
 * The methods are served whatever `gateway.controlUi` says: a UI hosted elsewhere uses them too.
 */
import { SessionEvents, sessionUiMethods } from "./methods/sessions-ui.ts";
import { uiBootstrapMethods } from "./methods/ui-bootstrap.ts";
import type { Subsystem, SubsystemHost } from "./subsystem.ts";

/** Events this part sends (to the sockets that subscribed). */
export const CONTROL_UI_EVENTS = ["session.message", "sessions.changed"] as const;

export function controlUiSubsystem(): Subsystem {
  const events = new SessionEvents();
  let host: SubsystemHost | undefined;
  return {
    name: "control-ui",
    methods: [
      ...sessionUiMethods(events),
      ...uiBootstrapMethods({ port: () => host?.port ?? 0, stateDir: () => host?.stateDir ?? "" }),
    ],
    // Loaded on the first HTTP request that reaches it (startup time and memory).
    http: [{ prefix: "/", fallback: true, app: (ctx) => import("./http/control-ui.ts").then((m) => m.controlUiApp(ctx)) }],
    events: [...CONTROL_UI_EVENTS],
    start(h) {
      host = h;
      events.attach(h.agents, h);
    },
    stop() {
      events.detach();
      host = undefined;
    },
  };
}
