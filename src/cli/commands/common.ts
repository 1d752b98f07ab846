import { Command } from 'commander';

/** A command with the flags every command takes: `-conf FILE` and `-json`. */
export function keyportCommand(name: string, description: string): Command {
  return new Command(name)
    .description(description)
    .option('--conf <file>', 'JSON config file (same as KEYPORT_CONF)')
    .option('--json', 'print exactly one JSON object on stdout');
}
