/**
 * Imported first by every entry point: on an older Node.js the service would
 * start and then fail somewhere far from the cause (a dependency's syntax, a
 * missing API), so it stops here with the one thing to do.
 */
export const MINIMUM_NODE_MAJOR = 24;

export function nodeVersionProblem(version: string = process.versions.node): string | undefined {
  const major = Number(version.split('.')[0]);
  if (major >= MINIMUM_NODE_MAJOR) return undefined;
  return (
    `user-service needs Node.js ${MINIMUM_NODE_MAJOR} or newer, and this is Node.js v${version}: ` +
    `install Node.js ${MINIMUM_NODE_MAJOR} LTS (nvm install reads .nvmrc), or run the command through ` +
    `bash .ci/node.sh, which fetches it (for example: bash .ci/node.sh npm start)`
  );
}

const problem = nodeVersionProblem();
if (problem) {
  console.error(problem);
  process.exit(1);
}
