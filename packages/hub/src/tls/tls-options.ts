import { createPrivateKey, X509Certificate } from 'node:crypto';
import type { SecureContextOptions, TlsOptions } from 'node:tls';

/** A certificate chain and its private key, PEM, as read from files by the caller. */
export interface TlsPair {
  /** PEM certificate chain: the leaf first, then its intermediates. */
  cert: string | Buffer;
  /** PEM private key of the leaf. */
  key: string | Buffer;
  /** Passphrase of an encrypted key. */
  passphrase?: string;
}

/**
 * Mozilla's "intermediate" list: forward-secret AEAD suites only (no CBC, no RSA key exchange),
 * all of which HTTP/2 accepts (RFC 9113 §9.2.2). TLS 1.3 suites are Node's defaults, kept.
 */
export const TLS_CIPHERS = [
  'TLS_AES_128_GCM_SHA256',
  'TLS_AES_256_GCM_SHA384',
  'TLS_CHACHA20_POLY1305_SHA256',
  'ECDHE-ECDSA-AES128-GCM-SHA256',
  'ECDHE-RSA-AES128-GCM-SHA256',
  'ECDHE-ECDSA-AES256-GCM-SHA384',
  'ECDHE-RSA-AES256-GCM-SHA384',
  'ECDHE-ECDSA-CHACHA20-POLY1305',
  'ECDHE-RSA-CHACHA20-POLY1305',
].join(':');

/** Why a pair cannot be served, in one line naming the option; undefined when it can. */
export function tlsPairProblem(pair: TlsPair, option = 'tls'): string | undefined {
  if (typeof pair !== 'object' || pair === null) return `${option} must be an object with cert and key`;
  const isPem = (v: unknown) => typeof v === 'string' || Buffer.isBuffer(v);
  if (!isPem(pair.cert)) return `${option}.cert must be a PEM string or Buffer`;
  if (!isPem(pair.key)) return `${option}.key must be a PEM string or Buffer`;
  let cert: X509Certificate;
  try {
    cert = new X509Certificate(pair.cert);
  } catch (err) {
    return `${option}.cert is not a PEM certificate (${(err as Error).message})`;
  }
  let matches: boolean;
  try {
    const key = createPrivateKey(
      pair.passphrase === undefined ? pair.key : { key: pair.key, passphrase: pair.passphrase },
    );
    matches = cert.checkPrivateKey(key);
  } catch (err) {
    return `${option}.key is not a usable PEM private key (${(err as Error).message})`;
  }
  if (!matches)
    return `${option}.key does not match the public key of ${option}.cert (${cert.subject.replace(/\n/g, ', ')})`;
  return undefined;
}

/** Throws a TypeError naming the option when the pair cannot be served (see tlsPairProblem). */
export function assertTlsPair(pair: TlsPair, option = 'tls'): void {
  const problem = tlsPairProblem(pair, option);
  if (problem !== undefined) throw new TypeError(problem);
}

/** The secure context of a pair with the hub's defaults: TLS 1.2 and later, AEAD suites only. */
export function secureContextOptions(pair: TlsPair): SecureContextOptions {
  return {
    cert: pair.cert,
    key: pair.key,
    ...(pair.passphrase === undefined ? {} : { passphrase: pair.passphrase }),
    minVersion: 'TLSv1.2',
    ciphers: TLS_CIPHERS,
    // the client's order among equally strong suites (ChaCha20 on phones without AES hardware)
    honorCipherOrder: false,
  };
}

/** Server options for a pair; `alpn` lists what the listener speaks, best first. */
export function tlsServerOptions(pair: TlsPair, alpn: readonly string[]): TlsOptions {
  return { ...secureContextOptions(pair), ALPNProtocols: [...alpn] };
}
