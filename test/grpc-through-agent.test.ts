import * as grpc from '@grpc/grpc-js';
import { describe, expect, it } from 'vitest';
import { startAgent, startHub } from './helpers/harness.js';

type Msg = { text: string; n?: number };
const serialize = (m: Msg) => Buffer.from(JSON.stringify(m));
const deserialize = (b: Buffer) => JSON.parse(b.toString()) as Msg;
const method = (path: string, requestStream: boolean, responseStream: boolean) => ({
  path,
  requestStream,
  responseStream,
  requestSerialize: serialize,
  requestDeserialize: deserialize,
  responseSerialize: serialize,
  responseDeserialize: deserialize,
});
const ECHO = {
  say: method('/slime.test.Echo/Say', false, false),
};

async function startGrpcUpstream() {
  const server = new grpc.Server();
  server.addService(ECHO, {
    say: (call: grpc.ServerUnaryCall<Msg, Msg>, cb: grpc.sendUnaryData<Msg>) => {
      if (call.request.text === 'fail') {
        const md = new grpc.Metadata();
        md.set('x-why', 'asked');
        cb({ code: grpc.status.FAILED_PRECONDITION, details: 'you asked for it', metadata: md });
        return;
      }
      cb(null, { text: `echo ${call.request.text}` });
    },
  });
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (err, p) =>
      err ? reject(err) : resolve(p),
    ),
  );
  return {
    url: `h2c://127.0.0.1:${port}`,
    server,
    async [Symbol.asyncDispose]() {
      server.forceShutdown();
    },
  };
}

const Client = grpc.makeGenericClientConstructor(ECHO, 'Echo');

describe('gRPC through hub and agent', () => {
  it('unary', async () => {
    await using upstream = await startGrpcUpstream();
    await using hub = await startHub();
    await using _agent = await startAgent(hub, upstream.url, { numWorker: 4 });
    const client = new Client(new URL(hub.url).host, grpc.credentials.createInsecure()) as any;
    const reply = await new Promise((resolve, reject) =>
      client.say({ text: 'hi' }, (e: any, r: any) => (e ? reject(e) : resolve(r))),
    );
    expect(reply).toEqual({ text: 'echo hi' });
    const err: any = await new Promise((resolve) => client.say({ text: 'fail' }, (e: any) => resolve(e)));
    expect(err.code).toBe(grpc.status.FAILED_PRECONDITION);
    expect(err.details).toBe('you asked for it');
    expect(err.metadata.get('x-why')).toEqual(['asked']);
    client.close();
  });
});
