/**
 * A minimal gateway built only from the device modules, for tests: `connect.challenge` → connect
 * through `authorizeConnect` → `hello-ok` (only `type`, `protocol` and `auth`) or the refusal and
 * its close; then the device RPC methods with their scope check, the returned events broadcast to
 * pairing-scoped sockets and the returned disconnects carried out. It is also the wiring the real
 * gateway needs, written out small.
 *
 * Two listeners share one store: connections to `localUrl` are direct-local loopback; connections
 * to `remoteUrl` are presented to the decision as coming from `remoteIp` (a non-loopback client),
 * so remote pairing can be exercised on a host without a second address.
 */
import type { Server, ServerWebSocket } from "bun";
import { authorizeConnect, sharedAuthGeneration, type ConnectAuthParams, type DeviceAuthPolicy, type SharedVerdict } from "../../src/auth/device-auth.ts";
import { DEVICE_METHOD_SCOPES, DeviceMethods, type DeviceMethodName, type SessionInfo } from "../../src/auth/device-methods.ts";
import { hasForwardingHeaders } from "../../src/auth/net.ts";
import { PairingStore } from "../../src/auth/pairing-store.ts";
import { checkSharedSecret } from "../../src/auth/shared-secret.ts";
import { ErrorCodes, Messages, missingScopeError, RpcError } from "../../src/protocol/errors.ts";
import { hasScope, type Scope } from "../../src/protocol/scopes.ts";

interface SocketState {
  remote: boolean;
  nonce: string;
  origin?: string;
  host?: string;
  forwarded: boolean;
  session?: SessionInfo & { scopes: string[] };
  seq: number;
}

export interface DeviceHarness {
  localUrl: string;
  remoteUrl: string;
  store: PairingStore;
  methods: DeviceMethods;
  logs: string[];
  stop(): Promise<void>;
}

export async function startDeviceHarness(opts: {
  stateDir: string;
  token: string;
  remoteIp?: string;
  policy?: Partial<DeviceAuthPolicy>;
}): Promise<DeviceHarness> {
  const store = PairingStore.open(opts.stateDir);
  const sockets = new Set<ServerWebSocket<SocketState>>();
  const logs: string[] = [];
  const methods = new DeviceMethods(store, {
    isConnected: (id) => [...sockets].some((s) => s.data.session?.deviceId === id),
  });
  const policy: DeviceAuthPolicy = {
    authMode: "token",
    sharedGeneration: sharedAuthGeneration("token", opts.token),
    ...opts.policy,
  };

  const send = (ws: ServerWebSocket<SocketState>, frame: unknown) => ws.send(JSON.stringify(frame));
  const broadcast = (events: { event: string; payload: unknown }[]) => {
    for (const e of events) {
      for (const ws of sockets) {
        const s = ws.data.session;
        if (!s || s.role !== "operator" || !hasScope(s.scopes, "operator.pairing")) continue;
        send(ws, { type: "event", event: e.event, payload: e.payload, seq: ++ws.data.seq });
      }
    }
  };

  async function onConnect(ws: ServerWebSocket<SocketState>, id: string, params: ConnectAuthParams) {
    const checked = checkSharedSecret({ mode: "token", token: opts.token }, params.auth);
    const shared: SharedVerdict = checked.ok ? { ok: true, method: checked.method } : { ok: false, reason: checked.reason };
    const d = ws.data;
    const outcome = await authorizeConnect(
      {
        params,
        nonce: d.nonce,
        conn: d.remote
          ? { remoteIp: opts.remoteIp ?? "198.51.100.7", directLocal: false, hasForwardingHeaders: false, origin: d.origin, host: d.host }
          : { remoteIp: "127.0.0.1", directLocal: !d.forwarded, hasForwardingHeaders: d.forwarded, origin: d.origin, host: d.host },
        shared,
        policy,
      },
      store,
    );
    for (const line of outcome.log) logs.push(`${line.level} ${line.message}`);
    broadcast(outcome.events);
    if (!outcome.ok) {
      send(ws, { type: "res", id, ok: false, error: outcome.error.toShape() });
      ws.close(outcome.closeCode, outcome.closeReason);
      return;
    }
    d.session = {
      role: outcome.role,
      scopes: outcome.scopes,
      deviceId: outcome.deviceId,
      publicKey: params.device?.publicKey,
      isDeviceTokenAuth: outcome.isDeviceTokenAuth,
      client: params.client,
      remoteIp: d.remote ? (opts.remoteIp ?? "198.51.100.7") : undefined,
    };
    send(ws, { type: "res", id, ok: true, payload: { type: "hello-ok", protocol: 4, auth: outcome.auth } });
  }

  async function onRequest(ws: ServerWebSocket<SocketState>, id: string, method: string, params: unknown) {
    const s = ws.data.session!;
    const scope = DEVICE_METHOD_SCOPES[method as DeviceMethodName] as Scope | undefined;
    if (!scope) {
      const err = s.scopes.includes("operator.admin") ? new RpcError(ErrorCodes.INVALID_REQUEST, Messages.unknownMethod(method)) : missingScopeError("operator.admin");
      send(ws, { type: "res", id, ok: false, error: err.toShape() });
      return;
    }
    if (s.role !== "operator") {
      send(ws, { type: "res", id, ok: false, error: { code: ErrorCodes.INVALID_REQUEST, message: Messages.unauthorizedRole(s.role) } });
      return;
    }
    if (!hasScope(s.scopes, scope)) {
      send(ws, { type: "res", id, ok: false, error: missingScopeError(scope).toShape() });
      return;
    }
    const out = await methods.call(method as DeviceMethodName, s, params);
    for (const line of out.log) logs.push(`${line.level} ${line.message}`);
    send(ws, out.ok ? { type: "res", id, ok: true, payload: out.payload } : { type: "res", id, ok: false, error: out.error.toShape() });
    broadcast(out.events);
    // After the response: the caller may be one of the sockets being closed.
    for (const d of out.disconnect) {
      for (const other of sockets) {
        const os = other.data.session;
        if (os?.deviceId === d.deviceId && (!d.role || os.role === d.role)) other.close(d.code, d.reason);
      }
    }
  }

  const listen = (remote: boolean): Server<SocketState> =>
    Bun.serve<SocketState>({
      hostname: "127.0.0.1",
      port: 0,
      fetch(req, server) {
        const data: SocketState = {
          remote,
          nonce: crypto.randomUUID(),
          origin: req.headers.get("origin") ?? undefined,
          host: req.headers.get("host") ?? undefined,
          forwarded: hasForwardingHeaders(req.headers),
          seq: 0,
        };
        if (server.upgrade(req, { data })) return undefined;
        return new Response("upgrade required", { status: 426 });
      },
      websocket: {
        open(ws) {
          sockets.add(ws);
          send(ws, { type: "event", event: "connect.challenge", payload: { nonce: ws.data.nonce, ts: Date.now() } });
        },
        async message(ws, raw) {
          let frame: { type?: string; id?: string; method?: string; params?: unknown };
          try {
            frame = JSON.parse(String(raw));
          } catch {
            ws.close(1000);
            return;
          }
          if (frame.type !== "req" || typeof frame.id !== "string" || typeof frame.method !== "string") {
            ws.close(1008, Messages.invalidFrame);
            return;
          }
          if (!ws.data.session) {
            if (frame.method !== "connect") {
              ws.close(1008, Messages.firstMustBeConnect);
              return;
            }
            await onConnect(ws, frame.id, frame.params as ConnectAuthParams);
            return;
          }
          await onRequest(ws, frame.id, frame.method, frame.params);
        },
        close(ws) {
          sockets.delete(ws);
        },
      },
    });

  const local = listen(false);
  const remote = listen(true);
  return {
    localUrl: `ws://127.0.0.1:${local.port}`,
    remoteUrl: `ws://127.0.0.1:${remote.port}`,
    store,
    methods,
    logs,
    async stop() {
      for (const ws of sockets) ws.close(1001, "bye");
      await Promise.all([local.stop(true), remote.stop(true)]);
      methods.close();
      store.close();
    },
  };
}
