import { PassThrough, Readable } from 'node:stream';

/**
 * Keeps a copy of a request body, up to a limit, so fallback can send it again. The first try
 * reads `first` while the body streams in (no added latency); only when a replay is needed does
 * `complete()` read the rest of the body from the client.
 */
export interface BodySpool {
  /** The body for the first try: the client's bytes, recorded as they pass. */
  readonly first: Readable;
  /**
   * Reads the rest of the body and resolves with a factory of fresh copies, or null when the body
   * outgrew the limit, failed, or the signal fired.
   */
  complete(signal: AbortSignal): Promise<(() => Readable) | null>;
  /** Stops recording and frees the copy and its budget (the first try keeps reading). Idempotent. */
  release(): void;
  /** Bytes recorded so far (for logs). */
  readonly size: number;
}

/**
 * Bytes all spools of a hub may hold together: each request's own limit bounds one body, this
 * bounds the sum under many concurrent requests. A spool that cannot get bytes from it stops
 * recording (fallback is then not attempted for that request).
 */
export interface SpoolBudget {
  take(bytes: number): boolean;
  give(bytes: number): void;
  readonly used: number;
}

export function createSpoolBudget(maxBytes: number): SpoolBudget {
  if (!Number.isSafeInteger(maxBytes) || maxBytes < 0)
    throw new RangeError('maxBytes must be an integer >= 0');
  let used = 0;
  return {
    take(bytes) {
      if (used + bytes > maxBytes) return false;
      used += bytes;
      return true;
    },
    give(bytes) {
      used = Math.max(0, used - bytes);
    },
    get used() {
      return used;
    },
  };
}

const UNBOUNDED: SpoolBudget = createSpoolBudget(Number.MAX_SAFE_INTEGER);

export function createBodySpool(source: Readable, limit: number, budget: SpoolBudget = UNBOUNDED): BodySpool {
  if (!Number.isSafeInteger(limit) || limit < 0) throw new RangeError('limit must be an integer >= 0');
  let chunks: Buffer[] = [];
  let size = 0;
  /** Bytes taken from the budget and not yet given back. */
  let held = 0;
  const drop = () => {
    chunks = [];
    budget.give(held);
    held = 0;
  };
  let state: 'recording' | 'ended' | 'overflow' | 'failed' | 'released' = 'recording';
  const settled = new Set<() => void>();
  const settle = () => {
    for (const fn of settled) fn();
  };
  const first = new PassThrough();
  const onData = (chunk: Buffer) => {
    if (state !== 'recording') return;
    size += chunk.byteLength;
    if (size > limit || !budget.take(chunk.byteLength)) {
      state = 'overflow';
      drop();
      settle();
      return;
    }
    held += chunk.byteLength;
    chunks.push(chunk);
  };
  source.pipe(first);
  source.on('data', onData);
  source.once('end', () => {
    if (state === 'recording') state = 'ended';
    settle();
  });
  source.once('error', (err) => {
    if (state === 'recording') state = 'failed';
    drop();
    first.destroy(err);
    settle();
  });
  const replay = () => Readable.from(chunks, { objectMode: false });

  return {
    first,
    get size() {
      return size;
    },
    complete(signal) {
      if (state === 'ended') return Promise.resolve(replay);
      if (state !== 'recording' || signal.aborted) return Promise.resolve(null);
      // The first try is over: it gets no more bytes, and the rest of the body goes to the copy.
      source.unpipe(first);
      first.destroy();
      source.resume();
      return new Promise((resolve) => {
        const done = () => {
          settled.delete(done);
          signal.removeEventListener('abort', done);
          resolve(state === 'ended' ? replay : null);
        };
        settled.add(done);
        signal.addEventListener('abort', done, { once: true });
      });
    },
    release() {
      if (state === 'recording' || state === 'ended') state = 'released';
      // replays already handed out keep their own reference to the chunks
      drop();
      source.off('data', onData);
      settle();
    },
  };
}
