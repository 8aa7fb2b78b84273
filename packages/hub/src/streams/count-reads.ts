import type { Readable } from 'node:stream';

/**
 * Counts the bytes a body hands whoever reads it (an agent stream, a URL endpoint, a fallback
 * spool, the drain after an early answer), without reading it or changing how it is read: every
 * chunk a Readable gives out, by flowing or by read(), passes its 'data' event. Each client byte
 * is counted once, however many tries replay it.
 */
export function countReads(body: Readable, onBytes: (bytes: number) => void): void {
  // A 'data' listener would start a body nobody paused flowing now; readers resume it themselves.
  if (body.readableFlowing !== true) body.pause();
  body.on('data', (chunk: Uint8Array) => onBytes(chunk.byteLength));
}
