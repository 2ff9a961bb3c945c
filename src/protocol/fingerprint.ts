/**
 * TLS certificate fingerprints as OpenClaw spells them: SHA-256 of the certificate's DER bytes,
 * 64 lowercase hex digits (the Bonjour TXT `gatewayTlsSha256`, `gateway.remote.tlsFingerprint`).
 */

/** `sha256:AB:CD…`, `AB:CD…` or hex → 64 lowercase hex digits; "" when it is not a SHA-256 fingerprint. */
export function normalizeTlsFingerprint(value: string): string {
  const v = value.trim().replace(/^sha256:/i, "");
  if (/^[0-9a-f]{64}$/i.test(v)) return v.toLowerCase();
  if (/^[0-9a-f]{2}(:[0-9a-f]{2}){31}$/i.test(v)) return v.replaceAll(":", "").toLowerCase();
  return "";
}
