/**
 * A second process writing the pairing store, for the cross-process and crash tests:
 *
 *   bun pairing-writer.ts <stateDir> <prefix> <count>   request + approve <count> devices, exit 0
 *   bun pairing-writer.ts <stateDir> <prefix> loop      the same forever; after each committed
 *                                                       approval prints `committed <i> <token>`
 */
import { PairingStore } from "../../src/auth/pairing-store.ts";

const [dir, prefix, what] = process.argv.slice(2);
const store = PairingStore.open(dir);
const limit = what === "loop" ? Number.POSITIVE_INFINITY : Number(what);
for (let i = 0; i < limit; i++) {
  const deviceId = new Bun.CryptoHasher("sha256").update(`device-${prefix}-${i}`).digest("hex");
  const r = store.requestPairing({ deviceId, publicKey: `key-${prefix}-${i}`, role: "operator", scopes: ["operator.read"], displayName: `${prefix}-${i}` });
  const approved = store.approve(r.request.requestId, { callerScopes: ["operator.admin"] });
  if (approved?.status !== "approved") throw new Error(`approval ${i} failed: ${JSON.stringify(approved)}`);
  const token = store.ensureToken({ deviceId, role: "operator", scopes: ["operator.read"] });
  if (!token) throw new Error(`no token for ${i}`);
  if (what === "loop") process.stdout.write(`committed ${i} ${token.token}\n`);
}
store.close();
