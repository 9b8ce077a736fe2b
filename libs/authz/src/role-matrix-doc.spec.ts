import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { renderRoleMatrix } from './role-matrix-doc';

const PUBLISHED = join(__dirname, '..', '..', '..', 'docs', 'security', 'role-matrix.md');

describe('docs/security/role-matrix.md', () => {
  it('is exactly what the matrix data generates (npm run docs:matrix rewrites it)', () => {
    const generated = renderRoleMatrix();
    if (process.env.UPDATE_ROLE_MATRIX === '1') writeFileSync(PUBLISHED, generated);
    expect(readFileSync(PUBLISHED, 'utf8')).toBe(generated);
  });

  it('names every role and subject, and says no where there is no grant', () => {
    const doc = renderRoleMatrix();
    expect(doc).toMatch(/^\| Message \| .*\| — \|$/m); // dealer_marketing: never
    expect(doc).toContain('read (in a tenant, under an active `read` support grant)');
  });
});
