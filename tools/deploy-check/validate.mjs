// Renders k8s/base and every overlay with render.mjs and validates each resource against the
// Kubernetes (kubernetes-models) and KEDA (@kubernetes-models/keda) schemas, offline.
// Prints one JSON report on stdout: { errors: string[], rendered: { [dir]: resource[] } }.
// Exit code 1 when there is any error. Used by tools/deploy-check/src/deploy.test.ts.
import { readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadYaml, render } from './render.mjs';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const K8S = path.join(ROOT, 'k8s');

const GROUP_MODULE = {
  v1: 'kubernetes-models/v1',
  'apps/v1': 'kubernetes-models/apps/v1',
  'policy/v1': 'kubernetes-models/policy/v1',
  'autoscaling/v2': 'kubernetes-models/autoscaling/v2',
  'networking.k8s.io/v1': 'kubernetes-models/networking.k8s.io/v1',
  'keda.sh/v1alpha1': '@kubernetes-models/keda/keda.sh/v1alpha1',
};

async function modelFor(resource) {
  const mod = GROUP_MODULE[resource.apiVersion];
  if (!mod) return null;
  const models = await import(mod);
  return models[resource.kind] ?? null;
}

async function validate(resource, where, errors) {
  const Model = await modelFor(resource);
  if (!Model) {
    errors.push(`${where}: no schema for ${resource.apiVersion} ${resource.kind}`);
    return;
  }
  try {
    new Model(resource).validate();
  } catch (err) {
    errors.push(`${where}: ${resource.kind}/${resource.metadata?.name}: ${err.message}`);
  }
}

function yamlFiles(dir) {
  const out = [];
  for (const name of readdirSync(dir)) {
    const p = path.join(dir, name);
    if (statSync(p).isDirectory()) out.push(...yamlFiles(p));
    else if (/\.ya?ml$/.test(name)) out.push(p);
  }
  return out;
}

const errors = [];
const rendered = {};
// Every file on its own: it parses, and every whole resource in it (not kustomizations, not
// partial patches) is valid — this covers secret.example.yaml, which no kustomization applies.
for (const file of yamlFiles(K8S)) {
  const rel = path.relative(ROOT, file);
  let docs;
  try {
    docs = loadYaml(file);
  } catch (err) {
    errors.push(`${rel}: ${err.message}`);
    continue;
  }
  if (rel.includes(`${path.sep}patches${path.sep}`) || path.basename(file) === 'kustomization.yaml') continue;
  for (const doc of docs) await validate(doc, rel, errors);
}
// Every kustomization as a cluster would receive it.
for (const dir of ['base', 'overlays/dev', 'overlays/prod']) {
  try {
    const resources = render(path.join(K8S, dir));
    rendered[dir] = resources;
    for (const r of resources) await validate(r, `k8s/${dir} (rendered)`, errors);
  } catch (err) {
    errors.push(`k8s/${dir}: ${err.message}`);
  }
}
process.stdout.write(JSON.stringify({ errors, rendered }));
process.exitCode = errors.length ? 1 : 0;
