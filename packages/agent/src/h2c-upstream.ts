import { type Client, H2CClient } from 'undici';

/**
 * A connection to an `h2c://` upstream: HTTP/2 over cleartext TCP by prior knowledge (undici's
 * H2CClient). Like the HTTP/1.1 connections, one per worker slot, one request at a time, so the
 * upstream never sees more concurrent streams than the agent has slots.
 */
export function connectH2c(origin: string): Client {
  // H2CClient is a Client with allowH2 and h2c on; its type only says Dispatcher
  return new H2CClient(origin, { pipelining: 1, maxConcurrentStreams: 1 }) as unknown as Client;
}
