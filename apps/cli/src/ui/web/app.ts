// The dashboard page. Plain DOM, no framework. Everything that comes from the server is
// untrusted text (container names, images, log lines, event messages are chosen by whoever
// runs containers): it enters the page only through text nodes and attribute values built
// here — never innerHTML, never as a URL — and the server's Content-Security-Policy forbids
// inline script besides.
import type { BackupRunView, ComponentView, EventView, FleetView, JobRunView, JobView, LogLine, NodeView, ReleaseView, ServiceDetail, ServiceView } from '../view-types';

type Child = Node | string | number | null | undefined | false | Child[];

function append(parent: Node, children: Child[]): void {
  for (const child of children) {
    if (child === null || child === undefined || child === false) continue;
    if (Array.isArray(child)) append(parent, child);
    else if (typeof child === 'string' || typeof child === 'number') parent.appendChild(document.createTextNode(String(child)));
    else parent.appendChild(child);
  }
}

/** Creates an element; strings become text nodes, so markup in them stays text. */
function h<K extends keyof HTMLElementTagNameMap>(tag: K, attrs?: Record<string, string | undefined> | null, ...children: Child[]): HTMLElementTagNameMap[K] {
  const el = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs ?? {})) if (value !== undefined) el.setAttribute(name, value);
  append(el, children);
  return el;
}

// ---- formatting -------------------------------------------------------------------------

type Tone = 'ok' | 'bad' | 'warn' | 'muted';
const TONES: Record<string, Tone> = {
  running: 'ok', healthy: 'ok', up: 'ok', ok: 'ok', succeeded: 'ok', deployed: 'ok', recovered: 'ok', started: 'ok', active: 'ok',
  exited: 'bad', dead: 'bad', removed: 'bad', unhealthy: 'bad', unreachable: 'bad', unauthenticated: 'bad', error: 'bad',
  drift: 'bad', failed: 'bad', rolled_back: 'bad', deploy_failed: 'bad', flapping: 'bad', oomkilled: 'bad',
  timed_out: 'bad', skipped: 'warn', interrupted: 'warn', unscheduled: 'muted',
  starting: 'warn', created: 'warn', paused: 'warn', stopping: 'warn', restarting: 'warn', stale: 'warn', unknown: 'warn', configured: 'warn',
};

/** Colour is a class from a fixed list, chosen by the text; the text itself is always shown. */
function badge(text: string, tone?: Tone): HTMLSpanElement {
  return h('span', { class: `badge ${tone ?? TONES[text.toLowerCase()] ?? 'muted'}` }, text || '-');
}

function bytes(n: number | undefined): string {
  if (n === undefined || !Number.isFinite(n)) return '-';
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let value = n;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return `${value >= 100 || unit === 0 ? Math.round(value) : value.toFixed(1)} ${units[unit]}`;
}

function age(iso: string | undefined): string {
  if (!iso) return '-';
  let s = Math.max(0, Math.floor((Date.now() - Date.parse(iso)) / 1000));
  const d = Math.floor(s / 86400);
  s -= d * 86400;
  const hr = Math.floor(s / 3600);
  s -= hr * 3600;
  const m = Math.floor(s / 60);
  s -= m * 60;
  if (d) return `${d}d${hr}h`;
  if (hr) return `${hr}h${m}m`;
  if (m) return `${m}m${s}s`;
  return `${s}s`;
}

function clock(iso: string): string {
  const t = new Date(iso);
  if (Number.isNaN(t.getTime())) return iso;
  const sameDay = t.toDateString() === new Date().toDateString();
  return sameDay ? t.toLocaleTimeString() : t.toLocaleString();
}

/** A run's length: 850 ms, 12.3 s, 4m05s, 2h10m. */
function duration(ms: number): string {
  if (ms < 1000) return `${ms} ms`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(1)} s`;
  const s = Math.round(ms / 1000);
  if (s < 3600) return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s`;
  return `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m`;
}

function who(service: string, component: string): string {
  return component && component !== service ? `${service}/${component}` : service;
}

function serviceHref(node: string, service: string): string {
  return `#/service/${encodeURIComponent(node)}/${encodeURIComponent(service)}`;
}

function routeText(r: { port: number; mode: string; hostPort: number }): string {
  return `:${r.port} ${r.mode} → ${r.hostPort ? r.hostPort : 'no port yet'}`;
}

function table(caption: string, headers: string[], rows: HTMLTableRowElement[], empty: string): HTMLElement {
  if (rows.length === 0) return h('p', { class: 'muted' }, empty);
  // At phone width each row becomes a card; the cells carry their column's name for it.
  for (const row of rows) [...row.cells].forEach((cell, i) => cell.setAttribute('data-label', headers[i] ?? ''));
  return h(
    'div',
    { class: 'scroll', role: 'region', 'aria-label': caption, tabindex: '0' },
    h('table', null, h('caption', { class: 'sr' }, caption), h('thead', null, h('tr', null, headers.map((x) => h('th', { scope: 'col' }, x)))), h('tbody', null, rows)),
  );
}

function section(title: string, ...children: Child[]): HTMLElement {
  const id = `s-${title.toLowerCase().replace(/[^a-z]+/g, '-')}`;
  return h('section', { 'aria-labelledby': id }, h('h2', { id }, title), children);
}

// ---- state ------------------------------------------------------------------------------

let fleet: FleetView | undefined;
let events: EventView[] = [];
const eventKeys = new Set<string>();
const main = document.getElementById('main') as HTMLElement;
const conn = document.getElementById('conn') as HTMLElement;

function eventKey(e: EventView): string {
  return [e.node, e.time, e.service, e.component, e.kind, e.message].join('\u0000');
}

function addEvents(list: EventView[]): EventView[] {
  const fresh = list.filter((e) => !eventKeys.has(eventKey(e)));
  for (const e of fresh) eventKeys.add(eventKey(e));
  if (fresh.length) events = [...fresh, ...events].sort((a, b) => (a.time < b.time ? 1 : a.time > b.time ? -1 : 0)).slice(0, 500);
  return fresh;
}

function setConnection(text: string, tone: Tone): void {
  conn.replaceChildren(badge(text, tone));
}

// ---- views ------------------------------------------------------------------------------

function nodeCard(n: NodeView): HTMLElement {
  const rows: Array<[string, string]> =
    n.state === 'up'
      ? [
          ['Agent', `${n.agentVersion ?? '-'}${n.agentNode && n.agentNode !== n.name ? ` (${n.agentNode})` : ''}`],
          ['Containers', `${n.runningContainers ?? 0} running of ${n.containers ?? 0}`],
          ['Memory free', `${bytes(n.memoryFreeBytes)} of ${bytes(n.memoryTotalBytes)}`],
          ['Disk free', `${bytes(n.diskFreeBytes)} of ${bytes(n.diskTotalBytes)}`],
          ['Podman', n.runtimeVersion ?? '-'],
          ['Agent up', age(n.startedAt)],
        ]
      : [['Reason', n.error ?? n.state]];
  return h(
    'article',
    { class: `card node ${n.state === 'up' ? '' : 'down'}` },
    h('h3', null, n.name, ' ', badge(n.state), n.cordoned ? [' ', badge('cordoned', 'warn')] : null),
    h('p', { class: 'muted addr' }, n.address),
    h('dl', null, rows.map(([k, v]) => [h('dt', null, k), h('dd', null, v)])),
  );
}

function componentChip(c: ComponentView): HTMLElement {
  return h(
    'li',
    { class: c.drift ? 'chip drift' : 'chip' },
    h('span', { class: 'cname' }, c.name),
    ' ',
    badge(c.observed),
    c.health !== '-' ? [' ', badge(c.health)] : null,
    c.drift ? [' ', badge(`drift: want ${c.desired}`, 'bad')] : null,
    !c.drift && c.driftFields.length ? [' ', badge(`changed: ${c.driftFields.join(', ')}`, 'warn')] : null,
  );
}

function serviceRow(s: ServiceView): HTMLTableRowElement {
  const routes = s.components.flatMap((c) => c.routes.map((r) => h('li', null, routeText(r), r.hostname ? h('span', { class: 'muted' }, ` ${r.hostname}`) : null)));
  return h(
    'tr',
    { class: s.state === 'drift' || s.state === 'unhealthy' ? 'alert' : undefined, 'data-service': s.name, 'data-node': s.node },
    h('th', { scope: 'row' }, h('a', { href: serviceHref(s.node, s.name), 'data-key': `svc:${s.node}:${s.name}` }, s.name)),
    h('td', null, s.node),
    h('td', null, badge(s.state)),
    h('td', null, h('ul', { class: 'chips' }, s.components.map(componentChip))),
    h('td', null, routes.length ? h('ul', { class: 'plain' }, routes) : h('span', { class: 'muted' }, '-')),
  );
}

function eventItem(e: EventView, withService: boolean): HTMLElement {
  return h(
    'li',
    { class: 'event' },
    h('time', { datetime: e.time }, clock(e.time)),
    ' ',
    badge(e.kind),
    ' ',
    withService ? [h('a', { href: serviceHref(e.node, e.service) }, who(e.service, e.component)), ' '] : e.component && e.component !== e.service ? `${e.component} ` : null,
    h('span', { class: 'muted' }, `on ${e.node}`),
    h('p', { class: 'msg' }, e.message),
  );
}

let unmanagedOpen = false;

/** Folded by default (other people's containers are noise); stays as the operator left it. */
function unmanagedList(f: FleetView): HTMLElement {
  const rows = f.unmanaged.map((u) => h('tr', null, h('th', { scope: 'row' }, u.container), h('td', null, u.node), h('td', null, badge(u.state)), h('td', null, u.image)));
  const details = h(
    'details',
    { class: 'more', open: unmanagedOpen ? '' : undefined },
    h('summary', { 'data-key': 'unmanaged' }, `${f.unmanaged.length} container${f.unmanaged.length === 1 ? '' : 's'} MCP does not manage`),
    table('Unmanaged containers', ['Container', 'Node', 'State', 'Image'], rows, ''),
    h('p', { class: 'muted' }, 'Take them over with mcp adopt <service>.'),
  );
  details.addEventListener('toggle', () => (unmanagedOpen = details.open));
  return details;
}

function overview(f: FleetView): Child[] {
  const down = f.nodes.filter((n) => n.state !== 'up').length;
  const drifted = f.services.filter((s) => s.state === 'drift').length;
  const unhealthy = f.services.filter((s) => s.state === 'unhealthy').length;
  return [
    h('h1', null, 'Fleet'),
    h(
      'p',
      { class: 'summary' },
      badge(`${f.nodes.length - down} of ${f.nodes.length} nodes up`, down ? 'bad' : 'ok'),
      ' ',
      badge(`${f.services.length} services`, 'muted'),
      ' ',
      badge(drifted ? `${drifted} drifted` : 'no drift', drifted ? 'bad' : 'ok'),
      unhealthy ? [' ', badge(`${unhealthy} unhealthy`, 'bad')] : null,
    ),
    section('Nodes', h('div', { class: 'grid' }, f.nodes.map(nodeCard))),
    section('Services', table('Services', ['Service', 'Node', 'State', 'Components', 'Routes → host ports'], f.services.map(serviceRow), 'No services deployed yet: mcp deploy <service>.')),
    f.unmanaged.length ? unmanagedList(f) : null,
    section('Recent events', events.length ? h('ol', { class: 'events' }, events.slice(0, 8).map((e) => eventItem(e, true))) : h('p', { class: 'muted' }, 'No events yet.'), h('p', null, h('a', { href: '#/events', 'data-key': 'all-events' }, 'All events →'))),
  ];
}

function timeline(): Child[] {
  const filter = eventFilter.value.trim().toLowerCase();
  const shown = filter ? events.filter((e) => [e.node, e.service, e.component, e.kind, e.message].some((x) => x.toLowerCase().includes(filter))) : events;
  return [
    h('h1', null, 'Events'),
    h('p', { class: 'muted' }, 'Every node, newest first; new events appear as they happen.'),
    h('label', { class: 'filter' }, 'Filter ', eventFilter),
    shown.length ? h('ol', { class: 'events' }, shown.map((e) => eventItem(e, true))) : h('p', { class: 'muted' }, filter ? 'No event matches.' : 'No events yet.'),
  ];
}

const eventFilter = h('input', { type: 'search', placeholder: 'service, kind, text…', 'aria-label': 'Filter events', 'data-key': 'filter' });
eventFilter.addEventListener('input', () => render());

// ---- the service page --------------------------------------------------------------------

interface ServicePage {
  node: string;
  service: string;
  detail?: ServiceDetail;
  detailError?: string;
  logs: LogPanel;
  /** Reloads the detail when a job's next run is due, or while one runs (a run that succeeds records no event). */
  jobTimer?: ReturnType<typeof setTimeout>;
}
let page: ServicePage | undefined;

class LogPanel {
  readonly el: HTMLElement;
  private readonly list = h('ol', { class: 'log', 'aria-label': 'Log lines' });
  private readonly box = h('div', { class: 'logbox', tabindex: '0', role: 'log', 'aria-live': 'off', 'aria-label': 'Log tail' }, this.list);
  private readonly status = h('span', { class: 'muted', role: 'status' });
  private readonly picker = h('select', { 'aria-label': 'Component', 'data-key': 'log-component' });
  private readonly follow = h('input', { type: 'checkbox', checked: '', 'data-key': 'log-follow' });
  private source?: EventSource;
  private count = 0;

  constructor(
    private readonly node: string,
    private readonly service: string,
    components: string[],
  ) {
    for (const c of components) this.picker.appendChild(h('option', { value: c }, c));
    this.picker.addEventListener('change', () => this.open());
    this.el = section(
      'Logs',
      h('div', { class: 'logbar' }, h('label', null, 'Component ', this.picker), h('label', null, this.follow, ' follow'), this.status),
      this.box,
    );
    this.open();
  }

  close(): void {
    this.source?.close();
    this.source = undefined;
  }

  private open(): void {
    this.close();
    this.list.replaceChildren();
    this.count = 0;
    const params = new URLSearchParams({ node: this.node, service: this.service, component: this.picker.value, tail: '200' });
    const source = new EventSource(`/api/logs?${params}`);
    this.source = source;
    this.status.textContent = 'connecting…';
    source.addEventListener('open', () => {
      // A reconnect re-sends the tail: start over rather than repeat lines.
      this.list.replaceChildren();
      this.count = 0;
      this.status.textContent = 'live';
    });
    source.addEventListener('line', (e) => this.add(JSON.parse((e as MessageEvent<string>).data) as LogLine));
    source.addEventListener('end', () => {
      this.status.textContent = 'the container stopped logging';
      this.close();
    });
    source.addEventListener('failure', (e) => {
      this.status.textContent = (JSON.parse((e as MessageEvent<string>).data) as { error: string }).error;
      this.close();
    });
    source.addEventListener('error', () => {
      if (this.source === source) this.status.textContent = source.readyState === EventSource.CLOSED ? 'disconnected' : 'reconnecting…';
    });
  }

  /** Moving the panel between renders resets its scroll position; these put it back. */
  scrollState(): number {
    return this.box.scrollTop;
  }

  restoreScroll(top: number | undefined): void {
    this.box.scrollTop = this.follow.checked || top === undefined ? this.box.scrollHeight : top;
  }

  private add(line: LogLine): void {
    this.list.appendChild(h('li', { class: line.stream === 'stderr' ? 'err' : undefined }, line.text));
    if (++this.count > 2000) this.list.firstElementChild?.remove();
    if (this.follow.checked) this.box.scrollTop = this.box.scrollHeight;
  }
}

async function loadDetail(p: ServicePage): Promise<void> {
  try {
    const res = await fetch(`/api/service?${new URLSearchParams({ node: p.node, service: p.service })}`);
    const body = (await res.json()) as ServiceDetail & { error?: string };
    if (!res.ok) throw new Error(body.error ?? `HTTP ${res.status}`);
    p.detail = body;
    p.detailError = undefined;
    addEvents(body.events);
  } catch (error) {
    p.detailError = error instanceof Error ? error.message : String(error);
  }
  if (page !== p) return;
  // A failed load (the agent busy or restarting) is tried again while the page is open; the
  // page says why meanwhile. Without this, one failure left the page without its detail
  // (releases, backups, jobs) until the operator reloaded it.
  if (p.detailError) {
    clearTimeout(p.jobTimer);
    p.jobTimer = setTimeout(() => void loadDetail(p), DETAIL_RETRY_MS);
  } else {
    watchJobs(p);
  }
  render();
}

/** How soon a failed load of a service page's detail is tried again. */
const DETAIL_RETRY_MS = 3000;

/** The next reload of the page's jobs: a second after the earliest next run, every 2 s while one runs; none without jobs. */
function watchJobs(p: ServicePage): void {
  clearTimeout(p.jobTimer);
  p.jobTimer = undefined;
  const jobs = p.detail?.jobs ?? [];
  const due = jobs.flatMap((j) => (j.nextRun ? [Date.parse(j.nextRun) + 1000 - Date.now()] : []));
  if (jobs.some((j) => j.running > 0 || j.lastRun?.result === 'running')) due.push(2000);
  if (!due.length) return;
  // At most an hour ahead (a timer's delay is bounded), at least a second.
  p.jobTimer = setTimeout(() => void loadDetail(p), Math.min(3_600_000, Math.max(1000, Math.min(...due))));
}

function componentRow(c: ComponentView): HTMLTableRowElement {
  return h(
    'tr',
    { class: c.drift ? 'alert' : undefined, 'data-component': c.name },
    h('th', { scope: 'row' }, c.name),
    h(
      'td',
      null,
      badge(c.observed),
      c.drift ? [' ', badge('drift', 'bad')] : null,
      c.driftFields.length ? h('p', { class: 'note' }, `differs from the deployed spec: ${c.driftFields.join(', ')}`) : null,
    ),
    h('td', null, c.desired),
    h('td', null, badge(c.health)),
    h('td', null, c.version || '-', c.release ? h('span', { class: 'muted' }, ` · release ${c.release}`) : null),
    h('td', null, c.observed === 'running' ? age(c.startedAt) : '-'),
    h('td', { class: 'mono' }, c.image),
    h('td', { class: 'mono' }, c.container),
  );
}

function releaseRow(r: ReleaseView): HTMLTableRowElement {
  return h(
    'tr',
    null,
    h('th', { scope: 'row' }, String(r.release)),
    h('td', null, r.component),
    h('td', { class: 'mono' }, r.image),
    h('td', { class: 'mono' }, r.digest ? r.digest.slice(0, 19) : '-'),
    h('td', null, r.deployedAt ? clock(r.deployedAt) : '-'),
    h('td', null, r.deployedBy || '-'),
    h('td', null, badge(r.outcome), r.rollbackOf ? h('span', { class: 'muted' }, ` (rollback to ${r.rollbackOf})`) : null, r.message ? h('p', { class: 'note' }, r.message) : null),
  );
}

function seconds(n: number): string {
  return n < 10 ? `${n.toFixed(1)} s` : `${Math.round(n)} s`;
}

function backupRow(b: BackupRunView): HTMLTableRowElement {
  return h(
    'tr',
    { class: b.ok ? undefined : 'alert' },
    h('th', { scope: 'row' }, b.time ? clock(b.time) : '-', h('span', { class: 'muted' }, ` · ${age(b.time)} ago`)),
    h('td', null, badge(b.ok ? 'succeeded' : 'failed'), b.message ? h('p', { class: 'note' }, b.message) : null),
    h('td', null, b.ok ? bytes(b.bytes) : '-'),
    h('td', null, b.ok ? String(b.files) : '-'),
    h('td', null, seconds(b.durationSeconds)),
    h('td', null, b.pausedSeconds ? seconds(b.pausedSeconds) : '-'),
    h('td', { class: 'mono' }, b.snapshotId || '-'),
  );
}

function jobRow(j: JobView): HTMLTableRowElement {
  const run = j.lastRun;
  const going = run?.result === 'running';
  return h(
    'tr',
    { class: run && ['failed', 'timed_out'].includes(run.result) ? 'alert' : undefined, 'data-job': j.name },
    h('th', { scope: 'row' }, j.name),
    h('td', { class: 'mono' }, j.schedule, h('span', { class: 'muted' }, ` ${j.tz}`)),
    h('td', { 'data-field': 'last-run' }, run ? [clock(run.startedAt), h('span', { class: 'muted' }, ` · ${run.trigger}`)] : 'never'),
    h(
      'td',
      { 'data-field': 'result' },
      run ? badge(run.result) : '-',
      run?.exitCode !== undefined && run.result !== 'succeeded' ? h('span', { class: 'muted' }, ` (exit ${run.exitCode})`) : null,
      run?.message && run.result !== 'succeeded' ? h('p', { class: 'note' }, run.message) : null,
    ),
    h('td', { 'data-field': 'duration' }, !run || run.result === 'skipped' ? '-' : going ? `${age(run.startedAt)} so far` : duration(run.durationMs)),
    h('td', { 'data-field': 'next-run' }, j.scheduled && j.nextRun ? clock(j.nextRun) : badge('unscheduled')),
  );
}

function jobRunRow(job: string, run: JobRunView): HTMLTableRowElement {
  const going = run.result === 'running';
  return h(
    'tr',
    { class: ['failed', 'timed_out'].includes(run.result) ? 'alert' : undefined, 'data-job-run': job },
    h('th', { scope: 'row' }, job),
    h('td', { 'data-field': 'started' }, clock(run.startedAt), h('span', { class: 'muted' }, ` · ${run.trigger}`)),
    h(
      'td',
      { 'data-field': 'result' },
      badge(run.result),
      run.exitCode !== undefined && run.result !== 'succeeded' ? h('span', { class: 'muted' }, ` (exit ${run.exitCode})`) : null,
      run.message && run.result !== 'succeeded' ? h('p', { class: 'note' }, run.message) : null,
    ),
    h('td', { 'data-field': 'duration' }, run.result === 'skipped' ? '-' : going ? `${age(run.startedAt)} so far` : duration(run.durationMs)),
  );
}

/** Runs of the page's jobs shown, newest first, across jobs. */
const JOB_RUN_ROWS = 20;

/** SPEC §12 history: the newest runs of every job of the service (the registry keeps 50 a job; `mcp jobs`/`mcp logs` have the rest). */
function jobRunsSection(jobs: JobView[]): HTMLElement {
  const runs = jobs
    .flatMap((j) => j.recentRuns.map((run) => ({ job: j.name, run })))
    .sort((a, b) => (a.run.startedAt < b.run.startedAt ? 1 : a.run.startedAt > b.run.startedAt ? -1 : 0))
    .slice(0, JOB_RUN_ROWS);
  return section('Job runs', table('Job runs', ['Job', 'Started', 'Result', 'Duration'], runs.map(({ job, run }) => jobRunRow(job, run)), 'No job has run yet.'));
}

/** The newest backup runs (SPEC §14): the first row is the last backup, failed or not. */
function backupsSection(p: ServicePage): HTMLElement {
  const runs = p.detail?.backups;
  return section(
    'Backups',
    runs
      ? table('Backups', ['Ended', 'Result', 'Size', 'Files', 'Took', 'Paused', 'Snapshot'], runs.slice(0, 5).map(backupRow), 'No backups recorded yet (mcp backup takes one; a [backup] schedule takes them on time).')
      : h('p', { class: 'muted' }, p.detailError ?? (p.detail ? "This node's agent does not back services up." : 'Loading…')),
  );
}

function servicePage(p: ServicePage): Child[] {
  const s = fleet?.services.find((x) => x.node === p.node && x.name === p.service);
  const head = [h('p', { class: 'crumbs' }, h('a', { href: '#/' }, 'Fleet'), ' / ', p.node, ' / '), h('h1', null, p.service)];
  if (!s) return [...head, h('p', { class: 'muted' }, fleet ? `No service "${p.service}" on node ${p.node}.` : 'Loading…')];
  const routes = s.components.flatMap((c) =>
    c.routes.map((r) =>
      h('tr', null, h('th', { scope: 'row' }, c.name), h('td', null, r.name || '-'), h('td', null, `:${r.port}`), h('td', null, r.mode), h('td', null, r.hostname || '-'), h('td', null, r.hostPort ? String(r.hostPort) : '-')),
    ),
  );
  const mine = events.filter((e) => e.node === p.node && e.service === p.service);
  return [
    ...head,
    h('p', { class: 'summary' }, badge(s.state), ' ', badge(s.active ? 'active' : 'inactive', s.active ? 'ok' : 'muted'), ' ', h('span', { class: 'muted' }, `on ${s.node}`)),
    section('Components', table('Components', ['Component', 'Observed', 'Desired', 'Health', 'Version', 'Uptime', 'Image', 'Container'], s.components.map(componentRow), 'No components.')),
    section('Routes', table('Routes', ['Component', 'Route', 'Listener', 'Mode', 'Hostname', 'Host port'], routes, 'No routes: nothing is registered with mc-proxy for this service.')),
    section(
      'Releases',
      p.detail?.releases
        ? table('Releases', ['Release', 'Component', 'Image', 'Digest', 'Deployed', 'By', 'Outcome'], p.detail.releases.map(releaseRow), 'No releases recorded yet.')
        : h('p', { class: 'muted' }, p.detailError ?? (p.detail ? "This node's agent does not record releases." : 'Loading…')),
    ),
    backupsSection(p),
    p.detail?.jobs?.length
      ? section('Jobs', table('Jobs', ['Job', 'Schedule', 'Last run', 'Result', 'Duration', 'Next run'], p.detail.jobs.map(jobRow), 'No jobs.'))
      : null,
    p.detail?.jobs?.length ? jobRunsSection(p.detail.jobs) : null,
    p.logs.el,
    section('Recent events', mine.length ? h('ol', { class: 'events' }, mine.slice(0, 30).map((e) => eventItem(e, false))) : h('p', { class: 'muted' }, 'No events.')),
  ];
}

// ---- routing and rendering -----------------------------------------------------------------

function route(): { name: 'overview' | 'events' | 'service'; node?: string; service?: string } {
  const parts = location.hash.replace(/^#\/?/, '').split('/');
  if (parts[0] === 'events') return { name: 'events' };
  if (parts[0] === 'service' && parts.length === 3) return { name: 'service', node: decodeURIComponent(parts[1]), service: decodeURIComponent(parts[2]) };
  return { name: 'overview' };
}

function render(): void {
  const r = route();
  // Keep keyboard focus across re-renders: the element with the same data-key gets it back.
  const focused = (document.activeElement as HTMLElement | null)?.getAttribute('data-key');
  let content: Child[];
  if (r.name === 'service') {
    if (!page || page.node !== r.node || page.service !== r.service) {
      page?.logs.close();
      clearTimeout(page?.jobTimer);
      const s = fleet?.services.find((x) => x.node === r.node && x.name === r.service);
      if (!s && !fleet) {
        main.replaceChildren(h('p', { class: 'muted' }, 'Loading the fleet…'));
        return;
      }
      page = { node: r.node!, service: r.service!, logs: new LogPanel(r.node!, r.service!, s ? s.components.map((c) => c.name) : []) };
      void loadDetail(page);
    }
    content = servicePage(page);
    document.title = `${r.service} · MCP`;
  } else {
    page?.logs.close();
    clearTimeout(page?.jobTimer);
    page = undefined;
    content = !fleet ? [h('p', { class: 'muted' }, 'Loading the fleet…')] : r.name === 'events' ? timeline() : overview(fleet);
    document.title = r.name === 'events' ? 'Events · MCP' : 'MCP fleet';
  }
  const scrolled = page?.logs.scrollState();
  const fragment = document.createDocumentFragment();
  append(fragment, content);
  main.replaceChildren(fragment);
  page?.logs.restoreScroll(scrolled);
  for (const a of document.querySelectorAll<HTMLAnchorElement>('nav a')) {
    if (a.dataset.nav === r.name) a.setAttribute('aria-current', 'page');
    else a.removeAttribute('aria-current');
  }
  if (focused) main.querySelector<HTMLElement>(`[data-key="${CSS.escape(focused)}"]`)?.focus();
}

function connect(): void {
  const stream = new EventSource('/api/stream');
  setConnection('connecting…', 'warn');
  stream.addEventListener('open', () => setConnection('live', 'ok'));
  stream.addEventListener('fleet', (e) => {
    fleet = JSON.parse((e as MessageEvent<string>).data) as FleetView;
    setConnection(`live · ${new Date(fleet.polledAt).toLocaleTimeString()}`, 'ok');
    if (route().name !== 'events') render();
  });
  stream.addEventListener('events', (e) => {
    const fresh = addEvents(JSON.parse((e as MessageEvent<string>).data) as EventView[]);
    if (!fresh.length) return;
    if (page && fresh.some((x) => x.node === page!.node && x.service === page!.service)) void loadDetail(page);
    else render();
  });
  stream.addEventListener('error', () => {
    if (stream.readyState === EventSource.CLOSED) setConnection('stopped: mcp ui ended or restarted — open the URL it prints', 'bad');
    else setConnection('reconnecting…', 'warn');
  });
}

window.addEventListener('hashchange', () => {
  render();
  // A new page: start at its top, and let screen readers and Tab start in it.
  window.scrollTo(0, 0);
  main.focus({ preventScroll: true });
});
connect();
render();
