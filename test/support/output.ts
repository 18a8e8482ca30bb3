/**
 * Captures what the code under test writes to stdout and stderr during each test of the calling file or
 * describe block (the functions write their JSON log lines there), and restores both streams after it.
 */
export function captureOutput(): { chunks: string[]; text: () => string; logLines: () => Record<string, unknown>[] } {
  const chunks: string[] = [];
  const writes = { stdout: process.stdout.write, stderr: process.stderr.write };
  beforeEach(() => {
    chunks.length = 0;
    const capture = (chunk: unknown) => (chunks.push(String(chunk)), true);
    process.stdout.write = capture as typeof process.stdout.write;
    process.stderr.write = capture as typeof process.stderr.write;
  });
  afterEach(() => {
    process.stdout.write = writes.stdout;
    process.stderr.write = writes.stderr;
  });
  return {
    chunks,
    text: () => chunks.join(''),
    /** The JSON lines written, parsed (other output left out). */
    logLines: () =>
      chunks
        .flatMap((chunk) => chunk.split('\n'))
        .filter((line) => line.startsWith('{'))
        .map((line) => JSON.parse(line) as Record<string, unknown>),
  };
}
