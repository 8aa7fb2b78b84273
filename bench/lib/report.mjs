// Renders scenario results as Markdown (stdout and bench/results/<date>.md) and JSON.
import { mkdir, writeFile } from 'node:fs/promises';
import { cpus, totalmem } from 'node:os';
import { fileURLToPath } from 'node:url';

export function markdownTable({ columns, rows }) {
  const esc = (v) => String(v).replaceAll('|', '\\|');
  const lines = [`| ${columns.map(esc).join(' | ')} |`, `| ${columns.map(() => '---').join(' | ')} |`];
  for (const row of rows) lines.push(`| ${row.map(esc).join(' | ')} |`);
  return lines.join('\n');
}

/** One scenario's section: heading, tables, notes. */
export function renderScenario(s) {
  const parts = [`## ${s.id}. ${s.title}`, ''];
  if (s.status !== 'ok') parts.push(`_${s.status}_`, '');
  for (const t of s.tables ?? []) {
    if (t.title) parts.push(`**${t.title}**`, '');
    parts.push(markdownTable(t), '');
  }
  for (const n of s.notes ?? []) parts.push(`- ${n}`);
  if (s.notes?.length) parts.push('');
  return parts.join('\n');
}

export function environment(meta) {
  return {
    date: new Date().toISOString(),
    node: process.version,
    cpus: `${cpus().length} x ${cpus()[0]?.model ?? '?'}`,
    memory: `${Math.round(totalmem() / 2 ** 30)} GiB`,
    ...meta,
  };
}

export function renderReport(env, scenarios) {
  const head = [
    '# Slime benchmark',
    '',
    `${env.date} · node ${env.node} · ${env.cpus} · ${env.memory} · mode: ${env.mode} · ` +
      `load: autocannon${env.wrk ? ' + wrk' : ' (wrk not installed)'} · nginx: ${env.nginx ? 'yes' : 'not installed'}`,
    '',
    'How to read this: docs/bench.md. Ratios come from alternating rounds in this same run.',
    '',
  ];
  const headline = scenarios.flatMap((s) => (s.headline ?? []).map(([k, v]) => [`${s.id}`, k, v]));
  if (headline.length) {
    head.push(
      '## Headline figures',
      '',
      markdownTable({ columns: ['#', 'figure', 'value'], rows: headline }),
      '',
    );
  }
  return head.join('\n') + scenarios.map(renderScenario).join('\n');
}

/** Writes bench/results/<date>.md and .json; returns their paths. */
export async function writeResults(env, scenarios, markdown) {
  const dir = fileURLToPath(new URL('../results/', import.meta.url));
  await mkdir(dir, { recursive: true });
  const stamp = env.date.replace(/[:]/g, '-').replace(/\..+$/, '');
  const base = `${dir}${stamp}${env.mode === 'quick' ? '-quick' : ''}`;
  await writeFile(`${base}.md`, markdown);
  await writeFile(`${base}.json`, `${JSON.stringify({ environment: env, scenarios }, null, 2)}\n`);
  return [`${base}.md`, `${base}.json`];
}
