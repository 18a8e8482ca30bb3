/** What the resolver asks the deployment for: resources' ids and attributes, parameters, conditions. */
export interface Scope {
  /** `Ref`: a resource's physical id, a parameter's value or a pseudo parameter. */
  ref(name: string): unknown;
  /** `Fn::GetAtt`: an attribute of a deployed resource. */
  getAtt(logicalId: string, attribute: string): unknown;
  /** A named condition of the template's `Conditions`. */
  condition(name: string): boolean;
  /** `Fn::FindInMap`. */
  findInMap(map: string, top: string, second: string): unknown;
  region: string;
}

/** Thrown for an intrinsic the runtime cannot resolve; names it and where it is. */
export class IntrinsicError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'IntrinsicError';
  }
}

/** `Ref: AWS::NoValue` removes the property (or list item) it stands for. */
const NO_VALUE = Symbol('AWS::NoValue');

function isIntrinsic(value: unknown): value is Record<string, unknown> {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return false;
  const keys = Object.keys(value);
  return keys.length === 1 && (keys[0] === 'Ref' || keys[0] === 'Condition' || keys[0].startsWith('Fn::'));
}

function asString(value: unknown, where: string): string {
  if (typeof value === 'string') return value;
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  throw new IntrinsicError(`${where} needs a string, got ${JSON.stringify(value)}.`);
}

function asList(value: unknown, where: string): unknown[] {
  if (Array.isArray(value)) return value;
  throw new IntrinsicError(`${where} needs a list, got ${JSON.stringify(value)}.`);
}

/** `Fn::Sub`: `${Name}` is a variable, a Ref or (with a dot) a GetAtt; `${!Literal}` stays `${Literal}`. */
function sub(text: string, variables: Record<string, unknown>, scope: Scope): string {
  return text.replace(/\$\{([^}]*)\}/g, (_whole, name: string) => {
    if (name.startsWith('!')) return `\${${name.slice(1)}}`;
    const key = name.trim();
    if (key in variables) return asString(variables[key], `Fn::Sub variable \${${key}}`);
    const dot = key.indexOf('.');
    if (dot > 0 && !key.startsWith('AWS::')) return asString(scope.getAtt(key.slice(0, dot), key.slice(dot + 1)), `Fn::Sub \${${key}}`);
    return asString(scope.ref(key), `Fn::Sub \${${key}}`);
  });
}

function intrinsic(name: string, arg: unknown, scope: Scope): unknown {
  switch (name) {
    case 'Ref':
      return asString(arg, 'Ref') === 'AWS::NoValue' ? NO_VALUE : scope.ref(arg as string);
    case 'Fn::GetAtt': {
      const [id, attr] = typeof arg === 'string' ? [arg.slice(0, arg.indexOf('.')), arg.slice(arg.indexOf('.') + 1)] : asList(arg, 'Fn::GetAtt');
      return scope.getAtt(asString(id, 'Fn::GetAtt'), asString(resolve(attr, scope), 'Fn::GetAtt attribute'));
    }
    case 'Fn::Join': {
      const [delimiter, items] = asList(arg, 'Fn::Join');
      return asList(resolve(items, scope), 'Fn::Join').map((v) => asString(v, 'Fn::Join item')).join(asString(delimiter, 'Fn::Join delimiter'));
    }
    case 'Fn::Sub': {
      if (typeof arg === 'string') return sub(arg, {}, scope);
      const [text, vars] = asList(arg, 'Fn::Sub');
      return sub(asString(text, 'Fn::Sub'), (resolve(vars, scope) ?? {}) as Record<string, unknown>, scope);
    }
    case 'Fn::Select': {
      const [index, list] = asList(arg, 'Fn::Select');
      const items = asList(resolve(list, scope), 'Fn::Select');
      const i = Number(resolve(index, scope));
      if (!Number.isInteger(i) || i < 0 || i >= items.length) throw new IntrinsicError(`Fn::Select index ${String(index)} is outside a list of ${items.length}.`);
      return items[i];
    }
    case 'Fn::Split': {
      const [delimiter, text] = asList(arg, 'Fn::Split');
      return asString(resolve(text, scope), 'Fn::Split').split(asString(delimiter, 'Fn::Split delimiter'));
    }
    case 'Fn::If': {
      const [condition, whenTrue, whenFalse] = asList(arg, 'Fn::If');
      return resolve(scope.condition(asString(condition, 'Fn::If')) ? whenTrue : whenFalse, scope);
    }
    case 'Fn::Equals': {
      const [a, b] = asList(arg, 'Fn::Equals').map((v) => resolve(v, scope));
      return JSON.stringify(a) === JSON.stringify(b);
    }
    case 'Fn::And':
      return asList(arg, 'Fn::And').every((c) => resolve(c, scope) === true);
    case 'Fn::Or':
      return asList(arg, 'Fn::Or').some((c) => resolve(c, scope) === true);
    case 'Fn::Not':
      return resolve(asList(arg, 'Fn::Not')[0], scope) !== true;
    case 'Condition':
      return scope.condition(asString(arg, 'Condition'));
    case 'Fn::FindInMap': {
      const [map, top, second] = asList(resolve(arg, scope), 'Fn::FindInMap').map((v) => asString(v, 'Fn::FindInMap'));
      return scope.findInMap(map, top, second);
    }
    case 'Fn::Base64':
      return Buffer.from(asString(resolve(arg, scope), 'Fn::Base64')).toString('base64');
    case 'Fn::GetAZs':
      return ['a', 'b', 'c'].map((zone) => `${scope.region}${zone}`);
    case 'Fn::Length':
      return asList(resolve(arg, scope), 'Fn::Length').length;
    case 'Fn::ToJsonString':
      return JSON.stringify(resolve(arg, scope));
    default:
      throw new IntrinsicError(`${name} is not emulated locally.`);
  }
}

/** Resolves every intrinsic function in `value` (deeply), the way CloudFormation does at deploy time. */
export function resolve(value: unknown, scope: Scope): unknown {
  if (Array.isArray(value)) return value.map((v) => resolve(v, scope)).filter((v) => v !== NO_VALUE);
  if (value === null || typeof value !== 'object') return value;
  if (isIntrinsic(value)) {
    const [name, arg] = Object.entries(value)[0];
    return intrinsic(name, arg, scope);
  }
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) {
    const resolved = resolve(v, scope);
    if (resolved !== NO_VALUE) out[k] = resolved;
  }
  return out;
}

/** The logical ids `value` refers to (Ref, GetAtt, Fn::Sub names), for the deployment order. */
export function references(value: unknown, found = new Set<string>()): Set<string> {
  if (Array.isArray(value)) {
    for (const v of value) references(v, found);
  } else if (value !== null && typeof value === 'object') {
    for (const [k, v] of Object.entries(value)) {
      if (k === 'Ref' && typeof v === 'string') found.add(v);
      else if (k === 'Fn::GetAtt') found.add(typeof v === 'string' ? v.split('.')[0] : String((v as unknown[])[0]));
      else if (k === 'Fn::Sub') {
        const text = typeof v === 'string' ? v : (v as unknown[])[0];
        const vars = typeof v === 'string' ? {} : ((v as unknown[])[1] as Record<string, unknown>) ?? {};
        for (const m of String(text).matchAll(/\$\{([^!}][^}]*)\}/g)) if (!(m[1] in vars)) found.add(m[1].split('.')[0]);
        references(vars, found);
      } else references(v, found);
    }
  }
  return found;
}
