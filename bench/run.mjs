// `npm run bench [-- --quick] [-- --only 1,6]`: runs every scenario in bench/scenarios/ in file
// order, each in its own scope of child processes with a time limit, then prints a Markdown
// report and writes it to bench/results/<date>.md and .json. See docs/bench.md.
import { existsSync } from 'node:fs';
import { readdir } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { childScope, killAllChildren } from './lib/children.mjs';
import { environment, renderReport, writeResults } from './lib/report.mjs';
import { detectTools } from './lib/tools.mjs';

const { values } = parseArgs({
  options: { quick: { type: 'boolean', default: false }, only: { type: 'string' } },
});
const quick = values.quick;
const only = values.only ? new Set(values.only.split(',').map((s) => s.trim())) : null;

// The bench measures the built packages (what users run), so they must exist.
for (const pkg of ['protocol', 'hub', 'agent']) {
  if (!existsSync(fileURLToPath(new URL(`../packages/${pkg}/dist/index.js`, import.meta.url)))) {
    console.error(`packages/${pkg}/dist is missing: run \`npx tsc -b\` (npm install does it) first`);
    process.exit(2);
  }
}

// Ctrl-C or a crash must not leave hubs, agents or nginx running.
for (const sig of ['SIGINT', 'SIGTERM']) {
  process.on(sig, () => {
    killAllChildren();
    process.exit(130);
  });
}
process.on('exit', killAllChildren);

const tools = detectTools();
const hubModule = await import('@slime/hub');
const dir = fileURLToPath(new URL('./scenarios/', import.meta.url));
const files = (await readdir(dir)).filter((f) => f.endsWith('.mjs')).sort();

const results = [];
for (const file of files) {
  const scenario = await import(new URL(`./scenarios/${file}`, import.meta.url).href);
  if (only && !only.has(scenario.id)) continue;
  const base = { id: scenario.id, title: scenario.title };
  const unavailable = scenario.available?.({ hubModule, tools });
  if (typeof unavailable === 'string') {
    results.push({ ...base, status: `not available yet: ${unavailable}` });
    console.error(`[bench] ${scenario.id}. ${scenario.title}: not available yet`);
    continue;
  }
  const limitMs = (quick ? scenario.quickLimitS : scenario.limitS) * 1000;
  console.error(`[bench] ${scenario.id}. ${scenario.title} (limit ${limitMs / 1000} s)...`);
  const scope = childScope();
  const t0 = performance.now();
  let timer;
  try {
    const out = await Promise.race([
      scenario.run({ quick, tools, hubModule, scope }),
      new Promise((_, reject) => {
        timer = setTimeout(() => reject(new Error(`time limit of ${limitMs / 1000} s reached`)), limitMs);
      }),
    ]);
    results.push({ ...base, status: 'ok', ...out });
  } catch (err) {
    results.push({ ...base, status: `failed: ${err.message.split('\n')[0]}` });
    console.error(err);
  } finally {
    clearTimeout(timer);
    await scope.close();
  }
  results.at(-1).seconds = Math.round((performance.now() - t0) / 100) / 10;
  console.error(`[bench] ${scenario.id}. ${results.at(-1).status} in ${results.at(-1).seconds} s`);
}

const env = environment({ mode: quick ? 'quick' : 'full', wrk: !!tools.wrk, nginx: !!tools.nginx });
const markdown = renderReport(env, results);
const paths = await writeResults(env, results, markdown);
console.log(markdown);
console.log(`written: ${paths.join(', ')}`);
process.exit(0);
