// Time to the response head of an SSE stream whose first event comes after 1 s, direct and
// through hub+agent (issue #15: the head must leave when the upstream sends it).
//   node bench/probes/sse-head.mjs [REPO_ROOT]   (a built checkout; default this one)
import { startChain } from '../lib/in-process.mjs';

const root = process.argv[2] ?? new URL('../..', import.meta.url).pathname;
const { request } = await import(`${root}/node_modules/undici/index.js`);
const { upUrl, url, close } = await startChain(root, (_req, res) => {
  res.writeHead(200, { 'content-type': 'text/event-stream' });
  res.flushHeaders();
  setTimeout(() => res.end('data: x\n\n'), 1000);
});
for (const [name, base] of [
  ['direct', upUrl],
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
await close();
