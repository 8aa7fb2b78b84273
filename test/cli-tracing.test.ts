import { afterEach, describe, expect, it, vi } from 'vitest';
import { killAll, register, runCli, startAgent, startHub } from '../packages/cli/test/spawn-cli.js';
import { startTestUpstream } from '../packages/cli/test/test-upstream.js';
import { startOtlpReceiver } from './helpers/otlp-receiver.js';

const closers: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  await killAll();
  for (const close of closers.splice(0)) await close();
});

describe('slime hub run / agent run --otel-endpoint', () => {
  it('export spans to an OTLP collector, flushed when the processes drain', async () => {
    const receiver = await startOtlpReceiver();
    closers.push(async () => {
      await receiver[Symbol.asyncDispose]();
    });
    const up = await startTestUpstream();
    closers.push(up.close);
    const hub = await startHub(['--secret', 's', '--otel-endpoint', receiver.url]);
    const token = await register(['--secret', 's', '--name', 'n']);
    // the agent takes the standard variable (a full traces URL) and a service name
    const agent = await startAgent(['--token', token, '--hub', hub.url, '--upstream', up.hostPort], {
      OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: `${receiver.url}/v1/traces`,
      OTEL_SERVICE_NAME: 'gpu-box-1',
    });
    const res = await fetch(`${hub.url}/work`);
    expect(res.status).toBe(200);
    await res.text();
    const traceparent = up.seen[0]?.headers.traceparent;
    expect(String(traceparent)).toMatch(/^00-[0-9a-f]{32}-[0-9a-f]{16}-01$/);
    agent.child.kill('SIGTERM');
    expect(await agent.exited).toBe(0);
    hub.proc.child.kill('SIGTERM');
    expect(await hub.proc.exited).toBe(0);
    await vi.waitFor(() => {
      const traceId = String(traceparent).split('-')[1];
      const services = receiver.spans
        .filter((s) => s.traceId === traceId)
        .map((s) => `${s.service} ${s.name}`);
      expect(services.sort()).toEqual([
        'gpu-box-1 upstream GET',
        'slime-hub GET',
        'slime-hub slime.dispatch',
      ]);
    });
  });

  it('refuses an endpoint that is not an http(s) URL with one line', async () => {
    const r = await runCli([
      'hub',
      'run',
      '--secret',
      's',
      '--port',
      '0',
      '--otel-endpoint',
      'collector:4318',
    ]);
    expect(r.code).toBe(2);
    expect(r.stderr).toBe(
      'slime: invalid --otel-endpoint "collector:4318": expected an http:// or https:// URL\n',
    );
  });
});
