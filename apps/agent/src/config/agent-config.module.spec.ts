import { Injectable } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import { Test } from '@nestjs/testing';
import { makeTestConfig } from '../../../../test/support/test-config';
import { AgentConfig } from './agent-config';
import { AGENT_CONFIG_NAMESPACE, AgentConfigModule } from './agent-config.module';

@Injectable()
class NeedsConfig {
  constructor(readonly config: AgentConfig) {}
}

describe(AgentConfigModule.name, () => {
  it('should give every module the one validated config, typed by class and through ConfigService', async () => {
    const config = makeTestConfig({ dir: '/tmp/agent-config-module' });
    const before = { ...process.env };

    const moduleRef = await Test.createTestingModule({ imports: [AgentConfigModule.forRoot(config)], providers: [NeedsConfig] }).compile();

    expect(moduleRef.get(NeedsConfig).config).toBe(config);
    expect(moduleRef.get(AgentConfig)).toBe(config);
    expect(moduleRef.get(ConfigService).get<AgentConfig>(AGENT_CONFIG_NAMESPACE)).toBe(config);
    // It reads no process environment of its own and writes none back.
    expect(moduleRef.get(ConfigService).get('PATH')).toBeUndefined();
    expect(process.env).toEqual(before);
    await moduleRef.close();
  });
});
