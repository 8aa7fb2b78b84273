import { once } from 'node:events';
import { copyFileSync, renameSync } from 'node:fs';
import { join } from 'node:path';
import { connect as tlsConnect } from 'node:tls';
import { publicKeyPin } from '@slime/agent';
import { afterEach, describe, expect, it } from 'vitest';
import { killAll, register, runCli, startAgent, startHub } from '../packages/cli/test/spawn-cli.js';
import { startTestUpstream } from '../packages/cli/test/test-upstream.js';
import { createTestCa } from './helpers/certs.js';

const closers: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  await killAll();
  for (const close of closers.splice(0)) await close();
});

async function servedSerial(port: number, ca: string): Promise<string> {
  const socket = tlsConnect({ host: '127.0.0.1', port, ca, servername: 'localhost' });
  await once(socket, 'secureConnect');
  const serial = socket.getPeerCertificate().serialNumber;
  socket.destroy();
  return serial;
}

describe('slime hub run with TLS', () => {
  it('refuses a key that does not match the certificate with one line, exit 2', async () => {
    const ca = await createTestCa();
    closers.push(async () => {
      await ca[Symbol.asyncDispose]();
    });
    const a = await ca.issue('a');
    const b = await ca.issue('b');
    const r = await runCli([
      'hub',
      'run',
      '--secret',
      's',
      '--port',
      '0',
      '--tls-cert',
      a.certPath,
      '--tls-key',
      b.keyPath,
    ]);
    expect(r.code).toBe(2);
    expect(r.stderr).toBe(
      `slime: --tls-key ${b.keyPath} does not match the certificate in --tls-cert ${a.certPath}\n`,
    );
    const half = await runCli(['hub', 'run', '--secret', 's', '--port', '0', '--tls-cert', a.certPath]);
    expect(half.code).toBe(2);
    expect(half.stderr).toBe('slime: --tls-cert and --tls-key go together: give both\n');
  });

  it('serves https and wss; an agent with --ca and --hub-pin connects; SIGHUP and a file change reload the certificate', async () => {
    const ca = await createTestCa();
    closers.push(async () => {
      await ca[Symbol.asyncDispose]();
    });
    const first = await ca.issue('first');
    const second = await ca.issue('second');
    const third = await ca.issue('third');
    const certPath = join(ca.dir, 'live.pem');
    const keyPath = join(ca.dir, 'live.key');
    copyFileSync(first.certPath, certPath);
    copyFileSync(first.keyPath, keyPath);
    const up = await startTestUpstream();
    closers.push(up.close);
    const hub = await startHub(['--secret', 's', '--tls-cert', certPath, '--tls-key', keyPath]);
    expect(hub.url).toMatch(/^https:/);
    expect(await servedSerial(hub.port, ca.cert)).toBe(first.serial);

    const token = await register(['--secret', 's', '--name', 'n']);
    const caFile = join(ca.dir, 'ca.pem');
    const agent = await startAgent([
      '--token',
      token,
      '--hub',
      hub.url,
      '--upstream',
      up.hostPort,
      '--ca',
      caFile,
      '--hub-pin',
      publicKeyPin(first.cert),
    ]);
    expect(agent.child.exitCode).toBeNull();

    // SIGHUP: renewed files in place, the next handshake shows them
    copyFileSync(second.certPath, certPath);
    copyFileSync(second.keyPath, keyPath);
    hub.proc.child.kill('SIGHUP');
    await hub.proc.waitForLog((l) => l.msg === 'TLS certificate reloaded' && l.why === 'SIGHUP');
    expect(await servedSerial(hub.port, ca.cert)).toBe(second.serial);

    // a renewal written beside and renamed into place (certbot, cert-manager) is picked up alone
    copyFileSync(third.keyPath, `${keyPath}.new`);
    copyFileSync(third.certPath, `${certPath}.new`);
    renameSync(`${keyPath}.new`, keyPath);
    renameSync(`${certPath}.new`, certPath);
    await hub.proc.waitForLog((l) => l.msg === 'TLS certificate reloaded' && l.why === 'file changed');
    expect(await servedSerial(hub.port, ca.cert)).toBe(third.serial);
    expect(hub.proc.child.exitCode).toBeNull();
  });

  it('an agent refuses a malformed --hub-pin with one line', async () => {
    const r = await runCli([
      'agent',
      'run',
      '--token',
      't',
      '--hub',
      'https://127.0.0.1:1',
      '--upstream',
      '127.0.0.1:2',
      '--hub-pin',
      'md5/abc',
    ]);
    expect(r.code).toBe(2);
    expect(r.stderr).toBe('slime: invalid --hub-pin: "md5/abc" is not sha256/<44 base64 characters>\n');
  });
});
