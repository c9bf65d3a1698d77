import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as os from 'node:os';
import * as path from 'node:path';
import { promisify } from 'node:util';
import { chromium, type Browser, type Page } from 'playwright-core';
import { TEST_ADMIN_TOKEN, freePortSync, makeTestConfig, makeTlsFixture, startAgentProcess, writeTestTokens, type AgentProcess } from '../support';

jest.setTimeout(180_000);

// The page's globals, typed for the callbacks page.evaluate runs in the browser (this file runs in node).
declare const window: { innerWidth: number; __mcpPwned?: number; __sameDocument?: boolean };
declare function getComputedStyle(element: unknown): { backgroundColor: string };
declare const document: {
  body: unknown;
  activeElement: { textContent: string | null; tagName: string } | null;
  querySelectorAll(selector: string): { length: number };
  scripts: Iterable<{ src: string }>;
  documentElement: { scrollWidth: number };
};

const run = promisify(execFile);
const ROOT = path.resolve(__dirname, '..', '..');
const BIN = path.join(ROOT, 'bin', 'mcp.js');
const CHROMIUM = '/usr/bin/chromium';
/** Flags that keep Debian's Chromium off the network and quiet here (docs: test-environment.md). */
const CHROMIUM_ARGS = ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'];
/** Set MCP_UI_SCREENSHOTS=docs to refresh the README's screenshots (with tidy names). */
const SCREENSHOTS = process.env.MCP_UI_SCREENSHOTS;
const PREFIX = SCREENSHOTS ? 'demo' : `ui${randomBytes(3).toString('hex')}`;
const SHOP = `${PREFIX}-shop`;
const NOTES = `${PREFIX}-notes`;
const SCRIPT_LINE = 'xss-probe <script>window.__mcpPwned = 1</script><img src=x onerror="window.__mcpPwned = 2">';

const definition = (name: string, components: string) => `name = "${name}"\nnode = "local"\nactive = true\n${components}`;
const WEB = (image: string) => `
[[components]]
name = "web"
image = "${image}"
cmd = ["/bin/sh", "-c", "mkdir -p /www && echo hello > /www/index.html && echo serving on $PORT && exec httpd -f -v -p $PORT -h /www"]

[[components.routes]]
port = 443
mode = "l4"
`;
/** SPEC §12: the notes service's jobs, shown on its page; `stamp` is run by hand, `later` never. */
const JOBS = `
[[jobs]]
name = "stamp"
component = "web"
cmd = ["/bin/sh", "-c", "echo stamped"]
schedule = "@yearly"

[[jobs]]
name = "later"
component = "web"
cmd = ["true"]
schedule = "0 3 * * *"
tz = "Europe/Berlin"
`;
/** A job that fires every 2 s, added for one test (the page must pick its runs up by itself). */
const TICK = `
[[jobs]]
name = "tick"
component = "web"
cmd = ["true"]
schedule = "*/2 * * * * *"
`;
const WORKER = `
[[components]]
name = "worker"
image = "localhost/mcp-test/busybox:1.0"
cmd = ["/bin/sh", "-c", "echo worker started; while true; do sleep 30; echo worker still here; done"]
`;

interface Ui {
  child: ChildProcess;
  url: string;
  origin: string;
  output: () => string;
}

function get(url: string, headers: Record<string, string> = {}, method = 'GET'): Promise<{ status: number; body: string; headers: http.IncomingHttpHeaders }> {
  return new Promise((resolve, reject) => {
    const req = http.request(url, { method, headers }, (res) => {
      let body = '';
      res.on('data', (chunk: Buffer) => (body += chunk.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body, headers: res.headers }));
    });
    req.on('error', reject);
    req.end();
  });
}

/** The real dashboard (bin/mcp.js ui), its real browser (Debian's Chromium), a real agent and podman. */
describe('mcp ui in a real browser', () => {
  // The monitor's tick and the dashboard's poll are both far apart (1 h, 60 s): a change shows
  // within the test's waits only through the agent's event stream and the Events RPC.
  const config = makeTestConfig({ mcproxy: { socket: undefined }, monitor: { enabled: true, intervalMs: 3_600_000 } });
  const agentDir = path.dirname(config.file);
  const home = fs.mkdtempSync(path.join(os.tmpdir(), 'mcp-ui-e2e-'));
  const configDir = path.join(home, '.config', 'mcp');
  const profile = fs.mkdtempSync(path.join(os.tmpdir(), 'mcp-ui-chromium-'));
  let agent: AgentProcess | undefined;
  let ui: Ui | undefined;
  let browser: Browser | undefined;
  let page: Page;

  function mcp(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
    return new Promise((resolve) => {
      const child = spawn(process.execPath, [BIN, ...args], { env: { PATH: process.env.PATH, HOME: home }, stdio: ['ignore', 'pipe', 'pipe'] });
      let stdout = '';
      let stderr = '';
      child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
      child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
      child.on('close', (code) => resolve({ code, stdout, stderr }));
    });
  }

  async function startUi(): Promise<Ui> {
    const child = spawn(process.execPath, [BIN, 'ui', '--listen', '127.0.0.1:0', '--interval', '60s'], { env: { PATH: process.env.PATH, HOME: home }, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stderr!.on('data', (chunk: Buffer) => (output += chunk.toString()));
    const url = await new Promise<string>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`mcp ui printed no URL within 30 s:\n${output}`)), 30_000);
      child.stdout!.on('data', (chunk: Buffer) => {
        output += chunk.toString();
        const match = /(http:\/\/127\.0\.0\.1:\d+\/\?token=[A-Za-z0-9_-]+)/.exec(output);
        if (match) {
          clearTimeout(timer);
          resolve(match[1]);
        }
      });
      child.once('exit', (code) => {
        clearTimeout(timer);
        reject(new Error(`mcp ui exited with ${code}:\n${output}`));
      });
    });
    return { child, url, origin: new URL(url).origin, output: () => output };
  }

  async function containerOf(service: string, component: string): Promise<string> {
    const name = `${service}-${component}`;
    const { stdout } = await run('podman', ['ps', '-a', '--format', '{{.Names}}']);
    if (!stdout.split('\n').includes(name)) throw new Error(`no container ${name}`);
    return name;
  }

  /** Writes a line to the container's own stdout (PID 1's), so it lands in its log. */
  async function logLine(container: string, line: string): Promise<void> {
    await run('podman', ['exec', container, '/bin/sh', '-c', 'printf "%s\\n" "$1" > /proc/1/fd/1', 'sh', line]);
  }

  async function shot(name: string): Promise<void> {
    const dir = SCREENSHOTS ? path.resolve(ROOT, SCREENSHOTS) : profile;
    const file = path.join(dir, name);
    await page.screenshot({ path: file, fullPage: true });
    expect(fs.statSync(file).size).toBeGreaterThan(10_000);
  }

  beforeAll(async () => {
    const tls = await makeTlsFixture(path.join(agentDir, 'tls'));
    await writeTestTokens(config);
    agent = await startAgentProcess({ config });
    fs.mkdirSync(path.join(configDir, 'services'), { recursive: true });
    fs.writeFileSync(
      path.join(configDir, 'mcp.toml'),
      `[tls]\nca_cert = ${JSON.stringify(tls.caCertPath)}\n\n[[nodes]]\nname = "local"\naddress = "${agent.address}"\nserver_name = "localhost"\n` +
        // A node whose agent is down: nothing listens on this port.
        `\n[[nodes]]\nname = "edge"\naddress = "127.0.0.1:${freePortSync()}"\nserver_name = "localhost"\ntimeout = "2s"\n`,
    );
    fs.writeFileSync(path.join(configDir, 'token'), `${TEST_ADMIN_TOKEN}\n`, { mode: 0o600 });
    fs.writeFileSync(path.join(configDir, 'services', `${SHOP}.toml`), definition(SHOP, WEB('localhost/mcp-test/busybox:1.0') + WORKER));
    fs.writeFileSync(path.join(configDir, 'services', `${NOTES}.toml`), definition(NOTES, WEB('localhost/mcp-test/busybox:2.0') + JOBS));
    for (const service of [SHOP, NOTES]) {
      const deploy = await mcp(['deploy', service]);
      if (deploy.code !== 0) throw new Error(`mcp deploy ${service} failed: ${deploy.stderr}`);
    }
    // One backup of the shop's data (real restic), for the service page's Backups section.
    fs.mkdirSync(path.join(config.agent.srvRoot, SHOP), { recursive: true });
    fs.writeFileSync(path.join(config.agent.srvRoot, SHOP, 'orders.txt'), 'one order\n');
    const backup = await mcp(['backup', SHOP]);
    if (backup.code !== 0) throw new Error(`mcp backup ${SHOP} failed: ${backup.stderr}`);
    ui = await startUi();
    browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: CHROMIUM_ARGS });
    const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
    page = await context.newPage();
    // The printed URL, once: the browser now holds the cookie, so each test can start anywhere.
    await page.goto(ui.url);
  });

  afterAll(async () => {
    await browser?.close();
    ui?.child.kill('SIGINT');
    for (const service of [SHOP, NOTES]) await mcp(['undeploy', service]).catch(() => undefined);
    await agent?.stop();
    const { stdout } = await run('podman', ['ps', '-a', '--format', '{{.Names}}']);
    const ours = stdout.split('\n').filter((n) => n.startsWith(`${PREFIX}-`));
    if (ours.length) await run('podman', ['rm', '-f', '-t', '0', ...ours]);
    for (const dir of [agentDir, home, profile]) fs.rmSync(dir, { recursive: true, force: true });
  });

  it('should refuse every request without the token with 401', async () => {
    const { origin, url } = ui!;
    for (const p of ['/', '/app.js', '/api/fleet', '/api/stream', `/api/logs?node=local&service=${SHOP}`, '/nothing']) {
      const res = await get(`${origin}${p}`);
      expect({ path: p, status: res.status }).toEqual({ path: p, status: 401 });
      expect(res.body).not.toContain(SHOP);
    }
    expect((await get(`${origin}/?token=wrong-${randomBytes(8).toString('hex')}`)).status).toBe(401);
    expect((await get(`${origin}/api/fleet`, { cookie: `mcp_ui_${new URL(url).port}=guess` })).status).toBe(401);
    expect((await get(`${origin}/api/fleet`, { authorization: 'Bearer guess' })).status).toBe(401);
    // The real token works, and the dashboard stays read-only even with it.
    const token = new URL(url).searchParams.get('token')!;
    expect((await get(`${origin}/api/fleet`, { authorization: `Bearer ${token}` })).status).toBe(200);
    expect((await get(`${origin}/api/fleet`, { authorization: `Bearer ${token}` }, 'POST')).status).toBe(405);
    // Small: everything a first visit loads, as sent (gzipped).
    let sent = 0;
    for (const asset of ['/', '/app.js', '/app.css', '/icon.svg']) {
      const res = await get(`${origin}${asset}`, { authorization: `Bearer ${token}`, 'accept-encoding': 'gzip' });
      expect(res.status).toBe(200);
      sent += Number(res.headers['content-length']);
    }
    expect(sent).toBeLessThan(16 * 1024);
  });

  it('should exit 1 with what to do when its port is taken', async () => {
    const taken = new URL(ui!.url).host;
    const second = await mcp(['ui', '--listen', taken]);
    expect(second.code).toBe(1);
    expect(second.stderr.trim()).toBe(`mcp: ${taken} is in use: choose another port with --listen (port 0 lets the system pick)`);
    expect(second.stdout).toBe('');
  });

  it('should show the deployed services on the overview, with routes and host ports', async () => {
    await page.goto(ui!.url);
    // The token was traded for a cookie and taken out of the address bar.
    expect(page.url()).toBe(`${ui!.origin}/`);
    const cookies = await page.context().cookies();
    expect(cookies).toEqual([expect.objectContaining({ httpOnly: true, sameSite: 'Strict' })]);
    const row = page.locator(`tr[data-service="${SHOP}"]`);
    await row.waitFor({ timeout: 30_000 });
    const list = JSON.parse((await mcp(['list', '--json'])).stdout) as { services: Array<{ service: string; component: string; routes: Array<{ hostPort: number }> }> };
    const hostPort = list.services.find((s) => s.service === SHOP && s.component === 'web')!.routes[0].hostPort;
    expect(hostPort).toBeGreaterThan(0);
    await expect(row.textContent()).resolves.toContain(`:443 l4 → ${hostPort}`);
    await expect(row.locator('.chip').first().textContent()).resolves.toMatch(/^web\s*running/);
    await expect(row.getAttribute('class')).resolves.toBeNull();
    await expect(page.locator('.node h3').first().textContent()).resolves.toMatch(/local\s*up/);
    await expect(page.locator('.node.down h3').textContent()).resolves.toMatch(/edge\s*unreachable/);
    await expect(page.locator('.summary').first().textContent()).resolves.toContain('1 of 2 nodes up');
    // Keyboard: Tab from the top reaches the service's link; Enter opens its page.
    let reached = false;
    for (let i = 0; i < 40 && !reached; i++) {
      await page.keyboard.press('Tab');
      reached = await page.evaluate((name) => document.activeElement?.textContent === name && document.activeElement.tagName === 'A', SHOP);
    }
    expect(reached).toBe(true);
    await page.keyboard.press('Enter');
    await page.locator('h1', { hasText: SHOP }).waitFor({ timeout: 10_000 });
    expect(page.url()).toBe(`${ui!.origin}/#/service/local/${SHOP}`);
  });

  it('should tail new log lines on the service page', async () => {
    await page.goto(`${ui!.origin}/#/service/local/${SHOP}`);
    await page.locator('.logbox li', { hasText: 'serving on' }).waitFor({ timeout: 30_000 });
    const marker = `tail-marker-${randomBytes(4).toString('hex')}`;
    await logLine(await containerOf(SHOP, 'web'), marker);
    await page.locator('.logbox li', { hasText: marker }).waitFor({ timeout: 30_000 });
    // Another component's log, picked with the selector.
    await page.selectOption('select[aria-label="Component"]', 'worker');
    await page.locator('.logbox li', { hasText: 'worker started' }).waitFor({ timeout: 30_000 });
    await page.selectOption('select[aria-label="Component"]', 'web');
    await page.locator('.logbox li', { hasText: marker }).waitFor({ timeout: 30_000 });
    // Releases, from the agent's ListReleases: one per deployed component.
    const releases = page.locator('section[aria-labelledby="s-releases"] tbody tr');
    await releases.first().waitFor({ timeout: 30_000 });
    await expect(releases.allTextContents()).resolves.toEqual(expect.arrayContaining([expect.stringMatching(/^1\s*web\s*localhost\/mcp-test\/busybox:1\.0.*succeeded/)]));
    // The last backup, from the agent's record of its runs: when, the result, the size.
    const backups = page.locator('section[aria-labelledby="s-backups"] tbody tr');
    await backups.first().waitFor({ timeout: 30_000 });
    await expect(backups.allTextContents()).resolves.toEqual([expect.stringMatching(/ago\s*succeeded\s*10 B\s*1\s*[\d.]+ s/)]);
    await shot('ui-service.png');
  });

  it("should load a service page's detail again by itself when the first load fails", async () => {
    await page.goto(`${ui!.origin}/#/`);
    // The browser's first request for the detail answers 502, as the UI server does when the agent fails the call.
    let failed = 0;
    await page.route('**/api/service?*', async (request) => {
      if (failed++ === 0) return request.fulfill({ status: 502, contentType: 'application/json', body: JSON.stringify({ error: 'agent local: no answer within 10s' }) });
      return request.fallback();
    });
    try {
      await page.goto(`${ui!.origin}/#/service/local/${SHOP}`);
      await page.locator('section[aria-labelledby="s-releases"] p', { hasText: 'no answer within 10s' }).waitFor({ timeout: 10_000 });
      // No reload: the page asks again and shows the releases.
      await page.locator('section[aria-labelledby="s-releases"] tbody tr').first().waitFor({ timeout: 15_000 });
      expect(failed).toBeGreaterThanOrEqual(2);
    } finally {
      await page.unroute('**/api/service?*');
    }
  });

  it("should show a service's jobs with their last run (time, result, duration) and next run, and follow scheduled runs without a reload (SPEC §12)", async () => {
    const ran = await mcp(['jobs', 'run', `${NOTES}/stamp`]);
    expect(ran).toMatchObject({ code: 0, stdout: 'stamped\n' });
    const listed = JSON.parse((await mcp(['jobs', NOTES, '--json'])).stdout) as Array<{ name: string; nextRun: string }>;
    await page.goto(`${ui!.origin}/#/`);
    await page.goto(`${ui!.origin}/#/service/local/${NOTES}`);
    const row = (job: string) => page.locator(`section[aria-labelledby="s-jobs"] tr[data-job="${job}"]`);
    const cell = (job: string, field: string) => row(job).locator(`[data-field="${field}"]`).textContent();
    await row('stamp').waitFor({ timeout: 30_000 });
    await expect(cell('stamp', 'result')).resolves.toBe('succeeded');
    await expect(cell('stamp', 'last-run')).resolves.toMatch(/ · manual$/);
    await expect(cell('stamp', 'duration')).resolves.toMatch(/^(\d+ ms|\d+\.\d s)$/);
    // @yearly: next 1 January, 00:00 UTC, as the agent computes it (shown in the browser's time).
    const next = listed.find((j) => j.name === 'stamp')!.nextRun;
    expect(new Date(next).getUTCMonth()).toBe(0);
    await expect(cell('stamp', 'next-run')).resolves.toBe(await page.evaluate((iso) => new Date(iso).toLocaleString(), next));
    await expect(row('later').locator('td.mono').textContent()).resolves.toBe('0 3 * * * Europe/Berlin');
    await expect(cell('later', 'last-run')).resolves.toBe('never');
    await expect(cell('later', 'result')).resolves.toBe('-');
    await shot('ui-service-jobs.png');

    // A job added while the page is open fires every 2 s; a successful run records no event, so
    // the page reloads the jobs itself after each next run: its row goes from never to succeeded.
    const file = path.join(configDir, 'services', `${NOTES}.toml`);
    fs.writeFileSync(file, definition(NOTES, WEB('localhost/mcp-test/busybox:2.0') + JOBS + TICK));
    try {
      expect((await mcp(['deploy', NOTES])).code).toBe(0);
      // Opened once (a deploy that changes only jobs records no event); from here on the page is on its own.
      await page.goto(`${ui!.origin}/#/`);
      await page.goto(`${ui!.origin}/#/service/local/${NOTES}`);
      await row('tick').waitFor({ timeout: 30_000 });
      const first = await cell('tick', 'last-run');
      const changed = (before: string | null) =>
        page.waitForFunction(
          (previous) => {
            const el = (globalThis as unknown as { document: { querySelector(s: string): { textContent: string | null } | null } }).document.querySelector('tr[data-job="tick"] [data-field="last-run"]');
            return el !== null && el.textContent !== previous && / · schedule$/.test(el.textContent ?? '');
          },
          before,
          { timeout: 30_000 },
        );
      await changed(first);
      const second = await cell('tick', 'last-run');
      await changed(second);
      await page.locator('tr[data-job="tick"] [data-field="result"] .badge', { hasText: /^(succeeded|running)$/ }).waitFor({ timeout: 30_000 });
    } finally {
      fs.writeFileSync(file, definition(NOTES, WEB('localhost/mcp-test/busybox:2.0') + JOBS));
      expect((await mcp(['deploy', NOTES])).code).toBe(0);
    }
  });

  it("should show the jobs' recent runs, newest first across jobs, not only each job's newest (SPEC §12)", async () => {
    for (const job of ['stamp', 'stamp', 'later']) expect((await mcp(['jobs', 'run', `${NOTES}/${job}`])).code).toBe(0);
    await page.goto(`${ui!.origin}/#/`);
    await page.goto(`${ui!.origin}/#/service/local/${NOTES}`);
    const rows = page.locator('section[aria-labelledby="s-job-runs"] tbody tr');
    await rows.first().waitFor({ timeout: 30_000 });
    const seen = await rows.evaluateAll((trs) =>
      trs.map((tr) => ({ job: tr.getAttribute('data-job-run'), started: tr.querySelector('[data-field="started"]')?.textContent ?? '', result: tr.querySelector('[data-field="result"]')?.textContent ?? '' })),
    );
    // The three runs just made lead, newest first; stamp's older runs follow (the Jobs table shows one row a job).
    expect(seen.slice(0, 3).map((row) => [row.job, row.result])).toEqual([
      ['later', 'succeeded'],
      ['stamp', 'succeeded'],
      ['stamp', 'succeeded'],
    ]);
    expect(seen.slice(0, 3).every((row) => / · manual$/.test(row.started))).toBe(true);
    const stamps = seen.filter((row) => row.job === 'stamp').length;
    expect(stamps).toBeGreaterThanOrEqual(2);
    expect(stamps).toBeLessThanOrEqual(10);
    expect(await page.locator('section[aria-labelledby="s-jobs"] tr[data-job="stamp"]').count()).toBe(1);
    await shot('ui-service-job-runs.png');
  });

  it('should show a log line with <script> as text, running nothing', async () => {
    await page.goto(`${ui!.origin}/#/service/local/${SHOP}`);
    await page.selectOption('select[aria-label="Component"]', 'web');
    await page.locator('.logbox li', { hasText: 'serving on' }).waitFor({ timeout: 30_000 });
    await logLine(await containerOf(SHOP, 'web'), SCRIPT_LINE);
    const line = page.locator('.logbox li', { hasText: 'xss-probe' });
    await line.waitFor({ timeout: 30_000 });
    await expect(line.textContent()).resolves.toBe(SCRIPT_LINE);
    const injected = await page.evaluate(() => ({
      pwned: window.__mcpPwned,
      elements: document.querySelectorAll('main script, main img').length,
      scripts: [...document.scripts].map((s) => new URL(s.src).pathname),
    }));
    expect(injected).toEqual({ pwned: undefined, elements: 0, scripts: ['/app.js'] });
  });

  it('should turn a service red, without a reload, when its container is killed by hand', async () => {
    await page.goto(`${ui!.origin}/#/`);
    const row = page.locator(`tr[data-service="${SHOP}"]`);
    await row.waitFor({ timeout: 30_000 });
    await page.evaluate(() => (window.__sameDocument = true));
    await run('podman', ['kill', await containerOf(SHOP, 'web')]);
    await page.locator(`tr.alert[data-service="${SHOP}"]`).waitFor({ timeout: 30_000 });
    await expect(row.textContent()).resolves.toMatch(/drift: want running/);
    await expect(row.locator('.badge.bad').first().textContent()).resolves.toBe('drift');
    await expect(page.locator(`tr[data-service="${NOTES}"]`).getAttribute('class')).resolves.toBeNull();
    await expect(page.evaluate(() => window.__sameDocument)).resolves.toBe(true);
    // The monitor's drift event for it reaches the timeline, live too.
    await page.locator('.event', { hasText: `${SHOP}/web`, has: page.locator('.badge', { hasText: /^drift$/ }) }).first().waitFor({ timeout: 30_000 });
    await shot('ui-overview.png');
    // The timeline page has it too, and its filter narrows to one service.
    await page.click('nav a[href="#/events"]');
    await page.locator('main .event', { hasText: `${SHOP}/web`, has: page.locator('.badge', { hasText: /^drift$/ }) }).first().waitFor({ timeout: 30_000 });
    await shot('ui-events.png');
    await page.fill('input[type="search"]', NOTES);
    await expect(page.locator('main .event').count()).resolves.toBeGreaterThan(0);
    for (const text of await page.locator('main .event').allTextContents()) expect(text).toContain(NOTES);
  });

  it('should be readable at phone width', async () => {
    await page.setViewportSize({ width: 390, height: 844 });
    for (const hash of ['#/', `#/service/local/${SHOP}`, '#/events']) {
      await page.goto(`${ui!.origin}/${hash}`);
      await page.locator('main h1').waitFor({ timeout: 30_000 });
      const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
      expect({ hash, overflow }).toEqual({ hash, overflow: 0 });
      if (hash === '#/') await shot('ui-phone.png');
    }
    await page.setViewportSize({ width: 1280, height: 900 });
  });

  it('should follow prefers-color-scheme', async () => {
    const background = () => page.evaluate(() => getComputedStyle(document.body).backgroundColor);
    await page.emulateMedia({ colorScheme: 'light' });
    const light = await background();
    await page.emulateMedia({ colorScheme: 'dark' });
    const dark = await background();
    await page.emulateMedia({ colorScheme: null });
    expect({ light, dark }).toEqual({ light: 'rgb(246, 247, 249)', dark: 'rgb(17, 21, 27)' });
  });
});
