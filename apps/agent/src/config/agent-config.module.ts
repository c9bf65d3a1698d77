import { Module, type DynamicModule } from '@nestjs/common';
import { ConfigModule, registerAs } from '@nestjs/config';
import { AgentConfig } from './agent-config';

/** The namespace the agent's configuration is registered under: `ConfigService.get('agent')`. */
export const AGENT_CONFIG_NAMESPACE = 'agent';

/**
 * The agent's configuration in Nest's ConfigModule (global): one `registerAs` namespace
 * holding the validated `AgentConfig` that `loadAgentConfig` made from the TOML file and its
 * `MCP_AGENT_<SECTION>_<KEY>` overrides (class-validator classes, every problem at once).
 * Providers inject it typed, by the `AgentConfig` class (an alias of the namespace's token,
 * so unit tests still swap it with `{ provide: AgentConfig, useValue }`), or read it from
 * `ConfigService`. ConfigModule reads no `.env` file and no process environment of its own,
 * and writes nothing back into it: the loader is the one reader (ARCHITECTURE "Configuration").
 */
@Module({})
export class AgentConfigModule {
  static async forRoot(config: AgentConfig): Promise<DynamicModule> {
    const namespace = registerAs(AGENT_CONFIG_NAMESPACE, () => config);
    const configModule = await ConfigModule.forRoot({
      isGlobal: true,
      ignoreEnvFile: true,
      validatePredefined: false,
      skipProcessEnv: true,
      load: [namespace],
    });
    return {
      module: AgentConfigModule,
      global: true,
      imports: [configModule],
      providers: [{ provide: AgentConfig, useExisting: namespace.KEY }],
      exports: [AgentConfig],
    };
  }
}
