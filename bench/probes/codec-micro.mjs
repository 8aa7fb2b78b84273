// Encode/decode time of a typical REQUEST and RESPONSE frame, best of 7 rounds (issue #19).
//   node bench/probes/codec-micro.mjs [REPO_ROOT]   (a built checkout; default this one)
const root = process.argv[2] ?? new URL('../..', import.meta.url).pathname;
const { encodeFrame, decodeFrame } = await import(`${root}/packages/protocol/dist/index.js`);
const headers = [
  ['host', '127.0.0.1:8080'],
  ['user-agent', 'autocannon/8.0.0'],
  ['accept', '*/*'],
  ['x-forwarded-for', '127.0.0.1'],
  ['x-forwarded-proto', 'http'],
  ['x-forwarded-host', '127.0.0.1:8080'],
  ['x-request-id', '3f1c5e8e-8f5b-4c43-9a0e-5b8a4f6f2d11'],
];
const req = { type: 'REQUEST', streamId: 7, endStream: true, method: 'GET', target: '/hello?x=1', headers };
const resp = {
  type: 'RESPONSE',
  streamId: 7,
  endStream: false,
  status: 200,
  headers: [
    ['content-type', 'text/plain'],
    ['content-length', '12'],
    ['date', 'Mon, 30 Nov 2026 12:00:00 GMT'],
  ],
};
const out = [];
for (const f of [req, resp]) {
  // decoded from a Buffer, as ws hands frames over (the decoder then slices strings from it)
  const enc = Buffer.from(encodeFrame(f));
  let be = Infinity,
    bd = Infinity;
  for (let round = 0; round < 7; round++) {
    const N = 100000;
    let t = process.hrtime.bigint();
    for (let i = 0; i < N; i++) encodeFrame(f);
    be = Math.min(be, Number(process.hrtime.bigint() - t) / N);
    t = process.hrtime.bigint();
    for (let i = 0; i < N; i++) decodeFrame(enc);
    bd = Math.min(bd, Number(process.hrtime.bigint() - t) / N);
  }
  out.push(`${f.type} encode ${be.toFixed(0)} ns, decode ${bd.toFixed(0)} ns`);
}
console.log(out.join('; '));
