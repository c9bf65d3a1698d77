import * as http from 'node:http';
import { gunzipSync } from 'node:zlib';
import { FakeFleetSource } from '../../../../test/cli/fakes/fake-fleet-source';
import { AgentCallError } from '../errors';
import { UiAssets } from './ui-assets';
import { SECURITY_HEADERS, UiServer, safeJson, sseFrame } from './ui-server';
import type { FleetView } from './view-types';

const HOSTILE = '</script><script>alert(1)</script><img src=x onerror=alert(2)>';
const TOKEN = 'unit-test-token-0123456789';

const FLEET: FleetView = {
  polledAt: '2026-11-30T00:00:00.000Z',
  nodes: [{ name: 'alpha', address: '10.0.0.1:9444', state: 'up', agentVersion: '0.1.0' }],
  services: [
    {
      node: 'alpha',
      name: 'shop',
      active: true,
      state: 'ok',
      stale: false,
      components: [{ name: 'web', image: 'img:1', version: '1', desired: 'running', observed: 'running', drift: false, health: '-', driftFields: [], release: 0, container: HOSTILE, routes: [] }],
    },
  ],
  unmanaged: [],
};

interface Response {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: Buffer;
  text: string;
}

function request(port: number, path: string, options: { headers?: Record<string, string>; method?: string } = {}): Promise<Response> {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port, path, method: options.method ?? 'GET', headers: options.headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () => {
        const body = Buffer.concat(chunks);
        resolve({ status: res.statusCode ?? 0, headers: res.headers, body, text: body.toString() });
      });
    });
    req.on('error', reject);
    req.end();
  });
}

/** Reads an event stream until `until` frames arrived, then hangs up. */
function readFrames(port: number, path: string, headers: Record<string, string>, until: number): Promise<Array<{ event: string; data: unknown }>> {
  return new Promise((resolve, reject) => {
    const req = http.get({ host: '127.0.0.1', port, path, headers }, (res) => {
      let buffer = '';
      const frames: Array<{ event: string; data: unknown }> = [];
      res.on('data', (chunk: Buffer) => {
        buffer += chunk.toString();
        let end: number;
        while ((end = buffer.indexOf('\n\n')) >= 0) {
          const block = buffer.slice(0, end);
          buffer = buffer.slice(end + 2);
          const event = /^event: (.*)$/m.exec(block)?.[1];
          const data = /^data: (.*)$/m.exec(block)?.[1];
          if (event !== undefined && data !== undefined) frames.push({ event, data: JSON.parse(data) });
        }
        if (frames.length >= until) {
          req.destroy();
          resolve(frames);
        }
      });
      res.on('end', () => resolve(frames));
    });
    req.on('error', (error) => (req.destroyed ? undefined : reject(error)));
  });
}

const ASSETS = new UiAssets({
  '/': { type: 'text/html; charset=utf-8', body: '<!doctype html><title>t</title>' },
  '/app.js': { type: 'text/javascript; charset=utf-8', body: 'console.log(1)' },
});

describe(UiServer.name, () => {
  let sut: UiServer;
  let source: FakeFleetSource;
  let port: number;
  let cookie: string;
  const bearer = { authorization: `Bearer ${TOKEN}` };

  beforeEach(async () => {
    source = new FakeFleetSource({
      fleet: FLEET,
      events: [],
      details: { 'alpha/shop': { node: 'alpha', service: 'shop', events: [] }, 'alpha/gone': new AgentCallError('alpha', 'NOT_FOUND', 'service "gone" not found') },
      logs: { 'alpha/shop': [{ stream: 'stdout', text: 'hello' }, { stream: 'stderr', text: `${HOSTILE}\n\nevent: fleet\ndata: {"forged":true}` }] },
    });
    sut = new UiServer({ source, assets: ASSETS, token: TOKEN });
    ({ port } = await sut.listen('127.0.0.1', 0));
    cookie = `mcp_ui_${port}=${TOKEN}`;
  });

  afterEach(() => sut.close());

  describe('authorization', () => {
    it.each(['/', '/app.js', '/api/fleet', '/api/events', '/api/stream', '/api/service?node=alpha&service=shop', '/api/logs?node=alpha&service=shop', '/nope'])(
      'should answer %s without the token with 401 and nothing of the fleet',
      async (path) => {
        const res = await request(port, path);
        expect(res.status).toBe(401);
        expect(res.text).toMatch(/open the URL that `mcp ui` printed/);
        expect(res.text).not.toContain('shop');
        expect(source.logRequests).toEqual([]);
      },
    );

    it('should refuse a wrong token in the URL, a wrong cookie, a cookie for another port and a wrong bearer', async () => {
      const attempts: Array<Record<string, string>> = [
        {},
        { cookie: `mcp_ui_${port}=nope` },
        { cookie: `mcp_ui_${port + 1}=${TOKEN}` },
        { cookie: `mcp_ui=${TOKEN}` },
        { authorization: 'Bearer nope' },
        { authorization: TOKEN },
      ];
      for (const headers of attempts) {
        expect((await request(port, '/api/fleet', { headers })).status).toBe(401);
      }
      expect((await request(port, `/?token=${TOKEN}x`)).status).toBe(401);
      expect((await request(port, `/?token=`)).status).toBe(401);
      // A right cookie does not rescue a wrong token in the URL.
      expect((await request(port, '/?token=nope', { headers: { cookie } })).status).toBe(401);
    });

    it('should trade the token in the URL for an HttpOnly SameSite=Strict cookie and drop it from the address', async () => {
      const res = await request(port, `/?token=${TOKEN}&x=1`);
      expect(res.status).toBe(303);
      expect(res.headers.location).toBe('/?x=1');
      expect(res.headers['set-cookie']).toEqual([`mcp_ui_${port}=${TOKEN}; HttpOnly; SameSite=Strict; Path=/`]);
      expect((await request(port, '/', { headers: { cookie: `other=1; ${cookie}` } })).status).toBe(200);
    });

    it('should accept the token as a bearer for scripts', async () => {
      const res = await request(port, '/api/fleet', { headers: bearer });
      expect(res.status).toBe(200);
      expect(JSON.parse(res.text)).toEqual(FLEET);
    });

    it('should be read-only: anything but GET and HEAD is 405, and 401 first without the token', async () => {
      for (const method of ['POST', 'PUT', 'DELETE', 'PATCH']) {
        expect((await request(port, '/api/fleet', { method, headers: bearer })).status).toBe(405);
        expect((await request(port, '/api/fleet', { method })).status).toBe(401);
      }
      expect((await request(port, '/api/fleet', { method: 'HEAD', headers: bearer })).status).toBe(200);
    });

    it('should use a fresh random token when none is given', async () => {
      const other = new UiServer({ source, assets: ASSETS });
      expect(other.token).toMatch(/^[A-Za-z0-9_-]{32}$/);
      expect(new UiServer({ source, assets: ASSETS }).token).not.toBe(other.token);
    });
  });

  describe('headers', () => {
    it.each([
      ['/', {}],
      ['/api/fleet', bearer],
      ['/missing', bearer],
      ['/api/fleet', {}],
    ])('should send the strict CSP and no-sniff on %s', async (path, headers) => {
      const res = await request(port, path, { headers });
      for (const [name, value] of Object.entries(SECURITY_HEADERS)) expect(res.headers[name.toLowerCase()]).toBe(value);
      expect(res.headers['content-security-policy']).not.toMatch(/unsafe-inline|unsafe-eval|\*/);
    });

    it('should serve assets gzipped when the browser takes gzip', async () => {
      const res = await request(port, '/app.js', { headers: { ...bearer, 'accept-encoding': 'gzip, br' } });
      expect(res.headers['content-encoding']).toBe('gzip');
      expect(res.headers['content-type']).toBe('text/javascript; charset=utf-8');
      expect(gunzipSync(res.body).toString()).toBe('console.log(1)');
    });
  });

  describe('escaping', () => {
    it('should send agent text in JSON with no raw <, > or &', async () => {
      const res = await request(port, '/api/fleet', { headers: bearer });
      expect(res.headers['content-type']).toBe('application/json; charset=utf-8');
      expect(res.text).not.toMatch(/[<>&]/);
      expect((JSON.parse(res.text) as FleetView).services[0].components[0].container).toBe(HOSTILE);
    });

    it('should keep a log line with line breaks and SSE fields inside one event', async () => {
      const frames = await readFrames(port, '/api/logs?node=alpha&service=shop&component=web&tail=5', bearer, 3);
      expect(frames).toEqual([
        { event: 'line', data: { stream: 'stdout', text: 'hello' } },
        { event: 'line', data: { stream: 'stderr', text: `${HOSTILE}\n\nevent: fleet\ndata: {"forged":true}` } },
        { event: 'end', data: {} },
      ]);
      expect(source.logRequests).toEqual([{ node: 'alpha', service: 'shop', component: 'web', tail: 5 }]);
    });

    it('should escape the JS line separators too', () => {
      expect(safeJson({ a: '\u2028\u2029<>&' })).toBe('{"a":"\\u2028\\u2029\\u003c\\u003e\\u0026"}');
      expect(sseFrame('x', 'a\nb\rc')).toBe('event: x\ndata: "a\\nb\\rc"\n\n');
    });
  });

  describe('api', () => {
    it('should stream the current fleet, then every update', async () => {
      const frames = readFrames(port, '/api/stream', { cookie }, 2);
      await new Promise((resolve) => setTimeout(resolve, 50));
      source.push({ type: 'events', events: [{ node: 'alpha', time: '2026-11-30T00:00:01.000Z', service: 'shop', component: 'web', kind: 'drift', message: HOSTILE, fromState: '', toState: '' }] });
      expect(await frames).toEqual([
        { event: 'fleet', data: FLEET },
        { event: 'events', data: [expect.objectContaining({ kind: 'drift', message: HOSTILE })] },
      ]);
    });

    it('should give a service page its detail, 404 for a service the node does not know', async () => {
      expect(JSON.parse((await request(port, '/api/service?node=alpha&service=shop', { headers: bearer })).text)).toEqual({ node: 'alpha', service: 'shop', events: [] });
      const gone = await request(port, '/api/service?node=alpha&service=gone', { headers: bearer });
      expect(gone.status).toBe(404);
      expect(JSON.parse(gone.text)).toEqual({ error: 'service "gone" not found' });
      expect((await request(port, '/api/service?node=alpha', { headers: bearer })).status).toBe(400);
    });

    it('should refuse a bad tail', async () => {
      for (const tail of ['abc', '-1', '1.5', '100000']) {
        const res = await request(port, `/api/logs?node=alpha&service=shop&tail=${tail}`, { headers: bearer });
        expect(res.status).toBe(400);
      }
      expect(source.logRequests).toEqual([]);
    });
  });
});
