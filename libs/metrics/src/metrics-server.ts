import * as http from 'node:http';
import { Logger, type OnApplicationBootstrap, type OnApplicationShutdown } from '@nestjs/common';
import type { PromAgentMetrics } from './prom-agent-metrics';

/**
 * The metrics listener: `GET /metrics` in Prometheus text format, nothing else, no token
 * (SPEC §10: bind it where only the scraper reaches). Its own HTTP server, so scrapes never
 * touch the gRPC server's TLS and auth path, and a scrape failing never affects an RPC.
 */
export class MetricsServer implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger('Metrics');
  private server: http.Server | undefined;

  constructor(
    private readonly metrics: PromAgentMetrics,
    private readonly listen: string,
  ) {}

  /** The bound address (`host:port`, the real port when 0 was asked for). */
  get address(): string | undefined {
    const bound = this.server?.address();
    if (!bound || typeof bound === 'string') return undefined;
    return `${bound.family === 'IPv6' ? `[${bound.address}]` : bound.address}:${bound.port}`;
  }

  async onApplicationBootstrap(): Promise<void> {
    const colon = this.listen.lastIndexOf(':');
    const host = this.listen.slice(0, colon).replace(/^\[|\]$/g, '');
    const port = Number(this.listen.slice(colon + 1));
    const server = http.createServer((request, response) => void this.answer(request, response));
    await new Promise<void>((resolve, reject) => {
      const failed = (error: NodeJS.ErrnoException) => {
        const why = error.code === 'EADDRINUSE' ? 'address already in use (another agent on this machine? give each its own port, or listen = "" to serve no metrics)' : error.message;
        reject(new Error(`[metrics] listen ${this.listen}: ${why}`, { cause: error }));
      };
      server.once('error', failed);
      server.listen(port, host, () => {
        server.off('error', failed);
        resolve();
      });
    });
    this.server = server;
    this.logger.log(`metrics on http://${this.address}/metrics`);
  }

  async onApplicationShutdown(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    if (!server) return;
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  private async answer(request: http.IncomingMessage, response: http.ServerResponse): Promise<void> {
    const url = new URL(request.url ?? '/', 'http://metrics');
    if (url.pathname !== '/metrics' || (request.method !== 'GET' && request.method !== 'HEAD')) {
      response.writeHead(404, { 'Content-Type': 'text/plain; charset=utf-8' }).end('not found: metrics are at GET /metrics\n');
      return;
    }
    try {
      const { contentType, body } = await this.metrics.render();
      response.writeHead(200, { 'Content-Type': contentType }).end(request.method === 'HEAD' ? undefined : body);
    } catch (error) {
      this.logger.error(`rendering metrics failed: ${(error as Error).message}`);
      response.writeHead(500, { 'Content-Type': 'text/plain; charset=utf-8' }).end('metrics unavailable\n');
    }
  }
}
