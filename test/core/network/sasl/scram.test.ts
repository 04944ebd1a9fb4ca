import { expect } from 'chai';
import { createHash, createHmac, pbkdf2Sync, randomBytes } from 'node:crypto';
import { SaslAuthenticationError } from '../../../../packages/core/src/errors.js';
import { EMPTY_CHALLENGE } from '../../../../packages/core/src/network/sasl/sasl-mechanism.js';
import {
  ScramMechanism,
  ScramState,
  saslPrep,
  scramSaslName,
  scramSha256,
  scramSha512,
} from '../../../../packages/core/src/network/sasl/scram.js';
import type { ScramHash } from '../../../../packages/core/src/network/sasl/scram.js';

const text = (b: Uint8Array | null): string => Buffer.from(b!).toString('utf8');
const bytes = (s: string): Uint8Array => new Uint8Array(Buffer.from(s, 'utf8'));

/**
 * The server side of SCRAM, written here from RFC 5802 §3 independently of the client: it
 * derives StoredKey/ServerKey from the password, checks the client's proof by recovering
 * ClientKey, and signs the AuthMessage.
 */
class TestScramServer {
  readonly #hash: ScramHash;
  readonly #storedKey: Buffer;
  readonly #serverKey: Buffer;
  readonly #salt: Buffer;
  readonly #iterations: number;
  #clientFirstBare = '';
  #serverFirst = '';
  #nonce = '';

  constructor(hash: ScramHash, password: string, iterations = 4096) {
    this.#hash = hash;
    this.#salt = randomBytes(16);
    this.#iterations = iterations;
    const len = createHash(hash).digest().byteLength;
    const salted = pbkdf2Sync(password, this.#salt, iterations, len, hash);
    const clientKey = createHmac(hash, salted).update('Client Key').digest();
    this.#storedKey = createHash(hash).update(clientKey).digest();
    this.#serverKey = createHmac(hash, salted).update('Server Key').digest();
  }

  first(clientFirst: string): string {
    expect(clientFirst.startsWith('n,,')).to.equal(true);
    this.#clientFirstBare = clientFirst.slice(3);
    const clientNonce = /,r=([^,]+)/.exec(this.#clientFirstBare)![1];
    this.#nonce = clientNonce + randomBytes(12).toString('base64');
    this.#serverFirst = `r=${this.#nonce},s=${this.#salt.toString('base64')},i=${this.#iterations}`;
    return this.#serverFirst;
  }

  /** The server-final message: v= on a valid proof, e=invalid-proof otherwise. */
  final(clientFinal: string): string {
    const proofAt = clientFinal.lastIndexOf(',p=');
    const withoutProof = clientFinal.slice(0, proofAt);
    expect(withoutProof).to.equal(`c=biws,r=${this.#nonce}`);
    const proof = Buffer.from(clientFinal.slice(proofAt + 3), 'base64');
    const authMessage = `${this.#clientFirstBare},${this.#serverFirst},${withoutProof}`;
    const clientSignature = createHmac(this.#hash, this.#storedKey).update(authMessage).digest();
    const clientKey = Buffer.alloc(proof.byteLength);
    for (let i = 0; i < proof.byteLength; i++) clientKey[i] = proof[i] ^ clientSignature[i];
    if (!createHash(this.#hash).update(clientKey).digest().equals(this.#storedKey)) return 'e=invalid-proof';
    return `v=${createHmac(this.#hash, this.#serverKey).update(authMessage).digest('base64')}`;
  }
}

describe('ScramMechanism', () => {
  describe('test vectors', () => {
    it('reproduces the RFC 7677 SCRAM-SHA-256 exchange', () => {
      const m = scramSha256({ username: 'user', password: 'pencil', clientNonce: 'rOprNGfwEbeRWgbNEkqO' });
      expect(m.mechanismName).to.equal('SCRAM-SHA-256');
      expect(text(m.evaluateChallenge(EMPTY_CHALLENGE))).to.equal('n,,n=user,r=rOprNGfwEbeRWgbNEkqO');
      const clientFinal = m.evaluateChallenge(
        bytes('r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096'),
      );
      expect(text(clientFinal)).to.equal(
        'c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=',
      );
      expect(m.isComplete).to.equal(false);
      expect(m.evaluateChallenge(bytes('v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4='))).to.equal(null);
      expect(m.isComplete).to.equal(true);
    });

    it('reproduces a SCRAM-SHA-512 exchange on the RFC 7677 inputs (no RFC defines one; values from Python hashlib/hmac, which reproduces RFC 7677 exactly)', () => {
      const m = scramSha512({ username: 'user', password: 'pencil', clientNonce: 'rOprNGfwEbeRWgbNEkqO' });
      expect(m.mechanismName).to.equal('SCRAM-SHA-512');
      expect(text(m.evaluateChallenge(EMPTY_CHALLENGE))).to.equal('n,,n=user,r=rOprNGfwEbeRWgbNEkqO');
      const clientFinal = m.evaluateChallenge(
        bytes('r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096'),
      );
      expect(text(clientFinal)).to.equal(
        'c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,p=gMGXRcevScNtxZ6/8lQYpGtnsNAc3mGcmNomv+xnoOMw+3R2xNJdMNnzMlTN8PPC6wdp6dybEmDYXYTxwnYPJQ==',
      );
      expect(m.evaluateChallenge(bytes('v=ZQnYEgWQMFmmsM8aQMF0nDDCy/AgCzkwk8CmMZYcMg0vSVlKDanekLtifDSeVGT4+5ZxXnJq199RVG2rR7N7Zw=='))).to.equal(null);
      expect(m.isComplete).to.equal(true);
    });

    it('reproduces the RFC 5802 SCRAM-SHA-1 exchange through the same code', () => {
      const m = new ScramMechanism('sha1', { username: 'user', password: 'pencil', clientNonce: 'fyko+d2lbbFgONRv9qkxdawL' });
      expect(m.mechanismName).to.equal('SCRAM-SHA-1');
      expect(text(m.evaluateChallenge(EMPTY_CHALLENGE))).to.equal('n,,n=user,r=fyko+d2lbbFgONRv9qkxdawL');
      const clientFinal = m.evaluateChallenge(
        bytes('r=fyko+d2lbbFgONRv9qkxdawL3rfcNHYJY1ZVvWVs7j,s=QSXCR+Q6sek8bf92,i=4096'),
      );
      expect(text(clientFinal)).to.equal(
        'c=biws,r=fyko+d2lbbFgONRv9qkxdawL3rfcNHYJY1ZVvWVs7j,p=v0X8v3Bz2T0CJGbJQyF0X+HI4Ts=',
      );
      expect(m.evaluateChallenge(bytes('v=rmF9pqV8S7suAoZWja4dJRkFsKQ='))).to.equal(null);
      expect(m.isComplete).to.equal(true);
    });
  });

  describe('against a server written in the test', () => {
    for (const hash of ['sha256', 'sha512'] as const) {
      it(`completes a ${hash} exchange with a random nonce`, () => {
        const server = new TestScramServer(hash, 'correct horse');
        const m = hash === 'sha512' ? scramSha512({ username: 'alice', password: 'correct horse' }) : scramSha256({ username: 'alice', password: 'correct horse' });
        const first = text(m.evaluateChallenge(EMPTY_CHALLENGE));
        expect(first).to.match(/^n,,n=alice,r=[\x21-\x2b\x2d-\x7e]{24}$/);
        const final = text(m.evaluateChallenge(bytes(server.first(first))));
        const serverFinal = server.final(final);
        expect(serverFinal.startsWith('v=')).to.equal(true);
        expect(m.evaluateChallenge(bytes(serverFinal))).to.equal(null);
        expect(m.isComplete).to.equal(true);
        expect(m.state).to.equal(ScramState.COMPLETE);
      });
    }

    it('turns the server\'s e= for a wrong password into a typed error without the password', () => {
      const server = new TestScramServer('sha512', 'the-real-one');
      const m = scramSha512({ username: 'alice', password: 'hunter2-wrong' });
      const first = text(m.evaluateChallenge(EMPTY_CHALLENGE));
      const serverFinal = server.final(text(m.evaluateChallenge(bytes(server.first(first)))));
      expect(serverFinal).to.equal('e=invalid-proof');
      try {
        m.evaluateChallenge(bytes(serverFinal));
        expect.fail('must throw');
      } catch (e) {
        expect(e).to.be.instanceOf(SaslAuthenticationError);
        expect((e as Error).message).to.equal('SASL SCRAM-SHA-512 authentication failed: the server answered error "invalid-proof"');
        expect((e as Error).message).to.not.include('hunter2');
        expect((e as SaslAuthenticationError).mechanism).to.equal('SCRAM-SHA-512');
      }
      expect(m.state).to.equal(ScramState.FAILED);
      expect(() => m.evaluateChallenge(EMPTY_CHALLENGE)).to.throw(SaslAuthenticationError, 'unexpected server message in state FAILED');
    });

    it('rejects a server signature that does not match (a server that does not know the password)', () => {
      const impostor = new TestScramServer('sha256', 'not-the-password');
      const m = scramSha256({ username: 'alice', password: 'pw' });
      const first = text(m.evaluateChallenge(EMPTY_CHALLENGE));
      const final = text(m.evaluateChallenge(bytes(impostor.first(first))));
      // The impostor cannot verify the proof (e=invalid-proof); one that answers v= anyway is caught.
      expect(impostor.final(final)).to.equal('e=invalid-proof');
      expect(() => m.evaluateChallenge(bytes(`v=${Buffer.alloc(32, 7).toString('base64')}`))).to.throw(
        SaslAuthenticationError,
        'SASL SCRAM-SHA-256 authentication failed: the server signature does not match',
      );
      expect(m.isComplete).to.equal(false);
    });
  });

  describe('server-first checks', () => {
    const SERVER_FIRST = 'r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096';

    function afterClientFirst(options: { minIterations?: number; maxIterations?: number } = {}): ScramMechanism {
      const m = scramSha256({ username: 'user', password: 'pencil', clientNonce: 'rOprNGfwEbeRWgbNEkqO', ...options });
      m.evaluateChallenge(EMPTY_CHALLENGE);
      return m;
    }

    it('rejects a server nonce that does not start with the client nonce, or adds nothing to it', () => {
      expect(() => afterClientFirst().evaluateChallenge(bytes(SERVER_FIRST.replace('r=rOpr', 'r=XOpr')))).to.throw(
        SaslAuthenticationError,
        'the server nonce does not extend the client nonce',
      );
      expect(() => afterClientFirst().evaluateChallenge(bytes('r=rOprNGfwEbeRWgbNEkqO,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096'))).to.throw(
        SaslAuthenticationError,
        'the server nonce does not extend the client nonce',
      );
    });

    it('rejects fewer than 4096 iterations, and more than the configured maximum', () => {
      expect(() => afterClientFirst().evaluateChallenge(bytes(SERVER_FIRST.replace('i=4096', 'i=4095')))).to.throw(
        SaslAuthenticationError,
        'the server asks for 4095 iterations, fewer than the minimum 4096',
      );
      expect(() => afterClientFirst({ maxIterations: 5000 }).evaluateChallenge(bytes(SERVER_FIRST.replace('i=4096', 'i=2147483647')))).to.throw(
        SaslAuthenticationError,
        'the server asks for 2147483647 iterations, more than the maximum 5000',
      );
    });

    it('rejects malformed messages and mandatory extensions', () => {
      expect(() => afterClientFirst().evaluateChallenge(bytes(`m=ext,${SERVER_FIRST}`))).to.throw(SaslAuthenticationError, 'm=');
      expect(() => afterClientFirst().evaluateChallenge(bytes('r=rOprNGfwEbeRWgbNEkqOx,i=4096'))).to.throw(
        SaslAuthenticationError,
        'r=, s= and i= are required',
      );
      expect(() => afterClientFirst().evaluateChallenge(bytes(SERVER_FIRST.replace('s=W22', 's=*22')))).to.throw(
        SaslAuthenticationError,
        'the salt is not base64',
      );
      expect(() => afterClientFirst().evaluateChallenge(bytes(SERVER_FIRST.replace('i=4096', 'i=-1')))).to.throw(
        SaslAuthenticationError,
        'iteration count "-1"',
      );
      expect(() => afterClientFirst().evaluateChallenge(bytes('v=abc'))).to.throw(SaslAuthenticationError);
    });

    it('ignores optional extensions the server appends', () => {
      const m = afterClientFirst();
      const final = text(m.evaluateChallenge(bytes(`${SERVER_FIRST},x=whatever`)));
      // The AuthMessage includes the extension, so the proof differs from the RFC's; the shape stays.
      expect(final).to.match(/^c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj\)hNlF\$k0,p=[A-Za-z0-9+/]{43}=$/);
    });
  });

  describe('client-first', () => {
    it('escapes "=" and "," in the username (RFC 5802 saslname)', () => {
      expect(scramSaslName('a=b,c')).to.equal('a=3Db=2Cc');
      const m = scramSha256({ username: 'a=b,c', password: 'p', clientNonce: 'n0nce' });
      expect(text(m.evaluateChallenge(EMPTY_CHALLENGE))).to.equal('n,,n=a=3Db=2Cc,r=n0nce');
    });

    it('appends extensions (Kafka delegation tokens: tokenauth=true)', () => {
      const m = scramSha512({ username: 'tokenid', password: 'hmac', clientNonce: 'n0nce', extensions: { tokenauth: 'true' } });
      expect(text(m.evaluateChallenge(EMPTY_CHALLENGE))).to.equal('n,,n=tokenid,r=n0nce,tokenauth=true');
    });

    it('refuses a bad nonce, bad extensions and a non-empty first challenge', () => {
      expect(() => scramSha256({ username: 'u', password: 'p', clientNonce: 'a,b' })).to.throw(SaslAuthenticationError, 'client nonce');
      expect(() => scramSha256({ username: 'u', password: 'p', extensions: { 'to-ken': 'x' } })).to.throw(SaslAuthenticationError, 'extension name');
      expect(() => scramSha256({ username: 'u', password: 'p', extensions: { a: 'x,y' } })).to.throw(SaslAuthenticationError, 'extension "a"');
      const m = scramSha256({ username: 'u', password: 'p' });
      expect(() => m.evaluateChallenge(bytes('x'))).to.throw(SaslAuthenticationError, 'expected an empty first challenge, got 1 bytes');
    });
  });

  describe('saslPrep()', () => {
    it('maps, normalizes and refuses as RFC 4013 §3 shows', () => {
      expect(saslPrep('I\u00adX')).to.equal('IX'); // soft hyphen mapped to nothing
      expect(saslPrep('user')).to.equal('user');
      expect(saslPrep('USER')).to.equal('USER');
      expect(saslPrep('\u00aa')).to.equal('a'); // NFKC
      expect(saslPrep('\u2168')).to.equal('IX'); // NFKC
      expect(saslPrep('a\u00a0b')).to.equal('a b'); // non-ASCII space to SPACE
      expect(() => saslPrep('\u0007')).to.throw(SaslAuthenticationError, 'U+0007 is prohibited');
      expect(() => saslPrep('\ue000')).to.throw(SaslAuthenticationError, 'U+E000 is prohibited');
    });

    it('is off by default, as in Kafka, and changes the proof only when asked', () => {
      const run = (saslprep: boolean): string => {
        const m = scramSha256({ username: 'user', password: 'pen\u00adcil', clientNonce: 'rOprNGfwEbeRWgbNEkqO', saslprep });
        m.evaluateChallenge(EMPTY_CHALLENGE);
        return text(m.evaluateChallenge(bytes('r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096')));
      };
      // With SASLprep "pen\u00adcil" is "pencil": the RFC 7677 proof.
      expect(run(true)).to.match(/p=dHzbZapWIk4jUhN\+Ute9ytag9zjfMHgsqmmiz7AndVQ=$/);
      expect(run(false)).to.not.match(/p=dHzbZapWIk4jUhN\+Ute9ytag9zjfMHgsqmmiz7AndVQ=$/);
    });
  });
});
