import { once } from 'node:events';
import * as grpc from '@grpc/grpc-js';
import { signAgentToken } from '@slime/hub';
import { describe, expect, it, vi } from 'vitest';
import { killAll, spawnCli } from '../packages/cli/test/spawn-cli.js';
import { createTestCa } from './helpers/certs.js';
import { h2Connect, readAnswer } from './helpers/h2-client.js';
import { deferred, SECRET, startAgent, startHub } from './helpers/harness.js';

/** The messages of the test service: JSON, so no protobuf tooling is needed. */
interface Msg {
  text: string;
  n?: number;
}
const serialize = (m: Msg) => Buffer.from(JSON.stringify(m));
const deserialize = (b: Buffer) => JSON.parse(b.toString()) as Msg;
function method(path: string, requestStream: boolean, responseStream: boolean) {
  return {
    path,
    requestStream,
    responseStream,
    requestSerialize: serialize,
    requestDeserialize: deserialize,
    responseSerialize: serialize,
    responseDeserialize: deserialize,
  };
}
const ECHO = {
  say: method('/slime.test.Echo/Say', false, false),
  count: method('/slime.test.Echo/Count', false, true),
  sum: method('/slime.test.Echo/Sum', true, false),
  chat: method('/slime.test.Echo/Chat', true, true),
} satisfies grpc.ServiceDefinition;

interface EchoClient extends grpc.Client {
  say(m: Msg, md: grpc.Metadata, o: grpc.CallOptions, cb: grpc.requestCallback<Msg>): grpc.ClientUnaryCall;
  count(m: Msg, md?: grpc.Metadata, o?: grpc.CallOptions): grpc.ClientReadableStream<Msg>;
  sum(cb: grpc.requestCallback<Msg>): grpc.ClientWritableStream<Msg>;
  chat(): grpc.ClientDuplexStream<Msg, Msg>;
}
const EchoClient = grpc.makeGenericClientConstructor(ECHO, 'Echo') as unknown as new (
  address: string,
  creds: grpc.ChannelCredentials,
) => EchoClient;

/** What the upstream's handlers report to the test: each call's cancellation, and hooks. */
interface Upstream {
  cancelled: string[];
  /** Server streaming waits on this after its first message, so the test sees it arrive alone. */
  countGate: { promise: Promise<void>; resolve: () => void };
  /** Client streaming reports each message as it arrives. */
  sumSeen: Msg[];
}

async function startGrpcUpstream() {
  const seen: Upstream = { cancelled: [], countGate: deferred(), sumSeen: [] };
  const server = new grpc.Server();
  server.addService(ECHO, {
    say(call: grpc.ServerUnaryCall<Msg, Msg>, cb: grpc.sendUnaryData<Msg>) {
      call.on('cancelled', () => seen.cancelled.push(`say ${call.request.text}`));
      if (call.request.text === 'hang') return; // never answers
      if (call.request.text === 'fail') {
        const md = new grpc.Metadata();
        md.set('x-why', 'asked');
        cb({ code: grpc.status.FAILED_PRECONDITION, details: 'you asked for it (ü)', metadata: md });
        return;
      }
      const trailing = new grpc.Metadata();
      trailing.set('x-trailing', 'yes');
      const tenant = call.metadata.get('x-tenant')[0];
      cb(null, { text: `echo ${call.request.text} for ${String(tenant)}` }, trailing);
    },
    async count(call: grpc.ServerWritableStream<Msg, Msg>) {
      call.on('cancelled', () => seen.cancelled.push('count'));
      const n = call.request.n ?? 3;
      call.write({ text: 'first', n: 0 });
      if (call.request.text === 'hold') await seen.countGate.promise;
      for (let i = 1; i < n && !call.cancelled; i++) call.write({ text: `msg ${i}`, n: i });
      if (call.request.text === 'forever') return; // streams until cancelled
      call.end();
    },
    sum(call: grpc.ServerReadableStream<Msg, Msg>, cb: grpc.sendUnaryData<Msg>) {
      let total = 0;
      call.on('data', (m: Msg) => {
        seen.sumSeen.push(m);
        total += m.n ?? 0;
      });
      call.on('end', () => cb(null, { text: 'sum', n: total }));
    },
    chat(call: grpc.ServerDuplexStream<Msg, Msg>) {
      call.on('data', (m: Msg) => call.write({ text: `re: ${m.text}`, n: (m.n ?? 0) + 1 }));
      call.on('end', () => call.end());
    },
  });
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (err, p) =>
      err ? reject(err) : resolve(p),
    ),
  );
  return Object.assign(seen, {
    url: `h2c://127.0.0.1:${port}`,
    async [Symbol.asyncDispose]() {
      server.forceShutdown();
    },
  });
}

function client(url: string, creds = grpc.credentials.createInsecure()): EchoClient & Disposable {
  const c = new EchoClient(new URL(url).host, creds);
  return Object.assign(c, { [Symbol.dispose]: () => c.close() });
}

function say(
  c: EchoClient,
  text: string,
  options: { metadata?: Record<string, string>; deadlineMs?: number } = {},
): Promise<{ err: grpc.ServiceError | null; reply?: Msg; trailing?: grpc.Metadata }> {
  const md = new grpc.Metadata();
  for (const [k, v] of Object.entries(options.metadata ?? {})) md.set(k, v);
  const callOptions = options.deadlineMs === undefined ? {} : { deadline: Date.now() + options.deadlineMs };
  return new Promise((resolve) => {
    let result: { err: grpc.ServiceError | null; reply?: Msg } = { err: null };
    const call = c.say({ text }, md, callOptions, (err, reply) => {
      result = { err, ...(reply ? { reply } : {}) };
    });
    call.on('status', (s: grpc.StatusObject) => resolve({ ...result, trailing: s.metadata }));
  });
}

/** The next message of a readable call, as it comes. */
async function next(
  stream: grpc.ClientReadableStream<Msg> | grpc.ClientDuplexStream<Msg, Msg>,
): Promise<Msg> {
  const [m] = (await once(stream, 'data')) as [Msg];
  return m;
}

describe('gRPC through hub and agent (grpc-js on both ends, h2c:// upstream)', () => {
  it('unary: replies, request metadata, trailing metadata; an upstream error status with its message and metadata', async () => {
    await using upstream = await startGrpcUpstream();
    await using hub = await startHub();
    await using _agent = await startAgent(hub, upstream.url, { numWorker: 2 });
    using c = client(hub.url);
    const ok = await say(c, 'hi', { metadata: { 'x-tenant': 'acme' } });
    expect(ok.err).toBeNull();
    expect(ok.reply).toEqual({ text: 'echo hi for acme' });
    expect(ok.trailing?.get('x-trailing')).toEqual(['yes']);
    const failed = await say(c, 'fail');
    expect(failed.err?.code).toBe(grpc.status.FAILED_PRECONDITION);
    expect(failed.err?.details).toBe('you asked for it (ü)');
    expect(failed.err?.metadata.get('x-why')).toEqual(['asked']);
    // more calls at once than slots: Slime-Block queues them, the agent's two connections serve all
    const block = { metadata: { 'slime-block': '1' } };
    const many = await Promise.all(Array.from({ length: 20 }, (_, i) => say(c, `n${i}`, block)));
    expect(many.map((r) => r.reply?.text)).toEqual(
      Array.from({ length: 20 }, (_, i) => `echo n${i} for undefined`),
    );
  });

  it('server streaming: each message reaches the client as the upstream sends it', async () => {
    await using upstream = await startGrpcUpstream();
    await using hub = await startHub();
    await using _agent = await startAgent(hub, upstream.url);
    using c = client(hub.url);
    const call = c.count({ text: 'hold', n: 4 });
    // the upstream holds the rest until the first message arrived here: nothing buffers it
    expect(await next(call)).toEqual({ text: 'first', n: 0 });
    upstream.countGate.resolve();
    const rest: Msg[] = [];
    call.on('data', (m: Msg) => rest.push(m));
    const [status] = (await once(call, 'status')) as [grpc.StatusObject];
    expect(status.code).toBe(grpc.status.OK);
    expect(rest.map((m) => m.n)).toEqual([1, 2, 3]);
  });

  it('client streaming: each message reaches the upstream before the client ends its stream', async () => {
    await using upstream = await startGrpcUpstream();
    await using hub = await startHub();
    await using _agent = await startAgent(hub, upstream.url);
    using c = client(hub.url);
    const reply = deferred<Msg>();
    const call = c.sum((err, m) => (err ? reply.reject(err) : reply.resolve(m!)));
    for (const n of [1, 2, 3]) {
      call.write({ text: `part ${n}`, n });
      await vi.waitFor(() => expect(upstream.sumSeen).toHaveLength(n));
    }
    call.end();
    expect(await reply.promise).toEqual({ text: 'sum', n: 6 });
  });

  it('bidi over h2c and over TLS: a conversation in lock step, then OK', async () => {
    await using ca = await createTestCa();
    const leaf = await ca.issue('hub');
    await using upstream = await startGrpcUpstream();
    await using plainHub = await startHub();
    await using tlsHub = await startHub({ tls: { cert: leaf.cert, key: leaf.key } });
    await using _a1 = await startAgent(plainHub, upstream.url);
    await using _a2 = await startAgent(tlsHub, upstream.url, { hubTls: { ca: ca.cert } });
    for (const c of [
      client(plainHub.url),
      client(tlsHub.url, grpc.credentials.createSsl(Buffer.from(ca.cert))),
    ]) {
      using _c = c;
      const call = c.chat();
      for (let i = 0; i < 5; i++) {
        call.write({ text: `line ${i}`, n: i });
        // the answer to each line comes before the next line is written: both ways flow at once
        expect(await next(call)).toEqual({ text: `re: line ${i}`, n: i + 1 });
      }
      call.end();
      const [status] = (await once(call, 'status')) as [grpc.StatusObject];
      expect(status.code).toBe(grpc.status.OK);
      // unary over the same channel
      expect((await say(c, 'x')).reply?.text).toBe('echo x for undefined');
    }
  });

  it('a deadline ends the call DEADLINE_EXCEEDED and cancels the upstream call', async () => {
    await using upstream = await startGrpcUpstream();
    await using hub = await startHub();
    await using _agent = await startAgent(hub, upstream.url);
    using c = client(hub.url);
    const started = Date.now();
    const r = await say(c, 'hang', { deadlineMs: 300 });
    expect(r.err?.code).toBe(grpc.status.DEADLINE_EXCEEDED);
    expect(Date.now() - started).toBeGreaterThanOrEqual(290);
    await vi.waitFor(() => expect(upstream.cancelled).toEqual(['say hang']));
    // the slot is free again
    expect((await say(c, 'after')).reply?.text).toBe('echo after for undefined');
  });

  it('a client cancel mid-stream cancels the upstream call', async () => {
    await using upstream = await startGrpcUpstream();
    await using hub = await startHub();
    await using _agent = await startAgent(hub, upstream.url);
    using c = client(hub.url);
    const call = c.count({ text: 'forever', n: 2 });
    expect(await next(call)).toEqual({ text: 'first', n: 0 });
    call.on('error', () => {});
    call.cancel();
    await vi.waitFor(() => expect(upstream.cancelled).toEqual(['count']));
    await vi.waitFor(() => expect(hub.hub.activeRequests).toBe(0));
    expect((await say(c, 'after')).reply?.text).toBe('echo after for undefined');
  });

  it('no agent -> UNAVAILABLE', async () => {
    await using hub = await startHub();
    using c = client(hub.url);
    const r = await say(c, 'hi');
    expect(r.err?.code).toBe(grpc.status.UNAVAILABLE);
    expect(r.err?.metadata.get('slime-error-code')).toEqual(['ERR_HUB_NO_AGENT']);
  });

  it('an upstream that is down or dies mid-stream: UNAVAILABLE, never a hang', async () => {
    const upstream = await startGrpcUpstream();
    await using hub = await startHub();
    await using _agent = await startAgent(hub, upstream.url);
    using c = client(hub.url);
    const call = c.count({ text: 'forever', n: 2 });
    expect(await next(call)).toEqual({ text: 'first', n: 0 });
    call.on('error', () => {});
    const status = new Promise<grpc.StatusObject>((resolve) => call.once('status', resolve));
    await upstream[Symbol.asyncDispose]();
    expect((await status).code).toBe(grpc.status.UNAVAILABLE);
    // the port is closed now: refused before any answer (or the agent withdrew its slots already)
    const refused = await say(c, 'hi');
    expect(refused.err?.code).toBe(grpc.status.UNAVAILABLE);
    expect(['ERR_HUB_UPSTREAM_UNREACHABLE', 'ERR_HUB_NO_AGENT']).toContain(
      refused.err?.metadata.get('slime-error-code')[0],
    );
  });

  it('request trailers from an HTTP/2 client reach the h2c upstream', async () => {
    await using hub = await startHub();
    const { createServer } = await import('node:http2');
    const server = createServer();
    const got = deferred<Record<string, unknown>>();
    server.on('stream', (stream) => {
      stream.on('data', () => {});
      stream.once('trailers', (t) => got.resolve({ ...t }));
      stream.once('end', () => {
        stream.respond({ ':status': 200 }, { waitForTrailers: true });
        stream.once('wantTrailers', () => stream.sendTrailers({ 'x-done': '1' }));
        stream.end('ok');
      });
    });
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    const port = (server.address() as import('node:net').AddressInfo).port;
    try {
      await using _agent = await startAgent(hub, `h2c://127.0.0.1:${port}`);
      await using session = await h2Connect(hub.url);
      const stream = session.request(
        { ':method': 'POST', ':path': '/t', te: 'trailers' },
        { waitForTrailers: true },
      );
      stream.once('wantTrailers', () => stream.sendTrailers({ 'x-checksum': 'abc' }));
      stream.end('body');
      const answer = await readAnswer(stream);
      expect(answer.body.toString()).toBe('ok');
      expect(answer.trailers?.['x-done']).toBe('1');
      expect((await got.promise)['x-checksum']).toBe('abc');
      // over HTTP/2 response trailers need no `te: trailers`
      const plain = await readAnswer(session.request({ ':method': 'GET', ':path': '/plain' }));
      expect(plain.trailers?.['x-done']).toBe('1');
    } finally {
      server.close();
    }
  });
});

describe('an agent killed mid-stream', () => {
  it('ends the gRPC call with an error status, not a hang', { timeout: 30_000 }, async () => {
    await using upstream = await startGrpcUpstream();
    await using hub = await startHub();
    const token = await signAgentToken({ secret: SECRET, name: 'doomed' });
    const agent = spawnCli(['agent', 'run', '--token', token, '--hub', hub.url, '--upstream', upstream.url]);
    try {
      await vi.waitFor(() => expect(hub.hub.agents()[0]?.credits).toBe(1), { timeout: 10_000 });
      using c = client(hub.url);
      const call = c.count({ text: 'forever', n: 2 });
      expect(await next(call)).toEqual({ text: 'first', n: 0 });
      call.on('error', () => {});
      const status = new Promise<grpc.StatusObject>((resolve) => call.once('status', resolve));
      agent.child.kill('SIGKILL');
      const { code, details, metadata } = await status;
      expect(code).toBe(grpc.status.UNAVAILABLE);
      expect(details).toMatch(/agent doomed#\d+ was lost/);
      expect(metadata.get('slime-error-code')).toEqual(['ERR_HUB_AGENT_LOST']);
    } finally {
      await killAll();
    }
  });
});
