import { createHash, X509Certificate } from 'node:crypto';
import { checkServerIdentity, type PeerCertificate } from 'node:tls';

/** How the agent checks a `https://`/`wss://` hub. */
export interface HubTlsOptions {
  /**
   * PEM CA certificate(s) the hub's chain must lead to, instead of the system store (a private
   * CA). Default: Node's bundled store and the system's (NODE_EXTRA_CA_CERTS).
   */
  ca?: string | Buffer | readonly (string | Buffer)[];
  /**
   * Public-key pins, `sha256/<base64 of the SHA-256 of the DER SubjectPublicKeyInfo>` (the form
   * of RFC 7469 and of `curl --pinnedpubkey`): the hub's leaf key must match one of them, on top of
   * the usual chain and name checks. List the next key too before a key rollover.
   */
  pins?: readonly string[];
}

const PIN = /^sha256\/[A-Za-z0-9+/]{43}=$/;

/** Throws a TypeError naming the option when the TLS options cannot be used. */
export function validateHubTls(o: HubTlsOptions | undefined, option = 'hubTls'): void {
  if (o === undefined) return;
  if (typeof o !== 'object' || o === null) throw new TypeError(`${option} must be an object`);
  const isPem = (v: unknown) => typeof v === 'string' || Buffer.isBuffer(v);
  if (o.ca !== undefined && !isPem(o.ca) && !(Array.isArray(o.ca) && o.ca.every(isPem))) {
    throw new TypeError(`${option}.ca must be PEM text, a Buffer, or a list of them`);
  }
  if (o.pins !== undefined) {
    if (!Array.isArray(o.pins) || o.pins.length === 0)
      throw new TypeError(`${option}.pins must be a non-empty list`);
    for (const pin of o.pins) {
      if (typeof pin !== 'string' || !PIN.test(pin)) {
        throw new TypeError(
          `${option}.pins: "${String(pin).slice(0, 60)}" is not sha256/<44 base64 characters>`,
        );
      }
    }
  }
}

/**
 * The pin of a certificate's public key (PEM or DER certificate), as `--hub-pin` takes it: the
 * SHA-256 of the DER SubjectPublicKeyInfo. Node's `PeerCertificate.pubkey` is not that for EC
 * keys (it is the bare point), hence the parse.
 */
export function publicKeyPin(cert: string | Buffer): string {
  const spki = new X509Certificate(cert).publicKey.export({ type: 'spki', format: 'der' });
  return `sha256/${createHash('sha256').update(spki).digest('base64')}`;
}

/** Options for the WebSocket client (passed on to tls.connect). */
export function hubTlsClientOptions(o: HubTlsOptions | undefined): {
  ca?: string | Buffer | (string | Buffer)[];
  checkServerIdentity?: (host: string, cert: PeerCertificate) => Error | undefined;
} {
  if (o === undefined) return {};
  const pins = o.pins === undefined ? undefined : new Set(o.pins);
  return {
    ...(o.ca === undefined ? {} : { ca: Array.isArray(o.ca) ? [...o.ca] : (o.ca as string | Buffer) }),
    ...(pins === undefined
      ? {}
      : {
          checkServerIdentity(host: string, cert: PeerCertificate): Error | undefined {
            const wrongName = checkServerIdentity(host, cert);
            if (wrongName) return wrongName;
            const got = publicKeyPin(cert.raw);
            if (pins.has(got)) return undefined;
            return Object.assign(new Error(`the hub's public key ${got} matches no --hub-pin`), {
              code: 'ERR_AGENT_HUB_PIN_MISMATCH',
            });
          },
        }),
  };
}

const UNTRUSTED = new Set([
  'SELF_SIGNED_CERT_IN_CHAIN',
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'UNABLE_TO_GET_ISSUER_CERT',
  'CERT_UNTRUSTED',
]);

/**
 * One line for a failed TLS dial that says what to do, or undefined when the error is not about
 * the hub's certificate (the caller then logs the error's own message).
 */
export function describeTlsFailure(err: Error & { code?: string }): string | undefined {
  const code = err.code ?? '';
  if (code === 'ERR_AGENT_HUB_PIN_MISMATCH') return `${err.message}: check --hub-pin`;
  if (UNTRUSTED.has(code)) {
    return `the hub's certificate is not trusted (${code}): give its CA with --ca FILE, or fix the chain the hub sends`;
  }
  if (code === 'CERT_HAS_EXPIRED' || code === 'CERT_NOT_YET_VALID') {
    return `the hub's certificate is not valid now (${code}): renew it on the hub (it reloads on SIGHUP)`;
  }
  if (code === 'ERR_TLS_CERT_ALTNAME_INVALID')
    return `the hub's certificate does not name this host: ${err.message}`;
  if (code.startsWith('ERR_SSL_') || code.startsWith('ERR_TLS_'))
    return `TLS with the hub failed (${code}): ${err.message}`;
  return undefined;
}
