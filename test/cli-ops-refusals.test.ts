import { once } from 'node:events';
import { createServer, request, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { killAll, register, runCli, spawnCli, startHub } from '../packages/cli/test/spawn-cli.js';
import { startTestUpstream } from '../packages/cli/test/test-upstream.js';

const closers: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  await killAll();
  for (const close of closers.splice(0)) await close();
});

/** A plain web server (not a Slime hub) answering every request with `status`. */
async function plainServer(status: number, body = 'hello'): Promise<string> {
  const server: Server = createServer((req, res) => {
    req.resume();
    res.writeHead(status, { 'content-type': 'text/html' });
    res.end(body);
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  closers.push(
    () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  );
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

const parseOrText = (text: string): unknown => {
  try {
    return JSON.parse(text);
  } catch {
    return text; // a valid token gets ws's plain 400 for this bare upgrade
  }
};

/** The hub's raw answer to an agent upgrade carrying `token`: status and parsed body. */
function upgradeAnswer(
  hubUrl: string,
  token: string,
): Promise<{ status: number; type: string; body: unknown }> {
  return new Promise((resolve, reject) => {
    const req = request(`${hubUrl}/_slime/agent`, {
      headers: { connection: 'Upgrade', upgrade: 'websocket', authorization: `Bearer ${token}` },
    });
    req.on('response', (res) => {
      let text = '';
      res.setEncoding('utf8').on('data', (c: string) => {
        text += c;
      });
      res.on('end', () =>
        resolve({
          status: res.statusCode ?? 0,
          type: String(res.headers['content-type']),
          body: parseOrText(text),
        }),
      );
    });
    req.on('upgrade', () => reject(new Error('upgraded')));
    req.on('error', reject);
    req.end();
  });
}

async function agentAgainst(hub: string, token = 't') {
  const up = await startTestUpstream();
  closers.push(up.close);
  return spawnCli(['agent', 'run', '--token', token, '--hub', hub, '--upstream', up.hostPort]);
}

describe("the agent endpoint's 401 carries the reason", () => {
  it('problem+json with code ERR_HUB_UNAUTHORIZED and a reason member', async () => {
    const hub = await startHub(['--secret', 's']);
    const foreign = await register(['--secret', 'other', '--name', 'n']);
    const answer = await upgradeAnswer(hub.url, foreign);
    expect(answer.status).toBe(401);
    expect(answer.type).toBe('application/problem+json');
    expect(answer.body).toEqual({
      type: 'https://slime.dev/errors/ERR_HUB_UNAUTHORIZED',
      title: 'Unauthorized',
      status: 401,
      detail: 'token signature does not match the hub secret',
      code: 'ERR_HUB_UNAUTHORIZED',
      reason: 'bad-signature',
    });
    expect((await upgradeAnswer(hub.url, 'not-a-jwt')).body).toMatchObject({ reason: 'malformed' });
  });

  it('the agent prints the reason and what to do: another secret, an expired token', async () => {
    const hub = await startHub(['--secret', 's']);
    const foreign = await register(['--secret', 'other', '--name', 'n']);
    const a = await agentAgainst(hub.url, foreign);
    expect(await a.exited).toBe(1);
    expect(a.stderr()).toBe(
      "slime: hub refused the agent token (HTTP 401): check --token: the token was signed with another secret than this hub's --secret (reason bad-signature)\n",
    );

    const brief = await register(['--secret', 's', '--name', 'brief', '--age', '1s']);
    await vi.waitFor(async () => expect((await upgradeAnswer(hub.url, brief)).status).toBe(401), {
      timeout: 5000,
      interval: 100,
    });
    const b = await agentAgainst(hub.url, brief);
    expect(await b.exited).toBe(1);
    expect(b.stderr()).toMatch(
      /check --token: the token has expired: mint a new one .*\(reason expired\)\n$/,
    );
  });
});

describe('an agent pointed at something that is not a Slime hub says so in one line', () => {
  it("the hub's admin port", async () => {
    const hub = await startHub(['--secret', 's', '--admin-port', '0', '--admin-token', 'adm']);
    const line = await hub.proc.waitForLog((l) => l.msg === 'admin API listening');
    const admin = `http://127.0.0.1:${(line.admin as { port: number }).port}`;
    const token = await register(['--secret', 's', '--name', 'n']);
    const agent = await agentAgainst(admin, token);
    expect(await agent.exited).toBe(1);
    const lines = agent.stderr().trimEnd().split('\n');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(
      /^slime: ws:\/\/127\.0\.0\.1:\d+ is not a Slime hub's agent endpoint: GET \/_slime\/agent answered HTTP 404 \(this is the Slime hub's admin API.*client port.*\): check --hub$/,
    );
    expect(lines[0]).not.toMatch(/token/i);
  });

  it.each([404, 200, 401])('a plain web server answering %i', async (status) => {
    const agent = await agentAgainst(await plainServer(status));
    expect(await agent.exited).toBe(1);
    const lines = agent.stderr().trimEnd().split('\n');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(
      new RegExp(
        `^slime: ws://127\\.0\\.0\\.1:\\d+ is not a Slime hub's agent endpoint: GET /_slime/agent answered HTTP ${status} \\(.*\\): check --hub$`,
      ),
    );
    expect(lines[0]).not.toMatch(/refused the agent token/);
  });

  it('a 503 (a proxy during a deploy) is retried, one log line per attempt', async () => {
    const agent = await agentAgainst(await plainServer(503, 'upstream connect error'));
    const third = await agent.waitForLog((l) => l.msg === 'cannot reach the hub', 3);
    expect(third.err).toMatch(/answered the upgrade with HTTP 503/);
    expect(agent.child.exitCode).toBeNull();
    const attempts = agent.stdoutLines
      .map((l) => JSON.parse(l) as { msg: string; attempt?: number; level: number })
      .filter((l) => l.level >= 40);
    // every warning is the attempt line; attempts are 0, 1, 2, ... each said once
    expect(attempts.every((l) => l.msg === 'cannot reach the hub')).toBe(true);
    expect(attempts.map((l) => l.attempt)).toEqual(attempts.map((_, i) => i));
  });
});

describe('slime hub status', () => {
  it('against the client port says it is the client port, and sends it no admin token', async () => {
    const hub = await startHub(['--secret', 's']);
    const r = await runCli(['hub', 'status', '--admin', hub.url, '--admin-token', 'adm']);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(
      /^slime: http:\/\/127\.0\.0\.1:\d+ is the hub's client port, not its admin API: give --admin the admin port \(the hub's --admin-port, 8081 by default\)\n$/,
    );
  });
});
