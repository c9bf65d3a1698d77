import * as http from 'node:http';
import { RuntimeUnavailableError } from '@mcp/common';

export const DEFAULT_LIBPOD_API_VERSION = 'v4.0.0';

export type LibpodQuery = Record<string, string | number | boolean | undefined>;

export interface LibpodRequest {
  method: 'GET' | 'POST' | 'DELETE';
  /** Below `/<version>/libpod`, e.g. `/containers/json`; path segments already encoded. */
  path: string;
  query?: LibpodQuery;
  /** Sent as JSON; a Buffer is sent as it is (application/octet-stream). */
  body?: unknown;
  headers?: Record<string, string>;
  /** The request is abandoned after this long and the runtime reported unavailable. */
  timeoutMs: number;
  /**
   * Whether sending it twice is harmless, so that it may be sent again when a kept-alive
   * connection turns out closed by the server as it is reused; default: GET and DELETE.
   */
  idempotent?: boolean;
}

export interface LibpodResponse {
  status: number;
  body: Buffer;
}

export interface LibpodStream {
  status: number;
  response: http.IncomingMessage;
  request: http.ClientRequest;
}

/**
 * HTTP/1.1 to podman's REST API on a Unix socket with Node's own `http`, over a keep-alive
 * agent (one connection set-up per idle period, not per call). Failing to reach the socket
 * (missing, refused, reset) is RuntimeUnavailableError; any HTTP answer, error status
 * included, is returned for the caller to interpret.
 */
export class LibpodClient {
  private readonly agent = new http.Agent({ keepAlive: true });
  private readonly prefix: string;

  constructor(
    readonly socketPath: string,
    apiVersion: string = DEFAULT_LIBPOD_API_VERSION,
  ) {
    this.prefix = `/${apiVersion}/libpod`;
  }

  /**
   * Buffers the whole answer. An idempotent request that met a kept-alive connection the
   * server had just closed is sent once more, on a new connection.
   */
  async request(request: LibpodRequest): Promise<LibpodResponse> {
    const idempotent = request.idempotent ?? (request.method === 'GET' || request.method === 'DELETE');
    try {
      return await this.send(request);
    } catch (error) {
      if (idempotent && error instanceof StaleConnectionError) return this.send(request);
      throw error instanceof StaleConnectionError ? error.unavailable : error;
    }
  }

  /**
   * Resolves once the headers are in; the caller reads (and must end) the body. No timeout
   * once streaming. A connection of its own, outside the kept-alive pool: a followed log
   * holds it for as long as it runs.
   */
  stream(request: Omit<LibpodRequest, 'body'>): Promise<LibpodStream> {
    return new Promise((resolve, reject) => {
      const outgoing = this.open({ ...request, dedicated: true }, (response) => {
        outgoing.setTimeout(0);
        resolve({ status: response.statusCode ?? 0, response, request: outgoing });
      });
      outgoing.on('error', (error) => reject(this.unavailable(request, error)));
      outgoing.end();
    });
  }

  /**
   * A request whose answer hijacks the connection (`Connection: Upgrade`, as exec start
   * answers 101): resolves to the raw socket, or to the whole answer when the server did not
   * upgrade (an error). A connection of its own; no timeout once upgraded.
   */
  upgrade(request: LibpodRequest): Promise<{ socket: import('node:net').Socket; head: Buffer } | LibpodResponse> {
    return new Promise((resolve, reject) => {
      const outgoing = this.open(
        { ...request, dedicated: true, headers: { ...request.headers, Connection: 'Upgrade', Upgrade: 'tcp' } },
        (response) => {
          const chunks: Buffer[] = [];
          response.on('data', (chunk: Buffer) => chunks.push(chunk));
          response.on('end', () => resolve({ status: response.statusCode ?? 0, body: Buffer.concat(chunks) }));
          response.on('error', (error) => reject(this.unavailable(request, error)));
        },
      );
      outgoing.on('upgrade', (_response, socket: import('node:net').Socket, head: Buffer) => {
        outgoing.setTimeout(0);
        socket.setTimeout(0);
        resolve({ socket, head });
      });
      outgoing.on('error', (error) => reject(this.unavailable(request, error)));
      outgoing.end(request.body === undefined ? undefined : JSON.stringify(request.body));
    });
  }

  /** Closes the kept-alive connections. */
  close(): void {
    this.agent.destroy();
  }

  private send(request: LibpodRequest): Promise<LibpodResponse> {
    return new Promise((resolve, reject) => {
      const outgoing = this.open(request, (response) => {
        const chunks: Buffer[] = [];
        response.on('data', (chunk: Buffer) => chunks.push(chunk));
        response.on('end', () => resolve({ status: response.statusCode ?? 0, body: Buffer.concat(chunks) }));
        response.on('error', (error) => reject(this.unavailable(request, error)));
      });
      outgoing.on('error', (error: NodeJS.ErrnoException) => {
        const unavailable = this.unavailable(request, error);
        reject(outgoing.reusedSocket && error.code === 'ECONNRESET' ? new StaleConnectionError(unavailable) : unavailable);
      });
      if (Buffer.isBuffer(request.body)) outgoing.end(request.body);
      else if (request.body !== undefined) outgoing.end(JSON.stringify(request.body));
      else outgoing.end();
    });
  }

  private open(
    request: Omit<LibpodRequest, 'body'> & { body?: unknown; dedicated?: boolean },
    onResponse: (response: http.IncomingMessage) => void,
  ) {
    const headers: Record<string, string> = { ...request.headers };
    if (request.body !== undefined) {
      headers['Content-Type'] = Buffer.isBuffer(request.body) ? 'application/octet-stream' : 'application/json';
    }
    const outgoing = http.request(
      {
        socketPath: this.socketPath,
        agent: request.dedicated ? false : this.agent,
        method: request.method,
        path: this.prefix + request.path + queryString(request.query),
        headers,
      },
      onResponse,
    );
    outgoing.setTimeout(request.timeoutMs, () => {
      outgoing.destroy(new RequestTimeoutError(request.timeoutMs));
    });
    return outgoing;
  }

  private unavailable(request: Pick<LibpodRequest, 'method' | 'path'>, error: unknown): RuntimeUnavailableError {
    if (error instanceof RequestTimeoutError) {
      return new RuntimeUnavailableError(
        `podman API ${request.method} ${request.path}: no answer within ${error.timeoutMs} ms; the request was abandoned`,
      );
    }
    const code = (error as NodeJS.ErrnoException).code;
    const reason = (code && SOCKET_ERRORS[code]) ?? code ?? (error as Error).message;
    return new RuntimeUnavailableError(`container runtime unavailable: podman API socket ${this.socketPath}: ${reason}`, {
      cause: error,
    });
  }
}

/** How a socket error reads in a message: podman's service gone, in an operator's words. */
const SOCKET_ERRORS: Readonly<Record<string, string>> = {
  ECONNREFUSED: 'connection refused (podman system service is not running)',
  ENOENT: 'no such socket (podman system service is not running)',
  ECONNRESET: 'connection reset (podman system service went away)',
  EPIPE: 'connection closed (podman system service went away)',
  EACCES: 'permission denied',
};

class RequestTimeoutError extends Error {
  constructor(readonly timeoutMs: number) {
    super(`no answer within ${timeoutMs} ms`);
  }
}

/** The server closed a kept-alive connection just as it was reused; nothing reached it. */
class StaleConnectionError extends Error {
  constructor(readonly unavailable: RuntimeUnavailableError) {
    super(unavailable.message);
  }
}

function queryString(query: LibpodQuery | undefined): string {
  if (!query) return '';
  const params = new URLSearchParams();
  for (const [key, value] of Object.entries(query)) {
    if (value !== undefined) params.set(key, String(value));
  }
  const text = params.toString();
  return text ? `?${text}` : '';
}
