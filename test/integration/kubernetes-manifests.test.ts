/**
 * docs/deploy/kubernetes, rendered by `kubectl kustomize` (offline; scripts/ensure-system.sh
 * installs Debian's kubernetes-client where kubectl is missing) and checked against the image and
 * the gateway: the Deployment mounts the ConfigMap's config file at the path the image's
 * SWITCHYARD_CONFIG names and the contracts where the config's legacyContracts points, the probes
 * hit /readyz and /healthz on the port the config listens on, the grace period covers preStop plus
 * the config's drain window, and the rendered ConfigMaps pass the real `switchyard config check`.
 * No cluster: a few seconds.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, posix } from 'node:path';
import { after, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { configCommand } from '../../scripts/config-command.ts';
import { parseDockerfile } from '../helpers/dockerfile.ts';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const KUSTOMIZATION = join(ROOT, 'docs', 'deploy', 'kubernetes');

// biome-ignore lint/suspicious/noExplicitAny: rendered Kubernetes objects, checked field by field
type K8sObject = Record<string, any>;

/** Splits concatenated JSON documents (what `kubectl ... -o json` prints for several objects). */
function jsonDocuments(text: string): K8sObject[] {
  const docs: K8sObject[] = [];
  let depth = 0;
  let start = -1;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const ch = text[i];
    if (inString) {
      if (ch === '\\') i++;
      else if (ch === '"') inString = false;
    } else if (ch === '"') inString = true;
    else if (ch === '{') {
      if (depth++ === 0) start = i;
    } else if (ch === '}' && --depth === 0) docs.push(JSON.parse(text.slice(start, i + 1)));
  }
  return docs.flatMap((d) => (d.kind === 'List' ? d.items : [d]));
}

/**
 * `kubectl kustomize`, then the same YAML as JSON: `kubectl label --local` reads the rendered
 * file and prints it without a cluster (adding only the label it is given).
 */
function render(): { yaml: string; objects: K8sObject[] } {
  const yaml = execFileSync('kubectl', ['kustomize', KUSTOMIZATION], { encoding: 'utf8' });
  const dir = mkdtempSync(join(tmpdir(), 'switchyard-k8s-'));
  try {
    writeFileSync(join(dir, 'rendered.yaml'), yaml);
    const json = execFileSync(
      'kubectl',
      ['label', '--local', '-o', 'json', '-f', join(dir, 'rendered.yaml'), 'switchyard.test/rendered=yes'],
      { encoding: 'utf8' },
    );
    return { yaml, objects: jsonDocuments(json) };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** The image's environment (the final stage's ENV lines of docs/deploy/Dockerfile). */
function imageEnv(): Record<string, string> {
  const steps = parseDockerfile(readFileSync(join(ROOT, 'docs', 'deploy', 'Dockerfile'), 'utf8'));
  const lastFrom = steps.map((s) => s.op).lastIndexOf('FROM');
  const env: Record<string, string> = {};
  for (const s of steps.slice(lastFrom))
    if (s.op === 'ENV') for (const m of s.args.matchAll(/(\w+)=(\S*)/g)) env[m[1]!] = m[2]!;
  return env;
}

describe('docs/deploy/kubernetes, as kustomize renders it', () => {
  const { objects } = render();
  const one = (kind: string) => {
    const found = objects.filter((o) => o.kind === kind);
    assert.equal(found.length, 1, `one ${kind} rendered`);
    return found[0]!;
  };
  const deployment = one('Deployment');
  const pod = deployment.spec.template.spec;
  const container = pod.containers.find((c: K8sObject) => c.name === 'gateway');
  const volume = (name: string) => pod.volumes.find((v: K8sObject) => v.name === name);
  const mountOf = (configMapPrefix: string) => {
    const vol = pod.volumes.find((v: K8sObject) =>
      String(v.configMap?.name ?? '').startsWith(`${configMapPrefix}-`),
    );
    assert.ok(vol, `a volume from the generated ConfigMap ${configMapPrefix}`);
    const mount = container.volumeMounts.find((m: K8sObject) => m.name === vol.name);
    assert.ok(mount, `the gateway mounts ${vol.name}`);
    const map = objects.find((o) => o.kind === 'ConfigMap' && o.metadata.name === vol.configMap.name);
    assert.ok(map, `the ConfigMap ${vol.configMap.name} the volume names is rendered`);
    assert.equal(vol.configMap.items, undefined, 'every key of the ConfigMap is a file');
    return { mount, data: map.data as Record<string, string> };
  };
  const config = mountOf('switchyard-config');
  const contracts = mountOf('switchyard-contracts');
  const configPath = imageEnv().SWITCHYARD_CONFIG;
  const envConfig = container.env?.find((e: K8sObject) => e.name === 'SWITCHYARD_CONFIG')?.value;
  const settings = JSON.parse(config.data[posix.basename(configPath ?? '')] ?? 'null');
  const work = mkdtempSync(join(tmpdir(), 'switchyard-k8s-check-'));
  after(() => rmSync(work, { recursive: true, force: true }));

  test('the config file is mounted where the image (and the Deployment) look for it', () => {
    assert.ok(configPath, 'the image sets SWITCHYARD_CONFIG');
    assert.equal(envConfig ?? configPath, configPath, 'the Deployment names the same file');
    assert.equal(config.mount.mountPath, posix.dirname(configPath!));
    assert.ok(settings, `the ConfigMap holds ${posix.basename(configPath!)}`);
    assert.equal(config.mount.readOnly, true);
  });

  test("the contracts folder is mounted where the config's legacyContracts points", () => {
    const entries = settings.legacyContracts as string[];
    assert.ok(Array.isArray(entries) && entries.length > 0, 'the config names its contracts');
    for (const e of entries)
      assert.equal(posix.resolve(posix.dirname(configPath!), e), contracts.mount.mountPath, e);
    assert.ok(
      Object.keys(contracts.data).some((k) => k.endsWith('.mjs')),
      'a contract module',
    );
    assert.equal(contracts.mount.readOnly, true);
  });

  test('the probes hit /readyz and /healthz on the port the gateway listens on', () => {
    const port = (p: number | string) =>
      typeof p === 'number' ? p : container.ports.find((x: K8sObject) => x.name === p)?.containerPort;
    const listens = settings.port;
    assert.equal(typeof listens, 'number');
    assert.ok(container.ports.some((p: K8sObject) => p.containerPort === listens));
    assert.equal(container.readinessProbe.httpGet.path, '/readyz');
    assert.equal(port(container.readinessProbe.httpGet.port), listens);
    for (const probe of [container.livenessProbe, container.startupProbe]) {
      assert.equal(probe.httpGet.path, '/healthz');
      assert.equal(port(probe.httpGet.port), listens);
    }
  });

  test('terminationGracePeriodSeconds covers preStop and the drain window, with a margin', () => {
    const preStop = container.lifecycle.preStop;
    const pause =
      preStop.sleep?.seconds ??
      Number((preStop.exec?.command as string[] | undefined)?.join(' ').match(/sleep (\d+)/)?.[1]);
    assert.ok(Number.isFinite(pause), 'preStop sleeps');
    const drainS = (settings.shutdownDrainMs ?? 10_000) / 1000;
    const grace = pod.terminationGracePeriodSeconds;
    assert.ok(grace >= pause + drainS + 5, `grace ${grace} s < preStop ${pause} s + drain ${drainS} s + 5 s`);
    assert.equal(container.securityContext.runAsUser, 10001);
    assert.equal(container.securityContext.readOnlyRootFilesystem, true);
    assert.ok(volume('config') && volume('contracts'));
  });

  test('the rendered ConfigMaps pass `switchyard config check`, laid out as in the pod', async () => {
    const configFile = join(work, configPath!);
    mkdirSync(dirname(configFile), { recursive: true });
    writeFileSync(configFile, config.data[posix.basename(configPath!)]!);
    const contractsDir = join(work, contracts.mount.mountPath);
    mkdirSync(contractsDir, { recursive: true });
    for (const [name, text] of Object.entries(contracts.data)) writeFileSync(join(contractsDir, name), text);
    let out = '';
    let err = '';
    const code = await configCommand(
      ['check', configFile],
      {},
      (s) => {
        out += s;
      },
      (s) => {
        err += s;
      },
    );
    assert.equal(code, 0, err);
    assert.match(
      out,
      /: valid \(2 streams, 1 legacy routes, 1 contracts, source Kafka, 1 worker \(WORKERS\)\)/,
    );
  });
});
