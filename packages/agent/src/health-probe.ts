import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { connect } from 'node:net';
import type { UpstreamTarget } from './options.js';
import { describeUpstreamError } from './upstream-errors.js';
import type { HealthProbe } from './upstream-health.js';

function hostAndPort(origin: string): { host: string; port: number; tls: boolean } {
  const url = new URL(origin);
  const tls = url.protocol === 'https:';
  // URL keeps IPv6 literals in brackets; sockets want them bare
  const host = url.hostname.replace(/^\[(.*)\]$/, '$1');
  return { host, port: url.port ? Number(url.port) : tls ? 443 : 80, tls };
}

function probeError(err: unknown): Error {
  return new Error(describeUpstreamError(err), { cause: err });
}

/** A TCP connect to the upstream's host and port: it answers when it accepts the connection. */
export function tcpProbe(target: UpstreamTarget): HealthProbe {
  const { host, port } = hostAndPort(target.origin);
  return (signal) =>
    new Promise<void>((resolve, reject) => {
      const socket = connect({ host, port, signal });
      socket.once('connect', () => {
        socket.destroy();
        resolve();
      });
      socket.once('error', (err) => {
        socket.destroy();
        reject(probeError(err));
      });
    });
}

/**
 * An HTTP GET of `path` on the upstream's origin (the upstream URL's path prefix is not added):
 * any status below 500 counts as an answer. One fresh connection per probe, closed afterwards.
 */
export function httpProbe(target: UpstreamTarget, path: string): HealthProbe {
  const { host, port, tls } = hostAndPort(target.origin);
  const send = tls ? httpsRequest : httpRequest;
  const headers: Record<string, string> = { host: target.label, connection: 'close' };
  if (target.authorization) headers.authorization = target.authorization;
  return (signal) =>
    new Promise<void>((resolve, reject) => {
      const req = send({ host, port, path, method: 'GET', headers, agent: false, signal }, (res) => {
        res.resume();
        const status = res.statusCode ?? 0;
        if (status >= 500) reject(new Error(`health check ${path} answered ${status}`));
        else resolve();
        res.once('error', () => {});
        req.destroy();
      });
      // `on`, not `once`: destroying a request can emit a second error after the first
      req.on('error', (err) => reject(probeError(err)));
      req.end();
    });
}

/** The probe for `healthPath`: a TCP connect without one, an HTTP GET with one. */
export function upstreamProbe(target: UpstreamTarget, healthPath: string | undefined): HealthProbe {
  return healthPath ? httpProbe(target, healthPath) : tcpProbe(target);
}
