/**
 * cdk-nag (AwsSolutions) and AWS Control Tower's proactive controls (cfn-guard) on every stack variant that
 * adds or removes resources: zero unacknowledged findings, and each acknowledgement has a reason (they are
 * counted here; the reasons are in the code, next to what they excuse).
 */
import { compliance, synth } from './support/synth';

const IMPORTED = 'arn:aws:secretsmanager:us-east-1:123456789012:secret:portal-AbCdEf';

describe.each([
  ['native mode, forwarding off, retention 365, customer KMS key for logs', { authorizer: 'native', moesifForwarding: 'false', logRetentionDays: '365', logsKmsKeyArn: 'arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab' }],
  ['lambda mode, HS256 imported secret with rotation, minter roles, a backend URL, governance, an alarm topic', {
    authorizer: 'lambda',
    jwtAlgorithm: 'HS256',
    signingSecretArn: IMPORTED,
    keyRotationDays: '90',
    minterRoleArns: 'arn:aws:iam::123456789012:role/portal-backend',
    backendUrl: 'https://backend.example.com',
    moesifGovernance: 'fail-closed',
    alarmTopicArn: 'arn:aws:sns:us-east-1:123456789012:ops',
  }],
])('%s', (_name, context) => {
  it('has no unacknowledged cdk-nag or Control Tower finding', () => {
    const findings = compliance(synth(context, {}, { validate: true }));
    expect(findings.open).toEqual({ AwsSolutions: [], 'cdk-validator-cfnguard': [], 'CloudFormation Validate': [] });
    // Environment-agnostic: SourceAccount is a Ref the static confused-deputy rule cannot read (see below).
    expect(findings.acknowledgedRules['cdk-validator-cfnguard']).toContain('lambda_function_public_access_prohibited_check');
  });
});

describe('the Lambda permissions and the confused-deputy control (CT.LAMBDA.PR.2)', () => {
  const RULE = 'lambda_function_public_access_prohibited_check';
  it('passes on its own when the stack has an account: every service permission names SourceAccount', () => {
    const findings = compliance(synth({}, {}, { validate: true, stackEnv: { account: '123456789012', region: 'us-east-1' } }));
    expect(findings.open['cdk-validator-cfnguard']).toEqual([]);
    expect(findings.acknowledgedRules['cdk-validator-cfnguard']).not.toContain(RULE);
  });
});
