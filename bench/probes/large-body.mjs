// Large bodies through hub + agent + upstream + client in ONE process, for CPU per MiB rather than
// MiB/s: with one thread doing everything, the CPU time of a transfer is the whole chain's cost and
// does not depend on how busy the other core is (wall-clock MiB/s on this shared VM varies ±50%).
// The stall part of throughput (windows, wake-ups) needs separate processes: bench scenario 2.
//
//   node bench/probes/large-body.mjs [ROOT] [MiB] [rounds] [download|upload]
//
// Prints, per direction, the median CPU ms per 100 MiB (user + sys of this process) and MiB/s.
// ROOT is a built checkout (default this one), so a before/after compares two checkouts.
import { bulkBody, bulkHandler } from '../lib/bulk-upstream.mjs';
import { startChain } from '../lib/in-process.mjs';

const root = process.argv[2] ?? new URL('../..', import.meta.url).pathname;
const mib = Number(process.argv[3] ?? 100);
const rounds = Number(process.argv[4] ?? 3);
const only = process.argv[5];
const { request } = await import(`${root}/node_modules/undici/index.js`);

const { url, close } = await startChain(root, bulkHandler, { numWorker: 4 });

async function download(bytes) {
  const { body } = await request(`${url}/download?bytes=${bytes}`);
  let got = 0;
  for await (const c of body) got += c.length;
  if (got !== bytes) throw new Error(`download: ${got} of ${bytes}`);
}
async function upload(bytes) {
  const { body } = await request(`${url}/upload`, {
    method: 'POST',
    body: bulkBody(bytes),
    headers: { 'content-length': String(bytes) },
  });
  const echoed = Number(await body.text());
  if (echoed !== bytes) throw new Error(`upload: ${echoed} of ${bytes}`);
}

const med = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const bytes = mib * 1024 * 1024;
for (const [name, fn] of [
  ['download', download],
  ['upload', upload],
]) {
  if (only && only !== name) continue;
  await fn(32 * 1024 * 1024); // warm-up
  const cpu = [];
  const rate = [];
  for (let i = 0; i < rounds; i++) {
    const c0 = process.cpuUsage();
    const t0 = performance.now();
    await fn(bytes);
    const ms = performance.now() - t0;
    const c = process.cpuUsage(c0);
    cpu.push(((c.user + c.system) / 1000) * (100 / mib));
    rate.push(mib / (ms / 1000));
  }
  console.log(
    `${name}: ${med(cpu).toFixed(0)} CPU ms per 100 MiB (runs ${cpu.map((x) => x.toFixed(0)).join(', ')}), ${med(rate).toFixed(0)} MiB/s`,
  );
}
await close();
process.exit(0);
