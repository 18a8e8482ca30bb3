/**
 * An SQS error as the JSON 1.0 protocol reports it: HTTP status, `__type` (the shape id), and the
 * awsQuery code the SDK reads from `x-amzn-query-error` (SQS is awsQueryCompatible).
 */
export class SqsError extends Error {
  constructor(
    readonly status: number,
    readonly type: string,
    readonly queryCode: string,
    message: string,
  ) {
    super(message);
    this.name = 'SqsError';
  }
}

export const queueDoesNotExist = () => new SqsError(400, 'com.amazonaws.sqs#QueueDoesNotExist', 'AWS.SimpleQueueService.NonExistentQueue', 'The specified queue does not exist.');

export const invalidValue = (name: string, value: unknown, reason: string) =>
  new SqsError(400, 'com.amazonaws.sqs#InvalidParameterValueException', 'InvalidParameterValue', `Value ${JSON.stringify(value)} for parameter ${name} is invalid. Reason: ${reason}`);

export const missingParameter = (name: string) => new SqsError(400, 'com.amazonaws.sqs#MissingRequiredParameterException', 'MissingParameter', `The request must contain the parameter ${name}.`);

export const invalidReceipt = () => new SqsError(400, 'com.amazonaws.sqs#ReceiptHandleIsInvalid', 'ReceiptHandleIsInvalid', 'The input receipt handle is invalid.');

export const notInFlight = () => new SqsError(400, 'com.amazonaws.sqs#MessageNotInflight', 'AWS.SimpleQueueService.MessageNotInflight', 'The message referred to is not in flight.');

export const unsupported = (what: string) => new SqsError(400, 'com.amazonaws.sqs#UnsupportedOperation', 'AWS.SimpleQueueService.UnsupportedOperation', what);
