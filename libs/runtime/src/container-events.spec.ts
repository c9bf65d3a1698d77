import { applyContainerEvent, parseLibpodEvent, parsePodmanCliEvent, stateAfter } from './container-events';
import type { ContainerEvent, ContainerSummary } from './container-runtime';

const ID = 'bc37c6dd02036a76e6494b36fa570e6b512921939ce519607e7ecce9b0000000';

function event(action: string, extra: Partial<ContainerEvent> = {}): ContainerEvent {
  return { time: new Date('2026-11-30T00:00:05Z'), id: ID, name: 'web', image: 'localhost/app:1.0', action, labels: {}, ...extra };
}

const running: ContainerSummary = {
  id: ID,
  name: 'web',
  image: 'localhost/app:1.0',
  state: 'running',
  status: 'Up',
  command: ['httpd'],
  labels: { 'mcp.service': 'web' },
  ports: [{ hostIp: '127.0.0.1', hostPort: 18080, containerPort: 8080, protocol: 'tcp' }],
  startedAt: new Date('2026-11-30T00:00:00Z'),
};

describe('parseLibpodEvent', () => {
  it('should read a died event with its exit code, labels apart from libpod attributes, and nanosecond time', () => {
    const parsed = parseLibpodEvent({
      status: 'died',
      id: ID,
      from: 'localhost/app:1.0',
      Type: 'container',
      Action: 'died',
      Actor: { ID, Attributes: { a: 'b', containerExitCode: '137', image: 'localhost/app:1.0', name: 'web', podId: '' } },
      time: 1795997813,
      timeNano: 1795997813581002000,
    });
    expect(parsed).toEqual({ time: new Date(1795997813581), id: ID, name: 'web', image: 'localhost/app:1.0', action: 'died', exitCode: 137, labels: { a: 'b' } });
  });

  it('should skip events that are not about containers', () => {
    expect(parseLibpodEvent({ Type: 'image', Action: 'pull', Actor: { ID: '', Attributes: { name: 'x' } } })).toBeUndefined();
  });
});

describe('parsePodmanCliEvent', () => {
  it('should read the CLI shape, exit code only for died', () => {
    expect(parsePodmanCliEvent({ ContainerExitCode: 137, ID, Image: 'localhost/app:1.0', Name: 'web', Status: 'died', Time: '2026-11-30T00:16:37.420982038Z', Type: 'container', Attributes: {} })).toEqual({
      time: new Date('2026-11-30T00:16:37.420Z'),
      id: ID,
      name: 'web',
      image: 'localhost/app:1.0',
      action: 'died',
      exitCode: 137,
      labels: {},
    });
    expect(parsePodmanCliEvent({ ID, Name: 'web', Status: 'start', Type: 'container', Attributes: null })?.exitCode).toBeUndefined();
    expect(parsePodmanCliEvent({ Type: 'volume', Status: 'create' })).toBeUndefined();
  });
});

describe('stateAfter', () => {
  it.each([
    ['create', 'created'],
    ['start', 'running'],
    ['restart', 'running'],
    ['unpause', 'running'],
    ['died', 'exited'],
    ['stop', 'exited'],
    ['pause', 'paused'],
    ['kill', undefined],
    ['exec', undefined],
    ['cleanup', undefined],
  ])('should map %s to %s', (action, state) => {
    expect(stateAfter(action)).toBe(state);
  });
});

describe('applyContainerEvent', () => {
  it('should mark a running container exited with the exit code, keeping ports and command from the listing', () => {
    const after = applyContainerEvent(running, event('died', { exitCode: 137 }));
    expect(after).toMatchObject({ state: 'exited', exitCode: 137, ports: running.ports, command: ['httpd'], labels: { 'mcp.service': 'web' } });
  });

  it('should give null for remove and leave the summary alone for actions that change no state', () => {
    expect(applyContainerEvent(running, event('remove'))).toBeNull();
    expect(applyContainerEvent(running, event('kill'))).toBe(running);
    expect(applyContainerEvent(undefined, event('exec'))).toBeUndefined();
  });

  it('should create a summary for a container first seen in an event, and time its start', () => {
    const created = applyContainerEvent(undefined, event('create', { labels: { 'mcp.managed': 'true' } }));
    expect(created).toMatchObject({ id: ID, name: 'web', state: 'created', ports: [], labels: { 'mcp.managed': 'true' } });
    const started = applyContainerEvent(created!, event('start', { time: new Date('2026-11-30T00:01:00Z') }));
    expect(started).toMatchObject({ state: 'running', startedAt: new Date('2026-11-30T00:01:00Z') });
  });

  it('should keep the start time of a container that was already running', () => {
    expect(applyContainerEvent(running, event('restart'))?.startedAt).toEqual(running.startedAt);
  });

  it('should ignore replayed history: a second create, or anything older than the current run', () => {
    expect(applyContainerEvent(running, event('create'))).toBe(running);
    expect(applyContainerEvent(running, event('died', { time: new Date('2026-11-29T23:59:59Z'), exitCode: 1 }))).toBe(running);
  });

  it('should follow a rename', () => {
    expect(applyContainerEvent(running, event('rename', { name: 'web-next' }))).toMatchObject({ name: 'web-next', state: 'running' });
  });
});
