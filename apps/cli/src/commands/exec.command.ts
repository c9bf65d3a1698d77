import { Command, CommandRunner, Option } from 'nest-commander';
import { CliContext } from '../cli-context';
import { Agents } from '../client/agents.service';
import { ServiceLocator } from './command-helpers';
import { type ExecOptions, runExec } from './exec-run';

@Command({
  name: 'exec',
  arguments: '<target> <cmd...>',
  argsDescription: { target: 'SERVICE/COMPONENT (or SERVICE with one component)', cmd: 'the command and its arguments, after --' },
  description: "run a command in a component's running container; its exit status becomes mcp's",
})
export class ExecCommand extends CommandRunner {
  constructor(
    private readonly agents: Agents,
    private readonly locator: ServiceLocator,
    private readonly context: CliContext,
  ) {
    super();
  }

  run([targetText, ...cmd]: string[], options: ExecOptions = {}): Promise<void> {
    return runExec({ agents: this.agents, nodeFor: (service, explicit) => this.locator.nodeFor(service, explicit), context: this.context }, targetText, cmd, options);
  }

  @Option({ flags: '-i, --interactive', description: 'pass stdin to the command (default when stdin and stdout are terminals)' })
  parseInteractive(): boolean {
    return true;
  }

  @Option({ flags: '-t, --tty', description: "give the command a terminal, sized like yours and resized with it (default when stdin and stdout are terminals); Ctrl-C then goes to the command" })
  parseTty(): boolean {
    return true;
  }

  @Option({ flags: '--user <user>', description: "run as this user (name or uid[:gid]) instead of the container's" })
  parseUser(value: string): string {
    return value;
  }

  @Option({ flags: '--workdir <dir>', description: 'run in this directory inside the container' })
  parseWorkdir(value: string): string {
    return value;
  }

  @Option({ flags: '--node <name>', description: 'the node (default: from the definition file)' })
  parseNode(value: string): string {
    return value;
  }
}
