import { execFile, spawn } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { fileURLToPath } from 'node:url';
import { ALL_OPTIONS, envNames, foldName, parseDurationMs } from '@slime/cli';
import { afterEach, describe, expect, it } from 'vitest';
import { parse, parseAllDocuments } from 'yaml';
import { killAll, register, startAgent, startHub } from '../packages/cli/test/spawn-cli.js';
import { startTestUpstream } from '../packages/cli/test/test-upstream.js';

// No Docker daemon or cluster here: the deploy examples are checked as documents. Each check is
// something that, wrong, breaks a deployment: a flag or SLIME_* name the CLI does not know, a
// service or volume that is not declared, a probe on a port the container does not expose, a
// stop timeout shorter than the drain.

const root = new URL('../', import.meta.url);
const read = (path: string) => readFileSync(new URL(path, root), 'utf8');

const KNOWN_FLAGS = new Set(ALL_OPTIONS.map((s) => foldName(s.flag)));
const KNOWN_ENV = new Set(ALL_OPTIONS.flatMap((s) => envNames(s)));

/** Every `--flag` in `args` is one the CLI takes (any spelling). */
function expectKnownFlags(args: readonly string[]): void {
  for (const a of args) {
    if (!a.startsWith('--')) continue;
    const name = a.includes('=') ? a.slice(0, a.indexOf('=')) : a;
    expect(KNOWN_FLAGS, `flag ${name}`).toContain(foldName(name));
  }
}

/** Every SLIME_* name is a setting's env var. */
function expectKnownEnv(names: Iterable<string>): void {
  for (const name of names) if (name.startsWith('SLIME_')) expect(KNOWN_ENV, `env ${name}`).toContain(name);
}

const seconds = (d: string | number) =>
  typeof d === 'number' ? d : (parseDurationMs(d) ?? Number.NaN) / 1000;

// biome-ignore lint/suspicious/noExplicitAny: parsed YAML documents are walked structurally
type Doc = any;

describe('deploy/compose/compose.yaml', () => {
  const compose: Doc = parse(read('deploy/compose/compose.yaml'));
  const services = compose.services as Record<string, Doc>;

  it('has the hub, an agent beside a demo upstream, Redis, and a token minter', () => {
    expect(Object.keys(services).sort()).toEqual(['agent', 'hub', 'redis', 'register', 'upstream']);
    expect(existsSync(new URL(`deploy/compose/${services.hub.build.context}/Dockerfile`, root))).toBe(true);
    for (const [name, s] of Object.entries(services)) {
      for (const dep of Object.keys(s.depends_on ?? {}))
        expect(services, `${name} depends on ${dep}`).toHaveProperty(dep);
      for (const v of s.volumes ?? []) {
        const source = String(v).split(':')[0]!;
        expect(compose.volumes, `${name} volume ${source}`).toHaveProperty(source);
      }
    }
  });

  it('wires the services together through names the CLI reads', () => {
    const { hub, agent, register: minter } = services;
    expect(hub.command).toEqual(['hub', 'run']);
    expectKnownFlags(hub.command);
    for (const s of [hub, agent, minter]) expectKnownEnv(Object.keys(s.environment));
    // the hub's client port published; the admin port only on the host's loopback
    expect(hub.ports).toContain('8080:8080');
    expect(hub.ports).toContain('127.0.0.1:8081:8081');
    expect(hub.environment.SLIME_ADMIN_HOST).toBe('0.0.0.0');
    expect(hub.volumes).toContain('hub-state:/var/lib/slime');
    const redis = new URL(hub.environment.SLIME_REDIS_URL);
    expect(services).toHaveProperty(redis.hostname);
    expect(redis.port).toBe('6379');
    expect(seconds(hub.stop_grace_period)).toBeGreaterThan(seconds(hub.environment.SLIME_DRAIN_TIMEOUT));
    // the agent dials the hub service's client port and serves the upstream service
    const hubUrl = new URL(agent.environment.SLIME_HUB);
    expect(hubUrl.hostname).toBe('hub');
    expect(hubUrl.port).toBe('8080');
    expect(agent.environment.SLIME_UPSTREAM.split(':')[0]).toBe('upstream');
    // the token: minted into a volume, read from it (through the environment, not argv)
    expect(minter.command.join(' ')).toMatch(
      /slime hub register --name \S+ > \/var\/lib\/slime\/agent\.token/,
    );
    expect(agent.command.join(' ')).toMatch(
      /SLIME_TOKEN="\$\$\(cat \/var\/lib\/slime\/agent\.token\)" && exec slime agent run$/,
    );
    expect(agent.volumes).toContain('agent-token:/var/lib/slime:ro');
    expect(minter.volumes).toContain('agent-token:/var/lib/slime');
    expect(agent.depends_on.register.condition).toBe('service_completed_successfully');
  });

  it('every variable it needs is in .env.example', () => {
    const text = read('deploy/compose/compose.yaml');
    const example = read('deploy/compose/.env.example');
    for (const [, name] of text.matchAll(/\$\{(\w+)[:?}]/g))
      expect(example).toMatch(new RegExp(`^${name}=`, 'm'));
  });
});

describe('deploy/kubernetes', () => {
  const docs = (file: string): Doc[] =>
    parseAllDocuments(read(`deploy/kubernetes/${file}`)).map((d) => {
      expect(d.errors).toEqual([]);
      return d.toJSON();
    });
  const hub = docs('hub.yaml');
  const agentDocs = docs('agent.yaml');
  const all = [...hub, ...agentDocs];
  const deployment = (name: string) => all.find((d) => d.kind === 'Deployment' && d.metadata.name === name);
  const containerEnv = (c: Doc) =>
    Object.fromEntries((c.env ?? []).map((e: Doc) => [e.name, e.value ?? e.valueFrom]));

  it('every document is a named, versioned object; selectors match their pods', () => {
    for (const d of all) {
      expect(d.apiVersion).toBeTruthy();
      expect(d.metadata.name).toBeTruthy();
    }
    for (const d of all.filter((x) => x.kind === 'Deployment')) {
      expect(d.spec.template.metadata.labels).toMatchObject(d.spec.selector.matchLabels);
    }
    for (const svc of all.filter((x) => x.kind === 'Service')) {
      const target = all.find(
        (d) =>
          d.kind === 'Deployment' &&
          Object.entries(svc.spec.selector).every(([k, v]) => d.spec.template.metadata.labels[k] === v),
      );
      expect(target, `service ${svc.metadata.name} selects a deployment`).toBeDefined();
      const names = target.spec.template.spec.containers.flatMap((c: Doc) => c.ports.map((p: Doc) => p.name));
      for (const p of svc.spec.ports)
        expect(names, `${svc.metadata.name} targetPort`).toContain(p.targetPort);
    }
  });

  it('the hub: readiness on /readyz and liveness on /healthz of the admin port, reachable by the kubelet', () => {
    const d = deployment('slime-hub');
    const [c] = d.spec.template.spec.containers;
    expect(c.args).toEqual(['hub', 'run']);
    expectKnownFlags(c.args);
    const admin = c.ports.find((p: Doc) => p.name === 'admin');
    expect(admin.containerPort).toBe(8081);
    expect(c.ports.find((p: Doc) => p.name === 'http').containerPort).toBe(8080);
    expect(c.readinessProbe.httpGet).toEqual({ path: '/readyz', port: 'admin' });
    expect(c.livenessProbe.httpGet).toEqual({ path: '/healthz', port: 'admin' });
    const env = containerEnv(c);
    expectKnownEnv(Object.keys(env));
    // the admin API (and so the probes) runs only with a token, on a non-loopback address
    expect(env.SLIME_ADMIN_TOKEN.secretKeyRef).toEqual({ name: 'slime', key: 'admin-token' });
    expect(env.SLIME_SECRET.secretKeyRef).toEqual({ name: 'slime', key: 'secret' });
    expect(env.SLIME_ADMIN_HOST).toBe('0.0.0.0');
    const preStop = Number(c.lifecycle.preStop.exec.command[1]);
    expect(d.spec.template.spec.terminationGracePeriodSeconds).toBeGreaterThan(
      seconds(env.SLIME_DRAIN_TIMEOUT) + preStop,
    );
    // the state dir the image points at is a volume (the root filesystem is read-only)
    expect(c.securityContext.readOnlyRootFilesystem).toBe(true);
    const mount = c.volumeMounts.find((m: Doc) => m.mountPath === '/var/lib/slime');
    expect(d.spec.template.spec.volumes.map((v: Doc) => v.name)).toContain(mount.name);
  });

  it('the agent: beside its upstream in one pod, dialing the hub Service', () => {
    const d = deployment('llm');
    const containers = d.spec.template.spec.containers as Doc[];
    expect(containers.map((c) => c.name).sort()).toEqual(['agent', 'upstream']);
    const agent = containers.find((c) => c.name === 'agent');
    const upstream = containers.find((c) => c.name === 'upstream');
    expect(agent.args).toEqual(['agent', 'run']);
    const env = containerEnv(agent);
    expectKnownEnv(Object.keys(env));
    expect(env.SLIME_UPSTREAM).toBe(`127.0.0.1:${upstream.ports[0].containerPort}`);
    const hubUrl = new URL(env.SLIME_HUB);
    const svc = hub.find((x) => x.kind === 'Service' && x.metadata.name === hubUrl.hostname);
    expect(svc, 'SLIME_HUB names the hub Service').toBeDefined();
    expect(svc.spec.ports.map((p: Doc) => String(p.port))).toContain(hubUrl.port);
    expect(env.SLIME_TOKEN.secretKeyRef.key).toBe('token');
    expect(agent.ports.find((p: Doc) => p.name === 'metrics').containerPort).toBe(
      Number(env.SLIME_METRICS_PORT),
    );
  });
});

describe('deploy/systemd', () => {
  /** `key=value` lines of a unit file, by section (repeated keys kept in order). */
  function unit(file: string): Record<string, [string, string][]> {
    const out: Record<string, [string, string][]> = {};
    let section = '';
    for (const raw of read(`deploy/systemd/${file}`).split('\n')) {
      const line = raw.trim();
      if (line === '' || line.startsWith('#')) continue;
      const s = /^\[(\w+)\]$/.exec(line);
      if (s) {
        section = s[1]!;
        out[section] = [];
        continue;
      }
      const eq = line.indexOf('=');
      expect(eq, `${file}: ${line}`).toBeGreaterThan(0);
      out[section]!.push([line.slice(0, eq), line.slice(eq + 1)]);
    }
    return out;
  }
  const get = (u: Record<string, [string, string][]>, key: string) =>
    u.Service!.filter(([k]) => k === key).map(([, v]) => v);
  const environment = (u: Record<string, [string, string][]>) =>
    Object.fromEntries(get(u, 'Environment').map((e) => e.split('=', 2) as [string, string]));

  it('the hub: state dir, reload = SIGHUP, a stop timeout above the drain', () => {
    expect(readdirSync(new URL('deploy/systemd/', root)).sort()).toEqual([
      'slime-agent@.service',
      'slime-hub.service',
    ]);
    const u = unit('slime-hub.service');
    expect(Object.keys(u)).toEqual(['Unit', 'Service', 'Install']);
    const exec = get(u, 'ExecStart')[0]!.split(/\s+/);
    expect(exec.slice(0, 3)).toEqual(['/usr/bin/slime', 'hub', 'run']);
    expectKnownFlags(exec);
    const env = environment(u);
    expectKnownEnv(Object.keys(env));
    expect(get(u, 'StateDirectory')).toEqual(['slime']);
    expect(env.SLIME_STATE_DIR).toBe('%S/slime');
    expect(get(u, 'ExecReload')[0]).toMatch(/kill -HUP \$MAINPID$/);
    expect(seconds(get(u, 'TimeoutStopSec')[0]!)).toBeGreaterThan(seconds(env.SLIME_DRAIN_TIMEOUT!));
  });

  it('the agent: one instance per env file, no restart loop on a refused token', () => {
    const u = unit('slime-agent@.service');
    expect(get(u, 'ExecStart')[0]).toBe('/usr/bin/slime agent run');
    expect(get(u, 'EnvironmentFile')[0]).toBe('/etc/slime/agent-%i.env');
    expectKnownEnv(Object.keys(environment(u)));
    expect(get(u, 'RestartPreventExitStatus')[0]!.split(' ').sort()).toEqual(['1', '2']);
    // the env file example in the comments names only known settings
    const comments = read('deploy/systemd/slime-agent@.service');
    expectKnownEnv([...comments.matchAll(/#\s+(SLIME_\w+)=/g)].map((m) => m[1]!));
  });
});

describe('Dockerfile and LICENSE', () => {
  const dockerfile = read('Dockerfile');

  it('Node 24, slime on PATH, a writable state volume, both ports, a health check', () => {
    expect(dockerfile).toMatch(/^ARG NODE_IMAGE=node:24-slim$/m);
    expect(dockerfile).toMatch(/ln -s \/app\/packages\/cli\/bin\/slime\.js \/usr\/local\/bin\/slime/);
    expect(dockerfile).toMatch(/chown node:node \/var\/lib\/slime/);
    expect(dockerfile).toMatch(/^VOLUME \["\/var\/lib\/slime"\]$/m);
    expect(dockerfile).toMatch(/SLIME_STATE_DIR=\/var\/lib\/slime/);
    expect(dockerfile).toMatch(/^EXPOSE 8080 8081$/m);
    expect(dockerfile).toMatch(/^USER node$/m);
    expect(dockerfile).toMatch(/^HEALTHCHECK .*\n\s+CMD \["node", "\/app\/healthcheck\.mjs"\]$/m);
    expect(dockerfile).toMatch(/^COPY deploy\/docker\/healthcheck\.mjs \/app\/healthcheck\.mjs$/m);
    expect(read('.dockerignore')).toMatch(/^!deploy\/docker\/$/m);
    expectKnownEnv([...dockerfile.matchAll(/\b(SLIME_\w+)=/g)].map((m) => m[1]!));
    // no generic HOST/PORT for other programs to trip over
    expect(dockerfile).not.toMatch(/ENV HOST=|^\s+PORT=/m);
  });

  it('LICENSE is the Apache License 2.0 that every package.json names', () => {
    const license = read('LICENSE');
    expect(license).toMatch(/^\s+Apache License\n\s+Version 2\.0, January 2004/);
    expect(license).toContain('END OF TERMS AND CONDITIONS');
    for (const p of [
      'package.json',
      ...['protocol', 'hub', 'agent', 'cli'].map((n) => `packages/${n}/package.json`),
    ]) {
      expect((JSON.parse(read(p)) as { license: string }).license, p).toBe('Apache-2.0');
    }
  });
});

describe('the image health check (deploy/docker/healthcheck.mjs)', () => {
  afterEach(killAll);
  const script = fileURLToPath(new URL('deploy/docker/healthcheck.mjs', root));
  const check = (pid: number) =>
    new Promise<number>((resolve) => {
      execFile(process.execPath, [script, String(pid)], (err) => resolve(err ? Number(err.code ?? 1) : 0));
    });

  async function freePort(): Promise<number> {
    const server = createServer().listen(0, '127.0.0.1');
    await once(server, 'listening');
    const { port } = server.address() as { port: number };
    await new Promise<void>((resolve) => server.close(() => resolve()));
    return port;
  }

  it('a hub is healthy while its client port answers; an agent while it runs', async () => {
    const port = await freePort();
    const hub = await startHub(['--secret', 's', '--port', String(port)]);
    expect(hub.port).toBe(port);
    expect(await check(hub.proc.child.pid!)).toBe(0);
    const up = await startTestUpstream();
    const token = await register(['--secret', 's', '--name', 'n']);
    const agent = await startAgent(['--token', token, '--hub', hub.url, '--upstream', up.hostPort]);
    expect(await check(agent.child.pid!)).toBe(0);
    await up.close();
  });

  it('a hub whose port does not answer is unhealthy', async () => {
    const port = await freePort(); // nothing listens there now
    // a stand-in with a hub's command line: `node <bin.js> hub run --port N`
    const child = spawn(process.execPath, [
      '-e',
      'setTimeout(() => {}, 60_000)',
      '/app/packages/cli/dist/bin.js',
      'hub',
      'run',
      `--port=${port}`,
    ]);
    try {
      expect(await check(child.pid!)).toBe(1);
    } finally {
      child.kill('SIGKILL');
    }
  });
});
