import { readFileSync } from 'node:fs';
import { type HubTlsOptions, validateHubTls } from '@slime/agent';
import type { Settings } from './settings.js';
import { UsageError } from './usage-error.js';

/** `agent run --ca FILE --hub-pin sha256/...`: how TLS hubs are verified; undefined when neither. */
export function hubTlsFrom(settings: Settings): HubTlsOptions | undefined {
  const caPath = settings.string('ca');
  const pins = settings.list('hub-pin');
  const tls: HubTlsOptions = {};
  if (caPath !== undefined && caPath !== '') {
    let ca: string;
    try {
      ca = readFileSync(caPath, 'utf8');
    } catch (err) {
      throw new UsageError(`cannot read --ca ${caPath}: ${(err as Error).message}`, { cause: err });
    }
    if (!ca.includes('-----BEGIN CERTIFICATE-----')) {
      throw new UsageError(`--ca ${caPath} holds no PEM certificate (-----BEGIN CERTIFICATE-----)`);
    }
    tls.ca = ca;
  }
  if (pins !== undefined && pins.length > 0) tls.pins = pins;
  if (tls.ca === undefined && tls.pins === undefined) return undefined;
  try {
    validateHubTls(tls, 'hub');
  } catch (err) {
    const source = settings.find('hub-pin')?.source ?? '--hub-pin';
    throw new UsageError(`invalid ${source}: ${(err as Error).message.replace(/^hub\.pins: /, '')}`);
  }
  return tls;
}
