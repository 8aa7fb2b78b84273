import { EventEmitter } from 'node:events';

/** A response that records what the pipeline wrote: no socket. */
export function recordingResponse() {
  const res = Object.assign(new EventEmitter(), {
    statusCode: 200,
    headers: {} as Record<string, string | number>,
    body: '',
    headersSent: false,
    writableEnded: false,
    writableFinished: false,
    destroyed: false,
    socket: null,
    setHeader(name: string, value: string | number) {
      res.headers[name.toLowerCase()] = value;
    },
    writeHead(status: number, raw: string[]) {
      res.statusCode = status;
      for (let i = 0; i < raw.length; i += 2) res.headers[raw[i]!.toLowerCase()] = raw[i + 1]!;
      res.headersSent = true;
    },
    flushHeaders() {},
    end(chunk?: string) {
      res.body += chunk ?? '';
      res.headersSent = true;
      res.writableEnded = true;
      res.writableFinished = true;
      res.emit('prefinish');
      res.emit('finish');
      res.emit('close');
    },
    destroy() {
      res.destroyed = true;
      res.emit('close');
    },
  });
  return res;
}
