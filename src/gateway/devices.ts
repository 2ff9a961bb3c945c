/**
 * Device pairing, hosted by the gateway: the pairing store, the connect decision for devices,
 * the nine device RPC methods, the pairing events and the closes they cause.
 *
 * It is a subsystem the gateway always hosts (the handshake cannot decide a device connect
 * without it), first in start order. It outlives listeners: an in-process restart keeps the
 * store, the live scope-upgrade waiters and everything pending. The store is the state database
 * (`<stateDir>/openclaw.sqlite`, the session store's connection) and is opened on first use: a
 * gateway that only ever sees device-less clients never touches it.
 *
 * What it does for the handshake (`authorize`): the shared-secret verdict and the socket's facts
 * in, `authorizeConnect` (src/auth/device-auth.ts) decides; then its log lines are written and
 * its events broadcast to pairing readers. For the methods: each answers first, then its events
 * go out (`operator.pairing` readers, droppable), then the sockets of a removed device or of a
 * rotated/revoked token's role are closed 4001 `device removed`. The 30 s tick rechecks open
 * `device.scopes.waitUpgrade` calls (a decision written by another process, e.g. the CLI).
 */
import {
  authorizeConnect,
  sharedAuthGeneration,
  type ConnectAuthInput,
  type ConnectAuthOutcome,
  type LogLine,
} from "../auth/device-auth.ts";
import { DEVICE_EVENTS, DEVICE_METHOD_SCOPES, DeviceMethods, parseDeviceParams, type DeviceEvent, type DeviceMethodName, type DisconnectRequest, type SessionInfo } from "../auth/device-methods.ts";
import { isLoopbackIp } from "../auth/net.ts";
import { PairingStore } from "../auth/pairing-store.ts";
import { tokenSecretPath } from "../auth/pairing-tokens.ts";
import type { AgentRuntime } from "../agents/runtime.ts";
import type { GatewaySettings } from "../config/runtime.ts";
import type { ConfigSnapshot } from "../config/snapshot.ts";
import type { Logger } from "../log/logger.ts";
import { CloseCodes, DeviceMessages, ErrorCodes, RpcError } from "../protocol/errors.ts";
import type { MethodName } from "../protocol/contract.ts";
import { defineMethod, type CallerInfo, type MethodDef } from "./methods/types.ts";
import type { BroadcastOptions, Subsystem } from "./subsystem.ts";

/** A live socket, as far as device pairing cares. */
export interface DeviceSocket {
  readonly phase: string;
  readonly role: string;
  readonly device?: { readonly id: string };
  readonly isClosing: boolean;
  close(code: number, reason?: string): void;
}

/** What device pairing needs from the gateway. */
export interface DevicesHost {
  readonly snapshot: ConfigSnapshot;
  readonly settings: GatewaySettings;
  readonly stateDir: string;
  readonly agents: AgentRuntime;
  readonly log: Logger;
  broadcast(event: string, payload: unknown, opts?: BroadcastOptions): void;
  /** The live sockets (for `connected` and for closing a device's sockets). */
  readonly connections: Iterable<DeviceSocket>;
}

const PAIRING_EVENT: BroadcastOptions = { scope: "operator.pairing", droppable: true };

/** The device part of a connect, as the handshake hands it over (everything but the policy). */
export type DeviceConnectInput = Omit<ConnectAuthInput, "policy"> & { deviceTokenLockedForMs: number };

export class DevicePairing implements Subsystem {
  readonly name = "devices";
  readonly events = DEVICE_EVENTS;
  readonly methods: ReadonlyArray<MethodDef<any>>;
  private opened?: { store: PairingStore; methods: DeviceMethods };
  private generation?: { key: string; value: string | undefined };
  private readonly log: Logger;

  constructor(private readonly host: DevicesHost) {
    this.log = host.log.child("devices");
    this.methods = (Object.keys(DEVICE_METHOD_SCOPES) as DeviceMethodName[]).map((name) => this.method(name));
  }

  /** The store (opened on first use; throws StoreUnavailableError when the database cannot be opened). */
  get store(): PairingStore {
    return this.open().store;
  }

  /** `device.scopes.waitUpgrade` calls waiting for a decision now. */
  get upgradeWaits(): number {
    return this.opened?.methods.upgrades.sleeping ?? 0;
  }

  /** Whether the store has been opened (tests, memory accounting). */
  get isOpen(): boolean {
    return this.opened !== undefined;
  }

  private open(): { store: PairingStore; methods: DeviceMethods } {
    if (this.opened) return this.opened;
    const store = new PairingStore(this.host.agents.store.db, { secretPath: tokenSecretPath(this.host.stateDir) });
    const methods = new DeviceMethods(store, { isConnected: (id) => this.isConnected(id) });
    this.opened = { store, methods };
    return this.opened;
  }

  private isConnected(deviceId: string): boolean {
    for (const s of this.host.connections) if (s.phase === "ready" && !s.isClosing && s.device?.id === deviceId) return true;
    return false;
  }

  /** The shared-secret generation, computed once per secret. */
  private sharedGeneration(): string | undefined {
    const auth = this.host.settings.auth;
    const secret = auth.mode === "password" ? auth.password : auth.token;
    const key = `${auth.mode}\0${secret ?? ""}`;
    if (this.generation?.key !== key) this.generation = { key, value: sharedAuthGeneration(auth.mode, secret) };
    return this.generation.value;
  }

  /**
   * Decide the device part of a connect. Writes the decision's log lines and broadcasts its
   * pairing events; the caller applies the limiter hints and answers. A store that cannot be
   * opened refuses device connects with UNAVAILABLE (device-less ones never need it).
   */
  async authorize(input: DeviceConnectInput): Promise<ConnectAuthOutcome> {
    const pairing = (this.host.snapshot.config.gateway?.nodes as { pairing?: { autoApproveLocal?: boolean; autoApproveCidrs?: string[] } } | undefined)?.pairing;
    const { deviceTokenLockedForMs, ...rest } = input;
    const full: ConnectAuthInput = {
      ...rest,
      policy: {
        authMode: this.host.settings.auth.mode,
        sharedGeneration: this.sharedGeneration(),
        autoApproveLocal: pairing?.autoApproveLocal,
        autoApproveCidrs: pairing?.autoApproveCidrs,
        deviceTokenLockedForMs,
      },
    };
    let store: PairingStore;
    if (input.params.device) {
      try {
        store = this.store;
      } catch (err) {
        this.log.error(`pairing store unavailable: ${(err as Error).message}`);
        const error = new RpcError(ErrorCodes.UNAVAILABLE, DeviceMessages.storeUnavailable, undefined, { retryable: true, retryAfterMs: 10_000 });
        return { ok: false, error, closeCode: CloseCodes.TRY_AGAIN_LATER, closeReason: DeviceMessages.storeUnavailable, events: [], limiter: {}, log: [] };
      }
    } else {
      // A connect without a device never reaches the store (authorizeConnect decides it from
      // the params and the shared verdict alone), so it is not opened for one.
      store = undefined as unknown as PairingStore;
    }
    const outcome = await authorizeConnect(full, store);
    this.writeLog(outcome.log);
    this.emit(outcome.events);
    return outcome;
  }

  /** Called on the gateway's tick: wake `waitUpgrade` calls whose request was decided elsewhere. */
  tick(): void {
    this.opened?.methods.upgrades.recheck();
  }

  stop(): void {
    this.opened?.methods.close();
    this.opened?.store.close();
    this.opened = undefined;
  }

  private writeLog(lines: readonly LogLine[]): void {
    for (const line of lines) this.log[line.level](line.message);
  }

  private emit(events: readonly DeviceEvent[]): void {
    for (const e of events) this.host.broadcast(e.event, e.payload, PAIRING_EVENT);
  }

  /** Close 4001 the sockets of a device (only those of `role` when given). */
  private disconnect(requests: readonly DisconnectRequest[]): void {
    for (const d of requests) {
      for (const s of [...this.host.connections]) {
        if (s.device?.id === d.deviceId && (!d.role || s.role === d.role)) s.close(d.code, d.reason);
      }
    }
  }

  private method(name: DeviceMethodName): MethodDef<any> {
    return defineMethod(name as MethodName & DeviceMethodName, {
      parse: (params) => parseDeviceParams(name, params) as never,
      handler: async (params: unknown, call) => {
        const out = await this.open().methods.call(name, sessionOf(call.client), params, call.client.closed);
        this.writeLog(out.log);
        // Answer first, then tell pairing readers, then close the affected sockets (the caller
        // may be one of them, so it gets its answer before its socket goes).
        call.afterResponse(() => {
          this.emit(out.events);
          this.disconnect(out.disconnect);
        });
        if (!out.ok) throw out.error;
        return out.payload as never;
      },
    });
  }
}

function sessionOf(client: CallerInfo): SessionInfo {
  return {
    role: client.role,
    scopes: client.scopes,
    deviceId: client.device?.id,
    publicKey: client.device?.publicKey,
    isDeviceTokenAuth: client.isDeviceTokenAuth === true,
    client: client.client,
    // Loopback addresses are not recorded on requests (as at connect).
    remoteIp: client.ip && !isLoopbackIp(client.ip) ? client.ip : undefined,
  };
}
