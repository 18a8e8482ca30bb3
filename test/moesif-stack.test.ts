import { Match } from 'aws-cdk-lib/assertions';
import { synth, type Synthesized } from './support/synth';

type Resource = { Type: string; Properties: Record<string, any>; DependsOn?: string[] };

let forwarding: Synthesized;
beforeAll(() => {
  forwarding = synth({ authorizer: 'lambda', moesifGovernance: 'fail-open' });
});

function idsOf(s: Synthesized, type: string): string[] {
  return Object.keys(s.template.findResources(type));
}

describe('MoesifForwarding', () => {
  it('subscribes the forwarder to the access-log group, every line', () => {
    const [stage] = Object.values(forwarding.template.findResources('AWS::ApiGatewayV2::Stage')) as Resource[];
    const accessLogGroup = stage.Properties.AccessLogSettings.DestinationArn['Fn::GetAtt'][0];
    forwarding.template.hasResourceProperties('AWS::Logs::SubscriptionFilter', {
      LogGroupName: { Ref: accessLogGroup },
      FilterPattern: '',
      DestinationArn: { 'Fn::GetAtt': [Match.stringLikeRegexp('^MoesifForwardingFunction'), 'Arn'] },
    });
    forwarding.template.hasResourceProperties('AWS::Lambda::Permission', {
      Action: 'lambda:InvokeFunction',
      Principal: 'logs.amazonaws.com',
      SourceArn: { 'Fn::GetAtt': [accessLogGroup, 'Arn'] },
    });
  });

  it('reads the Moesif Application Id from a secret and the base URL from config', () => {
    const [secretId] = idsOf(forwarding, 'AWS::SecretsManager::Secret').filter((id) => id.startsWith('MoesifApplicationId'));
    forwarding.template.hasResourceProperties('AWS::Lambda::Function', {
      Description: Match.stringLikeRegexp('Forwards HTTP API access logs to Moesif'),
      Timeout: 60,
      Environment: { Variables: { MOESIF_APPLICATION_ID_SECRET_ARN: { Ref: secretId }, MOESIF_BASE_URL: 'https://api.moesif.net' } },
    });
    forwarding.template.hasResourceProperties('AWS::SecretsManager::Secret', {
      GenerateSecretString: { SecretStringTemplate: '{"applicationId":""}', GenerateStringKey: 'placeholder', ExcludePunctuation: true },
    });
  });

  it('retries failed invocations, then keeps the payload in an encrypted DLQ', () => {
    const [dlq] = idsOf(forwarding, 'AWS::SQS::Queue').filter((id) => id.startsWith('MoesifForwardingDeadLetterQueue'));
    forwarding.template.hasResourceProperties('AWS::SQS::Queue', { SqsManagedSseEnabled: true, MessageRetentionPeriod: 14 * 86400 });
    forwarding.template.hasResourceProperties('AWS::SQS::QueuePolicy', {
      PolicyDocument: { Statement: Match.arrayWith([Match.objectLike({ Effect: 'Deny', Condition: { Bool: { 'aws:SecureTransport': 'false' } } })]) },
    });
    forwarding.template.hasResourceProperties('AWS::Lambda::EventInvokeConfig', {
      MaximumRetryAttempts: 2,
      MaximumEventAgeInSeconds: 6 * 3600,
      DestinationConfig: { OnFailure: { Destination: { 'Fn::GetAtt': [dlq, 'Arn'] } } },
    });
  });

  it('alarms as soon as one batch waits in the DLQ', () => {
    const [dlq] = idsOf(forwarding, 'AWS::SQS::Queue').filter((id) => id.startsWith('MoesifForwardingDeadLetterQueue'));
    forwarding.template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      MetricName: 'ApproximateNumberOfMessagesVisible',
      Namespace: 'AWS/SQS',
      Dimensions: [{ Name: 'QueueName', Value: { 'Fn::GetAtt': [dlq, 'QueueName'] } }],
      Threshold: 1,
      ComparisonOperator: 'GreaterThanOrEqualToThreshold',
      TreatMissingData: 'notBreaching',
    });
  });

  it('alarms when a failed batch cannot even reach the DLQ', () => {
    forwarding.template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      MetricName: 'DestinationDeliveryFailures',
      Namespace: 'AWS/Lambda',
      Dimensions: [{ Name: 'FunctionName', Value: { Ref: Match.stringLikeRegexp('^MoesifForwardingFunction') } }],
      Threshold: 1,
    });
    // Skipped lines are an embedded metric of the forwarder (EventsSkipped, test/metrics.test.ts), not a filter.
    forwarding.template.resourceCountIs('AWS::Logs::MetricFilter', 0);
  });

  it('grants the forwarder only what it needs: read the Moesif secret, send to its DLQ', () => {
    const policies = forwarding.template.findResources('AWS::IAM::Policy') as Record<string, Resource>;
    const [, policy] = Object.entries(policies).find(([id]) => id.startsWith('MoesifForwardingFunctionRole'))!;
    const actions = policy.Properties.PolicyDocument.Statement.flatMap((s: { Action: string | string[] }) => [s.Action].flat()).sort();
    expect(actions).toEqual(['secretsmanager:DescribeSecret', 'secretsmanager:GetSecretValue', 'sqs:GetQueueAttributes', 'sqs:GetQueueUrl', 'sqs:SendMessage']);
  });

  it('gives the authorizer the governance settings and read access to the Moesif secret', () => {
    const [secretId] = idsOf(forwarding, 'AWS::SecretsManager::Secret').filter((id) => id.startsWith('MoesifApplicationId'));
    forwarding.template.hasResourceProperties('AWS::Lambda::Function', {
      Description: Match.stringLikeRegexp('Verifies JWT'),
      Environment: { Variables: Match.objectLike({ MOESIF_GOVERNANCE: 'fail-open', MOESIF_APPLICATION_ID_SECRET_ARN: { Ref: secretId }, MOESIF_BASE_URL: 'https://api.moesif.net' }) },
    });
    const policies = forwarding.template.findResources('AWS::IAM::Policy') as Record<string, Resource>;
    const [, policy] = Object.entries(policies).find(([id]) => id.startsWith('AuthorizerFunctionRole'))!;
    expect(JSON.stringify(policy.Properties.PolicyDocument)).toContain(secretId);
  });

  it('passes AwsSolutions checks', () => {
    expect(() => forwarding.app.synth()).not.toThrow();
  });

  it('can be switched off, and then creates no Moesif resources', () => {
    const off = synth({ moesifForwarding: 'false' });
    off.template.resourceCountIs('AWS::Logs::SubscriptionFilter', 0);
    expect(idsOf(off, 'AWS::SQS::Queue').filter((id) => id.startsWith('MoesifForwarding'))).toEqual([]);
    expect(idsOf(off, 'AWS::SecretsManager::Secret').filter((id) => id.startsWith('Moesif'))).toEqual([]);
  });

  it('notifies the SNS topic from every alarm when alarmTopicArn is set', () => {
    const topic = 'arn:aws:sns:us-east-1:123456789012:ops-alerts';
    const s = synth({ alarmTopicArn: topic });
    const alarms = Object.values(s.template.findResources('AWS::CloudWatch::Alarm')) as Resource[];
    // The forwarder's two, the cache bump's DLQ, the authorizer's errors and its refusals.
    expect(alarms).toHaveLength(5);
    for (const alarm of alarms) expect(alarm.Properties.AlarmActions).toEqual([topic]);
    expect(() => s.app.synth()).not.toThrow();
  });

  it('uses an existing Moesif secret and base URL when configured', () => {
    const arn = 'arn:aws:secretsmanager:us-east-1:123456789012:secret:moesif-app-id-AbCdEf';
    const s = synth({ moesifApplicationIdSecretArn: arn, moesifBaseUrl: 'https://eu.moesif.example/' });
    s.template.hasResourceProperties('AWS::Lambda::Function', {
      Description: Match.stringLikeRegexp('Forwards HTTP API access logs'),
      Environment: { Variables: { MOESIF_APPLICATION_ID_SECRET_ARN: arn, MOESIF_BASE_URL: 'https://eu.moesif.example' } },
    });
  });
});
