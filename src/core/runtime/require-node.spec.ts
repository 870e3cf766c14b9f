import { readFileSync } from 'node:fs';
import { join } from 'node:path';

import { MINIMUM_NODE_MAJOR, nodeVersionProblem } from './require-node.js';

const root = join(__dirname, '..', '..', '..');

describe('the Node.js the service requires', () => {
  it('is the one package.json, .nvmrc and the Dockerfile name', () => {
    const { engines } = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { engines: { node: string } };
    expect(engines.node).toBe(`>=${MINIMUM_NODE_MAJOR}`);
    const pinned = readFileSync(join(root, '.nvmrc'), 'utf8').trim();
    expect(pinned).toMatch(new RegExp(`^${MINIMUM_NODE_MAJOR}\\.\\d+\\.\\d+$`));
    expect(readFileSync(join(root, 'docker', 'Dockerfile'), 'utf8')).toContain(`ARG NODE_VERSION=${pinned}`);
  });

  it('names the version found and what to do on an older Node.js, and nothing on a newer one', () => {
    const problem = nodeVersionProblem('20.20.2');
    expect(problem).toContain(`needs Node.js ${MINIMUM_NODE_MAJOR} or newer, and this is Node.js v20.20.2`);
    expect(problem).toContain('bash .ci/node.sh npm start');
    expect(problem).not.toContain('\n');
    expect(nodeVersionProblem(`${MINIMUM_NODE_MAJOR}.0.0`)).toBeUndefined();
    expect(nodeVersionProblem('26.1.0')).toBeUndefined();
  });
});
