import { arn, generatedName, stableId, type Environment } from './names';

/** What a deployed resource answers to `Ref` and `Fn::GetAtt`. */
export interface Deployed {
  physicalId: string;
  attributes: Record<string, unknown>;
}

/**
 * Names and ARNs for a resource the runtime does not emulate, in each type's real shape, so that
 * templates referring to them (an IAM role's ARN, a topic's ARN) still resolve.
 */
export function placeholderResource(env: Environment, logicalId: string, type: string, props: Record<string, unknown>): Deployed {
  const name = (key: string, max = 64) => (typeof props[key] === 'string' ? (props[key] as string) : generatedName(env.stackName, logicalId, max));
  const [, service = 'unknown', kind = 'resource'] = type.split('::');
  const svc = service.toLowerCase();
  switch (type) {
    case 'AWS::IAM::Role': {
      const n = name('RoleName');
      return { physicalId: n, attributes: { Arn: arn(env, 'iam', `role/${n}`, ''), RoleId: `AROA${stableId(logicalId, 17).toUpperCase()}` } };
    }
    case 'AWS::IAM::ManagedPolicy': {
      const a = arn(env, 'iam', `policy/${name('ManagedPolicyName')}`, '');
      return { physicalId: a, attributes: { PolicyArn: a } };
    }
    case 'AWS::SNS::Topic': {
      const a = arn(env, 'sns', name('TopicName', 256));
      return { physicalId: a, attributes: { TopicArn: a, TopicName: a.split(':').pop() } };
    }
    case 'AWS::S3::Bucket': {
      const n = name('BucketName', 63).toLowerCase();
      return { physicalId: n, attributes: { Arn: `arn:${env.partition}:s3:::${n}`, DomainName: `${n}.s3.${env.urlSuffix}`, RegionalDomainName: `${n}.s3.${env.region}.${env.urlSuffix}` } };
    }
    default: {
      const n = generatedName(env.stackName, logicalId);
      return { physicalId: n, attributes: { Arn: arn(env, svc, `${kind.toLowerCase()}/${n}`) } };
    }
  }
}
