import { Command as Commander } from 'commander';
import { Command, CommandRunner, InjectCommander } from 'nest-commander';
import { UsageError } from '../errors';
import { Output } from '../output/output';

interface Tree {
  commands: string[];
  sub: Record<string, string[]>;
  options: Record<string, string[]>;
}

function describeTree(root: Commander): Tree {
  const tree: Tree = { commands: [], sub: {}, options: {} };
  for (const command of root.commands) {
    const name = command.name();
    tree.commands.push(name);
    tree.options[name] = command.options.map((o) => o.long ?? o.short ?? '').filter(Boolean);
    if (command.commands.length) tree.sub[name] = command.commands.map((c) => c.name());
  }
  return tree;
}

export function bashCompletion(tree: Tree): string {
  const cases = tree.commands
    .map((name) => {
      const words = [...(tree.sub[name] ?? []), ...tree.options[name], '--help'].join(' ');
      return `    ${name}) words="${words}" ;;`;
    })
    .join('\n');
  return `# mcp bash completion: eval "$(mcp completion bash)"
_mcp_complete() {
  local cur="\${COMP_WORDS[COMP_CWORD]}" words
  if [ "$COMP_CWORD" -eq 1 ]; then
    words="${tree.commands.join(' ')} --help --version --config --json --quiet --debug --no-color"
  else
    case "\${COMP_WORDS[1]}" in
${cases}
    *) words="" ;;
    esac
  fi
  COMPREPLY=( $(compgen -W "$words" -- "$cur") )
  if [ \${#COMPREPLY[@]} -eq 0 ]; then COMPREPLY=( $(compgen -f -- "$cur") ); fi
}
complete -o filenames -F _mcp_complete mcp
`;
}

export function zshCompletion(tree: Tree): string {
  const cases = tree.commands
    .map((name) => `    ${name}) compadd -- ${[...(tree.sub[name] ?? []), ...tree.options[name], '--help'].join(' ')}; _files ;;`)
    .join('\n');
  return `#compdef mcp
# mcp zsh completion: mcp completion zsh > "\${fpath[1]}/_mcp"
_mcp() {
  if (( CURRENT == 2 )); then
    compadd -- ${tree.commands.join(' ')}
    return
  fi
  case "\${words[2]}" in
${cases}
    *) _files ;;
  esac
}
compdef _mcp mcp
`;
}

@Command({ name: 'completion', arguments: '<shell>', argsDescription: { shell: 'bash or zsh' }, description: 'print a shell completion script' })
export class CompletionCommand extends CommandRunner {
  constructor(
    @InjectCommander() private readonly root: Commander,
    private readonly output: Output,
  ) {
    super();
  }

  async run([shell]: string[]): Promise<void> {
    const tree = describeTree(this.root);
    if (shell === 'bash') this.output.write('stdout', bashCompletion(tree));
    else if (shell === 'zsh') this.output.write('stdout', zshCompletion(tree));
    else throw new UsageError(`unsupported shell "${shell}": use bash or zsh`);
  }
}
