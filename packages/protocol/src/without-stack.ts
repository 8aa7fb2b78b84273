/**
 * Runs `make` with stack traces off: errors built inside carry no frames. For errors that are
 * designed outcomes at the rate clients cause them (a client that left, a full queue, an aborted
 * upstream call), where capturing and formatting a stack was most of their cost.
 */
export function withoutStack<T>(make: () => T): T {
  // V8's knob (not in the ECMAScript lib types, and this package compiles without Node's).
  const E = Error as unknown as { stackTraceLimit: number };
  const limit = E.stackTraceLimit;
  E.stackTraceLimit = 0;
  try {
    return make();
  } finally {
    E.stackTraceLimit = limit;
  }
}
