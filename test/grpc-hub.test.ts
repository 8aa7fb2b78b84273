import * as grpc from '@grpc/grpc-js';
import { describe, expect, it, vi } from 'vitest';
import { createTestCa } from './helpers/certs.js';
import { h2Connect, h2Request } from './helpers/h2-client.js';
import { startAgent, startHub, startUpstream } from './helpers/harness.js';

const identity = (b: Buffer) => b;

/** One unary call with raw bytes; resolves with the status the client saw. */
function unary(
  client: grpc.Client,
  options: { metadata?: Record<string, string>; deadlineMs?: number } = {},
): Promise<grpc.StatusObject> {
  const metadata = new grpc.Metadata();
  for (const [k, v] of Object.entries(options.metadata ?? {})) metadata.set(k, v);
  const callOptions: grpc.CallOptions =
    options.deadlineMs === undefined ? {} : { deadline: Date.now() + options.deadlineMs };
  return new Promise((resolve) => {
    const call = client.makeUnaryRequest(
      '/slime.test.Echo/Say',
      identity,
      identity,
      Buffer.from('hi'),
      metadata,
      callOptions,
      () => {},
    );
    call.on('status', resolve);
  });
}

function grpcClient(url: string, creds = grpc.credentials.createInsecure()): grpc.Client & Disposable {
  const client = new grpc.Client(new URL(url).host, creds);
  return Object.assign(client, { [Symbol.dispose]: () => client.close() });
}

describe('gRPC clients meet the hub', () => {
  it('no agent -> UNAVAILABLE, as a Trailers-Only answer the client reads', async () => {
    await using hub = await startHub();
    using client = grpcClient(hub.url);
    const status = await unary(client);
    expect(status.code).toBe(grpc.status.UNAVAILABLE);
    expect(status.details).toMatch(/agent/);
    expect(status.metadata.get('slime-error-code')).toEqual(['ERR_HUB_NO_AGENT']);
  });

  it('over TLS with the CA: the same status', async () => {
    await using ca = await createTestCa();
    const leaf = await ca.issue('hub');
    await using hub = await startHub({ tls: { cert: leaf.cert, key: leaf.key } });
    using client = grpcClient(hub.url, grpc.credentials.createSsl(Buffer.from(ca.cert)));
    expect((await unary(client)).code).toBe(grpc.status.UNAVAILABLE);
  });

  it('401 -> UNAUTHENTICATED, 403 -> PERMISSION_DENIED, 429 -> RESOURCE_EXHAUSTED', async () => {
    await using hub = await startHub({
      appPassword: 'pw',
      policy: {
        access: [{ action: 'deny', match: { header: { name: 'x-tenant', value: 'banned' } } }],
        ratelimits: [{ name: 'node', limit: 1, algorithm: 'fixed-window' }],
      },
    });
    using client = grpcClient(hub.url);
    expect((await unary(client)).code).toBe(grpc.status.UNAUTHENTICATED);
    const auth = { 'slime-app-password': 'pw' };
    expect((await unary(client, { metadata: { ...auth, 'x-tenant': 'banned' } })).code).toBe(
      grpc.status.PERMISSION_DENIED,
    );
    expect((await unary(client, { metadata: auth })).code).toBe(grpc.status.UNAVAILABLE); // admitted, no agent
    const limited = await unary(client, { metadata: auth });
    expect(limited.code).toBe(grpc.status.RESOURCE_EXHAUSTED);
    expect(limited.metadata.get('retry-after')).toHaveLength(1);
  });

  it('grpc-timeout is the request deadline: the hub answers DEADLINE_EXCEEDED and stops the upstream call', async () => {
    let aborted = 0;
    await using upstream = await startUpstream((_req, res) => {
      // never answers; counts the calls the agent gave up on
      res.once('close', () => aborted++);
    });
    await using hub = await startHub();
    await using _agent = await startAgent(hub, upstream, { numWorker: 2 });
    // a raw HTTP/2 client without a deadline of its own: the answer can only be the hub's
    await using session = await h2Connect(hub.url);
    const started = Date.now();
    const answer = await h2Request(session, {
      ':method': 'POST',
      ':path': '/slime.test.Echo/Say',
      'content-type': 'application/grpc',
      te: 'trailers',
      'grpc-timeout': '300m',
    });
    expect(Date.now() - started).toBeGreaterThanOrEqual(290);
    expect(answer.status).toBe(200);
    expect(answer.headers['grpc-status']).toBe('4');
    expect(answer.headers['slime-error-code']).toBe('ERR_HUB_UPSTREAM_TIMEOUT');
    expect(answer.body.length).toBe(0);
    await vi.waitFor(() => expect(aborted).toBe(1));
    // and the grpc-js client with a deadline reads the same
    using client = grpcClient(hub.url);
    expect((await unary(client, { deadlineMs: 300 })).code).toBe(grpc.status.DEADLINE_EXCEEDED);
    await vi.waitFor(() => expect(aborted).toBe(2));
  });

  it('a Slime-Block wait bounded by grpc-timeout ends DEADLINE_EXCEEDED; a malformed grpc-timeout is INVALID_ARGUMENT', async () => {
    await using hub = await startHub();
    await using session = await h2Connect(hub.url);
    const grpcHead = {
      ':method': 'POST',
      ':path': '/slime.test.Echo/Say',
      'content-type': 'application/grpc',
    };
    const waited = await h2Request(session, { ...grpcHead, 'slime-block': '1', 'grpc-timeout': '200m' });
    expect(waited.headers['grpc-status']).toBe('4');
    expect(waited.headers['slime-error-code']).toBe('ERR_HUB_BLOCK_TIMEOUT');
    const bad = await h2Request(session, { ...grpcHead, 'grpc-timeout': 'soon' });
    expect(bad.headers['grpc-status']).toBe('3');
    expect(decodeURIComponent(String(bad.headers['grpc-message']))).toMatch(/grpc-timeout must be/);
    // a plain HTTP client still gets problem+json
    const plain = await h2Request(session, { ':path': '/x' });
    expect(plain.status).toBe(503);
    expect(plain.headers['content-type']).toBe('application/problem+json');
  });
});
