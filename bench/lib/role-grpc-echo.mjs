// A gRPC upstream (@grpc/grpc-js, insecure, HTTP/2 cleartext): the unary Echo/Say answers with the
// message it got. Agents reach it as an `h2c://` upstream.
import * as grpc from '@grpc/grpc-js';
import { ECHO_SERVICE } from './grpc-echo-service.mjs';

export async function start() {
  const server = new grpc.Server();
  server.addService(ECHO_SERVICE, { say: (call, cb) => cb(null, call.request) });
  const port = await new Promise((resolve, reject) =>
    server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (err, p) =>
      err ? reject(err) : resolve(p),
    ),
  );
  return { info: { url: `h2c://127.0.0.1:${port}`, target: `127.0.0.1:${port}`, port } };
}
