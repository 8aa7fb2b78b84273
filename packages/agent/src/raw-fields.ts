import { type HeaderList, isHopByHop } from '@slime/protocol';
import { util } from 'undici';

/** A field name or value as undici's HTTP/1.1 parser hands it over (bytes), or already a string. */
export type RawField = Buffer | string;

function latin1(field: RawField): string {
  return typeof field === 'string' ? field : field.toString('latin1');
}

/**
 * A field name lower-cased. undici's lookup gives the interned lower-case string of a well-known
 * name (date, content-type, keep-alive...) without building one: most response fields are those.
 */
const fieldName: (field: RawField) => string = util.headerNameToString;

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
    const name = fieldName(raw[i]!);
    for (let j = 0; !repeated && j < i; j += 2) if (out[j] === name) repeated = true;
    out[i] = name;
    out[i + 1] = latin1(raw[i + 1]!);
  }
  return repeated ? gathered(out) : out;
}

/**
 * A response head's raw fields as the RESPONSE frame carries them: `stripHopByHop(rawFieldList(raw))`
 * in one pass, without the intermediate list. Hop-by-hop fields and those the Connection field
 * names are dropped; a repeated name's values are gathered at its first place.
 */
export function responseFieldList(raw: readonly RawField[] | null): HeaderList {
  if (raw === null) return [];
  const n = raw.length - (raw.length % 2);
  let out: HeaderList = [];
  let repeated = false;
  let named: Set<string> | undefined;
  for (let i = 0; i < n; i += 2) {
    const name = fieldName(raw[i]!);
    if (isHopByHop(name)) {
      if (name === 'connection') named = connectionTokens(latin1(raw[i + 1]!), named);
      continue;
    }
    for (let j = 0; !repeated && j < out.length; j++) if (out[j]![0] === name) repeated = true;
    out.push([name, latin1(raw[i + 1]!)]);
  }
  if (named !== undefined) {
    const drop = named;
    out = out.filter(([name]) => !drop.has(name));
  }
  return repeated ? gatheredPairs(out) : out;
}

/** The field names a Connection value lists, less those hop-by-hop anyway, added to `into`. */
function connectionTokens(value: string, into: Set<string> | undefined): Set<string> | undefined {
  // what nearly every response says: nothing beyond the hop-by-hop fields
  if (value === 'keep-alive' || value === 'close') return into;
  let set = into;
  for (const token of value.split(',')) {
    const t = token.trim().toLowerCase();
    if (!t || isHopByHop(t)) continue;
    set ??= new Set();
    set.add(t);
  }
  return set;
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

/** `gathered` for [name, value] pairs. */
function gatheredPairs(list: HeaderList): HeaderList {
  const byName = new Map<string, string[]>();
  for (const [name, value] of list) {
    const values = byName.get(name);
    if (values) values.push(value);
    else byName.set(name, [value]);
  }
  const out: HeaderList = [];
  for (const [name, values] of byName) for (const v of values) out.push([name, v]);
  return out;
}
