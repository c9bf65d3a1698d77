import * as fs from 'node:fs';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { type Alert } from './alert-sender';
import { WebhookAlertSender, type WebhookAlertSenderOptions } from './webhook-alert-sender';

const alert: Alert = {
  kind: 'drift',
  node: 'node-a',
  service: 'mc-proxy',
  component: 'web',
  desired: 'running',
  observed: 'exited',
  message: 'desired running, observed exited',
  time: new Date('2026-11-23T00:00:00Z'),
};

interface Received {
  method: string;
  url: string;
  headers: http.IncomingHttpHeaders;
  body: string;
}

/**
 * A loopback HTTP receiver. Each request takes the next planned answer: a status code, or
 * 'hang' (never answer). When the plan runs out it answers 200.
 */
class Receiver {
  readonly received: Received[] = [];
  private plan: Array<number | 'hang'> = [];
  private readonly server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      this.received.push({ method: req.method ?? '', url: req.url ?? '', headers: req.headers, body: Buffer.concat(chunks).toString('utf8') });
      const next = this.plan.shift() ?? 200;
      if (next === 'hang') return;
      res.writeHead(next).end();
    });
  });

  async start(): Promise<string> {
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}/hooks/mcp?topic=ops`;
  }

  answer(...plan: Array<number | 'hang'>): void {
    this.plan = plan;
  }

  close(): Promise<void> {
    this.server.closeAllConnections();
    return new Promise((resolve) => this.server.close(() => resolve()));
  }
}

describe(WebhookAlertSender.name, () => {
  let receiver: Receiver;
  let url: string;
  let dir: string;

  beforeEach(async () => {
    receiver = new Receiver();
    url = await receiver.start();
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mcp-webhook-'));
  });

  afterEach(async () => {
    await receiver.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  const options = (overrides: Partial<WebhookAlertSenderOptions> = {}): WebhookAlertSenderOptions => ({
    url,
    format: 'json',
    timeoutMs: 2000,
    maxAttempts: 3,
    backoffMs: 10,
    ...overrides,
  });

  describe('send', () => {
    it('should POST the alert as JSON with the bearer token from the token file', async () => {
      const tokenFile = path.join(dir, 'token');
      fs.writeFileSync(tokenFile, 'hook-token-123\n');
      const sut = new WebhookAlertSender(options({ tokenFile }));

      await sut.send(alert);

      expect(receiver.received).toHaveLength(1);
      const [request] = receiver.received;
      expect(request?.method).toBe('POST');
      expect(request?.url).toBe('/hooks/mcp?topic=ops');
      expect(request?.headers.authorization).toBe('Bearer hook-token-123');
      expect(request?.headers['content-type']).toBe('application/json');
      expect(JSON.parse(request?.body ?? '')).toEqual({
        kind: 'drift',
        node: 'node-a',
        service: 'mc-proxy',
        component: 'web',
        desired: 'running',
        observed: 'exited',
        message: 'desired running, observed exited',
        time: '2026-11-23T00:00:00.000Z',
      });
    });

    it('should send no authorization header without a token file', async () => {
      const sut = new WebhookAlertSender(options());

      await sut.send(alert);

      expect(receiver.received[0]?.headers.authorization).toBeUndefined();
    });

    it('should retry after a 500 and stop once delivered', async () => {
      receiver.answer(500, 200);
      const sut = new WebhookAlertSender(options({ maxAttempts: 5 }));

      await sut.send(alert);

      expect(receiver.received).toHaveLength(2);
      expect(receiver.received[1]?.body).toBe(receiver.received[0]?.body);
    });

    it('should give up after maxAttempts without throwing', async () => {
      receiver.answer(503, 503, 503, 503, 503);
      const sut = new WebhookAlertSender(options({ maxAttempts: 3 }));

      await expect(sut.send(alert)).resolves.toBeUndefined();

      expect(receiver.received).toHaveLength(3);
    });

    it('should not retry a 4xx answer', async () => {
      receiver.answer(401);
      const sut = new WebhookAlertSender(options({ maxAttempts: 3 }));

      await expect(sut.send(alert)).resolves.toBeUndefined();

      expect(receiver.received).toHaveLength(1);
    });

    it('should abandon an attempt at the timeout and retry', async () => {
      receiver.answer('hang', 200);
      const sut = new WebhookAlertSender(options({ timeoutMs: 200, maxAttempts: 2 }));

      await sut.send(alert);

      expect(receiver.received).toHaveLength(2);
    });

    it('should resolve when the endpoint cannot be reached', async () => {
      await receiver.close();
      const sut = new WebhookAlertSender(options({ maxAttempts: 2 }));

      await expect(sut.send(alert)).resolves.toBeUndefined();
    });

    it('should resolve without sending when the token file is missing', async () => {
      const sut = new WebhookAlertSender(options({ tokenFile: path.join(dir, 'missing') }));

      await expect(sut.send(alert)).resolves.toBeUndefined();

      expect(receiver.received).toHaveLength(0);
    });

    it('should send ntfy-style plain text with Title, Tags and Priority headers', async () => {
      const tokenFile = path.join(dir, 'token');
      fs.writeFileSync(tokenFile, 'tk_ntfy');
      const sut = new WebhookAlertSender(options({ format: 'ntfy', tokenFile }));

      await sut.send({ ...alert, kind: 'recovered', observed: 'running', message: 'mc-proxy/web is running again' });

      const [request] = receiver.received;
      expect(request?.body).toBe('mc-proxy/web is running again');
      expect(request?.headers).toMatchObject({
        'content-type': 'text/plain; charset=utf-8',
        title: 'mcp recovered: mc-proxy/web on node-a',
        tags: 'white_check_mark',
        priority: 'default',
        authorization: 'Bearer tk_ntfy',
      });
    });
  });

  describe('ntfy headers for the backup and certificate kinds', () => {
    it.each([
      ['backup', 'floppy_disk'],
      ['certificate', 'lock'],
    ] as const)('should tag a %s alert %s with high priority', async (kind, tag) => {
      const sut = new WebhookAlertSender(options({ format: 'ntfy' }));

      await sut.send({ ...alert, kind });

      expect(receiver.received[0]?.headers).toMatchObject({ tags: tag, priority: 'high' });
    });
  });

  describe('constructor', () => {
    it('should refuse a URL that is not http or https', () => {
      expect(() => new WebhookAlertSender(options({ url: 'file:///etc/passwd' }))).toThrow(TypeError);
    });
  });
});
