import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import { AgentCallError, describeError } from '../errors';
import type { FleetSource } from './fleet-watcher';
import type { UiAssets } from './ui-assets';

/**
 * Sent with every response. No inline script or style is allowed, nothing from another
 * origin, no framing, no forms: even text that slipped into the DOM as markup could not run.
 */
export const SECURITY_HEADERS: Record<string, string> = {
  'Content-Security-Policy':
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
  'X-Content-Type-Options': 'nosniff',
  'Referrer-Policy': 'no-referrer',
  'X-Frame-Options': 'DENY',
  'Cross-Origin-Opener-Policy': 'same-origin',
  'Cross-Origin-Resource-Policy': 'same-origin',
  'Cache-Control': 'no-store',
};

const UNAUTHORIZED_TEXT = 'mcp ui: this dashboard needs its access token: open the URL that `mcp ui` printed\n';
const MAX_LOG_STREAMS = 16;
const KEEPALIVE_MS = 15_000;
const DEFAULT_TAIL = 200;
const MAX_TAIL = 5000;

/**
 * JSON that is safe wherever it lands: `<`, `>`, `&` and the JS line separators are escaped,
 * so a container name like `</script><script>` stays inert even if a browser sniffed it.
 */
export function safeJson(value: unknown): string {
  return JSON.stringify(value).replace(/[<>&\u2028\u2029]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

/** One server-sent event. JSON has no raw line breaks, so a payload cannot start a new field or event. */
export function sseFrame(event: string, data: unknown): string {
  return `event: ${event}\ndata: ${safeJson(data)}\n\n`;
}

/** Writes unless the page went away meanwhile. */
function write(res: http.ServerResponse, text: string): void {
  if (!res.destroyed && !res.writableEnded) res.write(text);
}

export function newAccessToken(): string {
  return randomBytes(24).toString('base64url');
}

/** Compares in constant time, whatever the lengths. */
function sameToken(given: string | undefined, token: string): boolean {
  if (!given) return false;
  const digest = (text: string) => createHash('sha256').update(text).digest();
  return timingSafeEqual(digest(given), digest(token));
}

function cookieValue(header: string | undefined, name: string): string | undefined {
  for (const part of (header ?? '').split(';')) {
    const eq = part.indexOf('=');
    if (eq > 0 && part.slice(0, eq).trim() === name) return part.slice(eq + 1).trim();
  }
  return undefined;
}

export interface UiServerOptions {
  source: FleetSource;
  assets: UiAssets;
  /** The access token; a random one when absent. */
  token?: string;
}

/**
 * The dashboard's HTTP server (node:http, no framework). Read-only: GET and HEAD only.
 * Every request must carry the access token — as `?token=` in the URL `mcp ui` printed (then
 * a cookie is set and the browser is sent to the same URL without it), as that cookie
 * (HttpOnly, SameSite=Strict, named after the port, since cookies do not separate ports),
 * or as `Authorization: Bearer` for scripts. Anything else gets 401 and nothing more.
 */
export class UiServer {
  readonly token: string;
  private readonly server: http.Server;
  private cookieName = 'mcp_ui';
  private logStreams = 0;

  constructor(private readonly options: UiServerOptions) {
    this.token = options.token ?? newAccessToken();
    this.server = http.createServer((req, res) => {
      this.handle(req, res).catch((error: unknown) => {
        if (!res.headersSent) this.send(res, 500, 'text/plain; charset=utf-8', 'internal error\n');
        else res.destroy(error as Error);
      });
    });
  }

  /** Listens and resolves to the address actually bound (port 0 lets the OS pick). */
  listen(host: string, port: number): Promise<{ host: string; port: number }> {
    return new Promise((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen({ host, port }, () => {
        this.server.off('error', reject);
        const address = this.server.address() as AddressInfo;
        this.cookieName = `mcp_ui_${address.port}`;
        resolve({ host, port: address.port });
      });
    });
  }

  close(): Promise<void> {
    return new Promise((resolve) => {
      this.server.close(() => resolve());
      this.server.closeAllConnections();
    });
  }

  private authorize(req: http.IncomingMessage, url: URL): 'ok' | 'redirect' | 'denied' {
    const fromQuery = url.searchParams.get('token') ?? undefined;
    if (fromQuery !== undefined) return sameToken(fromQuery, this.token) ? 'redirect' : 'denied';
    if (sameToken(cookieValue(req.headers.cookie, this.cookieName), this.token)) return 'ok';
    const bearer = /^Bearer (.+)$/.exec(req.headers.authorization ?? '')?.[1];
    return sameToken(bearer, this.token) ? 'ok' : 'denied';
  }

  private async handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://dashboard.invalid');
    const auth = this.authorize(req, url);
    if (auth === 'denied') return this.send(res, 401, 'text/plain; charset=utf-8', UNAUTHORIZED_TEXT);
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.setHeader('Allow', 'GET, HEAD');
      return this.send(res, 405, 'text/plain; charset=utf-8', 'mcp ui is read-only\n');
    }
    if (auth === 'redirect') {
      // Trade the token in the URL for a cookie, and take it out of the address bar.
      url.searchParams.delete('token');
      res.setHeader('Set-Cookie', `${this.cookieName}=${this.token}; HttpOnly; SameSite=Strict; Path=/`);
      res.setHeader('Location', url.pathname + url.search);
      return this.send(res, 303, 'text/plain; charset=utf-8', 'see other\n');
    }
    const asset = this.options.assets.get(url.pathname);
    if (asset) {
      const gzip = /\bgzip\b/.test(String(req.headers['accept-encoding'] ?? ''));
      if (gzip) res.setHeader('Content-Encoding', 'gzip');
      res.setHeader('Vary', 'Accept-Encoding');
      return this.send(res, 200, asset.type, gzip ? asset.gzip : asset.body);
    }
    switch (url.pathname) {
      case '/api/fleet':
        return this.json(res, 200, this.options.source.current() ?? (await this.options.source.refresh()));
      case '/api/events':
        return this.json(res, 200, { events: this.options.source.recentEvents() });
      case '/api/service':
        return this.serviceDetail(res, url);
      case '/api/stream':
        return this.fleetStream(req, res);
      case '/api/logs':
        return this.logStream(req, res, url);
      default:
        return this.send(res, 404, 'text/plain; charset=utf-8', 'not found\n');
    }
  }

  private async serviceDetail(res: http.ServerResponse, url: URL): Promise<void> {
    const node = url.searchParams.get('node') ?? '';
    const service = url.searchParams.get('service') ?? '';
    if (!node || !service) return this.json(res, 400, { error: 'node and service are required' });
    try {
      return this.json(res, 200, await this.options.source.serviceDetail(node, service));
    } catch (error) {
      const status = error instanceof AgentCallError && error.code === 'NOT_FOUND' ? 404 : 502;
      return this.json(res, status, { error: describeError(error) });
    }
  }

  private openStream(req: http.IncomingMessage, res: http.ServerResponse): () => void {
    for (const [name, value] of Object.entries(SECURITY_HEADERS)) res.setHeader(name, value);
    res.writeHead(200, { 'Content-Type': 'text/event-stream; charset=utf-8', 'X-Accel-Buffering': 'no' });
    res.write('retry: 2000\n\n');
    const keepalive = setInterval(() => write(res, ': keepalive\n\n'), KEEPALIVE_MS);
    keepalive.unref();
    let closed = false;
    const cleanup = () => {
      if (closed) return;
      closed = true;
      clearInterval(keepalive);
    };
    req.on('close', cleanup);
    return cleanup;
  }

  private fleetStream(req: http.IncomingMessage, res: http.ServerResponse): void {
    const source = this.options.source;
    const cleanup = this.openStream(req, res);
    const current = source.current();
    if (current) write(res, sseFrame('fleet', current));
    const backlog = source.recentEvents();
    if (backlog.length) write(res, sseFrame('events', backlog));
    const unsubscribe = source.subscribe((update) => {
      write(res, update.type === 'fleet' ? sseFrame('fleet', update.fleet) : sseFrame('events', update.events));
    });
    req.on('close', () => {
      unsubscribe();
      cleanup();
    });
  }

  private async logStream(req: http.IncomingMessage, res: http.ServerResponse, url: URL): Promise<void> {
    const node = url.searchParams.get('node') ?? '';
    const service = url.searchParams.get('service') ?? '';
    const component = url.searchParams.get('component') ?? '';
    const tailText = url.searchParams.get('tail');
    const tail = tailText === null ? DEFAULT_TAIL : Number(tailText);
    if (!node || !service) return this.json(res, 400, { error: 'node and service are required' });
    if (!Number.isInteger(tail) || tail < 0 || tail > MAX_TAIL) return this.json(res, 400, { error: `tail must be 0-${MAX_TAIL}` });
    if (this.logStreams >= MAX_LOG_STREAMS) return this.json(res, 429, { error: `at most ${MAX_LOG_STREAMS} log tails at once` });
    this.logStreams++;
    const abort = new AbortController();
    const cleanup = this.openStream(req, res);
    req.on('close', () => abort.abort());
    try {
      for await (const line of this.options.source.logs({ node, service, component, tail }, abort.signal)) {
        if (abort.signal.aborted) break;
        if (!res.write(sseFrame('line', line))) {
          await new Promise<void>((resolve) => {
            res.once('drain', resolve);
            abort.signal.addEventListener('abort', () => resolve(), { once: true });
          });
        }
      }
      if (!abort.signal.aborted) write(res, sseFrame('end', {}));
    } catch (error) {
      if (!abort.signal.aborted) write(res, sseFrame('failure', { error: describeError(error) }));
    } finally {
      this.logStreams--;
      cleanup();
      res.end();
    }
  }

  private json(res: http.ServerResponse, status: number, value: unknown): void {
    this.send(res, status, 'application/json; charset=utf-8', safeJson(value));
  }

  private send(res: http.ServerResponse, status: number, type: string, body: string | Buffer): void {
    for (const [name, value] of Object.entries(SECURITY_HEADERS)) res.setHeader(name, value);
    res.setHeader('Content-Type', type);
    res.setHeader('Content-Length', Buffer.byteLength(body));
    res.writeHead(status);
    res.end(body);
  }
}
