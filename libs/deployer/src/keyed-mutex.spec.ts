import { KeyedMutex } from './keyed-mutex';

const tick = () => new Promise((resolve) => setImmediate(resolve));

describe(KeyedMutex.name, () => {
  let sut: KeyedMutex;
  beforeEach(() => (sut = new KeyedMutex()));

  describe('run', () => {
    it('should run work for one key one at a time, in arrival order', async () => {
      const log: string[] = [];
      const job = (name: string) => async () => {
        log.push(`${name}:start`);
        await tick();
        await tick();
        log.push(`${name}:end`);
        return name;
      };
      const results = await Promise.all([sut.run('web', job('a')), sut.run('web', job('b')), sut.run('web', job('c'))]);
      expect(results).toEqual(['a', 'b', 'c']);
      expect(log).toEqual(['a:start', 'a:end', 'b:start', 'b:end', 'c:start', 'c:end']);
    });

    it('should run work for different keys concurrently', async () => {
      const log: string[] = [];
      const job = (name: string) => async () => {
        log.push(`${name}:start`);
        await tick();
        log.push(`${name}:end`);
      };
      await Promise.all([sut.run('web', job('web')), sut.run('db', job('db'))]);
      expect(log.slice(0, 2).sort()).toEqual(['db:start', 'web:start']);
    });

    it('should not let a failure block later work and should forget idle keys', async () => {
      await expect(sut.run('web', async () => Promise.reject(new Error('boom')))).rejects.toThrow('boom');
      await expect(sut.run('web', async () => 'ok')).resolves.toBe('ok');
      expect(sut.busyKeys).toEqual([]);
    });
  });
});
