import { unwatchFile, watchFile } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { type TlsPair, tlsPairProblem } from '@slime/hub';
import type { Logger } from 'pino';
import type { Settings } from './settings.js';
import { UsageError } from './usage-error.js';

/** A certificate and key read from files, and where they came from (for reloads). */
export interface TlsFiles {
  pair: TlsPair;
  certPath: string;
  keyPath: string;
  certFlag: string;
  keyFlag: string;
}

/** How often the certificate files are checked for a renewal (certbot, cert-manager...). */
const WATCH_INTERVAL_MS = 2_000;

async function readPair(files: Omit<TlsFiles, 'pair'>): Promise<TlsPair> {
  const read = async (path: string, flag: string) => {
    try {
      return await readFile(path, 'utf8');
    } catch (err) {
      throw new UsageError(`cannot read --${flag} ${path}: ${(err as Error).message}`, { cause: err });
    }
  };
  const pair = {
    cert: await read(files.certPath, files.certFlag),
    key: await read(files.keyPath, files.keyFlag),
  };
  const problem = tlsPairProblem(pair);
  if (problem !== undefined) {
    const what = problem.includes('does not match')
      ? `--${files.keyFlag} ${files.keyPath} does not match the certificate in --${files.certFlag} ${files.certPath}`
      : problem
          .replace(/^tls\.cert/, `--${files.certFlag} ${files.certPath}`)
          .replace(/^tls\.key/, `--${files.keyFlag} ${files.keyPath}`);
    throw new UsageError(what);
  }
  return pair;
}

/**
 * Reads `--<certFlag>`/`--<keyFlag>` (both or neither), refusing a key that does not match the
 * certificate with one line. Undefined when neither is set.
 */
export async function tlsFilesFrom(
  settings: Settings,
  certFlag: string,
  keyFlag: string,
): Promise<TlsFiles | undefined> {
  const certPath = settings.string(certFlag);
  const keyPath = settings.string(keyFlag);
  const has = (v: string | undefined) => v !== undefined && v !== '';
  if (!has(certPath) && !has(keyPath)) return undefined;
  if (!has(certPath) || !has(keyPath))
    throw new UsageError(`--${certFlag} and --${keyFlag} go together: give both`);
  const files = { certPath: certPath!, keyPath: keyPath!, certFlag, keyFlag };
  return { ...files, pair: await readPair(files) };
}

/**
 * Re-reads the files and hands a good pair to `apply`; a bad or half-written pair is logged and
 * the certificate in force stays. Never throws.
 */
export async function reloadTlsFiles(
  files: TlsFiles,
  apply: (pair: TlsPair) => void,
  logger: Logger,
  why: string,
): Promise<void> {
  try {
    const pair = await readPair(files);
    apply(pair);
    logger.info({ cert: files.certPath, why }, 'TLS certificate reloaded');
  } catch (err) {
    logger.error(
      { cert: files.certPath, key: files.keyPath, why, error: (err as Error).message },
      'TLS reload refused; the certificate in force stays',
    );
  }
}

/**
 * Watches the certificate and key (by stat, so a symlink swap or rename-into-place is seen too)
 * and calls `onChange` once per change of either. Returns the function that stops watching.
 */
export function watchTlsFiles(files: TlsFiles, onChange: () => void): () => void {
  let timer: NodeJS.Timeout | undefined;
  const changed = (now: { mtimeMs: number; ino: number }, before: { mtimeMs: number; ino: number }) => {
    if (now.mtimeMs === before.mtimeMs && now.ino === before.ino) return;
    // cert and key are usually written one after the other: one reload for both
    clearTimeout(timer);
    timer = setTimeout(onChange, 200);
    timer.unref();
  };
  const paths = [...new Set([files.certPath, files.keyPath])];
  for (const path of paths) watchFile(path, { interval: WATCH_INTERVAL_MS, persistent: false }, changed);
  return () => {
    clearTimeout(timer);
    for (const path of paths) unwatchFile(path, changed);
  };
}

/** The hub's reloadable certificates (client port, admin port): one SIGHUP reloads all. */
export interface TlsReloads {
  /** Adds a listener's files: watched from now on, reloaded on `reload()`. */
  add(files: TlsFiles | undefined, apply: (pair: TlsPair) => void): void;
  reload(why: string): Promise<void>;
  close(): void;
}

export function createTlsReloads(logger: Logger): TlsReloads {
  const entries: { files: TlsFiles; apply: (pair: TlsPair) => void; stop: () => void }[] = [];
  return {
    add(files, apply) {
      if (files === undefined) return;
      const stop = watchTlsFiles(files, () => void reloadTlsFiles(files, apply, logger, 'file changed'));
      entries.push({ files, apply, stop });
    },
    async reload(why) {
      for (const e of entries) await reloadTlsFiles(e.files, e.apply, logger, why);
    },
    close() {
      for (const e of entries.splice(0)) e.stop();
    },
  };
}
