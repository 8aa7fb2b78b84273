import { parseDurationMs } from './durations.js';
import { parseBoolean, parseList } from './lists.js';
import { UsageError } from './usage-error.js';

export type OptionKind = 'string' | 'int' | 'list' | 'bool' | 'duration';

/** One setting of one command: its flag, the env vars it reads, its type and its help text. */
export interface OptionSpec {
  /** Kebab-case flag name without dashes, e.g. `app-password`. */
  readonly flag: string;
  /** The Go Slime Proxy's spelling, shown in help (`appPassword`); any spelling is accepted. */
  readonly goFlag?: string;
  /**
   * Env vars besides the SLIME_ one (the Go version's names), first set one wins. Empty values
   * count as unset, as in the Go version (viper).
   */
  readonly env: readonly string[];
  /**
   * The namespaced env var, read before `env`: `SLIME_` + the flag in upper snake case unless
   * given here (`SLIME_REDIS_URL`); `false` for per-invocation flags (`--jti`, `--json`).
   */
  readonly slimeEnv?: string | false;
  readonly kind: OptionKind;
  /** Value name shown in help, e.g. `<secret>`. */
  readonly arg?: string;
  /** Default shown in help and docs; the command applies the real default. */
  readonly defaultText?: string;
  readonly description: string;
}

/**
 * Env names so generic that another program (a shell, a PaaS, a CI system) may have set them for
 * its own purpose; a value taken from one of them is pointed out on stderr.
 */
export const GENERIC_ENV_NAMES: ReadonlySet<string> = new Set(['NAME', 'HOST', 'TOKEN', 'AGE', 'PORT']);

/** The SLIME_ env var of a setting (`--app-password` -> `SLIME_APP_PASSWORD`), or undefined. */
export function slimeEnvName(spec: OptionSpec): string | undefined {
  if (spec.slimeEnv === false) return undefined;
  return spec.slimeEnv ?? `SLIME_${spec.flag.toUpperCase().replace(/-/g, '_')}`;
}

/** Every env var a setting reads, in the order they are tried. */
export function envNames(spec: OptionSpec): string[] {
  const slime = slimeEnvName(spec);
  return slime === undefined ? [...spec.env] : [slime, ...spec.env];
}

/**
 * Folds a flag or config key to one form so that every spelling of a name matches:
 * `--appPassword`, `--app-password`, `app_password` and `APPPASSWORD` all fold to `apppassword`.
 */
export function foldName(name: string): string {
  return name.replace(/^-+/, '').replace(/[-_]/g, '').toLowerCase();
}

/** The property commander stores a kebab flag under (`app-password` -> `appPassword`). */
export function camelKey(flag: string): string {
  return flag.replace(/-([a-z0-9])/g, (_, c: string) => c.toUpperCase());
}

/**
 * Rewrites every spelling of a known long flag to its kebab form before commander sees argv,
 * so Go spellings (`--appPassword`, `--numWorker`, `--agentID`) keep working without a second,
 * hidden commander option per flag. Unknown flags are left alone for commander to reject.
 */
export function normalizeArgv(args: readonly string[], specs: readonly OptionSpec[]): string[] {
  const byFold = new Map(specs.map((s) => [foldName(s.flag), s.flag]));
  const out: string[] = [];
  let done = false;
  for (const arg of args) {
    if (done || !arg.startsWith('--') || arg === '--') {
      if (arg === '--') done = true;
      out.push(arg);
      continue;
    }
    const eq = arg.indexOf('=');
    const name = eq === -1 ? arg : arg.slice(0, eq);
    const flag = byFold.get(foldName(name));
    out.push(flag === undefined ? arg : `--${flag}${eq === -1 ? '' : arg.slice(eq)}`);
  }
  return out;
}

export interface SettingSources {
  /** Parsed flags as commander returns them, keyed by {@link camelKey}. */
  readonly flags: Readonly<Record<string, unknown>>;
  readonly env: Readonly<Record<string, string | undefined>>;
  readonly config?: { readonly path: string; readonly values: Readonly<Record<string, unknown>> };
}

interface Found {
  readonly value: unknown;
  /** Where it came from, for error messages: `--port`, `env PORT`, `config.yaml key "port"`. */
  readonly source: string;
}

/**
 * The merged settings of one command: flag > env var > config file > default. Each typed getter
 * returns `undefined` when no source set the value, and throws a {@link UsageError} naming the
 * source when the value does not parse, so `PORT=abc` says `env PORT`, not `--port`.
 */
export class Settings {
  readonly #specs: ReadonlyMap<string, OptionSpec>;
  readonly #sources: SettingSources;
  readonly #config: ReadonlyMap<string, { key: string; value: unknown }>;

  constructor(specs: readonly OptionSpec[], sources: SettingSources) {
    this.#specs = new Map(specs.map((s) => [s.flag, s]));
    this.#sources = sources;
    const config = new Map<string, { key: string; value: unknown }>();
    for (const [key, value] of Object.entries(sources.config?.values ?? {})) {
      config.set(foldName(key), { key, value });
    }
    this.#config = config;
  }

  /** The raw value and its source, or undefined when nothing set it. */
  find(flag: string): Found | undefined {
    const spec = this.#specs.get(flag);
    if (spec === undefined) throw new Error(`no option spec for --${flag}`);
    const fromFlag = this.#sources.flags[camelKey(flag)];
    if (fromFlag !== undefined) return { value: fromFlag, source: `--${flag}` };
    for (const name of envNames(spec)) {
      const v = this.#sources.env[name];
      if (v !== undefined && v !== '') return { value: v, source: `env ${name}` };
    }
    const c = this.#config.get(foldName(flag));
    if (c !== undefined && c.value !== null && c.value !== undefined) {
      return { value: c.value, source: `${this.#sources.config?.path} key "${c.key}"` };
    }
    return undefined;
  }

  string(flag: string): string | undefined {
    const f = this.find(flag);
    if (f === undefined) return undefined;
    if (typeof f.value === 'string' || typeof f.value === 'number') return String(f.value);
    throw new UsageError(`invalid ${f.source}: expected a string`);
  }

  int(flag: string, range: { min: number; max?: number }): number | undefined {
    const f = this.find(flag);
    if (f === undefined) return undefined;
    const text = String(f.value).trim();
    const n = typeof f.value === 'number' ? f.value : /^\d+$/.test(text) ? Number(text) : Number.NaN;
    const max = range.max ?? Number.MAX_SAFE_INTEGER;
    if (!Number.isSafeInteger(n) || n < range.min || n > max) {
      const bounds = range.max === undefined ? `>= ${range.min}` : `between ${range.min} and ${range.max}`;
      throw new UsageError(`invalid ${f.source} "${text}": expected an integer ${bounds}`);
    }
    return n;
  }

  list(flag: string): string[] | undefined {
    const f = this.find(flag);
    if (f === undefined) return undefined;
    if (typeof f.value === 'string') return parseList(f.value);
    if (Array.isArray(f.value)) return parseList(f.value);
    throw new UsageError(`invalid ${f.source}: expected a list (a,b or a YAML list)`);
  }

  bool(flag: string): boolean | undefined {
    const f = this.find(flag);
    if (f === undefined) return undefined;
    const b = typeof f.value === 'string' || typeof f.value === 'boolean' ? parseBoolean(f.value) : undefined;
    if (b === undefined)
      throw new UsageError(`invalid ${f.source} "${String(f.value)}": expected true or false`);
    return b;
  }

  /** Milliseconds; a bare number is seconds (see parseDurationMs). */
  durationMs(flag: string): number | undefined {
    const f = this.find(flag);
    if (f === undefined) return undefined;
    const text = String(f.value);
    const ms = typeof f.value === 'number' ? f.value * 1000 : parseDurationMs(text);
    if (ms === undefined || !Number.isFinite(ms) || ms < 0) {
      throw new UsageError(`invalid ${f.source} "${text}": expected a duration such as 30s, 1h2m3s, 30d`);
    }
    return ms;
  }

  /**
   * Settings whose value may not be what the user meant, one sentence each: a value taken from a
   * generic env name ({@link GENERIC_ENV_NAMES}), and an env var shadowed by another of the same
   * setting with a different value. Values are never shown (some are secrets).
   */
  warnings(): string[] {
    const out: string[] = [];
    for (const spec of this.#specs.values()) {
      const found = this.find(spec.flag);
      if (found === undefined) continue;
      const fromEnv = found.source.startsWith('env ') ? found.source.slice(4) : undefined;
      if (fromEnv !== undefined && GENERIC_ENV_NAMES.has(fromEnv)) {
        const slime = slimeEnvName(spec);
        out.push(
          `--${spec.flag} was taken from env ${fromEnv}, a generic name another program may have set; ` +
            `pass --${spec.flag}${slime ? ` or set ${slime}` : ''} to make it explicit`,
        );
      }
      if (fromEnv === undefined) continue;
      const used = this.#sources.env[fromEnv];
      for (const name of envNames(spec)) {
        const v = this.#sources.env[name];
        if (name !== fromEnv && v !== undefined && v !== '' && v !== used) {
          out.push(`env ${name} is ignored for --${spec.flag}: env ${fromEnv} is also set and wins`);
        }
      }
    }
    return out;
  }

  /** Like {@link string} but a missing value is a usage error naming the flag and env vars. */
  requireString(flag: string): string {
    const v = this.string(flag);
    if (v === undefined || v === '') {
      const spec = this.#specs.get(flag);
      const env = spec?.env.length ? ` (or env ${spec.env.join('/')})` : '';
      throw new UsageError(`missing --${flag}${env}`);
    }
    return v;
  }
}
