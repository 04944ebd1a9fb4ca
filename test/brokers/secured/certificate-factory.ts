/**
 * Throwaway X.509 material for TLS tests, made with the `openssl` command at set-up: a CA, and
 * leaf certificates it signs — for a broker (Kafka PEM keystore: `ssl.keystore.type=PEM`, one
 * file holding the unencrypted PKCS#8 key and the certificate chain) or for a client (mutual
 * TLS, with an optionally encrypted PKCS#8 key for `ssl.key.password`).
 *
 * Leaves are issued with `openssl ca`, not `openssl x509 -req`, because only `ca` takes an
 * explicit validity window (`-startdate`/`-enddate`; OpenSSL 3.0's `x509` has only `-days`,
 * counted from now), and an expired certificate is one of the cases under test.
 *
 * Keys are EC P-256: generating one takes about a millisecond (an RSA-2048 key takes tens to
 * hundreds of ms on a loaded 2-core machine), and the Kafka broker (`DefaultSslEngineFactory`
 * PEM keystores try RSA, DSA and EC), Node and librdkafka all accept them.
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { runCommand } from '../tracked-process.js';

/** A certificate authority: its certificate signs leaves and is what clients trust. */
export interface CertificateAuthority {
  readonly name: string;
  /** The CA certificate (PEM file): `ssl.ca.location` / Kafka's PEM truststore. */
  readonly certFile: string;
  readonly certPem: string;
  readonly keyFile: string;
  /** The `openssl ca` working directory (database, serial, config). */
  readonly dir: string;
}

/** A leaf certificate and its key, in every form the tests hand out. */
export interface IssuedCertificate {
  readonly name: string;
  /** The leaf certificate alone (PEM file). */
  readonly certFile: string;
  readonly certPem: string;
  /** Unencrypted PKCS#8 private key (PEM file, `-----BEGIN PRIVATE KEY-----`). */
  readonly keyFile: string;
  readonly keyPem: string;
  /** Key, leaf and CA certificate in one file: a Kafka PEM keystore (`ssl.keystore.location` with `ssl.keystore.type=PEM`). */
  readonly keystoreFile: string;
  /** The key as encrypted PKCS#8 (`-----BEGIN ENCRYPTED PRIVATE KEY-----`), when `keyPassword` was given. */
  readonly encryptedKeyFile: string | null;
}

/** What a leaf certificate says. */
export interface LeafOptions {
  /** File-name stem and subject CN. */
  readonly name: string;
  /** subjectAltName entries, e.g. `['IP:127.0.0.1', 'DNS:localhost']`. */
  readonly altNames: readonly string[];
  /** Validity start, e.g. `new Date('2020-01-01')`; default one hour ago. */
  readonly notBefore?: Date;
  /** Validity end; default 30 days from now. */
  readonly notAfter?: Date;
  /** Also write the key encrypted with this password (AES-256, PKCS#8). */
  readonly keyPassword?: string;
  /** Extended key usage: a broker's certificate is a server's, a client's a client's. Default both. */
  readonly usage?: 'server' | 'client' | 'both';
}

const OPENSSL_TIMEOUT_MS = 30_000;
const HOUR_MS = 3_600_000;

function openssl(args: readonly string[], cwd?: string): Promise<unknown> {
  return runCommand('openssl', args, { timeoutMs: OPENSSL_TIMEOUT_MS, cwd });
}

/** `YYYYMMDDHHMMSSZ`, the form `openssl ca -startdate/-enddate` takes. */
function asn1Time(date: Date): string {
  return `${date.toISOString().replace(/[-:T]/g, '').slice(0, 14)}Z`;
}

/** The last signing queued per CA directory: `openssl ca` rewrites the CA's serial and index files, so two at once race (a rename fails). */
const signingQueues = new Map<string, Promise<unknown>>();

/** Runs `sign` after every signing already queued for `ca` (key generation stays parallel). */
function signingTurn<T>(ca: CertificateAuthority, sign: () => Promise<T>): Promise<T> {
  const previous = signingQueues.get(ca.dir) ?? Promise.resolve();
  const turn = previous.then(sign, sign);
  signingQueues.set(ca.dir, turn.catch(() => undefined));
  return turn;
}

/**
 * Creates a CA (self-signed, valid from an hour ago for 30 days) in `dir/<name>`.
 * @throws when openssl fails (its stderr quoted)
 */
export async function createCertificateAuthority(dir: string, name: string): Promise<CertificateAuthority> {
  const caDir = join(dir, name);
  mkdirSync(join(caDir, 'issued'), { recursive: true });
  const certFile = join(caDir, 'ca.crt');
  const keyFile = join(caDir, 'ca.key');
  await openssl([
    'req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-sha256',
    '-keyout', keyFile, '-out', certFile, '-subj', `/CN=${name}`, '-days', '30',
    '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign',
  ]);
  writeFileSync(join(caDir, 'index.txt'), '');
  writeFileSync(join(caDir, 'serial'), '1000\n');
  writeFileSync(
    join(caDir, 'ca.cnf'),
    [
      '[ca]',
      'default_ca = test_ca',
      '[test_ca]',
      `database = ${join(caDir, 'index.txt')}`,
      `new_certs_dir = ${join(caDir, 'issued')}`,
      `serial = ${join(caDir, 'serial')}`,
      `certificate = ${certFile}`,
      `private_key = ${keyFile}`,
      'default_md = sha256',
      'policy = policy_any',
      'unique_subject = no',
      'copy_extensions = none',
      '[policy_any]',
      'commonName = supplied',
      '',
    ].join('\n'),
  );
  return { name, certFile, certPem: readFileSync(certFile, 'utf8'), keyFile, dir: caDir };
}

/**
 * Issues a leaf certificate signed by `ca`, written next to the CA's files.
 * @throws when openssl fails (its stderr quoted)
 */
export async function issueCertificate(ca: CertificateAuthority, options: LeafOptions): Promise<IssuedCertificate> {
  const stem = join(ca.dir, options.name);
  const keyFile = `${stem}.key`;
  const csrFile = `${stem}.csr`;
  const certFile = `${stem}.crt`;
  const extFile = `${stem}.ext`;
  await openssl(['req', '-new', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', keyFile, '-out', csrFile, '-subj', `/CN=${options.name}`]);
  const usage = options.usage ?? 'both';
  const eku = usage === 'server' ? 'serverAuth' : usage === 'client' ? 'clientAuth' : 'serverAuth,clientAuth';
  writeFileSync(
    extFile,
    ['[leaf]', 'basicConstraints = critical,CA:FALSE', 'keyUsage = critical,digitalSignature,keyAgreement', `extendedKeyUsage = ${eku}`, `subjectAltName = ${options.altNames.join(',')}`, ''].join(
      '\n',
    ),
  );
  const now = Date.now();
  await signingTurn(ca, () =>
    openssl([
      'ca', '-config', join(ca.dir, 'ca.cnf'), '-batch', '-notext', '-in', csrFile, '-out', certFile,
      '-startdate', asn1Time(options.notBefore ?? new Date(now - HOUR_MS)),
      '-enddate', asn1Time(options.notAfter ?? new Date(now + 30 * 24 * HOUR_MS)),
      '-extfile', extFile, '-extensions', 'leaf',
    ]),
  );
  let encryptedKeyFile: string | null = null;
  if (options.keyPassword !== undefined) {
    encryptedKeyFile = `${stem}.enc.key`;
    await openssl(['pkcs8', '-topk8', '-v2', 'aes-256-cbc', '-in', keyFile, '-out', encryptedKeyFile, '-passout', `pass:${options.keyPassword}`]);
  }
  const keyPem = readFileSync(keyFile, 'utf8');
  // Kafka's PEM keystore reads only PKCS#8; OpenSSL 3's `req -nodes` writes that (1.1 wrote SEC1 for EC).
  if (!keyPem.startsWith('-----BEGIN PRIVATE KEY-----')) throw new Error(`${keyFile}: openssl did not write an unencrypted PKCS#8 key`);
  const certPem = readFileSync(certFile, 'utf8');
  const keystoreFile = `${stem}.keystore.pem`;
  writeFileSync(keystoreFile, keyPem + certPem + ca.certPem);
  return { name: options.name, certFile, certPem, keyFile, keyPem, keystoreFile, encryptedKeyFile };
}
