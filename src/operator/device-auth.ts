/**
 * Connecting as this CLI's own device (src/auth/device-client-identity.ts), as the official CLI
 * does whenever it is not the plain local case (the `cli` client with the shared secret on a
 * loopback URL): from another host, or to a gateway without a shared secret.
 *
 *   - the identity (an Ed25519 key) lives in `<stateDir>/openclaw.sqlite` and is created on first
 *     use; the challenge is signed with the v3 payload;
 *   - the device token a gateway hands out in `hello-ok.auth.deviceToken` is kept per gateway URL
 *     and role, and sent as `auth.deviceToken` when no shared secret is given;
 *   - a kept token the gateway refuses (`AUTH_DEVICE_TOKEN_MISMATCH`) is forgotten; a shared
 *     token the gateway refuses while saying `canRetryWithDeviceToken` is retried once with the
 *     kept device token.
 *
 * The first connect of a new device from another host ends in `PAIRING_REQUIRED` with a
 * request id: approve it on the gateway host (`openclaw devices approve <requestId>`), then the
 * next connect receives the device token.
 */
import { ClientIdentityStore, signConnect, type ClientIdentity } from "../auth/device-client-identity.ts";
import { GatewayClient, GatewayConnectError, type ConnectOptions } from "../protocol/client.ts";
import { openDatabase } from "../store/db.ts";

const ROLE = "operator";

function detailsOf(err: unknown): { code?: string; canRetryWithDeviceToken?: boolean } | undefined {
  if (!(err instanceof GatewayConnectError)) return undefined;
  return err.extra.error?.details as { code?: string; canRetryWithDeviceToken?: boolean } | undefined;
}

/** Open the CLI's identity store; undefined when the state database cannot be opened. */
export function openClientIdentity(stateDir: string): ClientIdentityStore | undefined {
  try {
    return new ClientIdentityStore(openDatabase(stateDir));
  } catch {
    return undefined;
  }
}

/**
 * Connect as this device (see the module comment). `gatewayKey` names the gateway the tokens
 * belong to (its URL). Falls back to a device-less connect when the state database cannot be
 * opened (the gateway then decides, as for any device-less client).
 */
export async function connectAsDevice(stateDir: string, gatewayKey: string, opts: ConnectOptions): Promise<GatewayClient> {
  const store = openClientIdentity(stateDir);
  if (!store) return GatewayClient.connect(opts);
  try {
    let identity: ClientIdentity;
    try {
      identity = await store.loadOrCreate();
    } catch {
      return await GatewayClient.connect(opts);
    }
    const sign: NonNullable<ConnectOptions["device"]> = (challenge, fields) => signConnect(identity, challenge, fields);
    const role = opts.role ?? ROLE;
    const kept = store.readToken(gatewayKey, identity.deviceId, role);
    const sharedSecret = Boolean(opts.token || opts.password);
    const attempt = (deviceToken: string | undefined) => GatewayClient.connect({ ...opts, device: sign, deviceToken });
    let usedKept = !sharedSecret && kept !== undefined;
    let client: GatewayClient;
    try {
      client = await attempt(usedKept ? kept!.token : undefined);
    } catch (err) {
      const details = detailsOf(err);
      if (details?.code === "AUTH_DEVICE_TOKEN_MISMATCH" && usedKept) {
        store.clearToken(gatewayKey, identity.deviceId, role);
        throw err;
      }
      if (details?.code === "AUTH_TOKEN_MISMATCH" && details.canRetryWithDeviceToken && kept && sharedSecret) {
        usedKept = true;
        try {
          client = await attempt(kept.token);
        } catch (retryErr) {
          if (detailsOf(retryErr)?.code === "AUTH_DEVICE_TOKEN_MISMATCH") store.clearToken(gatewayKey, identity.deviceId, role);
          throw retryErr;
        }
      } else {
        throw err;
      }
    }
    const auth = client.hello.auth;
    if (auth.deviceToken && (auth.role ?? role) === role && auth.deviceToken !== kept?.token) {
      store.storeToken({ gateway: gatewayKey, deviceId: identity.deviceId, role, token: auth.deviceToken, scopes: auth.scopes });
    }
    return client;
  } finally {
    store.db.close();
  }
}
