import { MIN_PROTOCOL_VERSION, PROTOCOL_VERSION } from './constants.js';
import { ProtocolError } from './errors.js';

export interface VersionRange {
  min: number;
  max: number;
}

/** The range this build speaks. */
export const SUPPORTED_VERSIONS: Readonly<VersionRange> = Object.freeze({
  min: MIN_PROTOCOL_VERSION,
  max: PROTOCOL_VERSION,
});

/** The highest version both ranges contain, or throws ERR_PROTOCOL_VERSION when they do not overlap. */
export function negotiateVersion(local: VersionRange, remote: VersionRange): number {
  const high = Math.min(local.max, remote.max);
  const low = Math.max(local.min, remote.min);
  if (high < low) {
    throw new ProtocolError(
      'ERR_PROTOCOL_VERSION',
      `no common protocol version: we speak ${local.min}-${local.max}, peer speaks ${remote.min}-${remote.max}`,
    );
  }
  return high;
}
