import {
  type Grant,
  type Reach,
  ROLE_MATRIX,
  ROLES,
  SUBJECT_FIELDS,
  type Subject,
  SUBJECTS,
} from './role-matrix';

const REACH_WORDS: Record<Reach, string> = {
  everywhere: 'all tenants',
  own_tenant: 'own tenant',
  stores_in_scope: 'stores in scope',
  assigned_to_self: 'assigned to self',
  own_record: 'own record',
  caused_by_self: 'caused by self',
};

function cell(grants: readonly Grant[]): string {
  if (grants.length === 0) return '—';
  return grants
    .map((grant) => {
      const reach = grant.underGrant
        ? `in a tenant, under an active \`${grant.underGrant}\` support grant`
        : REACH_WORDS[grant.reach];
      const when = grant.whenPiiVisible ? ', when the tenant lets marketing see personal data' : '';
      const fields = grant.fields ? `; fields: ${grant.fields.join(', ')}` : '';
      return `${grant.actions.join(', ')} (${reach}${when}${fields})`;
    })
    .join('<br>');
}

/**
 * `docs/security/role-matrix.md`, written from the matrix data alone (`npm run docs:matrix`); a
 * test fails when the checked-in file differs, so the published matrix is always the enforced one.
 */
export function renderRoleMatrix(): string {
  const header = `| subject | ${ROLES.join(' | ')} |`;
  const rule = `|${' --- |'.repeat(ROLES.length + 1)}`;
  const rows = SUBJECTS.map(
    (subject: Subject) =>
      `| ${subject} | ${ROLES.map((role) => cell(ROLE_MATRIX[role].filter((grant) => grant.subject === subject))).join(' | ')} |`,
  );
  const fields = SUBJECTS.map((subject) => `| ${subject} | ${SUBJECT_FIELDS[subject].join(', ')} |`);
  return [
    '# Role matrix',
    '',
    '<!-- Generated from libs/authz/src/role-matrix.ts by `npm run docs:matrix`; do not edit by hand. -->',
    '',
    'What each role may do, per subject: the actions, where they reach, and — where a grant is',
    'narrower than the whole subject — the fields it may see. Anything not listed is refused. This',
    'file is generated from the data the API enforces (`libs/authz/src/role-matrix.ts`).',
    '',
    '- **all tenants**: platform-wide, on `/v1/platform/...` routes only; never inside a tenant.',
    "- **own tenant**: rows of the caller's tenant.",
    "- **stores in scope**: rows of the caller's tenant in the stores of the membership (all stores",
    '  for a membership with `allStores`; `dealer_admin` always has all).',
    '- **assigned to self**: rows in scope whose assigned user is the caller.',
    "- **own record**: the caller's own row (a user: themself; a support grant: the one they requested).",
    '- **caused by self**: audit events whose actor is the caller.',
    '- **under a support grant**: platform staff reach a tenant only while a grant of that scope',
    "  is active (requested with a reason, approved by the tenant's admin, at most 8 hours,",
    '  revocable); `manage` means every action.',
    '',
    header,
    rule,
    ...rows,
    '',
    '## Fields of each subject',
    '',
    '| subject | fields |',
    '| --- | --- |',
    ...fields,
    '',
  ].join('\n');
}
