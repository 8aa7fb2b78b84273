import { tracingChannel } from 'node:diagnostics_channel';
import { type Logger, pino } from 'pino';

type AsJson = (obj: Record<string, unknown>, msg: unknown, num: number, time: string) => string;

/** The parts of a pino instance the line builder reads (pino's own symbols). */
interface PinoInternals {
  lsCache: symbol;
  chindings: symbol;
  stringifiers: symbol;
  serializers: symbol;
  formatters: symbol;
  messageKey: symbol;
  errorKey: symbol;
  nestedKey: symbol;
  end: symbol;
  asJson: symbol;
  wildcard: symbol;
}

function internals(): PinoInternals | undefined {
  const s = pino.symbols as unknown as Record<string, symbol | undefined>;
  const pick = {
    lsCache: s.lsCacheSym,
    chindings: s.chindingsSym,
    stringifiers: s.stringifiersSym,
    serializers: s.serializersSym,
    formatters: s.formattersSym,
    messageKey: s.messageKeySym,
    errorKey: s.errorKeySym,
    nestedKey: s.nestedKeySym,
    end: s.endSym,
    asJson: s.asJsonSym,
    wildcard: s.wildcardFirstSym,
  };
  return Object.values(pick).every((v) => typeof v === 'symbol') ? (pick as PinoInternals) : undefined;
}

/**
 * pino's own quoting of keys (and of values when no redaction path starts with a wildcard): up to
 * 100 characters it escapes only quotes and backslashes (and hands strings with a control
 * character to JSON.stringify), so a lone surrogate stays as it is; longer strings go to
 * JSON.stringify. Copied so that the lines stay byte for byte pino's.
 */
function pinoQuote(str: string): string {
  const l = str.length;
  if (l > 100) return JSON.stringify(str);
  let result = '';
  let last = 0;
  let found = false;
  let point = 255;
  for (let i = 0; i < l && point >= 32; i++) {
    point = str.charCodeAt(i);
    if (point === 34 || point === 92) {
      result += `${str.slice(last, i)}\\`;
      last = i;
      found = true;
    }
  }
  result = found ? result + str.slice(last) : str;
  return point < 32 ? JSON.stringify(str) : `"${result}"`;
}

// pino's asJson reports to this channel; with a subscriber, pino's own path runs so it still does
const asJsonChannel = tracingChannel('pino_asJson');

/**
 * A faster pino line for the common record: a plain object whose values are strings, numbers,
 * booleans or undefined, with no serializer, redaction path or formatter for its keys (the hub's
 * access line, once per request). pino builds that line key by key through generic stringifiers
 * (~1.6 µs and ~2 KB of temporary strings per access line); here each key's `,"key":` is built
 * once and each value goes through JSON.stringify. Anything else (an object, an Error, a key pino
 * would redact or serialize, a log formatter, nestedKey) takes pino's own path, so the lines are
 * byte for byte pino's (flat-line.test.ts compares them over arbitrary records).
 */
/**
 * What a logger's serializers and redaction paths make of a flat line: per key its `,"key":` or
 * null when pino must write it (a serializer or a redaction path names it), and how strings are
 * quoted. Children share their parent's plan until they bring serializers or redaction of their own.
 */
interface Plan {
  readonly stringifiers: object;
  readonly serializers: object;
  readonly prefixes: Map<string, string | null>;
  readonly quote: (s: string) => string;
  /** Whether pino writes the message itself (a serializer or a redaction path names its key). */
  readonly ownMessage: boolean;
}

const planSym = Symbol('slime.flatLinePlan');

export function withFlatLines(logger: Logger): Logger {
  const sym = internals();
  const target = logger as unknown as Record<symbol, unknown>;
  const original = sym && (target[sym.asJson] as AsJson | undefined);
  if (!sym || typeof original !== 'function') return logger;
  const planOf = (self: Record<symbol, unknown>): Plan => {
    const stringifiers = self[sym.stringifiers] as Record<string | symbol, unknown>;
    const serializers = self[sym.serializers] as Record<string, unknown>;
    let plan = self[planSym] as Plan | undefined;
    if (plan?.stringifiers === stringifiers && plan.serializers === serializers) return plan;
    const messageKey = self[sym.messageKey] as string;
    plan = {
      stringifiers,
      serializers,
      prefixes: new Map(),
      // With a redaction path that starts with a wildcard, pino hands every value to its
      // redactor, which writes a string as JSON.stringify does; else it quotes it as keys are.
      quote: stringifiers[sym.wildcard] === undefined ? pinoQuote : JSON.stringify,
      ownMessage: stringifiers[messageKey] !== undefined || serializers[messageKey] !== undefined,
    };
    self[planSym] = plan;
    return plan;
  };
  const prefixOf = (self: Record<symbol, unknown>, plan: Plan, key: string): string | null => {
    let p = plan.prefixes.get(key);
    if (p === undefined) {
      const named =
        (plan.stringifiers as Record<string, unknown>)[key] !== undefined ||
        (plan.serializers as Record<string, unknown>)[key] !== undefined ||
        key === self[sym.errorKey];
      p = named ? null : `,${pinoQuote(key)}:`;
      // the keys of a program's log lines are few; a record with keys made per call is not cached
      if (plan.prefixes.size < 256) plan.prefixes.set(key, p);
    }
    return p;
  };
  const fast: AsJson = function flatLine(this: Record<symbol, unknown>, obj, msg, num, time) {
    if (
      typeof msg !== 'string' ||
      asJsonChannel.hasSubscribers ||
      this[sym.nestedKey] ||
      (this[sym.formatters] as { log?: unknown }).log !== undefined ||
      Object.getPrototypeOf(obj) !== Object.prototype
    ) {
      return original.call(this, obj, msg, num, time);
    }
    const plan = planOf(this);
    if (plan.ownMessage) return original.call(this, obj, msg, num, time);
    const quote = plan.quote;
    let line = (this[sym.lsCache] as Record<number, string>)[num] + time + this[sym.chindings];
    for (const key in obj) {
      const value = obj[key];
      if (value === undefined || !Object.hasOwn(obj, key)) continue;
      const type = typeof value;
      const prefix =
        type === 'string' || type === 'number' || type === 'boolean' ? prefixOf(this, plan, key) : null;
      if (prefix === null) return original.call(this, obj, msg, num, time);
      // pino writes a number that is not finite as null, and the rest as JSON does
      line +=
        prefix +
        (type === 'string'
          ? quote(value as string)
          : Number.isFinite(value) || type === 'boolean'
            ? value
            : 'null');
    }
    // pino writes the message key as it is (it is checked when the logger is made)
    return `${line},"${this[sym.messageKey] as string}":${quote(msg)}${this[sym.end]}`;
  };
  // children are made with Object.create(parent): they inherit this property
  target[sym.asJson] = fast;
  return logger;
}
