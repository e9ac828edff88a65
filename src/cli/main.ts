#!/usr/bin/env node
/**
 * The refsim command: `refsim [command] [options]`. The commands, their flags and
 * their help are listed once, in commands.ts (`refsim --help` prints them).
 * Exit status: 0 ok, 1 an expectation failed or violations found, 2 bad input,
 * 3 an internal error (a bug: please report it with the command line).
 */
import { RefsimError } from "../core/errors.ts";
import { REFSIM_VERSION } from "../experiment/meta.ts";
import { COMMANDS, commandHelp, findCommand, parseCommand, usage } from "./commands.ts";
import { colourOn, paint } from "./style.ts";

async function main(argv: string[]): Promise<number> {
  // The command comes first; with none (or a flag first) it is the default job.
  const name = argv[0] !== undefined && !argv[0].startsWith("-") ? argv[0] : "";
  if (argv[0] === "--version" || argv[0] === "-V") {
    console.log(`refsim ${REFSIM_VERSION}`);
    return 0;
  }
  if (name === "" && (argv.includes("--help") || argv.includes("-h"))) {
    console.log(usage());
    return 0;
  }
  const command = name === "" ? COMMANDS[0] : findCommand(name);
  const rest = name === "" ? argv : argv.slice(1);
  if (command.ownParser) {
    if (rest.includes("--help") || rest.includes("-h")) return (console.log(commandHelp(command)), 0);
    return command.run(rest, {});
  }
  const { values, positionals } = parseCommand(command, rest);
  if (values.help) {
    console.log(commandHelp(command));
    return 0;
  }
  delete values.help;
  return command.run(positionals, values);
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (e) => {
    const colour = colourOn(process.stderr);
    if (e instanceof RefsimError) {
      console.error(`${paint("refsim:", "red", colour)} ${e.message}`);
      process.exit(2);
    }
    console.error(e);
    console.error("refsim: internal error (exit 3): please report it with the command line that caused it");
    process.exit(3);
  },
);
