import { deploymentOrder } from './graph';
import { resolve, type Scope } from './intrinsics';
import { placeholderResource, type Deployed } from './physical-ids';
import { providerFor } from './providers';
import type { Services } from './providers/types';
import type { CfnTemplate } from './template';

export interface DeployResult {
  /** Resources created locally, by logical id. */
  resources: Map<string, Deployed>;
  /** Types present in the template that the runtime does not emulate (named once each). */
  notEmulated: string[];
  /** The template's Outputs, resolved (a value that cannot be resolved locally is left out). */
  outputs: Record<string, string>;
}

/** Every string of `value` with each API's execute-api URL replaced by its local base URL. */
function localize(value: unknown, urls: { from: string; to: string }[]): unknown {
  if (typeof value === 'string') return urls.reduce((s, u) => s.split(u.from).join(u.to), value);
  if (Array.isArray(value)) return value.map((v) => localize(v, urls));
  if (value && typeof value === 'object') return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, localize(v, urls)]));
  return value;
}

/**
 * Creates the template's resources in dependency order, each by its type's local provider, resolving
 * intrinsics against what is already created: the template alone decides what runs and how it is wired.
 */
export async function deploy(template: CfnTemplate, services: Omit<Services, 'deployed'>): Promise<DeployResult> {
  const { env } = services;
  const resources = new Map<string, Deployed>();
  const notEmulated = new Set<string>();
  const conditions = new Map<string, boolean>();
  const warned = new Set<string>();
  const emulated = new Set<string>();

  const pseudo: Record<string, unknown> = {
    'AWS::Region': env.region,
    'AWS::AccountId': env.account,
    'AWS::Partition': env.partition,
    'AWS::URLSuffix': env.urlSuffix,
    'AWS::StackName': env.stackName,
    'AWS::StackId': `arn:${env.partition}:cloudformation:${env.region}:${env.account}:stack/${env.stackName}/local`,
    'AWS::NotificationARNs': [],
  };
  const scope: Scope = {
    region: env.region,
    ref(name) {
      if (name in pseudo) return pseudo[name];
      const parameter = template.Parameters?.[name];
      if (parameter) {
        if (parameter.Default === undefined) throw new Error(`Parameter ${name} has no default value, and parameters cannot be given locally.`);
        return parameter.Default;
      }
      const r = resources.get(name);
      if (!r) throw new Error(`Ref ${name}: no such resource was created (unknown, or its Condition is false).`);
      return r.physicalId;
    },
    getAtt(id, attribute) {
      const r = resources.get(id);
      if (!r) throw new Error(`Fn::GetAtt ${id}.${attribute}: no such resource was created.`);
      if (attribute in r.attributes) return r.attributes[attribute];
      if (emulated.has(id)) throw new Error(`Fn::GetAtt ${id}.${attribute}: the local ${template.Resources[id].Type} has no attribute ${attribute}.`);
      // An attribute of a resource that only has a placeholder: a placeholder too, said once.
      if (!warned.has(`${id}.${attribute}`)) {
        warned.add(`${id}.${attribute}`);
        services.print(`deploy: ${id}.${attribute} (${template.Resources[id].Type}) stands in as a placeholder`);
      }
      return `${r.physicalId}/${attribute}`;
    },
    condition(name) {
      if (!conditions.has(name)) {
        const expr = template.Conditions?.[name];
        if (expr === undefined) throw new Error(`Condition ${name} is not defined in the template.`);
        conditions.set(name, resolve(expr, scope) === true);
      }
      return conditions.get(name)!;
    },
    findInMap(map, top, second) {
      const value = template.Mappings?.[map]?.[top]?.[second];
      if (value === undefined) throw new Error(`Fn::FindInMap ${map}.${top}.${second} is not in the template's Mappings.`);
      return value;
    },
  };
  const urls = () => services.apis.map((a) => ({ from: `https://${a.model.apiId}.execute-api.${env.region}.${env.urlSuffix}`, to: a.url }));
  const full: Services = { ...services, deployed: (id) => resources.get(id) };

  for (const logicalId of deploymentOrder(template)) {
    const resource = template.Resources[logicalId];
    if (resource.Condition && !scope.condition(resource.Condition)) continue;
    const provider = providerFor(resource.Type);
    if (!provider) {
      notEmulated.add(resource.Type);
      let props: Record<string, unknown> = {};
      try {
        props = resolve(resource.Properties ?? {}, scope) as Record<string, unknown>;
      } catch {
        // A resource that is not emulated may refer to anything; its names are made up then.
      }
      resources.set(logicalId, placeholderResource(env, logicalId, resource.Type, props));
      continue;
    }
    let props: Record<string, unknown>;
    try {
      props = localize(resolve(resource.Properties ?? {}, scope), urls()) as Record<string, unknown>;
    } catch (err) {
      throw new Error(`${logicalId} (${resource.Type}): ${(err as Error).message}`);
    }
    emulated.add(logicalId);
    resources.set(logicalId, await provider({ logicalId, resource, props, services: full }));
  }

  const outputs: Record<string, string> = {};
  for (const [name, output] of Object.entries(template.Outputs ?? {})) {
    if (output.Condition && !scope.condition(output.Condition)) continue;
    try {
      outputs[name] = String(localize(resolve(output.Value, scope), urls()));
    } catch {
      // An output built from something not emulated is not shown.
    }
  }
  return { resources, notEmulated: [...notEmulated].sort(), outputs };
}
