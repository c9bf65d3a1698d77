import { DynamicModule, Module, Provider } from '@nestjs/common';
import { Clock, SystemClock } from '@mcp/common';
import { IdentityLogin } from './auth/identity-login';
import { MciasLogin } from './auth/mcias-login';
import { TokenStore } from './auth/token-store';
import { CliContext } from './cli-context';
import { AgentClientFactory } from './client/agent-client';
import { Agents } from './client/agents.service';
import { GrpcAgentClientFactory } from './client/grpc-agent-client';
import { ServiceLocator } from './commands/command-helpers';
import { CompletionCommand } from './commands/completion.command';
import { DeployCommand } from './commands/deploy.command';
import { EventsCommand } from './commands/events.command';
import { AdoptCommand, PurgeCommand, SyncCommand } from './commands/fleet.commands';
import { RestartCommand, StartCommand, StopCommand, UndeployCommand } from './commands/lifecycle.commands';
import { LoginCommand } from './commands/login.command';
import { NodeAddCommand, NodeCommand, NodeCordonCommand, NodeListCommand, NodeRemoveCommand, NodeStatusCommand, NodeUncordonCommand } from './commands/node.commands';
import { ImageCommand, ImagePushCommand } from './commands/image.commands';
import { ImportCommand, ImportComposeCommand } from './commands/import.commands';
import { SecretCommand, SecretListCommand, SecretRemoveCommand, SecretSetCommand } from './commands/secret.commands';
import { BackupCommand, BackupsCommand, RestoreCommand } from './commands/backup.commands';
import { ServiceCommand, ServiceEditCommand, ServiceExportCommand, ServiceShowCommand } from './commands/service.commands';
import { ListCommand, PsCommand, StatusCommand } from './commands/status.commands';
import { ReleasesCommand, RollbackCommand } from './commands/release.commands';
import { LogsCommand, PullCommand, PushCommand } from './commands/transfer.commands';
import { ExecCommand } from './commands/exec.command';
import { RunCommand } from './commands/run.command';
import { JobsCommand, JobsRunCommand } from './commands/jobs.commands';
import { UiCommand } from './commands/ui.command';
import { NodeUpgradeCommand, VersionCommand } from './commands/upgrade.commands';
import { MoveCommand, NodeDrainCommand } from './commands/move.commands';
import { ServiceMover } from './move/service-mover';
import { CliConfigService } from './config/cli-config.service';
import { DefinitionStore } from './definitions/definition-store';
import { ServicedefStore } from './definitions/servicedef-store';
import { Editor, SpawnEditor } from './edit/editor';
import { ImagePusher } from './images/image-pusher';
import { PodmanWorkstationImages, WorkstationImages } from './images/workstation-images';
import { Output } from './output/output';
import { Prompter, StdioPrompter } from './prompt/prompter';

export const COMMANDS = [
  LoginCommand,
  DeployCommand,
  ReleasesCommand,
  RollbackCommand,
  StopCommand,
  StartCommand,
  RestartCommand,
  UndeployCommand,
  ListCommand,
  PsCommand,
  StatusCommand,
  SyncCommand,
  AdoptCommand,
  PurgeCommand,
  ServiceCommand,
  ServiceShowCommand,
  ServiceEditCommand,
  ServiceExportCommand,
  SecretCommand,
  BackupCommand,
  BackupsCommand,
  RestoreCommand,
  SecretSetCommand,
  SecretListCommand,
  SecretRemoveCommand,
  ImportCommand,
  ImportComposeCommand,
  PushCommand,
  PullCommand,
  ImageCommand,
  ImagePushCommand,
  LogsCommand,
  ExecCommand,
  RunCommand,
  JobsCommand,
  JobsRunCommand,
  EventsCommand,
  NodeCommand,
  NodeListCommand,
  NodeAddCommand,
  NodeRemoveCommand,
  NodeStatusCommand,
  NodeCordonCommand,
  NodeUncordonCommand,
  NodeUpgradeCommand,
  NodeDrainCommand,
  MoveCommand,
  VersionCommand,
  UiCommand,
  CompletionCommand,
];

export interface CliModuleOptions {
  context: CliContext;
  /** Replacements for the ports (tests): any provider whose `provide` matches wins. */
  overrides?: Provider[];
}

/** The ports and their real adapters; each can be swapped through `overrides`. */
const PORTS: Provider[] = [
  { provide: AgentClientFactory, useClass: GrpcAgentClientFactory },
  { provide: IdentityLogin, useClass: MciasLogin },
  { provide: DefinitionStore, useClass: ServicedefStore },
  { provide: Prompter, useClass: StdioPrompter },
  { provide: Editor, useClass: SpawnEditor },
  { provide: WorkstationImages, useClass: PodmanWorkstationImages },
  { provide: Clock, useClass: SystemClock },
];

function tokenOf(provider: Provider): unknown {
  return typeof provider === 'function' ? provider : provider.provide;
}

@Module({})
export class CliModule {
  static register(options: CliModuleOptions): DynamicModule {
    const overrides = options.overrides ?? [];
    const overridden = new Set(overrides.map(tokenOf));
    return {
      module: CliModule,
      providers: [
        { provide: CliContext, useValue: options.context },
        ...PORTS.filter((p) => !overridden.has(tokenOf(p))),
        ...overrides,
        CliConfigService,
        Output,
        TokenStore,
        Agents,
        ServiceLocator,
        ImagePusher,
        ServiceMover,
        ...COMMANDS,
      ],
    };
  }
}
