"""The permission matrix, kept as data (issue 8, item 4).

Every URL pattern of the site has a row. A row gives, for each persona in PERSONAS order, the
expected status of a GET for each object relation in RELATIONS order (own unit's case, another
unit of the same force, another force's case, another force's case shared with GMP); global
pages have one letter. A = 200, R = 302 (to sign in, or onwards), F = 403, N = 404, M = 405.

Reading the rows: the GMP personas work their own unit's cases (A), never see another unit's or
an unshared force's (N), and only read what is shared with them (A to read, F to change); the
force administrator and the auditor see no case at all (N); the WYP officer is the mirror.
"""

PERSONAS = (
    "anon",
    "officer",
    "supervisor",
    "safeguarding",
    "force_admin",
    "other_force_officer",
    "auditor",
)
PERSONA_USERS = {
    "anon": None,
    "officer": "officer.gmp",
    "supervisor": "supervisor.gmp",
    "safeguarding": "safeguarding.gmp",
    "force_admin": "admin",
    "other_force_officer": "officer.wyp",
    "auditor": "auditor",
}

# Django admin pages: staff only; non-staff are sent to sign in (R), anonymous too.
ADMIN = "R R R R A R R"

MATRIX = {
    "dashboards:dashboard": "R A A A A A A",
    "dashboards:statistics": "R F A A A F F",
    "core:home": "R A A A A A A",
    "core:healthz": "A A A A A A A",
    "accounts:sign-in": "A R R R R R R",
    "accounts:sign-out": "R M M M M M M",
    "accounts:keep-alive": "R M M M M M M",
    "accounts:two-factor": "R R R R R R R",
    "accounts:two-factor-setup": "R A A A A A A",
    "audit:list": "R F F F F F A",
    "investigations:list": "R A A A F A F",
    "investigations:new": "R A A F F A F",
    "investigations:detail": "RRRR ANNA ANNA ANNA NNNN NNAA NNNN",
    "investigations:edit": "RRRR ANNF ANNF FNNF NNNN NNAA NNNN",
    "investigations:crime-decision": "RRRR ANNF ANNF FNNF NNNN NNAA NNNN",
    "investigations:allocate": "RRRR FNNF ANNF FNNF NNNN NNFF NNNN",
    "investigations:offence-new": "RRRR ANNF ANNF FNNF NNNN NNAA NNNN",
    "investigations:enquiry-new": "RRRR ANNF ANNF FNNF NNNN NNAA NNNN",
    "investigations:enquiry-complete": "RRRR ANNF ANNF FNNF NNNN NNAA NNNN",
    "investigations:suspect-new": "RRRR ANNF ANNF FNNF NNNN NNAA NNNN",
    "investigations:suspect-edit": "RRRR ANNF ANNF FNNF NNNN NNAA NNNN",
    "investigations:offence-outcome": "RRRR ANNF ANNF FNNF NNNN NNAA NNNN",
    "investigations:review-new": "RRRR FNNF ANNF FNNF NNNN NNFF NNNN",
    "investigations:closure-request": "RRRR ANNF ANNF FNNF NNNN NNAA NNNN",
    "investigations:closure-review": "RRRR FNNF ANNF FNNF NNNN NNFF NNNN",
    "investigations:reopen": "RRRR FNNF ANNF FNNF NNNN NNFF NNNN",
    "investigations:share": "RRRR FNNF ANNF ANNF NNNN NNFF NNNN",
    "investigations:print": "RRRR ANNA ANNA ANNA NNNN NNAA NNNN",
    "investigations:summary-pdf": "RRRR RNNR RNNR RNNR NNNN NNRR NNNN",
    "case-victims:add": "RRRR ANNF ANNF FNNF NNNN NNAA NNNN",
    "case-victims:account": "RRRR ANNF ANNF FNNF NNNN NNAA NNNN",
    "case-victims:disclosure-new": "RRRR ANNF ANNF FNNF NNNN NNAA NNNN",
    "case-victims:custody-new": "RRRR ANNF ANNF FNNF NNNN NNAA NNNN",
    "case-victims:disclosure-link": "RRRR ANNF ANNF FNNF NNNN NNAA NNNN",
    "case-victims:custody-s45": "RRRR ANNF ANNF FNNF NNNN NNAA NNNN",
    "victims:detail": "RRRR ANNA ANNA ANNA NNNN NNAA NNNN",
    "victims:edit": "RRRR ANNF ANNF ANNA NNNN NNAA NNNN",
    "safeguarding:board": "R F A A F F F",
    "safeguarding:plan": "RRRR FNNF FNNF ANNA NNNN NNFF NNNN",
    "safeguarding:contact-new": "RRRR ANNA ANNA ANNA NNNN NNAA NNNN",
    "safeguarding:relocation-new": "RRRR FNNF FNNF ANNA NNNN NNFF NNNN",
    "safeguarding:missing-new": "RRRR ANNA ANNA ANNA NNNN NNAA NNNN",
    "safeguarding:missing-found": "RRRR ANNA ANNA ANNA NNNN NNAA NNNN",
    "flags:queue": "R F A A F F F",
    "flags:detail": "RRRR FNNF ANNF FNNF NNNN NNFF NNNN",
    "referrals:list": "R A A F F A F",
    "referrals:nrm-new": "RRRR ANNF ANNF FNNF NNNN NNAA NNNN",
    "referrals:ms1-new": "RRRR ANNF ANNF FNNF NNNN NNAA NNNN",
    "referrals:agency-new": "RRRR ANNF ANNF FNNF NNNN NNAA NNNN",
    "referrals:nrm-decision": "RRRR ANNF ANNF FNNF NNNN NNAA NNNN",
    "referrals:nrm-link": "RRRR ANNF ANNF FNNF NNNN NNAA NNNN",
    # MoPI retention review: the force's administrators, within their own force only, and of
    # closed cases only: the world's cases are open, so even the own force's are a 404 (the
    # closed case's page: tests/investigations/test_retention.py).
    "retention:list": "R F F F A F F",
    "retention:review": "RRRR FFFF FFFF FFFF NNNN FFFF FFFF",
}
