// Many idle agents in one process: raw WebSocket clients that speak just HELLO (and answer pings,
// which ws does by itself). They grant no CREDIT, so the hub never sends them work; what is
// measured is what each connected agent costs the hub at rest.
import { encodeFrame, MIN_PROTOCOL_VERSION, PROTOCOL_VERSION } from '@slime/protocol';
import WebSocket from 'ws';

export async function start({ hub, token }) {
  const url = `${hub.replace(/^http/, 'ws')}/_slime/agent`;
  const sockets = [];
  function open(i) {
    return new Promise((resolve) => {
      const ws = new WebSocket(url, {
        headers: { authorization: `Bearer ${token}` },
        perMessageDeflate: false,
      });
      ws.on('open', () => {
        ws.send(
          encodeFrame({
            type: 'HELLO',
            streamId: 0,
            minVersion: MIN_PROTOCOL_VERSION,
            maxVersion: PROTOCOL_VERSION,
            slots: 1,
            streamWindow: 256 * 1024,
            name: '',
            agentId: `idle-${i}`,
            upstream: 'none',
            software: 'slime-bench-idle',
            hardware: '',
          }),
        );
      });
      // WELCOME is the first (and only) message the hub sends an idle agent.
      ws.once('message', () => resolve(true));
      ws.on('error', () => resolve(false));
      ws.on('close', () => resolve(false));
      sockets.push(ws);
    });
  }
  return {
    handlers: {
      /** Opens n connections, `parallel` handshakes at a time. */
      async connect({ n, parallel = 200 }) {
        const t0 = performance.now();
        let ok = 0;
        let next = sockets.length;
        const last = next + n;
        const worker = async () => {
          while (next < last) {
            if (await open(next++)) ok++;
          }
        };
        await Promise.all(Array.from({ length: parallel }, worker));
        return { connected: ok, failed: n - ok, ms: performance.now() - t0 };
      },
      open: () => sockets.filter((s) => s.readyState === WebSocket.OPEN).length,
    },
  };
}
