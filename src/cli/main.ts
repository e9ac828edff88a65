#!/usr/bin/env node
/**
 * The refsim command: `refsim [command] [options]`. The commands, their flags and
 * their help are listed once, in commands.ts (`refsim --help` prints them).
 * Exit status: 0 ok, 1 an expectation failed or violations found, 2 bad input,
 * 3 an internal error (a bug: please report it with the command line).
 */
import { RefsimError } from "../core/errors.ts";
import { dispatch } from "./commands.ts";
import { colourOn, paint } from "./style.ts";

dispatch(process.argv.slice(2)).then(
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
