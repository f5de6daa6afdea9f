// A small, offline kustomize: enough of it to render k8s/overlays/* the way `kubectl apply -k`
// would, so the tests can validate what a cluster would really receive (no kubectl, no network).
// Supported: resources (files, directories), components, namespace, labels, images,
// secretGenerator/configMapGenerator literals, generatorOptions, patches (strategic merge from a
// file, or JSON 6902 inline with a target). Anything else in a kustomization is an error here,
// so a feature this renderer does not know can never be silently ignored.
import { readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { parseAllDocuments } from 'yaml';

const KNOWN_KEYS = new Set([
  'apiVersion', 'kind', 'resources', 'components', 'namespace', 'labels', 'images',
  'secretGenerator', 'configMapGenerator', 'generatorOptions', 'patches',
]);
const CLUSTER_SCOPED = new Set(['Namespace', 'ClusterRole', 'ClusterRoleBinding', 'PersistentVolume', 'StorageClass']);

/** Every YAML document of a file (empty documents skipped), parsed with merge keys. */
export function loadYaml(file) {
  const docs = parseAllDocuments(readFileSync(file, 'utf8'), { merge: true });
  const out = [];
  for (const doc of docs) {
    if (doc.errors.length) throw new Error(`${file}: ${doc.errors.map((e) => e.message).join('; ')}`);
    const value = doc.toJS({ maxAliasCount: 1000 });
    if (value !== null && value !== undefined) out.push(value);
  }
  return out;
}

function kustomizationIn(dir) {
  const file = path.join(dir, 'kustomization.yaml');
  const [k] = loadYaml(file);
  for (const key of Object.keys(k)) if (!KNOWN_KEYS.has(key)) throw new Error(`${file}: unsupported field ${key}`);
  return k;
}

const clone = (v) => JSON.parse(JSON.stringify(v));

/** Strategic merge (the subset manifests use): maps merge, lists of named maps merge by name, null deletes. */
export function strategicMerge(target, patch) {
  if (Array.isArray(patch)) {
    if (!Array.isArray(target) || !patch.every((p) => p && typeof p === 'object' && 'name' in p)) return clone(patch);
    const out = target.map(clone);
    for (const item of patch) {
      const at = out.findIndex((t) => t && t.name === item.name);
      if (at >= 0) out[at] = strategicMerge(out[at], item);
      else out.push(clone(item));
    }
    return out;
  }
  if (patch && typeof patch === 'object') {
    const out = target && typeof target === 'object' && !Array.isArray(target) ? clone(target) : {};
    for (const [key, value] of Object.entries(patch)) {
      if (key === '$patch') continue;
      if (value === null) delete out[key];
      else out[key] = strategicMerge(out[key], value);
    }
    return out;
  }
  return patch;
}

function pointer(pathStr) {
  return pathStr.split('/').slice(1).map((s) => s.replace(/~1/g, '/').replace(/~0/g, '~'));
}

/** JSON 6902: add, replace, remove. */
export function jsonPatch(doc, ops) {
  const out = clone(doc);
  for (const op of ops) {
    const parts = pointer(op.path);
    const last = parts.pop();
    let parent = out;
    for (const p of parts) {
      if (parent[p] === undefined) throw new Error(`json patch: ${op.path} does not exist`);
      parent = parent[p];
    }
    if (op.op === 'add' || op.op === 'replace') {
      if (op.op === 'replace' && parent[last] === undefined) throw new Error(`json patch: replace of missing ${op.path}`);
      if (Array.isArray(parent) && last === '-') parent.push(op.value);
      else parent[last] = op.value;
    } else if (op.op === 'remove') {
      if (Array.isArray(parent)) parent.splice(Number(last), 1);
      else delete parent[last];
    } else throw new Error(`json patch: unsupported op ${op.op}`);
  }
  return out;
}

function generated(kind, gen, options) {
  const data = {};
  for (const lit of gen.literals ?? []) {
    const at = lit.indexOf('=');
    data[lit.slice(0, at)] = lit.slice(at + 1);
  }
  if (!options?.disableNameSuffixHash) throw new Error('generators need generatorOptions.disableNameSuffixHash here');
  return kind === 'Secret'
    ? { apiVersion: 'v1', kind: 'Secret', metadata: { name: gen.name }, type: gen.type ?? 'Opaque', stringData: data }
    : { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: gen.name }, data };
}

function matches(resource, target) {
  return (!target.kind || resource.kind === target.kind) && (!target.name || resource.metadata?.name === target.name);
}

function eachContainer(resource, fn) {
  const spec = resource.spec?.template?.spec;
  for (const list of [spec?.containers, spec?.initContainers]) for (const c of list ?? []) fn(c);
}

/** Render a kustomization directory (overlay, base or component) to a list of resources. */
export function render(dir) {
  const k = kustomizationIn(dir);
  let resources = [];
  for (const entry of k.resources ?? []) {
    const p = path.resolve(dir, entry);
    if (statSync(p).isDirectory()) resources.push(...render(p));
    else resources.push(...loadYaml(p));
  }
  for (const gen of k.secretGenerator ?? []) resources.push(generated('Secret', gen, k.generatorOptions));
  for (const gen of k.configMapGenerator ?? []) resources.push(generated('ConfigMap', gen, k.generatorOptions));
  for (const entry of k.components ?? []) {
    const compDir = path.resolve(dir, entry);
    const comp = kustomizationIn(compDir);
    if (comp.kind !== 'Component') throw new Error(`${compDir}: not a Component`);
    resources.push(...render(compDir));
  }
  for (const patch of k.patches ?? []) {
    if (patch.path) {
      for (const doc of loadYaml(path.resolve(dir, patch.path))) {
        const at = resources.findIndex((r) => r.kind === doc.kind && r.metadata?.name === doc.metadata?.name);
        if (at < 0) throw new Error(`${dir}: patch ${patch.path} targets missing ${doc.kind}/${doc.metadata?.name}`);
        resources[at] = strategicMerge(resources[at], doc);
      }
    } else if (patch.patch && patch.target) {
      const ops = parseAllDocuments(patch.patch)[0].toJS();
      const hit = resources.filter((r) => matches(r, patch.target));
      if (hit.length === 0) throw new Error(`${dir}: inline patch matches nothing (${JSON.stringify(patch.target)})`);
      resources = resources.map((r) => (matches(r, patch.target) ? jsonPatch(r, ops) : r));
    } else throw new Error(`${dir}: unsupported patch ${JSON.stringify(patch)}`);
  }
  for (const label of k.labels ?? []) {
    for (const r of resources) {
      r.metadata = { ...r.metadata, labels: { ...(r.metadata?.labels ?? {}), ...label.pairs } };
      if (label.includeSelectors) throw new Error('labels.includeSelectors is not supported here');
    }
  }
  for (const image of k.images ?? []) {
    for (const r of resources) {
      eachContainer(r, (c) => {
        const [name, tag] = [c.image.replace(/[:@].*$/, ''), c.image.includes(':') ? c.image.split(':').pop() : undefined];
        if (name !== image.name && name !== image.newName) return;
        const base = image.name === name ? image.newName ?? name : name;
        c.image = `${base}:${image.newTag ?? tag ?? 'latest'}`;
      });
    }
  }
  if (k.namespace) {
    for (const r of resources) {
      if (CLUSTER_SCOPED.has(r.kind)) continue;
      r.metadata = { ...r.metadata, namespace: k.namespace };
    }
  }
  return resources;
}
