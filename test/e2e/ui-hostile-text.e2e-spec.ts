import * as path from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import { UiAssets } from '../../apps/cli/src/ui/ui-assets';
import { UiServer } from '../../apps/cli/src/ui/ui-server';
import type { EventView, FleetView } from '../../apps/cli/src/ui/view-types';
import { FakeFleetSource } from '../cli/fakes/fake-fleet-source';

jest.setTimeout(120_000);

declare const window: { __mcpPwned?: number };
declare const document: { querySelectorAll(selector: string): { length: number } };

const ROOT = path.resolve(__dirname, '..', '..');
const CHROMIUM_ARGS = ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'];

/** Every text field gets its own payload, so a leak names the field that leaked. */
const evil = (field: string) => `${field}<img src=x onerror="window.__mcpPwned=1"><script>window.__mcpPwned=2</script>`;

const FLEET: FleetView = {
  polledAt: new Date().toISOString(),
  nodes: [
    { name: evil('node'), address: evil('address'), state: 'up', agentNode: evil('agentNode'), agentVersion: evil('agentVersion'), runtimeVersion: evil('runtime'), containers: 2, runningContainers: 1 },
    { name: evil('down'), address: evil('downaddr'), state: 'unreachable', error: evil('error') },
  ],
  services: [
    {
      node: evil('node'),
      name: evil('service'),
      active: true,
      state: 'drift',
      stale: false,
      components: [
        {
          name: evil('component'),
          image: evil('image'),
          version: evil('version'),
          desired: evil('desired'),
          observed: evil('observed'),
          drift: true,
          health: evil('health'),
          driftFields: [evil('driftfield')],
          release: 3,
          container: evil('container'),
          routes: [{ name: evil('route'), port: 443, mode: evil('mode'), hostname: evil('hostname'), hostPort: 1234 }],
        },
      ],
    },
  ],
  unmanaged: [{ node: evil('node'), container: evil('unmanaged'), image: evil('uimage'), state: evil('ustate') }],
};
const EVENTS: EventView[] = [{ node: evil('node'), time: new Date().toISOString(), service: evil('service'), component: evil('component'), kind: evil('kind'), message: evil('message'), fromState: '', toState: '' }];

/**
 * The page against text real podman cannot produce (its names allow no `<`), but an agent, a
 * registry or an event message could: the real server and page, fed by a scripted source.
 */
describe('mcp ui page with hostile text in every field', () => {
  let server: UiServer;
  let browser: Browser;
  let page: Page;
  let origin: string;

  beforeAll(async () => {
    const source = new FakeFleetSource({
      fleet: FLEET,
      events: EVENTS,
      details: { [`${evil('node')}/${evil('service')}`]: { node: evil('node'), service: evil('service'), events: EVENTS, releases: [{ release: 1, component: evil('rcomponent'), image: evil('rimage'), digest: evil('digest'), deployedAt: new Date().toISOString(), deployedBy: evil('by'), outcome: evil('outcome'), message: evil('rmessage'), rollbackOf: 0 }] } },
      logs: { [`${evil('node')}/${evil('service')}`]: [{ stream: 'stdout', text: evil('log') }] },
    });
    server = new UiServer({ source, assets: UiAssets.load(path.join(ROOT, 'dist', 'ui')), token: 'hostile-test-token' });
    const { port } = await server.listen('127.0.0.1', 0);
    origin = `http://127.0.0.1:${port}`;
    browser = await chromium.launch({ executablePath: '/usr/bin/chromium', headless: true, args: CHROMIUM_ARGS });
    page = await browser.newPage();
    await page.goto(`${origin}/?token=hostile-test-token`);
  });

  afterAll(async () => {
    await browser?.close();
    await server?.close();
  });

  async function expectInert(): Promise<void> {
    const state = await page.evaluate(() => ({ pwned: window.__mcpPwned, injected: document.querySelectorAll('main img, main script, header script').length }));
    expect(state).toEqual({ pwned: undefined, injected: 0 });
  }

  it('should show every field of the overview as text', async () => {
    await page.locator('main h1', { hasText: 'Fleet' }).waitFor({ timeout: 30_000 });
    await page.click('details.more > summary');
    const text = await page.locator('main').textContent();
    for (const field of ['node', 'agentNode', 'agentVersion', 'runtime', 'down', 'error', 'service', 'component', 'observed', 'hostname', 'unmanaged', 'uimage', 'ustate', 'kind', 'message']) {
      expect(text).toContain(evil(field));
    }
    await expectInert();
  });

  it('should show the service page, its releases and its log as text', async () => {
    await page.goto(`${origin}/#/service/${encodeURIComponent(evil('node'))}/${encodeURIComponent(evil('service'))}`);
    await page.locator('.logbox li').waitFor({ timeout: 30_000 });
    await page.locator('main td', { hasText: evil('rimage') }).waitFor({ timeout: 30_000 });
    const text = await page.locator('main').textContent();
    for (const field of ['service', 'component', 'image', 'version', 'desired', 'health', 'driftfield', 'container', 'route', 'mode', 'rcomponent', 'by', 'outcome', 'rmessage', 'log', 'message']) {
      expect(text).toContain(evil(field));
    }
    await expect(page.locator('.logbox li').textContent()).resolves.toBe(evil('log'));
    await expectInert();
  });

  it('should show the timeline as text', async () => {
    await page.goto(`${origin}/#/events`);
    await page.locator('main .event').first().waitFor({ timeout: 30_000 });
    expect(await page.locator('main').textContent()).toContain(evil('message'));
    await expectInert();
  });
});
