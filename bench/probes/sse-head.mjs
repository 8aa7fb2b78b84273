// Time to the response head of an SSE stream whose first event comes after 1 s, direct and
// through hub+agent (issue #15: the head must leave when the upstream sends it).
//   node bench/probes/sse-head.mjs [REPO_ROOT]   (a built checkout; default this one)
import { once } from 'node:events';
import { createServer } from 'node:http';

const root = process.argv[2] ?? new URL('../..', import.meta.url).pathname;
const { createHub, signAgentToken } = await import(`${root}/packages/hub/dist/index.js`);
const { createAgent } = await import(`${root}/packages/agent/dist/index.js`);
const { request } = await import(`${root}/node_modules/undici/index.js`);
const up = createServer((_req, res) => {
  res.writeHead(200, { 'content-type': 'text/event-stream' });
  res.flushHeaders();
  setTimeout(() => res.end('data: x\n\n'), 1000);
});
up.listen(0, '127.0.0.1');
await once(up, 'listening');
const hub = createHub({ secret: 's', host: '127.0.0.1', port: 0 });
const { url } = await hub.listen();
const agent = createAgent({
  hub: url,
  upstream: `http://127.0.0.1:${up.address().port}`,
  token: await signAgentToken({ secret: 's', name: 'a' }),
});
agent.start();
await agent.ready();
for (const [name, base] of [
  ['direct', `http://127.0.0.1:${up.address().port}`],
  ['hub+agent', url],
]) {
  const t0 = performance.now();
  const res = await request(`${base}/sse`);
  const head = performance.now() - t0;
  await res.body.text();
  console.log(
    `${name}: head after ${head.toFixed(1)} ms, body after ${(performance.now() - t0).toFixed(0)} ms`,
  );
}
await agent.close();
await hub.close();
up.close();
