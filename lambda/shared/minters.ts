/**
 * Whether the IAM caller of POST /keys is one of the allowed minter roles. API Gateway reports an
 * assumed role as arn:aws:sts::<account>:assumed-role/<name>/<session>, while config lists
 * arn:aws:iam::<account>:role/<path/><name>: compare account and role name.
 * An empty list allows every caller IAM let through (the mint policy is then the only gate).
 */
export function isAllowedMinter(callerArn: string | undefined, allowedRoleArns: string[]): boolean {
  if (allowedRoleArns.length === 0) return true;
  if (!callerArn) return false;
  const caller = /^arn:aws[a-z-]*:sts::(\d{12}):assumed-role\/([^/]+)\/.+$/.exec(callerArn);
  const callerRole = /^arn:aws[a-z-]*:iam::(\d{12}):role\/(?:.*\/)?([^/]+)$/.exec(callerArn);
  const who = caller ?? callerRole;
  if (!who) return false;
  return allowedRoleArns.some((allowed) => {
    const m = /^arn:aws[a-z-]*:iam::(\d{12}):role\/(?:.*\/)?([^/]+)$/.exec(allowed.trim());
    return m !== null && m[1] === who[1] && m[2] === who[2];
  });
}
