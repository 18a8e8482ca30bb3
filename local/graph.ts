import { references } from './intrinsics';
import type { CfnTemplate } from './template';

/**
 * The order CloudFormation could create the resources in: each after what it refers to (Ref, GetAtt,
 * Sub) and what it DependsOn. Ties keep the template's order, so runs are repeatable.
 */
export function deploymentOrder(template: CfnTemplate): string[] {
  const ids = Object.keys(template.Resources);
  const known = new Set(ids);
  const deps = new Map<string, Set<string>>();
  for (const id of ids) {
    const r = template.Resources[id];
    const needs = references(r.Properties ?? {});
    for (const d of [r.DependsOn ?? []].flat()) needs.add(d);
    deps.set(id, new Set([...needs].filter((n) => known.has(n) && n !== id)));
  }
  const order: string[] = [];
  const done = new Set<string>();
  while (order.length < ids.length) {
    const next = ids.find((id) => !done.has(id) && [...deps.get(id)!].every((d) => done.has(d)));
    if (!next) {
      const stuck = ids.filter((id) => !done.has(id));
      throw new Error(`The template has a dependency cycle among ${stuck.join(', ')}.`);
    }
    order.push(next);
    done.add(next);
  }
  return order;
}
