/**
 * Regenerate and check every certificate (docs/theory.md §Proofs):
 *   node --import tsx proofs/run.ts [--out DIR] [--extended]
 * the polynomial transfer rules into DIR, the closed-form Gaussian smoothings into DIR/closed-forms.
 * --extended adds the larger families of extendedFamilies() (about half a minute more).
 * Exits with status 1 if any certificate or cross-check fails.
 */
import { join, resolve } from 'node:path';
import { defaultFamilies, extendedFamilies, writeCertificates } from './certificates.ts';
import { writeClosedFormCertificates } from './closed-forms.ts';

function parseArgs(argv: readonly string[]): { out: string; extended: boolean } {
  let out = 'proofs/certificates';
  let extended = false;
  for (let k = 0; k < argv.length; k++) {
    const arg = argv[k];
    if (arg === '--out') {
      const value = argv[++k];
      if (!value) throw new Error('--out needs a directory');
      out = value;
    } else if (arg === '--extended') extended = true;
    else if (arg.startsWith('--out=')) out = arg.slice('--out='.length);
    else if (arg === '--help' || arg === '-h') {
      console.log('usage: node --import tsx proofs/run.ts [--out DIR] [--extended]   (default proofs/certificates)');
      process.exit(0);
    } else throw new Error(`unknown argument '${arg}' (usage: proofs/run.ts [--out DIR] [--extended])`);
  }
  return { out, extended };
}

try {
  const { out, extended } = parseArgs(process.argv.slice(2));
  const families = extended ? [...defaultFamilies(), ...extendedFamilies()] : defaultFamilies();
  const started = performance.now();
  const summary = writeCertificates(resolve(out), { families, log: (line) => console.log(line) });
  const failed = summary.outcomes.filter((o) => !o.certificate.ok).length + summary.checks.filter((c) => !c.check.ok).length;
  console.log(
    `${summary.outcomes.length} certificates, ${summary.checks.length} nerdamer cross-checks, ${failed} failed, ` +
      `${((performance.now() - started) / 1000).toFixed(1)} s; written to ${out}`,
  );
  const closedStarted = performance.now();
  const closed = writeClosedFormCertificates(join(resolve(out), 'closed-forms'), { log: (line) => console.log(line) });
  console.log(
    `${closed.certificates.length} closed-form certificates, ${closed.certificates.filter((c) => !c.ok).length} failed, ` +
      `${((performance.now() - closedStarted) / 1000).toFixed(1)} s; written to ${join(out, 'closed-forms')}`,
  );
  process.exitCode = summary.ok && closed.ok ? 0 : 1;
} catch (err) {
  console.error(err instanceof Error ? err.message : err);
  process.exitCode = 2;
}
