import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type AdminServerOptions, createAdminServer } from '../../src/admin/index.js';
import {
  createPolicyEngine,
  type PolicyDoc,
  type PolicyEngine,
  type PolicySections,
} from '../../src/policy/index.js';

export const TOKEN = 'admin-token-for-tests';

export interface TestAdmin {
  url: string;
  engine: PolicyEngine;
  policyPath: string;
  dir: string;
  call(
    method: string,
    path: string,
    init?: { body?: string; headers?: Record<string, string>; token?: string | null },
  ): Promise<Response>;
  [Symbol.asyncDispose](): Promise<void>;
}

/** An admin server on 127.0.0.1:0 with its own temp dir for the policy file. */
export async function startTestAdmin(
  policy: PolicyDoc = {},
  extra: Partial<Omit<AdminServerOptions, 'engine' | 'token'>> = {},
  sections: PolicySections = {},
): Promise<TestAdmin> {
  const dir = await mkdtemp(join(tmpdir(), 'slime-admin-'));
  const policyPath = join(dir, 'policy.yaml');
  const engine = createPolicyEngine({ policy, sections });
  const server = createAdminServer({
    host: '127.0.0.1',
    port: 0,
    token: TOKEN,
    engine,
    policyPath,
    ...extra,
  });
  const { port } = await server.listen();
  const url = `http://127.0.0.1:${port}`;
  return {
    url,
    engine,
    policyPath,
    dir,
    call(method, path, init = {}) {
      const headers: Record<string, string> = { ...init.headers };
      const token = init.token === undefined ? TOKEN : init.token;
      if (token !== null) headers.authorization = `Bearer ${token}`;
      return fetch(`${url}${path}`, {
        method,
        headers,
        ...(init.body === undefined ? {} : { body: init.body }),
      });
    },
    async [Symbol.asyncDispose]() {
      await server.close();
      await engine.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

/** The parts of a JSON answer the tests look at. */
export interface Answer {
  code?: string;
  errors?: string[];
  [k: string]: unknown;
}

export async function answer(res: Response): Promise<Answer> {
  return (await res.json()) as Answer;
}
