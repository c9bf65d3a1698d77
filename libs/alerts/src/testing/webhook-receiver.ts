import * as http from 'node:http';
import type { AddressInfo } from 'node:net';

export interface ReceivedRequest {
  method: string;
  url: string;
  headers: http.IncomingHttpHeaders;
  body: string;
}

/**
 * A loopback HTTP alert receiver for tests. Each request takes the next planned answer: a
 * status code, or 'hang' (never answer). When the plan runs out it answers 200.
 */
export class WebhookReceiver {
  readonly received: ReceivedRequest[] = [];
  private plan: Array<number | 'hang'> = [];
  private waiters: Array<{ count: number; resolve: () => void }> = [];
  private readonly server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      this.received.push({ method: req.method ?? '', url: req.url ?? '', headers: req.headers, body: Buffer.concat(chunks).toString('utf8') });
      this.waiters = this.waiters.filter((waiter) => {
        if (this.received.length < waiter.count) return true;
        waiter.resolve();
        return false;
      });
      const next = this.plan.shift() ?? 200;
      if (next === 'hang') return;
      res.writeHead(next).end();
    });
  });

  /** Listens on 127.0.0.1 and returns the URL to post to. */
  async start(): Promise<string> {
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}/hooks/mcp`;
  }

  answer(...plan: Array<number | 'hang'>): void {
    this.plan = plan;
  }

  /** Resolves once `count` requests in all have arrived (event-driven, no polling). */
  receivedCount(count: number): Promise<void> {
    if (this.received.length >= count) return Promise.resolve();
    return new Promise((resolve) => this.waiters.push({ count, resolve }));
  }

  /** The JSON bodies received so far. */
  bodies(): Array<Record<string, string>> {
    return this.received.map((request) => JSON.parse(request.body) as Record<string, string>);
  }

  close(): Promise<void> {
    this.server.closeAllConnections();
    return new Promise((resolve) => this.server.close(() => resolve()));
  }
}
