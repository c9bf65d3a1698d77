import { RuntimeUnavailableError } from '@mcp/common';
import { FakeClock } from '../../../test/fakes/fake-clock';
import { FakeRuntime } from '../../../test/fakes/fake-runtime';
import type { ContainerEventStream, ContainerSummary } from './container-runtime';
import { ContainerChange, LiveContainers } from './live-containers';

const IMAGE = 'localhost/mcp-test/busybox:1.0';

/** Polls the condition on the event loop (no timing asserted: the jest timeout bounds it). */
async function until(condition: () => boolean): Promise<void> {
  while (!condition()) await new Promise((resolve) => setTimeout(resolve, 5));
}

describe(LiveContainers.name, () => {
  let runtime: FakeRuntime;
  let sut: LiveContainers;
  let changes: ContainerChange[];

  beforeEach(() => {
    runtime = new FakeRuntime({ images: [IMAGE] });
    sut = new LiveContainers(runtime, { retryDelayMs: 1, maxRetryDelayMs: 5 });
    changes = [];
    sut.onChange((change) => changes.push(change));
  });

  afterEach(() => sut.stop());

  describe('current', () => {
    it('should list on every read while not following', async () => {
      runtime.seedContainer({ name: 'web', image: IMAGE });
      expect((await sut.current()).map((c) => c.name)).toEqual(['web']);
      await sut.current();
      expect(runtime.callsTo('list')).toHaveLength(2);
      expect(sut.live).toBe(false);
    });

    it('should answer from memory once following, with one listing taken when the stream opened', async () => {
      runtime.seedContainer({ name: 'web', image: IMAGE });
      sut.follow();
      await until(() => sut.live);
      runtime.clearCalls();
      expect((await sut.current()).map((c) => c.name)).toEqual(['web']);
      await sut.current();
      expect(runtime.calls).toEqual([]);
    });
  });

  describe('events', () => {
    beforeEach(async () => {
      runtime.seedContainer({ name: 'web', image: IMAGE });
      sut.follow();
      await until(() => sut.live);
      changes.length = 0;
    });

    it('should apply a death, a start and a removal as podman reports them, without listing', async () => {
      runtime.clearCalls();
      runtime.setState('web', 'exited', 137);
      await until(() => changes.length === 1);
      expect(changes[0]).toMatchObject({ name: 'web', source: 'event', before: { state: 'running' }, after: { state: 'exited', exitCode: 137 } });
      expect(sut.snapshot()[0]).toMatchObject({ state: 'exited' });

      await runtime.remove({ name: 'web' });
      await until(() => sut.snapshot().length === 0);
      expect(changes.at(-1)).toMatchObject({ name: 'web', before: { state: 'exited' } });
      expect(changes.at(-1)?.after).toBeUndefined();
      expect(runtime.callsTo('list')).toEqual([]);
    });

    it('should re-open an ended stream and reconcile what happened meanwhile', async () => {
      const opened = sut.streamsOpened;
      runtime.endEvents();
      runtime.eventsEnabled = false; // podman is down: nothing is reported
      runtime.setState('web', 'exited', 1);
      runtime.eventsEnabled = true;
      await until(() => sut.streamsOpened > opened && sut.live);
      await until(() => changes.length > 0);
      expect(changes[0]).toMatchObject({ name: 'web', source: 'reconcile', after: { state: 'exited' } });
      expect(runtime.openEventStreams).toBe(1);
    });

    it('should keep retrying while the stream cannot be opened', async () => {
      runtime.clearCalls();
      runtime.failNext('events', new RuntimeUnavailableError('podman down')).failNext('events', new RuntimeUnavailableError('podman down'));
      runtime.endEvents();
      await until(() => runtime.callsTo('events').length >= 3 && sut.live);
      runtime.setState('web', 'paused');
      await until(() => sut.snapshot()[0]?.state === 'paused');
    });
  });

  describe('reconcile', () => {
    it('should correct a change the stream missed, and report it as found by the listing', async () => {
      runtime.seedContainer({ name: 'web', image: IMAGE });
      sut.follow();
      await until(() => sut.live);
      changes.length = 0;
      runtime.eventsEnabled = false;
      runtime.setState('web', 'exited', 2);
      await runtime.remove({ name: 'web' });
      runtime.seedContainer({ name: 'api', image: IMAGE });
      runtime.eventsEnabled = true;

      const containers = await sut.reconcile();

      expect(containers.map((c) => c.name)).toEqual(['api']);
      expect(changes.map((c) => [c.name, c.source, c.after?.state])).toEqual([
        ['web', 'reconcile', undefined],
        ['api', 'reconcile', 'running'],
      ]);
    });

    it('should share one listing between concurrent callers', async () => {
      await Promise.all([sut.reconcile(), sut.reconcile(), sut.current()]);
      expect(runtime.callsTo('list')).toHaveLength(1);
    });
  });

  describe('late events', () => {
    /** podman as it is: events reach the agent a little late (held until released), and a listing can be held open. */
    class LateRuntime extends FakeRuntime {
      allowance = Number.POSITIVE_INFINITY;
      delivered = 0;
      listGate: Promise<void> | undefined;

      override async list(): Promise<ContainerSummary[]> {
        const listed = await super.list();
        await this.listGate;
        return listed;
      }

      override async events(): Promise<ContainerEventStream> {
        const inner = await super.events();
        let closed = false;
        /** Waits for the test to let one more event through; false once closed. */
        const take = async (): Promise<boolean> => {
          while (this.allowance <= 0 && !closed) await new Promise((resolve) => setTimeout(resolve, 2));
          if (closed) return false;
          this.allowance--;
          this.delivered++; // handed over: applied before the test's next poll sees the count
          return true;
        };
        async function* held() {
          for await (const event of inner) {
            if (!(await take())) return;
            yield event;
          }
        }
        const iterator = held();
        const close = () => {
          closed = true;
          inner.close();
        };
        return { close, [Symbol.asyncIterator]: () => iterator };
      }
    }

    it('should keep what a listing shows over an event that happened before the listing was asked for, delivered while it was on its way', async () => {
      const clock = new FakeClock();
      const late = new LateRuntime({ images: [IMAGE], clock });
      const live = new LiveContainers(late, { retryDelayMs: 1, maxRetryDelayMs: 5, now: () => clock.now() });
      try {
        live.follow();
        await until(() => live.live);
        late.allowance = 0;
        // A deploy: created, then started; podman's two events are still on their way.
        late.seedContainer({ name: 'web', image: IMAGE, state: 'created' });
        late.setState('web', 'created');
        late.setState('web', 'running');
        clock.advance(1000);

        // The agent's next read lists (its own change); the create event lands meanwhile.
        let open!: () => void;
        late.listGate = new Promise<void>((resolve) => (open = resolve));
        live.invalidate();
        const read = live.current();
        await until(() => late.callsTo('list').length >= 2);
        late.allowance = 1;
        await until(() => late.delivered >= 1);
        open();
        const seen = await read;

        expect(seen.find((c) => c.name === 'web')?.state).toBe('running');
        // The start event, older than the listing, changes nothing either.
        late.allowance = 1;
        await until(() => late.delivered >= 2);
        expect(live.snapshot().find((c) => c.name === 'web')?.state).toBe('running');
      } finally {
        await live.stop();
      }
    });

    it('should not answer a read after the agent\'s own write with a listing asked for before it, nor apply the write\'s late create', async () => {
      const clock = new FakeClock();
      const late = new LateRuntime({ images: [IMAGE], clock });
      const live = new LiveContainers(late, { retryDelayMs: 1, maxRetryDelayMs: 5, now: () => clock.now() });
      const seen: ContainerChange[] = [];
      live.onChange((change) => seen.push(change));
      try {
        live.follow();
        await until(() => live.live);
        late.allowance = 0;
        // A monitor tick's listing is on its way (held) when a deploy creates and starts web.
        let open!: () => void;
        late.listGate = new Promise<void>((resolve) => (open = resolve));
        const tick = live.reconcile();
        await until(() => late.callsTo('list').length >= 2);
        clock.advance(1000);
        late.seedContainer({ name: 'web', image: IMAGE, state: 'created' });
        late.setState('web', 'created');
        late.setState('web', 'running');
        clock.advance(10);
        live.invalidate(); // the write has returned

        const read = live.current();
        late.allowance = 2; // podman's create and start events arrive now, late
        await until(() => late.delivered >= 2);
        open();
        await tick;

        expect((await read).find((c) => c.name === 'web')?.state).toBe('running');
        expect(seen.filter((change) => change.name === 'web').map((change) => change.after?.state)).toEqual(['running']);
        expect(live.live).toBe(true);
      } finally {
        await live.stop();
      }
    });
  });
});
