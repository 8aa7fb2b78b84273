// gRPC load: `concurrency` unary calls in flight on one grpc-js channel (one HTTP/2 connection, as
// a real client holds), for `ms` milliseconds; every call's latency in ms.
import * as grpc from '@grpc/grpc-js';
import { ECHO_SERVICE } from './grpc-echo-service.mjs';

const Client = grpc.makeGenericClientConstructor(ECHO_SERVICE, 'Echo');

export async function start() {
  const clients = new Map();
  const clientFor = (target) => {
    let c = clients.get(target);
    if (!c) {
      c = new Client(target, grpc.credentials.createInsecure());
      clients.set(target, c);
    }
    return c;
  };
  return {
    handlers: {
      async unary({ target, concurrency, ms, size = 12, metadata = {} }) {
        const client = clientFor(target);
        const md = new grpc.Metadata();
        for (const [k, v] of Object.entries(metadata)) md.set(k, v);
        const payload = Buffer.alloc(size, 'x');
        const latencies = [];
        let errors = 0;
        const until = performance.now() + ms;
        const call = () =>
          new Promise((resolve) => {
            const t0 = performance.now();
            client.say(payload, md, (err) => {
              if (err) errors++;
              else latencies.push(performance.now() - t0);
              resolve();
            });
          });
        await Promise.all(
          Array.from({ length: concurrency }, async () => {
            while (performance.now() < until) await call();
          }),
        );
        return { latencies, errors, requests: latencies.length, seconds: ms / 1000 };
      },
    },
  };
}
