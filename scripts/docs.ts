// npm run docs: write the README's command table from src/cli/commands.ts (the one
// list of commands), between the <!-- commands:begin --> and <!-- commands:end -->
// markers. test/cli.test.ts fails when the README and the list differ.
import { readFileSync, writeFileSync } from "node:fs";
import { commandsMarkdown } from "../src/cli/commands.ts";

export const BEGIN = "<!-- commands:begin (npm run docs writes this table from src/cli/commands.ts) -->";
export const END = "<!-- commands:end -->";

/** The README text with the command table replaced. */
export function withCommandTable(readme: string): string {
  const a = readme.indexOf(BEGIN);
  const b = readme.indexOf(END);
  if (a < 0 || b < a) throw new Error(`README.md has no ${BEGIN} ... ${END} block`);
  return `${readme.slice(0, a + BEGIN.length)}\n${commandsMarkdown()}\n${readme.slice(b)}`;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  writeFileSync("README.md", withCommandTable(readFileSync("README.md", "utf8")));
  console.log("README.md: command table written from src/cli/commands.ts");
}
