import { toProblem } from './to-problem';

describe('toProblem', () => {
  // Found by the reliability suite (test/reliability): U+0000 in a path or query reached SQL as a 500.
  it("answers PostgreSQL's refusal of text it cannot store as the caller's 400, not a 500", () => {
    for (const code of ['22021', '22P05']) {
      const error = Object.assign(new Error('invalid byte sequence for encoding "UTF8": 0x00'), { code });
      expect(toProblem(error, 'r-1')).toMatchObject({ status: 400, type: '/problems/unstorable-text' });
    }
  });

  it('keeps any other database error a 500 that reveals nothing', () => {
    const error = Object.assign(new Error('relation "x" does not exist'), { code: '42P01' });
    expect(toProblem(error, 'r-2')).toMatchObject({
      status: 500,
      detail: 'The server could not complete the request',
    });
  });
});
