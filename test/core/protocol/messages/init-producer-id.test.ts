import { expect } from 'chai';
import { ProtocolError } from '../../../../packages/core/src/errors.js';
import {
  decodeInitProducerIdResponse,
  encodeInitProducerIdRequest,
} from '../../../../packages/core/src/protocol/messages/init-producer-id.js';
import { ascii, hex, int16Hex, sizePrefixed, toHex } from '../fixture-bytes.js';

function header(version: number): string {
  return '0016' + int16Hex(version) + '00000003' + '0001' + ascii('c'); // key 22, correlation id 3, client id "c"
}

function encode(version: number, transactionalId: string | null, more: { producerId?: number; producerEpoch?: number } = {}): string {
  return toHex(
    encodeInitProducerIdRequest(
      { apiVersion: version, correlationId: 3, clientId: 'c' },
      { transactionalId, transactionTimeoutMs: 60000, ...more },
    ),
  );
}

describe('init-producer-id', () => {
  describe('encodeInitProducerIdRequest()', () => {
    for (const version of [0, 1]) {
      it(`encodes v${version}: nullable transactional_id, transaction_timeout_ms`, () => {
        expect(encode(version, null)).to.equal(
          toHex(
            sizePrefixed(
              header(version),
              'ffff', // transactional_id null (idempotent producer)
              '0000ea60', // transaction_timeout_ms 60000
            ),
          ),
        );
        expect(encode(version, 'tx')).to.equal(toHex(sizePrefixed(header(version), '0002' + ascii('tx'), '0000ea60')));
      });
    }

    it('encodes v2: flexible — header v2, compact nullable transactional_id, tags', () => {
      expect(encode(2, null)).to.equal(toHex(sizePrefixed(header(2), '00', '00', '0000ea60', '00')));
      expect(encode(2, 'tx')).to.equal(toHex(sizePrefixed(header(2), '00', '03' + ascii('tx'), '0000ea60', '00')));
    });

    for (const version of [3, 4, 5]) {
      it(`encodes v${version}: + producer_id and producer_epoch (-1 unless bumping)`, () => {
        expect(encode(version, null)).to.equal(
          toHex(
            sizePrefixed(
              header(version),
              '00', // header tags
              '00', // transactional_id null
              '0000ea60', // transaction_timeout_ms
              'ffffffffffffffff', // producer_id -1
              'ffff', // producer_epoch -1
              '00', // tags
            ),
          ),
        );
        expect(encode(version, 'tx', { producerId: 4000, producerEpoch: 7 })).to.equal(
          toHex(sizePrefixed(header(version), '00', '03' + ascii('tx'), '0000ea60', '0000000000000fa0', '0007', '00')),
        );
      });
    }

    it('refuses versions outside v0-v5', () => {
      expect(() => encode(6, null)).to.throw(ProtocolError, 'InitProducerIdRequest v6 is not supported: Sluice speaks v0-v5');
    });
  });

  describe('decodeInitProducerIdResponse()', () => {
    for (const version of [0, 1]) {
      it(`decodes v${version}: throttle, error, producer id and epoch`, () => {
        const body = hex('00000000', '0000', '0000000000000fa0', '0000');
        expect(decodeInitProducerIdResponse(body, version)).to.deep.equal({
          throttleTimeMs: 0,
          errorCode: 0,
          producerId: 4000,
          producerEpoch: 0,
        });
      });
    }

    for (const version of [2, 3, 4, 5]) {
      it(`decodes v${version}: flexible, tags skipped`, () => {
        const body = hex(
          '00000014', // throttle_time_ms 20
          '000f', // error_code 15 COORDINATOR_NOT_AVAILABLE
          'ffffffffffffffff', // producer_id -1
          'ffff', // producer_epoch -1
          '01' + '02' + '01' + '00', // one unknown tag
        );
        expect(decodeInitProducerIdResponse(body, version)).to.deep.equal({
          throttleTimeMs: 20,
          errorCode: 15,
          producerId: -1,
          producerEpoch: -1,
        });
      });
    }

    it('names the field when truncated', () => {
      expect(() => decodeInitProducerIdResponse(hex('00000000', '0000', '00000000'), 2)).to.throw(
        ProtocolError,
        'InitProducerIdResponse v2: cannot read int64 producer_id at offset 6: only 4 of 8 bytes left',
      );
    });
  });
});
