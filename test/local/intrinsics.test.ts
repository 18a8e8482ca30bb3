import { resolve, type Scope } from '../../local/intrinsics';
import { deploymentOrder } from '../../local/graph';

const scope: Scope = {
  region: 'eu-west-1',
  ref: (name) => ({ 'AWS::Region': 'eu-west-1', 'AWS::URLSuffix': 'amazonaws.com', Api: 'abc123', Fn: 'my-fn' } as Record<string, string>)[name] ?? (() => { throw new Error(`no ${name}`); })(),
  getAtt: (id, attr) => `${id}:${attr}`,
  condition: (name) => name === 'IsProd',
  findInMap: (map, a, b) => `${map}/${a}/${b}`,
};

describe('resolve (CloudFormation intrinsics)', () => {
  it('joins the execute-api URL CDK builds for an HTTP API', () => {
    const value = { 'Fn::Join': ['', ['https://', { Ref: 'Api' }, '.execute-api.', { Ref: 'AWS::Region' }, '.', { Ref: 'AWS::URLSuffix' }, '/']] };
    expect(resolve(value, scope)).toBe('https://abc123.execute-api.eu-west-1.amazonaws.com/');
  });

  it('substitutes Fn::Sub names, attributes, variables and ${!Literal}', () => {
    expect(resolve({ 'Fn::Sub': ['${Api}-${Fn.Arn}-${X}-${!Keep}', { X: { Ref: 'Fn' } }] }, scope)).toBe('abc123-Fn:Arn-my-fn-${Keep}');
  });

  it('selects, splits, and picks by condition; AWS::NoValue removes the property', () => {
    expect(resolve({ 'Fn::Select': [1, { 'Fn::Split': [',', 'a,b,c'] }] }, scope)).toBe('b');
    expect(resolve({ A: { 'Fn::If': ['IsProd', 'p', 'd'] }, B: { 'Fn::If': ['IsDev', 'x', { Ref: 'AWS::NoValue' }] } }, scope)).toEqual({ A: 'p' });
    expect(resolve({ 'Fn::Equals': [{ Ref: 'Fn' }, 'my-fn'] }, scope)).toBe(true);
    expect(resolve({ 'Fn::FindInMap': ['M', 'k', 'v'] }, scope)).toBe('M/k/v');
  });

  it('names an intrinsic it does not emulate', () => {
    expect(() => resolve({ 'Fn::ImportValue': 'x' }, scope)).toThrow('Fn::ImportValue is not emulated locally.');
  });
});

describe('deploymentOrder', () => {
  it('puts each resource after what it refers to and what it DependsOn', () => {
    const order = deploymentOrder({
      Resources: {
        Route: { Type: 'T', Properties: { Target: { 'Fn::Join': ['', ['integrations/', { Ref: 'Integration' }]] } } },
        Integration: { Type: 'T', Properties: { Uri: { 'Fn::GetAtt': ['Fn', 'Arn'] } } },
        Fn: { Type: 'T', DependsOn: ['Key'], Properties: { Env: { 'Fn::Sub': '${Secret}' } } },
        Key: { Type: 'T' },
        Secret: { Type: 'T' },
      },
    });
    for (const [before, after] of [['Integration', 'Route'], ['Fn', 'Integration'], ['Key', 'Fn'], ['Secret', 'Fn']]) expect(order.indexOf(before)).toBeLessThan(order.indexOf(after));
  });

  it('names the resources of a cycle', () => {
    expect(() => deploymentOrder({ Resources: { A: { Type: 'T', Properties: { x: { Ref: 'B' } } }, B: { Type: 'T', Properties: { x: { Ref: 'A' } } } } })).toThrow('dependency cycle among A, B');
  });
});
