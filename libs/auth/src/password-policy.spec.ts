import { passwordProblem } from './password-policy';

describe('passwordProblem', () => {
  const email = 'janedoe@example.test';

  it('accepts a long, uncommon password', () => {
    expect(passwordProblem('correct horse battery staple', email)).toBeNull();
  });

  it.each([
    ['too short', 'Sh0rt!pass', /at least 12/],
    ['too long', 'x'.repeat(257), /at most 256/],
    ['the e-mail address', 'JaneDoe@Example.test', /e-mail/],
    ['the e-mail local part', 'xx-janedoe-2026!', /e-mail/],
    ['a common password', 'Password1234', /common/],
    ['a repeated character', 'aaaaaaaaaaaaaa', /different characters/],
  ])('refuses %s', (_case, password, problem) => {
    expect(passwordProblem(password, email)).toMatch(problem);
  });
});
