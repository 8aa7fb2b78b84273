// The gRPC service the gRPC bench roles share: one unary method, raw bytes in and out, so the
// figures measure transport, not (de)serialisation.
const identity = (b) => b;

export const ECHO_SERVICE = {
  say: {
    path: '/slime.bench.Echo/Say',
    requestStream: false,
    responseStream: false,
    requestSerialize: identity,
    requestDeserialize: identity,
    responseSerialize: identity,
    responseDeserialize: identity,
  },
};
