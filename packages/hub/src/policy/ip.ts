/**
 * IPv4 and IPv6 addresses as 128-bit integers. IPv4 lives in the IPv4-mapped range
 * (::ffff:0:0/96), so `10.0.0.1` and `::ffff:10.0.0.1` are the same address and one CIDR list
 * serves sockets of either family.
 */

const MAPPED_PREFIX = 0xffffn << 32n;
const ALL_ONES = (1n << 128n) - 1n;

function parseV4(s: string): bigint | undefined {
  const parts = s.split('.');
  if (parts.length !== 4) return undefined;
  let n = 0n;
  for (const p of parts) {
    // Leading zeros are refused: some stacks read them as octal, so their meaning is ambiguous.
    if (!/^(?:0|[1-9]\d{0,2})$/.test(p)) return undefined;
    const v = Number(p);
    if (v > 255) return undefined;
    n = (n << 8n) | BigInt(v);
  }
  return n;
}

function parseGroups(s: string): bigint[] | undefined {
  if (s === '') return [];
  const out: bigint[] = [];
  const parts = s.split(':');
  for (const [i, p] of parts.entries()) {
    if (i === parts.length - 1 && p.includes('.')) {
      const v4 = parseV4(p);
      if (v4 === undefined) return undefined;
      out.push(v4 >> 16n, v4 & 0xffffn);
    } else if (/^[0-9a-fA-F]{1,4}$/.test(p)) {
      out.push(BigInt(`0x${p}`));
    } else {
      return undefined;
    }
  }
  return out;
}

function parseV6(input: string): bigint | undefined {
  const s = input.replace(/%.*$/, ''); // zone id (fe80::1%eth0) names an interface, not an address
  const halves = s.split('::');
  if (halves.length > 2) return undefined;
  const head = parseGroups(halves[0]!);
  const tail = halves.length === 2 ? parseGroups(halves[1]!) : [];
  if (!head || !tail) return undefined;
  const missing = 8 - head.length - tail.length;
  if (halves.length === 1 ? missing !== 0 : missing < 1) return undefined;
  const groups = [...head, ...Array<bigint>(halves.length === 2 ? missing : 0).fill(0n), ...tail];
  let n = 0n;
  for (const g of groups) n = (n << 16n) | g;
  return n;
}

/** Parses an IPv4 or IPv6 address; IPv4 is returned in its IPv4-mapped form. */
export function parseIp(s: string): bigint | undefined {
  if (typeof s !== 'string' || s.length === 0 || s.length > 64) return undefined;
  if (s.includes(':')) {
    const bracketed = s.startsWith('[') && s.endsWith(']') ? s.slice(1, -1) : s;
    return parseV6(bracketed);
  }
  const v4 = parseV4(s);
  return v4 === undefined ? undefined : MAPPED_PREFIX | v4;
}

/** The canonical text of an address: dotted quad for IPv4 (mapped or not), compressed IPv6 otherwise. */
export function formatIp(n: bigint): string {
  if (n >> 32n === 0xffffn) {
    return [24n, 16n, 8n, 0n].map((s) => String((n >> s) & 0xffn)).join('.');
  }
  const groups: string[] = [];
  for (let s = 112n; s >= 0n; s -= 16n) groups.push(((n >> s) & 0xffffn).toString(16));
  // Compress the longest run of zero groups (RFC 5952).
  let best = -1;
  let bestLen = 1;
  for (let i = 0; i < 8; ) {
    let j = i;
    while (j < 8 && groups[j] === '0') j++;
    if (j - i > bestLen) {
      best = i;
      bestLen = j - i;
    }
    i = j === i ? i + 1 : j;
  }
  if (best < 0) return groups.join(':');
  return `${groups.slice(0, best).join(':')}::${groups.slice(best + bestLen).join(':')}`;
}

/** Normalises an address (drops the IPv4-mapped prefix); undefined when it is not an address. */
export function normalizeIp(s: string): string | undefined {
  const n = parseIp(s);
  return n === undefined ? undefined : formatIp(n);
}

/**
 * `fn` remembering its last address and result. Keep-alive clients send many requests from one
 * address, and most hubs see a few peers (their load balancers): parsing once per change in a row
 * saves the bigint work per request. Results are immutable (strings, bigints), so sharing is safe.
 */
export function rememberLast<T>(fn: (address: string) => T): (address: string) => T {
  let lastAddress: string | undefined;
  let last: T;
  return (address) => {
    if (address !== lastAddress) {
      last = fn(address);
      lastAddress = address;
    }
    return last;
  };
}

interface Cidr {
  base: bigint;
  mask: bigint;
}

/** Parses `addr` or `addr/bits`; an IPv4 prefix length counts within the IPv4 space. */
export function parseCidr(s: string): Cidr | undefined {
  if (typeof s !== 'string') return undefined;
  const slash = s.indexOf('/');
  const addrText = slash < 0 ? s : s.slice(0, slash);
  const addr = parseIp(addrText);
  if (addr === undefined) return undefined;
  const isV4 = !addrText.includes(':');
  let bits = 128;
  if (slash >= 0) {
    const b = s.slice(slash + 1);
    if (!/^\d{1,3}$/.test(b)) return undefined;
    const max = isV4 ? 32 : 128;
    if (Number(b) > max) return undefined;
    bits = Number(b) + (isV4 ? 96 : 0);
  }
  const mask = bits === 0 ? 0n : (ALL_ONES << BigInt(128 - bits)) & ALL_ONES;
  return { base: addr & mask, mask };
}

/** A set of addresses and networks, compiled once. */
export interface IpSet {
  has(ip: bigint): boolean;
}

/** Throws a TypeError naming the first entry that is neither an address nor a CIDR. */
export function createIpSet(entries: readonly string[]): IpSet {
  const exact = new Set<bigint>();
  const nets: Cidr[] = [];
  for (const e of entries) {
    const c = parseCidr(e);
    if (!c) throw new TypeError(`${JSON.stringify(e)} is not an IP address or CIDR`);
    if (c.mask === ALL_ONES) exact.add(c.base);
    else nets.push(c);
  }
  return {
    has(ip) {
      if (exact.has(ip)) return true;
      for (const n of nets) if ((ip & n.mask) === n.base) return true;
      return false;
    },
  };
}
