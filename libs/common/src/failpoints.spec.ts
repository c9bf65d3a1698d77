import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Failpoints, parseFailpoints } from './failpoints';

describe(Failpoints.name, () => {
  describe(parseFailpoints.name, () => {
    it('should arm nothing for an empty value', () => {
      expect(parseFailpoints('')).toEqual({ settings: [], issues: [] });
    });

    it('should read kill and pause actions', () => {
      const sut = parseFailpoints('deploy.after-pull=kill, deploy.after-new-running=pause:/tmp/go');

      expect(sut.issues).toEqual([]);
      expect(sut.settings).toEqual([
        { name: 'deploy.after-pull', action: { kind: 'kill' } },
        { name: 'deploy.after-new-running', action: { kind: 'pause', file: '/tmp/go' } },
      ]);
    });

    it('should report every bad entry', () => {
      const sut = parseFailpoints('Deploy=kill,deploy.x=explode,deploy.y=pause:relative,deploy.z,deploy.w=kill,deploy.w=kill');

      expect(sut.settings).toEqual([{ name: 'deploy.w', action: { kind: 'kill' } }]);
      expect(sut.issues.map((i) => `${i.path}: ${i.reason}`)).toEqual([
        'MCP_AGENT_FAILPOINTS[0]: "Deploy" is not a failpoint name (dotted lower-case words, like deploy.after-pull)',
        'MCP_AGENT_FAILPOINTS[1]: deploy.x: action must be "kill" or "pause:<absolute file>", not "explode"',
        'MCP_AGENT_FAILPOINTS[2]: deploy.y: action must be "kill" or "pause:<absolute file>", not "pause:relative"',
        'MCP_AGENT_FAILPOINTS[3]: deploy.z: action must be "kill" or "pause:<absolute file>", not ""',
        'MCP_AGENT_FAILPOINTS[5]: failpoint deploy.w is set twice',
      ]);
    });
  });

  describe('hit', () => {
    it('should return at once for a failpoint that is not armed', async () => {
      const sut = new Failpoints([{ name: 'deploy.after-pull', action: { kind: 'kill' } }]);

      await expect(sut.hit('deploy.after-old-removed')).resolves.toBeUndefined();
      expect(sut.names()).toEqual(['deploy.after-pull']);
    });

    it('should pause until its file appears', async () => {
      const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'i12-fp-')), 'go');
      const sut = new Failpoints([{ name: 'deploy.after-pull', action: { kind: 'pause', file } }]);
      let passed = false;

      const hit = sut.hit('deploy.after-pull').then(() => (passed = true));
      await new Promise((resolve) => setTimeout(resolve, 200));
      expect(passed).toBe(false);
      expect(fs.existsSync(`${file}.reached`)).toBe(true);
      fs.writeFileSync(file, '');
      await hit;

      expect(passed).toBe(true);
    });
  });
});
