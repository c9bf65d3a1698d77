import { StringDecoder } from 'node:string_decoder';
import { Clock } from '@mcp/common';
import { AgentClient } from '../client/agent-client';
import { failureLabel } from '../fleet-outcome';
import type { NodeConfig } from '../config/cli-config';
import { AgentCallError, describeError } from '../errors';
import { NodePoll, backupRunView, buildFleetView, byTimeDesc, eventKey, eventView, jobView, releaseView } from './fleet-view';
import type { EventView, FleetUpdate, FleetView, LogLine, ServiceDetail } from './view-types';

export type { FleetUpdate, LogLine, ServiceDetail };

export interface LogsInput {
  node: string;
  service: string;
  component: string;
  tail: number;
}

/** What the dashboard's HTTP server reads; FleetWatcher is the real one, tests bring their own. */
export interface FleetSource {
  current(): FleetView | undefined;
  recentEvents(): EventView[];
  /** Starts polling while anyone listens; the returned function stops listening. */
  subscribe(listener: (update: FleetUpdate) => void): () => void;
  /** Polls now (or joins the poll under way). */
  refresh(): Promise<FleetView>;
  serviceDetail(node: string, service: string): Promise<ServiceDetail>;
  logs(input: LogsInput, signal: AbortSignal): AsyncIterable<LogLine>;
}

export interface FleetWatcherOptions {
  nodes: NodeConfig[];
  /** Makes the long-lived client of one node (the operator's token, the node's TLS name). */
  connect: (node: NodeConfig) => Promise<AgentClient>;
  clock: Clock;
  intervalMs: number;
  /** Events kept for the timeline. */
  keepEvents?: number;
}

const EVENTS_PER_POLL = 50;
/** Runs per job the service page shows (SPEC §12: the registry keeps 50). */
export const JOB_HISTORY = 10;

/**
 * Reads the fleet for the dashboard: every node's agent, in parallel, once per interval
 * while a page is open — NodeStatus, ListServices (routes, images), GetServiceStatus (live
 * observed state, drift and recent events from one podman listing) and LiveCheck (uptime,
 * unmanaged containers). One client per node is kept open for the whole session, so a poll
 * costs four RPCs on an open channel, not a TLS handshake. Polls never overlap. Besides, each
 * node's Events stream is followed: new events reach the page at once and trigger a poll.
 */
export class FleetWatcher implements FleetSource {
  private readonly clients = new Map<string, Promise<AgentClient>>();
  private readonly listeners = new Set<(update: FleetUpdate) => void>();
  private readonly seenEvents = new Set<string>();
  /** Per node, the open Events stream (while anyone listens). */
  private readonly followers = new Map<string, AbortController>();
  /** Nodes whose agent predates the Events RPC: their events come from the polls only. */
  private readonly withoutEventsRpc = new Set<string>();
  private soon?: NodeJS.Timeout;
  private events: EventView[] = [];
  private view?: FleetView;
  private polling?: Promise<FleetView>;
  private timer?: NodeJS.Timeout;
  private lastJson = '';
  private stopped = false;

  constructor(private readonly options: FleetWatcherOptions) {}

  current(): FleetView | undefined {
    return this.view;
  }

  recentEvents(): EventView[] {
    return this.events;
  }

  subscribe(listener: (update: FleetUpdate) => void): () => void {
    this.listeners.add(listener);
    if (this.listeners.size === 1) this.schedule(0);
    return () => {
      this.listeners.delete(listener);
      if (this.listeners.size === 0) this.idle();
    };
  }

  refresh(): Promise<FleetView> {
    this.polling ??= this.pollOnce().finally(() => (this.polling = undefined));
    return this.polling;
  }

  async serviceDetail(node: string, service: string): Promise<ServiceDetail> {
    const client = await this.client(node);
    // An agent from before releases (backups, jobs) answers UNIMPLEMENTED: the page says it has none.
    const unimplemented = (error: unknown): undefined => {
      if (error instanceof AgentCallError && error.code === 'UNIMPLEMENTED') return undefined;
      throw error;
    };
    const [status, releases, backups, jobs] = await Promise.all([
      client.call('getServiceStatus', { service, eventLimit: EVENTS_PER_POLL }),
      client.call('listReleases', { service, component: '' }).then((answer) => answer.releases.map(releaseView), unimplemented),
      // The agent's record of the backup runs only (restic is not asked); none before backups.
      client.call('listBackups', { service, runsOnly: true }).then((answer) => answer.runs.map(backupRunView), unimplemented),
      // SPEC §12: each job's newest runs and next time (no run output: that needs `job` set).
      client.call('listJobs', { service, job: '', recent: JOB_HISTORY }).then((answer) => answer.jobs.filter((j) => j.service === service).map(jobView), unimplemented),
    ]);
    return { node, service, events: status.events.map((e) => eventView(node, e)), releases, backups, jobs };
  }

  async *logs(input: LogsInput, signal: AbortSignal): AsyncIterable<LogLine> {
    const client = await this.client(input.node);
    const decoders = new Map<string, { decoder: StringDecoder; partial: string }>();
    const stream = client.stream('logs', { service: input.service, component: input.component, follow: true, tail: input.tail, since: '', timestamps: false }, { signal });
    for await (const message of stream) {
      const name = message.stream || 'stdout';
      let state = decoders.get(name);
      if (!state) decoders.set(name, (state = { decoder: new StringDecoder('utf8'), partial: '' }));
      const text = state.partial + state.decoder.write(Buffer.from(message.data));
      const lines = text.split('\n');
      state.partial = lines.pop() ?? '';
      for (const line of lines) yield { stream: name, text: line.replace(/\r$/, '') };
    }
    for (const [name, state] of decoders) {
      const rest = state.partial + state.decoder.end();
      if (rest) yield { stream: name, text: rest };
    }
  }

  /** Closes every client; pending and future polls end. */
  stop(): void {
    this.stopped = true;
    this.idle();
    this.listeners.clear();
    for (const client of this.clients.values()) void client.then((c) => c.close()).catch(() => undefined);
    this.clients.clear();
  }

  private client(name: string): Promise<AgentClient> {
    let client = this.clients.get(name);
    if (!client) {
      const node = this.options.nodes.find((n) => n.name === name);
      if (!node) return Promise.reject(new Error(`no node named "${name}" in the CLI config`));
      client = this.options.connect(node);
      client.catch(() => this.clients.delete(name));
      this.clients.set(name, client);
    }
    return client;
  }

  /** Nobody listens: no timer, no streams. */
  private idle(): void {
    clearTimeout(this.timer);
    clearTimeout(this.soon);
    this.soon = undefined;
    for (const follower of this.followers.values()) follower.abort();
    this.followers.clear();
  }

  /**
   * Follows one node's Events stream: each event reaches the timeline at once and triggers a
   * poll, so a container killed by hand turns red within the agent's own detection time
   * rather than at the next interval. A stream that ends or fails is re-opened by the next
   * poll that reaches the node; an agent without the RPC is left to the polls.
   */
  private followEvents(node: string): void {
    if (this.followers.has(node) || this.withoutEventsRpc.has(node) || this.listeners.size === 0) return;
    const abort = new AbortController();
    this.followers.set(node, abort);
    void (async () => {
      try {
        const client = await this.client(node);
        for await (const message of client.stream('events', { service: '', follow: true, limit: EVENTS_PER_POLL, since: undefined }, { signal: abort.signal })) {
          if (!message.event) continue;
          if (this.addEvents([eventView(node, message.event)])) this.refreshSoon();
        }
      } catch (error) {
        if (error instanceof AgentCallError && error.code === 'UNIMPLEMENTED') this.withoutEventsRpc.add(node);
      } finally {
        if (this.followers.get(node) === abort) this.followers.delete(node);
      }
    })();
  }

  /** One poll shortly after (events come in bursts: a kill is a state change and a drift). */
  private refreshSoon(): void {
    if (this.soon || this.stopped) return;
    this.soon = setTimeout(() => {
      this.soon = undefined;
      void (this.polling ?? Promise.resolve())
        .catch(() => undefined)
        .then(() => this.refresh())
        .catch(() => undefined);
    }, 100);
    this.soon.unref();
  }

  private schedule(delayMs: number): void {
    clearTimeout(this.timer);
    if (this.stopped || this.listeners.size === 0) return;
    this.timer = setTimeout(() => {
      void this.refresh()
        .catch(() => undefined)
        .finally(() => this.schedule(this.options.intervalMs));
    }, delayMs);
  }

  private async pollNode(node: NodeConfig): Promise<NodePoll> {
    const ref = { name: node.name, address: node.address };
    try {
      const client = await this.client(node.name);
      const [status, services, live, containers] = await Promise.all([
        client.call('nodeStatus', {}),
        client.call('listServices', {}),
        client.call('getServiceStatus', { service: '', eventLimit: EVENTS_PER_POLL }),
        client.call('liveCheck', {}),
      ]);
      return { node: ref, ok: true, status, services, live, containers };
    } catch (error) {
      return { node: ref, ok: false, state: failureLabel(error) as Exclude<NodePoll, { ok: true }>['state'], error: describeError(error) };
    }
  }

  private async pollOnce(): Promise<FleetView> {
    const polls = await Promise.all(this.options.nodes.map((node) => this.pollNode(node)));
    const view = buildFleetView(polls, this.options.clock.now(), this.view);
    this.view = view;
    this.addEvents(polls.flatMap((poll) => (poll.ok ? poll.live.events.map((e) => eventView(poll.node.name, e)) : [])));
    for (const poll of polls) if (poll.ok) this.followEvents(poll.node.name);
    // Only a change is news: the page re-renders on every message.
    const json = JSON.stringify({ ...view, polledAt: '' });
    if (json !== this.lastJson) {
      this.lastJson = json;
      this.emit({ type: 'fleet', fleet: view });
    }
    return view;
  }

  /** Adds the events not seen before (polls and streams overlap); says whether any was new. */
  private addEvents(candidates: EventView[]): boolean {
    const fresh: EventView[] = [];
    for (const event of candidates) {
      const key = eventKey(event);
      if (this.seenEvents.has(key)) continue;
      this.seenEvents.add(key);
      fresh.push(event);
    }
    if (fresh.length === 0) return false;
    const keep = this.options.keepEvents ?? 500;
    this.events = [...fresh, ...this.events].sort(byTimeDesc).slice(0, keep);
    if (this.seenEvents.size > keep * 4) {
      this.seenEvents.clear();
      for (const e of this.events) this.seenEvents.add(eventKey(e));
    }
    this.emit({ type: 'events', events: fresh.sort(byTimeDesc) });
    return true;
  }

  private emit(update: FleetUpdate): void {
    for (const listener of this.listeners) listener(update);
  }
}
