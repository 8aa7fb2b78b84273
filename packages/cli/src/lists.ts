/**
 * Splits a list given on the command line, in an env var or a config file. Commas and any
 * whitespace both separate, so `UPSTREAM="a:1, b:2"`, `UPSTREAM="a:1 b:2"` and
 * `--upstream a:1,b:2` mean the same (the Go version panics on commas). Empty items are dropped.
 */
export function parseList(value: string | readonly unknown[]): string[] {
  const parts = typeof value === 'string' ? [value] : value.map((v) => String(v));
  return parts.flatMap((p) => p.split(/[\s,]+/)).filter((p) => p.length > 0);
}

/** Boolean spellings accepted from flags (`--reportHardware=true`), env vars and config files. */
export function parseBoolean(value: string | boolean): boolean | undefined {
  if (typeof value === 'boolean') return value;
  switch (value.trim().toLowerCase()) {
    case '1':
    case 'true':
    case 't':
    case 'yes':
    case 'y':
    case 'on':
      return true;
    case '0':
    case 'false':
    case 'f':
    case 'no':
    case 'n':
    case 'off':
      return false;
    default:
      return undefined;
  }
}
