/** A node of the wait queue; keep it to remove the entry in O(1) when its client leaves. */
export interface QueueNode<T> {
  readonly value: T;
  prev: QueueNode<T> | null;
  next: QueueNode<T> | null;
  queued: boolean;
}

/**
 * FIFO with O(1) push at either end and O(1) removal of any node: waiting clients leave from the
 * middle when they disconnect, and re-dispatched requests go back to the front.
 */
export class WaitQueue<T> implements Iterable<QueueNode<T>> {
  #head: QueueNode<T> | null = null;
  #tail: QueueNode<T> | null = null;
  #size = 0;

  get size(): number {
    return this.#size;
  }

  /** The oldest entry (the next to serve in FIFO order). */
  get first(): QueueNode<T> | null {
    return this.#head;
  }

  /** The newest entry. */
  get last(): QueueNode<T> | null {
    return this.#tail;
  }

  push(value: T): QueueNode<T> {
    const node: QueueNode<T> = { value, prev: this.#tail, next: null, queued: true };
    if (this.#tail) this.#tail.next = node;
    else this.#head = node;
    this.#tail = node;
    this.#size++;
    return node;
  }

  unshift(value: T): QueueNode<T> {
    const node: QueueNode<T> = { value, prev: null, next: this.#head, queued: true };
    if (this.#head) this.#head.prev = node;
    else this.#tail = node;
    this.#head = node;
    this.#size++;
    return node;
  }

  remove(node: QueueNode<T>): void {
    if (!node.queued) return;
    if (node.prev) node.prev.next = node.next;
    else this.#head = node.next;
    if (node.next) node.next.prev = node.prev;
    else this.#tail = node.prev;
    node.prev = node.next = null;
    node.queued = false;
    this.#size--;
  }

  *[Symbol.iterator](): Iterator<QueueNode<T>> {
    let node = this.#head;
    while (node) {
      // read next first: the caller may remove `node` while iterating
      const next = node.next;
      yield node;
      node = next;
    }
  }
}
