import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

export interface TestCa extends AsyncDisposable {
  dir: string;
  /** PEM of the CA certificate (what clients trust). */
  cert: string;
  /** Issues a leaf for 127.0.0.1 and localhost with a fresh key. */
  issue(name: string, options?: { days?: number; cn?: string }): Promise<TestLeaf>;
}

export interface TestLeaf {
  cert: string;
  key: string;
  certPath: string;
  keyPath: string;
  serial: string;
}

/** A throwaway CA made with the openssl CLI (EC P-256), in a temporary directory. */
export async function createTestCa(): Promise<TestCa> {
  const dir = await mkdtemp(join(tmpdir(), 'slime-ca-'));
  const caKey = join(dir, 'ca.key');
  const caCert = join(dir, 'ca.pem');
  await run('openssl', ['ecparam', '-name', 'prime256v1', '-genkey', '-noout', '-out', caKey]);
  await run('openssl', [
    'req',
    '-x509',
    '-new',
    '-key',
    caKey,
    '-out',
    caCert,
    '-days',
    '2',
    '-subj',
    '/CN=Slime Test CA',
    '-addext',
    'basicConstraints=critical,CA:TRUE',
    '-addext',
    'keyUsage=critical,keyCertSign,cRLSign',
  ]);
  let n = 0;
  const ca: TestCa = {
    dir,
    cert: await readFile(caCert, 'utf8'),
    async issue(name, options = {}) {
      const keyPath = join(dir, `${name}.key`);
      const csr = join(dir, `${name}.csr`);
      const certPath = join(dir, `${name}.pem`);
      const ext = join(dir, `${name}.ext`);
      await writeFile(
        ext,
        'subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\nbasicConstraints=CA:FALSE\n',
      );
      await run('openssl', ['ecparam', '-name', 'prime256v1', '-genkey', '-noout', '-out', keyPath]);
      await run('openssl', [
        'req',
        '-new',
        '-key',
        keyPath,
        '-out',
        csr,
        '-subj',
        `/CN=${options.cn ?? name}`,
      ]);
      const serial = (++n + 0x1000).toString(16);
      await run('openssl', [
        'x509',
        '-req',
        '-in',
        csr,
        '-CA',
        caCert,
        '-CAkey',
        caKey,
        '-set_serial',
        `0x${serial}`,
        '-out',
        certPath,
        '-extfile',
        ext,
        '-days',
        String(options.days ?? 1),
      ]);
      return {
        cert: await readFile(certPath, 'utf8'),
        key: await readFile(keyPath, 'utf8'),
        certPath,
        keyPath,
        serial: serial.toUpperCase(),
      };
    },
    async [Symbol.asyncDispose]() {
      await rm(dir, { recursive: true, force: true });
    },
  };
  return ca;
}
