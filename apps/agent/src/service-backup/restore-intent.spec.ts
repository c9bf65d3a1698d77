import { readRestoreIntent } from './restore-intent';

describe(readRestoreIntent.name, () => {
  const pair = { live: '/srv/notes', stagingRoot: '/srv/.notes.restore', staged: '/srv/.notes.restore/srv/notes', previous: '/srv/notes.pre-restore-1' };
  const written = { step: 'staged', snapshot: 'ab12cd34', pairs: [pair], containers: ['notes-web'] };

  it('should read back the record a restore wrote', () => {
    expect(readRestoreIntent({ ...written })).toEqual(written);
  });

  it.each([
    ['an unknown step', { ...written, step: 'extracting' }, 'step'],
    ['no snapshot', { ...written, snapshot: undefined }, 'snapshot'],
    ['a pair without its staging root', { ...written, pairs: [{ ...pair, stagingRoot: 7 }] }, 'pairs'],
    ['pairs that are no list', { ...written, pairs: pair }, 'pairs'],
    ['a container that is no name', { ...written, containers: ['notes-web', null] }, 'containers'],
  ])('should refuse %s, naming it', (_name, detail, member) => {
    expect(() => readRestoreIntent(detail)).toThrow(`unreadable restore record (${member})`);
  });

  it('should name every member it cannot read', () => {
    expect(() => readRestoreIntent({ kind: 'paused' })).toThrow('unreadable restore record (step, snapshot, pairs, containers)');
  });
});
