// Roles as petra/security/roles.py ranks them; the page hides what a role may
// not use, the API still refuses it.
const RANK = { viewer: 0, operator: 1, engineer: 2, admin: 3 };

/** True when `role` is `need` or above. */
export function may(role, need) {
  return (RANK[role] ?? -1) >= (RANK[need] ?? 99);
}
