// Mints tokens the way the Go Slime Proxy's `hub register` does (pkg/token in its source), written
// apart from the hub's decoder so that the two can check each other:
//   proto.Marshal(AgentToken) -> AES-256-GCM(key = secret zero-padded or cut to 32 bytes,
//   random 12-byte nonce, no associated data) -> nonce || ciphertext || tag
//   -> base32.StdEncoding.WithPadding(NoPadding)
import { createCipheriv, randomBytes } from 'node:crypto';

export interface GoTokenFields {
  /** int64 (Go's `rand.Int63()` in `hub register`). */
  id?: bigint;
  name?: string;
  /** Unix seconds; 0 or absent = no expiry. */
  expireAt?: bigint | number;
  scopePaths?: string[];
  scopes?: string[];
}

function varint(value: bigint): number[] {
  // int64 goes on the wire as its two's complement, unsigned (negative = 10 bytes)
  let v = BigInt.asUintN(64, value);
  const out: number[] = [];
  while (v >= 0x80n) {
    out.push(Number(v & 0x7fn) | 0x80);
    v >>= 7n;
  }
  out.push(Number(v));
  return out;
}

function tag(field: number, wireType: number): number[] {
  return varint(BigInt((field << 3) | wireType));
}

function bytesField(field: number, bytes: Uint8Array): number[] {
  return [...tag(field, 2), ...varint(BigInt(bytes.length)), ...bytes];
}

/** proto3 `proto.Marshal`: fields in number order, zero values and empty strings left out. */
export function marshalGoToken(t: GoTokenFields): Uint8Array {
  const out: number[] = [];
  if (t.id) out.push(...tag(1, 0), ...varint(t.id));
  if (t.name) out.push(...bytesField(2, Buffer.from(t.name, 'utf8')));
  const exp = BigInt(t.expireAt ?? 0);
  if (exp !== 0n) out.push(...tag(3, 0), ...varint(exp));
  for (const p of t.scopePaths ?? []) out.push(...bytesField(4, Buffer.from(p, 'utf8')));
  for (const s of t.scopes ?? []) out.push(...bytesField(5, Buffer.from(s, 'utf8')));
  return Uint8Array.from(out);
}

const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';

/** RFC 4648 base32, standard alphabet, padding removed. */
export function base32NoPad(bytes: Uint8Array): string {
  let out = '';
  let bits = 0;
  let acc = 0;
  for (const b of bytes) {
    acc = (acc << 8) | b;
    bits += 8;
    while (bits >= 5) {
      out += ALPHABET[(acc >>> (bits - 5)) & 31];
      bits -= 5;
    }
    acc &= (1 << bits) - 1;
  }
  if (bits > 0) out += ALPHABET[(acc << (5 - bits)) & 31];
  return out;
}

/** Seals any plaintext as a Go token (for tokens `hub register` could never print). */
export function sealGoToken(
  secret: string,
  plaintext: Uint8Array,
  nonce: Uint8Array = randomBytes(12),
): string {
  const key = Buffer.alloc(32);
  Buffer.from(secret, 'utf8').copy(key, 0, 0, 32);
  const cipher = createCipheriv('aes-256-gcm', key, nonce);
  const sealed = Buffer.concat([cipher.update(plaintext), cipher.final()]);
  return base32NoPad(Buffer.concat([nonce, sealed, cipher.getAuthTag()]));
}

/** A token as the Go `slime hub register --secret S --name N [--age A] [--scopes] [--scopePaths]` prints it. */
export function mintGoToken(secret: string, fields: GoTokenFields, nonce?: Uint8Array): string {
  return sealGoToken(secret, marshalGoToken(fields), nonce);
}

/** `hub register` as the Go version runs it: a random 63-bit id, expiry = now + age. */
export function registerGoToken(
  secret: string,
  options: { name: string; ageSeconds?: number; scopes?: string[]; scopePaths?: string[]; nowMs?: number },
): string {
  const id = randomBytes(8).readBigUInt64BE() >> 1n;
  const now = Math.floor((options.nowMs ?? Date.now()) / 1000);
  return mintGoToken(secret, {
    id,
    name: options.name,
    expireAt: options.ageSeconds ? now + options.ageSeconds : 0,
    scopes: options.scopes ?? [],
    scopePaths: options.scopePaths ?? [],
  });
}
