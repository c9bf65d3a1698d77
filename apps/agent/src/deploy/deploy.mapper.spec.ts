import * as fs from 'node:fs';
import * as path from 'node:path';
import { InvalidServiceDefinitionError } from '@mcp/common';
import { makeTestConfig } from '../../../../test/support';
import type { AgentConfig } from '../config/agent-config';
import { DeployMapper } from './deploy.mapper';

describe(DeployMapper.name, () => {
  let sut: DeployMapper;
  let config: AgentConfig;

  beforeEach(() => {
    config = makeTestConfig();
    sut = new DeployMapper(config);
  });

  afterEach(() => fs.rmSync(path.dirname(config.file), { recursive: true, force: true }));

  describe('serviceSpec', () => {
    it('should report every problem of an invalid spec at once', () => {
      const attempt = () =>
        sut.serviceSpec({ name: 'Bad Name', active: true, components: [{ name: '', image: 'busybox', network: '', memory: '', cpus: 0, secrets: [], envSecrets: {}, dependsOn: [], user: '', restart: '', ports: [], volumes: [], cmd: [], env: [], routes: [] }] });
      expect(attempt).toThrow(InvalidServiceDefinitionError);
      try {
        attempt();
      } catch (err) {
        expect((err as InvalidServiceDefinitionError).issues.length).toBeGreaterThanOrEqual(3);
      }
    });
  });

  describe('serviceSpecs', () => {
    it('should report the problems of every service in a sync at once, prefixed with its index', () => {
      const good = { name: 'ok', active: true, components: [{ name: 'ok', image: 'localhost/x:1', network: '', memory: '', cpus: 0, secrets: [], envSecrets: {}, dependsOn: [], user: '', restart: '', ports: [], volumes: [], cmd: [], env: [], routes: [] }] };
      const bad = (name: string) => ({ ...good, name, components: [{ ...good.components[0], image: 'busybox' }] });
      try {
        sut.serviceSpecs([good, bad('b1'), bad('b2'), good]);
        throw new Error('expected a validation error');
      } catch (err) {
        const paths = (err as InvalidServiceDefinitionError).issues.map((i) => i.path);
        expect(paths.some((p) => p.startsWith('services[1].'))).toBe(true);
        expect(paths.some((p) => p.startsWith('services[2].'))).toBe(true);
        expect(paths).toContain('services[3].name');
      }
    });
  });

  describe('responses', () => {
    it('should join a failed deploy log tail into one newline-separated string and keep the result fields', () => {
      const response = sut.deployResponse({
        service: 'web',
        results: [{ component: 'api', ok: false, error: 'boom', container: 'web-api', release: 3, logTail: ['a', 'b'], changed: true, outcome: 'failed', strategy: 'stop-first' }],
      });
      expect(response).toEqual({ service: 'web', results: [{ component: 'api', ok: false, error: 'boom', container: 'web-api', release: 3, logTail: 'a\nb', changed: true }] });
    });

    it('should turn a rollback result into the deploy response plus the release rolled back to and its specs as proto', () => {
      const spec = { name: 'api', image: 'localhost/x:1', ports: [], volumes: [], cmd: [], env: [], routes: [] };
      const response = sut.rollbackResponse({ service: 'web', results: [], to: 2, specs: [spec] });
      expect(response.to).toBe(2);
      expect(response.specs?.map((s) => [s.name, s.image])).toEqual([['api', 'localhost/x:1']]);
    });

    it('should map absent optional request fields to absent domain fields', () => {
      expect(sut.rollbackInput({ service: 'web', component: '', to: 0 }, 'alice')).toEqual({ service: 'web', component: undefined, to: undefined, caller: 'alice' });
      expect(sut.releasesInput({ service: 'web', component: '' })).toEqual({ service: 'web', component: undefined });
    });
  });
});
