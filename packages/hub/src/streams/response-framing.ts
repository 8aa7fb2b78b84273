import type { HeaderList, ResponseFrame } from '@slime/protocol';

const DIGITS = /^\d{1,15}$/;

/**
 * What an agent's response promised about its body, checked as the body arrives. The hub writes an
 * agent's response head to the client as it is, so a body longer than its Content-Length would
 * spill into the next response on that keep-alive connection (response splitting by anyone
 * holding an agent token), and a shorter one would leave the client waiting forever. A correct
 * agent never trips this: its upstream client already enforced the upstream's framing.
 */
export class ResponseFraming {
  /** Body bytes allowed in all; null when the length is not declared (the END delimits it). */
  readonly #expected: number | null;
  readonly #noBodyReason: string | null;
  #received = 0;

  private constructor(expected: number | null, noBodyReason: string | null) {
    this.#expected = expected;
    this.#noBodyReason = noBodyReason;
  }

  /** 1xx but 101: informational heads that precede the final response (RFC 9110 §15.2). */
  static isInterim(status: number): boolean {
    return status < 200 && status !== 101;
  }

  /**
   * Reads a final head from an agent; returns the problem instead when it breaks the framing: a
   * 101 nobody asked for, a malformed length, or a head that ends a body it promised.
   */
  static ofHead(method: string, frame: ResponseFrame): ResponseFraming | string {
    if (frame.status === 101) return 'a 101 Switching Protocols for a request that asked for no upgrade';
    const framing = ResponseFraming.of(method, frame.status, frame.headers);
    if (typeof framing === 'string' || !frame.endStream) return framing;
    return framing.end() ?? framing;
  }

  /**
   * Reads the head; returns a problem string instead when the head itself is malformed (two
   * different Content-Lengths, or one that is not a number).
   */
  static of(method: string, status: number, headers: HeaderList): ResponseFraming | string {
    let declared: string | undefined;
    for (const [name, value] of headers) {
      if (name !== 'content-length') continue;
      const v = value.trim();
      if (!DIGITS.test(v)) return `malformed Content-Length "${value.slice(0, 40)}"`;
      if (declared !== undefined && declared !== v) return 'conflicting Content-Length fields';
      declared = v;
    }
    // RFC 9110 §6.4.1: these responses never have content, whatever their fields say.
    const noBody =
      method === 'HEAD'
        ? 'a response to HEAD'
        : status === 204 || status === 304
          ? `a ${status} response`
          : null;
    if (noBody) return new ResponseFraming(0, noBody);
    return new ResponseFraming(declared === undefined ? null : Number(declared), null);
  }

  /** Body bytes seen so far. */
  get received(): number {
    return this.#received;
  }

  /** A DATA frame of `bytes` arrived; returns the violation, if any (then nothing of it is sent). */
  data(bytes: number): string | null {
    if (this.#noBodyReason) return `body bytes in ${this.#noBodyReason}`;
    if (this.#expected !== null && this.#received + bytes > this.#expected) {
      return `body longer than its Content-Length ${this.#expected}`;
    }
    this.#received += bytes;
    return null;
  }

  /** The body ended; returns the violation, if any. */
  end(): string | null {
    if (this.#noBodyReason === null && this.#expected !== null && this.#received < this.#expected) {
      return `body of ${this.#received} bytes ended short of its Content-Length ${this.#expected}`;
    }
    return null;
  }
}
