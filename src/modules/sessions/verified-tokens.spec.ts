import { VerifiedTokens } from './verified-tokens.js';

const inSeconds = (seconds: number) => Math.floor(Date.now() / 1000) + seconds;

describe('VerifiedTokens', () => {
  afterEach(() => jest.useRealTimers());

  it('gives back the claims of the exact token it was told about, and nothing for any other', () => {
    const memo = new VerifiedTokens<{ exp: number; sub: string }>(10);
    const claims = { exp: inSeconds(60), sub: 'u1' };
    memo.remember('header.payload.signature', claims);

    expect(memo.get('header.payload.signature')).toBe(claims);
    expect(memo.get('header.forged-payload.signature')).toBeUndefined();
    expect(memo.get('header.payload.signaturX')).toBeUndefined();
    expect(memo.get('')).toBeUndefined();
  });

  it('forgets a token once its exp has come (whole seconds, like jsonwebtoken)', () => {
    jest.useFakeTimers({ now: new Date('2026-11-22T12:00:00.500Z') });
    const exp = Math.floor(Date.now() / 1000) + 2;
    const memo = new VerifiedTokens<{ exp: number }>(10);
    memo.remember('t', { exp });

    jest.setSystemTime(new Date('2026-11-22T12:00:01.999Z'));
    expect(memo.get('t')).toEqual({ exp });
    jest.setSystemTime(new Date('2026-11-22T12:00:02.000Z'));
    expect(memo.get('t')).toBeUndefined();
    expect(memo.size).toBe(0);
  });

  it('keeps at most its capacity, dropping the oldest first', () => {
    const memo = new VerifiedTokens<{ exp: number }>(2);
    memo.remember('a', { exp: inSeconds(60) });
    memo.remember('b', { exp: inSeconds(60) });
    memo.remember('c', { exp: inSeconds(60) });

    expect(memo.size).toBe(2);
    expect(memo.get('a')).toBeUndefined();
    expect(memo.get('b')).toBeDefined();
    expect(memo.get('c')).toBeDefined();
  });

  it('remembers nothing with a capacity of 0', () => {
    const memo = new VerifiedTokens<{ exp: number }>(0);
    memo.remember('a', { exp: inSeconds(60) });
    expect(memo.get('a')).toBeUndefined();
  });
});
