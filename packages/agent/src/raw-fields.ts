/** A field name or value as undici's HTTP/1.1 parser hands it over (bytes), or already a string. */
export type RawField = Buffer | string;

function latin1(field: RawField): string {
  return typeof field === 'string' ? field : field.toString('latin1');
}

/**
 * undici's raw fields (name, value, name, value, ...) as strings, the way its `parseHeaders` gives
 * them and the object path forwarded them: lower-case names, Latin-1 values, and the values of a
 * repeated name gathered at its first place. Without a repeated name (nearly always) that is the
 * wire order, in one pass and no object.
 */
export function rawFieldList(raw: readonly RawField[] | null): string[] {
  if (raw === null) return [];
  const n = raw.length - (raw.length % 2);
  const out: string[] = new Array(n);
  let repeated = false;
  for (let i = 0; i < n; i += 2) {
    const name = latin1(raw[i]!).toLowerCase();
    for (let j = 0; !repeated && j < i; j += 2) if (out[j] === name) repeated = true;
    out[i] = name;
    out[i + 1] = latin1(raw[i + 1]!);
  }
  return repeated ? gathered(out) : out;
}

/** The list with every value of a name moved to that name's first place, in order. */
function gathered(list: string[]): string[] {
  const byName = new Map<string, string[]>();
  for (let i = 0; i < list.length; i += 2) {
    const values = byName.get(list[i]!);
    if (values) values.push(list[i + 1]!);
    else byName.set(list[i]!, [list[i + 1]!]);
  }
  const out: string[] = [];
  for (const [name, values] of byName) for (const v of values) out.push(name, v);
  return out;
}
