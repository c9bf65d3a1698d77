import { JsonLogger } from './json-logger';

describe(JsonLogger.name, () => {
  let lines: Array<Record<string, unknown>>;
  const make = (level: 'debug' | 'info' | 'warn' | 'error') => new JsonLogger(level, (line) => lines.push(JSON.parse(line) as Record<string, unknown>));
  beforeEach(() => (lines = []));

  describe('write', () => {
    it('should write one JSON object per line with time, level, msg and fields', () => {
      make('info').write('info', 'rpc', { method: 'Deploy', code: 'OK' });
      expect(lines).toEqual([{ time: expect.any(String), level: 'info', msg: 'rpc', method: 'Deploy', code: 'OK' }]);
    });

    it('should drop lines below the configured level', () => {
      const sut = make('warn');
      sut.write('info', 'chatty');
      sut.debug('debugging');
      sut.warn('careful');
      sut.error('broken');
      expect(lines.map((l) => l.level)).toEqual(['warn', 'error']);
    });
  });

  describe('Nest LoggerService', () => {
    it('should keep Nest’s context and stack as fields', () => {
      const sut = make('debug');
      sut.log('started', 'NestFactory');
      sut.error('failed', 'Error: x\n    at y', 'ExceptionsHandler');
      expect(lines).toEqual([
        expect.objectContaining({ level: 'info', msg: 'started', context: 'NestFactory' }),
        expect.objectContaining({ level: 'error', msg: 'failed', context: 'ExceptionsHandler', stack: 'Error: x\n    at y' }),
      ]);
    });

    it('should log an Error by its message and name', () => {
      make('info').error(new TypeError('bad thing'));
      expect(lines[0]).toMatchObject({ level: 'error', msg: 'bad thing', error: 'TypeError' });
    });
  });
});
