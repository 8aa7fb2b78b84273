import { once } from 'node:events';
import { request as httpsRequest } from 'node:https';
import { connect as tlsConnect } from 'node:tls';
import { publicKeyPin } from '@slime/agent';
import { describe, expect, it, vi } from 'vitest';
import { createTestCa } from './helpers/certs.js';
import { deferred, startAgent, startHub, startUpstream } from './helpers/harness.js';
import { captureLog } from './helpers/log-capture.js';

interface Answer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

function get(url: string, ca: string | undefined, path = '/'): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = httpsRequest(`${url}${path}`, { ca, agent: false }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => {
        body += c;
      });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end();
  });
}

/** The serial number of the certificate a new TLS connection to the hub is shown. */
async function servedSerial(port: number, ca: string): Promise<string> {
  const socket = tlsConnect({ host: '127.0.0.1', port, ca, servername: 'localhost' });
  await once(socket, 'secureConnect');
  const serial = socket.getPeerCertificate().serialNumber;
  socket.destroy();
  return serial;
}

describe('TLS on the hub', () => {
  it('serves applications and agents over TLS verified against a private CA', async () => {
    await using ca = await createTestCa();
    const leaf = await ca.issue('hub');
    await using upstream = await startUpstream((req, res) => {
      res.end(`proto=${req.headers['x-forwarded-proto']}`);
    });
    await using hub = await startHub({ tls: { cert: leaf.cert, key: leaf.key } });
    expect(hub.url).toMatch(/^https:\/\/127\.0\.0\.1:\d+$/);
    await using _agent = await startAgent(hub, upstream, { hubTls: { ca: ca.cert } });
    const answer = await get(hub.url, ca.cert, '/x');
    expect(answer.status).toBe(200);
    expect(answer.body).toBe('proto=https');
    // an untrusting client refuses the hub: this is real verification, not a TLS-shaped no-op
    await expect(get(hub.url, undefined)).rejects.toMatchObject({ code: 'UNABLE_TO_VERIFY_LEAF_SIGNATURE' });
  });

  it('refuses TLS 1.1 and older', async () => {
    await using ca = await createTestCa();
    const leaf = await ca.issue('hub');
    await using hub = await startHub({ tls: { cert: leaf.cert, key: leaf.key } });
    const socket = tlsConnect({
      host: '127.0.0.1',
      port: hub.port,
      ca: ca.cert,
      servername: 'localhost',
      minVersion: 'TLSv1',
      maxVersion: 'TLSv1.1',
      ciphers: 'DEFAULT:@SECLEVEL=0',
    });
    const [err] = (await once(socket, 'error').catch((e: unknown) => [e])) as [Error & { code?: string }];
    expect(err.code ?? err.message).toMatch(/ERR_SSL|PROTOCOL|VERSION/i);
  });

  it('refuses a key that does not match the certificate, naming the option', async () => {
    await using ca = await createTestCa();
    const a = await ca.issue('a');
    const b = await ca.issue('b');
    await expect(startHub({ tls: { cert: a.cert, key: b.key } })).rejects.toThrow(
      /^tls\.key does not match the public key of tls\.cert/,
    );
  });

  it('an agent with the right pin connects; a pin mismatch is one clear line per attempt and retried', async () => {
    await using ca = await createTestCa();
    const leaf = await ca.issue('hub');
    await using upstream = await startUpstream((_req, res) => res.end('ok'));
    await using hub = await startHub({ tls: { cert: leaf.cert, key: leaf.key } });
    const pin = publicKeyPin(leaf.cert);
    await using pinned = await startAgent(hub, upstream, { hubTls: { ca: ca.cert, pins: [pin] } });
    expect(pinned.agent.hubAgentId).toBeDefined();

    const wrong = `sha256/${Buffer.alloc(32, 7).toString('base64')}`;
    const log = captureLog();
    const { createAgent } = await import('@slime/agent');
    const { signAgentToken } = await import('@slime/hub');
    const { SECRET } = await import('./helpers/harness.js');
    await using refused = createAgent({
      hub: hub.url,
      upstream: upstream.url,
      token: await signAgentToken({ secret: SECRET, name: 'pinned' }),
      reconnectBaseMs: 10,
      reconnectMaxMs: 20,
      hubTls: { ca: ca.cert, pins: [wrong] },
      logger: log.logger,
    });
    refused.start();
    await vi.waitFor(() => {
      expect(log.lines.filter((l) => l.msg === 'cannot reach the hub').length).toBeGreaterThanOrEqual(2);
    });
    const failures = log.lines.filter((l) => l.msg === 'cannot reach the hub');
    expect(failures[0]).toMatchObject({
      level: 40,
      err: expect.stringMatching(/^the hub's public key sha256\/\S+ matches no --hub-pin: check --hub-pin$/),
    });
    expect(failures[1]!.attempt).toBe(1);
    // no stack traces: the line is a string, not a serialized error
    expect(log.lines.some((l) => typeof l.err === 'object')).toBe(false);
    expect(hub.hub.agents()).toHaveLength(1);
  });

  it('an agent that does not trust the hub says so in one line and retries', async () => {
    await using ca = await createTestCa();
    const leaf = await ca.issue('hub');
    await using hub = await startHub({ tls: { cert: leaf.cert, key: leaf.key } });
    const log = captureLog();
    const { createAgent } = await import('@slime/agent');
    const { signAgentToken } = await import('@slime/hub');
    const { SECRET } = await import('./helpers/harness.js');
    await using agent = createAgent({
      hub: hub.url,
      upstream: 'http://127.0.0.1:9',
      token: await signAgentToken({ secret: SECRET, name: 'untrusting' }),
      reconnectBaseMs: 10,
      reconnectMaxMs: 20,
      logger: log.logger,
    });
    agent.start();
    await vi.waitFor(() => {
      expect(log.lines.filter((l) => l.msg === 'cannot reach the hub').length).toBeGreaterThanOrEqual(2);
    });
    expect(log.lines.find((l) => l.msg === 'cannot reach the hub')?.err).toMatch(
      /^the hub's certificate is not trusted \(UNABLE_TO_VERIFY_LEAF_SIGNATURE\): give its CA with --ca FILE/,
    );
  });

  it('reloads a renewed certificate for new connections while a long download goes on', async () => {
    await using ca = await createTestCa();
    const first = await ca.issue('first');
    const renewed = await ca.issue('renewed');
    const release = deferred();
    await using upstream = await startUpstream(async (_req, res) => {
      res.writeHead(200, { 'content-type': 'application/octet-stream' });
      res.write(Buffer.alloc(64 * 1024, 1));
      await release.promise;
      res.end(Buffer.alloc(64 * 1024, 2));
    });
    await using hub = await startHub({ tls: { cert: first.cert, key: first.key } });
    await using _agent = await startAgent(hub, upstream, { hubTls: { ca: ca.cert } });
    expect(await servedSerial(hub.port, ca.cert)).toBe(first.serial);

    const download = new Promise<number>((resolve, reject) => {
      const req = httpsRequest(`${hub.url}/big`, { ca: ca.cert, agent: false }, (res) => {
        let bytes = 0;
        res.on('data', (c: Buffer) => {
          bytes += c.length;
          if (bytes === 64 * 1024) started.resolve();
        });
        res.on('end', () => resolve(bytes));
        res.on('error', reject);
      });
      req.on('error', reject);
      req.end();
    });
    const started = deferred();
    await started.promise;
    hub.hub.reloadTls({ cert: renewed.cert, key: renewed.key });
    expect(await servedSerial(hub.port, ca.cert)).toBe(renewed.serial);
    // a bad pair is refused and the renewed one stays in force
    expect(() => hub.hub.reloadTls({ cert: renewed.cert, key: first.key })).toThrow(/does not match/);
    expect(await servedSerial(hub.port, ca.cert)).toBe(renewed.serial);
    release.resolve();
    expect(await download).toBe(128 * 1024);
  });

  it('the admin port serves HTTPS with its own pair and reloads it', async () => {
    await using ca = await createTestCa();
    const first = await ca.issue('admin-1');
    const second = await ca.issue('admin-2');
    await using hub = await startHub({
      admin: { token: 'adm', port: 0, tls: { cert: first.cert, key: first.key } },
    });
    const port = hub.hub.adminAddress?.port ?? 0;
    expect(hub.hub.adminAddress?.url).toBe(`https://127.0.0.1:${port}`);
    const policy = await new Promise<number>((resolve, reject) => {
      httpsRequest(
        `https://127.0.0.1:${port}/policy`,
        { ca: ca.cert, agent: false, headers: { authorization: 'Bearer adm' } },
        (res) => {
          res.resume();
          resolve(res.statusCode ?? 0);
        },
      )
        .on('error', reject)
        .end();
    });
    expect(policy).toBe(200);
    expect(await servedSerial(port, ca.cert)).toBe(first.serial);
    hub.hub.reloadAdminTls({ cert: second.cert, key: second.key });
    expect(await servedSerial(port, ca.cert)).toBe(second.serial);
  });

  it('an upgrade offer over TLS (Upgrade: h2c) is ignored and served over HTTP/1.1 like in cleartext', async () => {
    await using ca = await createTestCa();
    const leaf = await ca.issue('hub');
    await using upstream = await startUpstream((req, res) =>
      res.end(`upgrade=${req.headers.upgrade ?? 'none'}`),
    );
    await using hub = await startHub({ tls: { cert: leaf.cert, key: leaf.key } });
    await using _agent = await startAgent(hub, upstream, { hubTls: { ca: ca.cert } });
    const answer = await new Promise<Answer>((resolve, reject) => {
      const req = httpsRequest(
        `${hub.url}/offer`,
        {
          ca: ca.cert,
          agent: false,
          headers: {
            connection: 'Upgrade, HTTP2-Settings',
            upgrade: 'h2c',
            'http2-settings': 'AAMAAABkAAQAoAAAAAIAAAAA',
          },
        },
        (res) => {
          let body = '';
          res.setEncoding('utf8');
          res.on('data', (c: string) => {
            body += c;
          });
          res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
        },
      );
      req.on('error', reject);
      req.end();
    });
    expect(answer).toMatchObject({ status: 200, body: 'upgrade=none' });
  });
});
