/**
 * Prints one plain closing line ("jest: N passed, N failed[, N skipped]") that CI systems can read, and one
 * line naming the slowest test files (where `npm test`'s time goes; see bench/RESULTS.md).
 */
class SummaryReporter {
  onRunComplete(_contexts, results) {
    const skipped = results.numPendingTests + results.numTodoTests;
    const failed = results.numFailedTests + results.numRuntimeErrorTestSuites;
    process.stdout.write(`\njest: ${results.numPassedTests} passed, ${failed} failed${skipped ? `, ${skipped} skipped` : ''}\n`);
    const files = results.testResults
      .map((r) => ({ file: require('node:path').relative(process.cwd(), r.testFilePath), s: (r.perfStats.end - r.perfStats.start) / 1000 }))
      .sort((a, b) => b.s - a.s);
    const slowest = files.slice(0, 8);
    if (slowest.length > 1) {
      const sum = files.reduce((total, f) => total + f.s, 0);
      const wall = (Date.now() - results.startTime) / 1000;
      process.stdout.write(`slowest files: ${slowest.map((f) => `${f.file} ${f.s.toFixed(0)} s`).join(', ')}\n`);
      process.stdout.write(`${files.length} files, ${sum.toFixed(0)} s of file time in ${wall.toFixed(0)} s (the top 8: ${slowest.reduce((t, f) => t + f.s, 0).toFixed(0)} s)\n`);
    }
  }
}
module.exports = SummaryReporter;
