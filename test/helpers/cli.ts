// The environment for CLI subprocesses in tests: plain text, as in a pipe. uvu sets
// FORCE_COLOR=1 in the test process (for its own output) and children inherit it,
// which would turn the CLI's colour on (src/cli/style.ts honours FORCE_COLOR).
const { FORCE_COLOR: _force, ...rest } = process.env;
export const PLAIN_ENV: NodeJS.ProcessEnv = { ...rest, NO_COLOR: "1" };
