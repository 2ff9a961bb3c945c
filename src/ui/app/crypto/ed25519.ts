/**
 * Ed25519 (RFC 8032) on BigInt, for browsers whose WebCrypto has no Ed25519 or no WebCrypto
 * at all (plain HTTP is not a secure context). The dashboard signs one connect payload per
 * connection, so a small readable implementation is enough: extended twisted-Edwards
 * coordinates, double-and-add scalar multiplication, the RFC's point encoding.
 *
 * Timing is not constant. The key never leaves the browser and one signature per connect gives
 * a remote observer nothing to measure; WebCrypto is always preferred where it exists.
 */
import { sha512 as sha512Js } from "./sha2.ts";

type Hash = (data: Uint8Array) => Promise<Uint8Array> | Uint8Array;

const P = 2n ** 255n - 19n;
/** Group order. */
const L = 2n ** 252n + 27742317777372353535851937790883648493n;

function mod(a: bigint, m: bigint = P): bigint {
  const r = a % m;
  return r >= 0n ? r : r + m;
}

function pow(base: bigint, exp: bigint): bigint {
  let result = 1n;
  let b = mod(base);
  let e = exp;
  while (e > 0n) {
    if (e & 1n) result = (result * b) % P;
    b = (b * b) % P;
    e >>= 1n;
  }
  return result;
}

const inv = (x: bigint) => pow(x, P - 2n);
const D = mod(-121665n * inv(121666n));
const SQRT_M1 = pow(2n, (P - 1n) / 4n);

/** A point in extended coordinates (X:Y:Z:T), x = X/Z, y = Y/Z, xy = T/Z. */
interface Point {
  X: bigint;
  Y: bigint;
  Z: bigint;
  T: bigint;
}

const ZERO: Point = { X: 0n, Y: 1n, Z: 1n, T: 0n };
const GY = mod(4n * inv(5n));
const GX = recoverX(GY, 0)!;
const BASE: Point = { X: GX, Y: GY, Z: 1n, T: mod(GX * GY) };

function add(p: Point, q: Point): Point {
  const A = mod((p.Y - p.X) * (q.Y - q.X));
  const B = mod((p.Y + p.X) * (q.Y + q.X));
  const C = mod(2n * p.T * q.T * D);
  const Dd = mod(2n * p.Z * q.Z);
  const E = B - A;
  const F = Dd - C;
  const G = Dd + C;
  const H = B + A;
  return { X: mod(E * F), Y: mod(G * H), Z: mod(F * G), T: mod(E * H) };
}

function multiply(p: Point, scalar: bigint): Point {
  let result = ZERO;
  let addend = p;
  let k = scalar;
  while (k > 0n) {
    if (k & 1n) result = add(result, addend);
    addend = add(addend, addend);
    k >>= 1n;
  }
  return result;
}

function equal(p: Point, q: Point): boolean {
  return mod(p.X * q.Z - q.X * p.Z) === 0n && mod(p.Y * q.Z - q.Y * p.Z) === 0n;
}

function recoverX(y: bigint, sign: number): bigint | undefined {
  if (y >= P) return undefined;
  const x2 = mod((y * y - 1n) * inv(D * y * y + 1n));
  if (x2 === 0n) return sign ? undefined : 0n;
  let x = pow(x2, (P + 3n) / 8n);
  if (mod(x * x - x2) !== 0n) x = mod(x * SQRT_M1);
  if (mod(x * x - x2) !== 0n) return undefined;
  if (Number(x & 1n) !== sign) x = P - x;
  return x;
}

function bytesToNumberLE(bytes: Uint8Array): bigint {
  let n = 0n;
  for (let i = bytes.length - 1; i >= 0; i--) n = (n << 8n) | BigInt(bytes[i]);
  return n;
}

function numberToBytesLE(n: bigint, length: number): Uint8Array {
  const out = new Uint8Array(length);
  let v = n;
  for (let i = 0; i < length; i++, v >>= 8n) out[i] = Number(v & 0xffn);
  return out;
}

function encode(p: Point): Uint8Array {
  const zi = inv(p.Z);
  const x = mod(p.X * zi);
  const y = mod(p.Y * zi);
  const out = numberToBytesLE(y, 32);
  out[31] |= Number(x & 1n) << 7;
  return out;
}

function decode(bytes: Uint8Array): Point | undefined {
  if (bytes.length !== 32) return undefined;
  const copy = bytes.slice();
  const sign = copy[31] >> 7;
  copy[31] &= 0x7f;
  const y = bytesToNumberLE(copy);
  const x = recoverX(y, sign);
  if (x === undefined) return undefined;
  return { X: x, Y: y, Z: 1n, T: mod(x * y) };
}

function concat(...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let off = 0;
  for (const p of parts) {
    out.set(p, off);
    off += p.length;
  }
  return out;
}

/** The clamped secret scalar and the prefix from SHA-512(seed). */
async function expand(seed: Uint8Array, hash: Hash): Promise<{ scalar: bigint; prefix: Uint8Array }> {
  if (seed.length !== 32) throw new Error("Ed25519 seed must be 32 bytes");
  const h = await hash(seed);
  const a = h.slice(0, 32);
  a[0] &= 248;
  a[31] &= 127;
  a[31] |= 64;
  return { scalar: bytesToNumberLE(a), prefix: h.slice(32) };
}

export async function getPublicKey(seed: Uint8Array, hash: Hash = sha512Js): Promise<Uint8Array> {
  const { scalar } = await expand(seed, hash);
  return encode(multiply(BASE, scalar));
}

export async function sign(seed: Uint8Array, message: Uint8Array, hash: Hash = sha512Js): Promise<Uint8Array> {
  const { scalar, prefix } = await expand(seed, hash);
  const publicKey = encode(multiply(BASE, scalar));
  const r = mod(bytesToNumberLE(await hash(concat(prefix, message))), L);
  const R = encode(multiply(BASE, r));
  const k = mod(bytesToNumberLE(await hash(concat(R, publicKey, message))), L);
  const s = mod(r + k * scalar, L);
  return concat(R, numberToBytesLE(s, 32));
}

export async function verify(publicKey: Uint8Array, message: Uint8Array, signature: Uint8Array, hash: Hash = sha512Js): Promise<boolean> {
  if (signature.length !== 64) return false;
  const A = decode(publicKey);
  const R = decode(signature.slice(0, 32));
  if (!A || !R) return false;
  const s = bytesToNumberLE(signature.slice(32));
  if (s >= L) return false;
  const k = mod(bytesToNumberLE(await hash(concat(signature.slice(0, 32), publicKey, message))), L);
  return equal(multiply(BASE, s), add(R, multiply(A, k)));
}
